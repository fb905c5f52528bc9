/**
 * Runs the real kubectl against a stand-in served on an ephemeral loopback port: a kubeconfig and a
 * discovery cache in a temporary directory, and a helper that runs one kubectl command.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Kubectl {
  readonly directory: string;
  readonly env: NodeJS.ProcessEnv;
  /** Runs `kubectl <args>`; resolves with the exit code and output (never rejects on failure). */
  run(args: readonly string[], options?: { input?: string; env?: NodeJS.ProcessEnv }): Promise<KubectlResult>;
  /** Starts a long-running kubectl (`get -w`), collecting its output; the caller kills it. */
  spawn(args: readonly string[]): Running;
  dispose(): Promise<void>;
}

/** A kubectl left running, and everything it has printed so far. */
export interface Running {
  readonly child: ChildProcess;
  output(): string;
}

export const kubectlBinary = process.env.KUBECTL ?? 'kubectl';

/** Common flags: a short request timeout, so that a hang fails fast, and the private cache. */
function flags(directory: string): string[] {
  return ['--request-timeout=15s', `--cache-dir=${join(directory, 'cache')}`];
}

/** A kubectl set up for the server at `url` (context `standin`, namespace `default`). */
export async function kubectlFor(url: string): Promise<Kubectl> {
  const directory = await mkdtemp(join(tmpdir(), 'cheops-standin-e2e-'));
  const kubeconfig = join(directory, 'kubeconfig');
  await writeFile(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- cluster: {server: "${url}"}`,
      '  name: standin',
      'contexts:',
      '- context: {cluster: standin, user: standin, namespace: default}',
      '  name: standin',
      'current-context: standin',
      'users:',
      '- name: standin',
      '  user: {}',
      '',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: kubeconfig, HOME: directory, KUBECTL_INTERACTIVE_DELETE: 'false' };
  return {
    directory,
    env,
    run(args, options = {}) {
      return new Promise((resolve) => {
        const child = execFile(
          kubectlBinary,
          [...flags(directory), ...args],
          { env: { ...env, ...options.env }, timeout: 30_000, maxBuffer: 16 * 1024 * 1024 },
          (error, stdout, stderr) => {
            const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
            resolve({ code, stdout, stderr });
          },
        );
        if (options.input !== undefined) child.stdin?.end(options.input);
      });
    },
    spawn(args) {
      const child = spawn(kubectlBinary, [...flags(directory), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      return { child, output: () => output };
    },
    async dispose() {
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Resolves with a running kubectl's output once `predicate` holds for it; rejects after `timeoutMs`. */
export async function outputUntil(running: Running, predicate: (output: string) => boolean, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate(running.output())) {
    if (Date.now() > deadline) throw new Error(`timed out; output so far:\n${running.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return running.output();
}
