/**
 * Finds the server kubectl would talk to from its kubeconfig, the way kubectl merges several files
 * (client-go's clientcmd): the files of `--kubeconfig`, else of `$KUBECONFIG` (a list separated by
 * `:`, missing files skipped), else `~/.kube/config`; for each cluster or context name the first
 * file that defines it wins, and so does the first file that sets `current-context`.
 */
import { readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { errorMessage } from '../core/index.js';
import type { ArgsResult } from './kubectl-args.js';

/** Where kubectl looks for its kubeconfig. */
export interface KubeconfigLocation {
  /** The `--kubeconfig` flag: only this file, which must exist. */
  readonly explicit?: string | undefined;
  /** `$KUBECONFIG`. */
  readonly env?: string | undefined;
  /** The home directory, for `~/.kube/config`. */
  readonly home: string;
}

/** The files kubectl reads, in order of precedence, and whether a missing one is an error. */
export function kubeconfigPaths(location: KubeconfigLocation): { readonly paths: string[]; readonly required: boolean } {
  if (location.explicit !== undefined && location.explicit !== '') return { paths: [location.explicit], required: true };
  const fromEnv = (location.env ?? '').split(delimiter).filter((path) => path !== '');
  if (fromEnv.length > 0) return { paths: fromEnv, required: false };
  return { paths: [join(location.home, '.kube', 'config')], required: false };
}

/** The parts of several kubeconfig files that matter for finding a server, merged. */
export interface MergedKubeconfig {
  readonly currentContext: string | undefined;
  /** Context name to the cluster it names. */
  readonly contexts: ReadonlyMap<string, { readonly cluster: string | undefined }>;
  /** Cluster name to its server URL. */
  readonly clusters: ReadonlyMap<string, { readonly server: string | undefined }>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(record: unknown, key: string): string | undefined {
  if (!isRecord(record)) return undefined;
  const value = record[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The `name`d entries of a kubeconfig list (`clusters`, `contexts`), each with its inner object. */
function namedEntries(document: Record<string, unknown>, list: string, inner: string): Array<[string, unknown]> {
  const entries = document[list];
  if (!Array.isArray(entries)) return [];
  return entries.flatMap((entry: unknown): Array<[string, unknown]> => {
    const name = stringField(entry, 'name');
    return name === undefined || !isRecord(entry) ? [] : [[name, entry[inner]]];
  });
}

/** Merges parsed kubeconfig documents, earlier ones first: the first definition of a name wins. */
export function mergeKubeconfigs(documents: readonly unknown[]): MergedKubeconfig {
  let currentContext: string | undefined;
  const contexts = new Map<string, { cluster: string | undefined }>();
  const clusters = new Map<string, { server: string | undefined }>();
  for (const document of documents) {
    if (!isRecord(document)) continue;
    currentContext ??= stringField(document, 'current-context');
    for (const [name, context] of namedEntries(document, 'contexts', 'context')) {
      if (!contexts.has(name)) contexts.set(name, { cluster: stringField(context, 'cluster') });
    }
    for (const [name, cluster] of namedEntries(document, 'clusters', 'cluster')) {
      if (!clusters.has(name)) clusters.set(name, { server: stringField(cluster, 'server') });
    }
  }
  return { currentContext, contexts, clusters };
}

/** What the user chose on kubectl's command line. */
export interface ServerChoice {
  /** `--context`. */
  readonly context?: string | undefined;
  /** `--cluster`, which overrides the context's cluster. */
  readonly cluster?: string | undefined;
}

/** The server of the chosen (or current) context's cluster, or why there is none. */
export function serverFromKubeconfig(merged: MergedKubeconfig, choice: ServerChoice, files: readonly string[]): ArgsResult<string> {
  const where = files.join(delimiter);
  let clusterName = choice.cluster;
  if (clusterName === undefined) {
    const contextName = choice.context ?? merged.currentContext;
    if (contextName === undefined) {
      return { ok: false, error: `no --server, no --context and no current context in ${where}: cannot tell which site's front to use` };
    }
    const context = merged.contexts.get(contextName);
    if (context === undefined) return { ok: false, error: `context ${JSON.stringify(contextName)} is not in ${where}` };
    clusterName = context.cluster;
    if (clusterName === undefined) return { ok: false, error: `context ${JSON.stringify(contextName)} names no cluster in ${where}` };
  }
  const cluster = merged.clusters.get(clusterName);
  if (cluster === undefined) return { ok: false, error: `cluster ${JSON.stringify(clusterName)} is not in ${where}` };
  if (cluster.server === undefined) return { ok: false, error: `cluster ${JSON.stringify(clusterName)} has no server in ${where}` };
  return { ok: true, value: cluster.server };
}

/** Reads the kubeconfig files kubectl would read and finds the server it would use. */
export async function resolveKubeconfigServer(location: KubeconfigLocation, choice: ServerChoice): Promise<ArgsResult<string>> {
  const { paths, required } = kubeconfigPaths(location);
  const documents: unknown[] = [];
  const read: string[] = [];
  for (const path of paths) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (!required && isMissing(error)) continue;
      return { ok: false, error: `cannot read the kubeconfig ${path}: ${errorMessage(error)}` };
    }
    try {
      documents.push(parseYaml(text) as unknown);
      read.push(path);
    } catch (error) {
      return { ok: false, error: `the kubeconfig ${path} is not valid YAML: ${errorMessage(error)}` };
    }
  }
  if (read.length === 0) {
    return { ok: false, error: `no --server given and no kubeconfig found (${paths.join(delimiter)}): cannot tell which site's front to use` };
  }
  return serverFromKubeconfig(mergeKubeconfigs(documents), choice, read);
}

function isMissing(error: unknown): boolean {
  return isRecord(error) && error['code'] === 'ENOENT';
}
