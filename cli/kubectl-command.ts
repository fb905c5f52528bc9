/**
 * `cheops kubectl [kubectl args] --scope EXPR`: the real kubectl, run through a site's Cheops front
 * with the scope carried as a `/scope/<percent-encoded scope>` prefix of the server URL (kubectl
 * cannot add a header, and keeps a server URL's path in front of every call). Every other argument,
 * stdin, stdout, stderr, the terminal, signals and the exit code pass through: it is kubectl.
 */
import { spawn } from 'node:child_process';
import { constants, homedir } from 'node:os';
import { Command } from 'commander';
import { parseScope } from '../scope/index.js';
import { errorMessage } from '../core/index.js';
import { extractScope, kubectlFlags, lastFlagValue, scopedServerUrl, withRawScope, withServer, type ArgsResult } from './kubectl-args.js';
import { resolveKubeconfigServer } from './kubeconfig-server.js';

/** What `cheops kubectl` will run. */
export interface KubectlPlan {
  /** kubectl's arguments, the scope flag removed and the server rewritten when a scope was given. */
  readonly args: readonly string[];
  readonly scope: string | undefined;
  /** The server URL given to kubectl when a scope was given (the front plus the scope prefix). */
  readonly server: string | undefined;
}

/** The environment `cheops kubectl` reads. */
export interface KubectlEnvironment {
  readonly KUBECONFIG?: string | undefined;
  readonly HOME?: string | undefined;
}

/**
 * Turns `cheops kubectl`'s arguments into kubectl's. Without a scope they are kubectl's unchanged
 * (no kubeconfig is read). With one, the scope is checked here first: a typo gets its column at
 * once, without a round trip and before kubectl has done half of an `apply`; the front still
 * checks what only it knows (the sites). kubectl could not show the front's answer anyway: a new
 * server URL starts with discovery, whose errors kubectl prints as "the server rejected our request
 * for an unknown reason", without the body. The front is `--server`/`-s`, else the cluster of
 * `--context` (or `--cluster`), else the current context's, as kubectl itself would choose.
 */
export async function planKubectl(args: readonly string[], env: KubectlEnvironment): Promise<ArgsResult<KubectlPlan>> {
  const extracted = extractScope(args);
  if (!extracted.ok) return extracted;
  const { scope } = extracted.value;
  if (scope === undefined) return { ok: true, value: { args: [...args], scope: undefined, server: undefined } };
  const parsed = parseScope(scope);
  if (!parsed.ok) {
    const column = parsed.error.details['column'];
    let message = `invalid scope ${JSON.stringify(scope)} in --scope: ${parsed.error.message}`;
    if (typeof column === 'number' && !parsed.error.message.includes(`column ${column}`)) message += ` (at column ${column})`;
    return { ok: false, error: message };
  }
  const front = await frontOf(extracted.value.args, env);
  if (!front.ok) return front;
  const server = scopedServerUrl(front.value, scope);
  if (!server.ok) return server;
  const rewritten = withRawScope(withServer(extracted.value.args, server.value), scope);
  return { ok: true, value: { args: rewritten, scope, server: server.value } };
}

async function frontOf(args: readonly string[], env: KubectlEnvironment): Promise<ArgsResult<string>> {
  const server = lastFlagValue(args, kubectlFlags.server);
  if (server !== undefined) return { ok: true, value: server };
  return resolveKubeconfigServer(
    { explicit: lastFlagValue(args, kubectlFlags.kubeconfig), env: env.KUBECONFIG, home: env.HOME ?? homedir() },
    { context: lastFlagValue(args, kubectlFlags.context), cluster: lastFlagValue(args, kubectlFlags.cluster) },
  );
}

/** The kubectl binary: `$CHEOPS_KUBECTL`, else `kubectl` on the PATH. */
export function kubectlBinary(env: NodeJS.ProcessEnv): string {
  const configured = env['CHEOPS_KUBECTL'];
  return configured === undefined || configured === '' ? 'kubectl' : configured;
}

/** How kubectl ended. */
export type KubectlExit = { readonly code: number } | { readonly signal: NodeJS.Signals };

/** Signals passed on to kubectl. Ctrl-C reaches both processes from the terminal; a `kill` reaches only us. */
const forwarded: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Runs kubectl on this process's own stdin, stdout and stderr (so streaming, `-f -`, `edit` and
 * `exec -it` work as with kubectl alone) and waits for it. While it runs, SIGINT, SIGTERM and
 * SIGHUP are passed on to it instead of ending this process, so that kubectl decides how to stop.
 */
export function runKubectl(binary: string, args: readonly string[]): Promise<KubectlExit> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    for (const signal of forwarded) process.on(signal, forward);
    const cleanUp = (): void => {
      for (const signal of forwarded) process.off(signal, forward);
    };
    child.once('error', (error) => {
      cleanUp();
      reject(error);
    });
    child.once('exit', (code, signal) => {
      cleanUp();
      resolve(signal === null ? { code: code ?? 1 } : { signal });
    });
  });
}

/**
 * `cheops kubectl` from its raw arguments to an exit code. Errors of its own (a bad scope, no
 * front) are one line on stderr and exit 1, before kubectl runs; kubectl missing is 127, as in a
 * shell. When kubectl is ended by a signal, the signal is raised again on this process, so that a
 * calling shell or script sees what it would have seen with kubectl alone.
 */
export async function runKubectlCli(args: readonly string[]): Promise<number> {
  const plan = await planKubectl(args, process.env);
  if (!plan.ok) {
    process.stderr.write(`cheops kubectl: ${plan.error}\n`);
    return 1;
  }
  const binary = kubectlBinary(process.env);
  let exit: KubectlExit;
  try {
    exit = await runKubectl(binary, plan.value.args);
  } catch (error) {
    const missing = error instanceof Error && 'code' in error && error.code === 'ENOENT';
    process.stderr.write(
      missing
        ? `cheops kubectl: ${binary} not found: install kubectl, or set CHEOPS_KUBECTL to its path\n`
        : `cheops kubectl: cannot run ${binary}: ${errorMessage(error)}\n`,
    );
    return missing ? 127 : 1;
  }
  if ('code' in exit) return exit.code;
  process.kill(process.pid, exit.signal);
  // Reached only if the signal does not end the process (a handler elsewhere): exit as a shell would report it.
  return 128 + (constants.signals[exit.signal] ?? 0);
}

const helpText = `
The scope (anywhere before a \`--\`; what follows \`--\` is the command kubectl runs, untouched):
  --scope EXPR, --scope=EXPR, --scope{Site1&Site2}, -scope{Site1&Site2}

The front the scope goes through (read only when a scope is given):
  --server URL, -s URL   that front
  --context NAME         that context's cluster server in the kubeconfig (--kubeconfig FILE,
                         else $KUBECONFIG, else ~/.kube/config; --cluster NAME overrides the cluster)
  neither                the current context's cluster server
kubectl is then given --server <front>/scope/<percent-encoded scope>.

Without a scope, kubectl runs with its arguments unchanged. A malformed scope is refused before
kubectl runs (exit 1, naming the column); the front checks the sites a scope names. kubectl's
output, input, exit code and signals pass through. The binary is $CHEOPS_KUBECTL, else kubectl.

Examples:
  cheops kubectl run purple --image=nginx --scope '{Site1 & Site2}'
  cheops kubectl --context Site2 create namespace foo --scope{Site1%Site2}
  cheops kubectl -s http://127.0.0.1:7001 get pods -w

kubectl's own help: cheops kubectl help [command], cheops kubectl <command> --help, cheops kubectl -- --help
`;

/**
 * The arguments after `kubectl` exactly as given on the command line, which commander parsed from
 * `process.argv`: commander itself would drop a leading `--` (`cheops kubectl -- --help`).
 */
function rawKubectlArgs(command: Command): string[] {
  const at = process.argv.indexOf(command.name(), 2);
  return at === -1 ? [...command.args] : process.argv.slice(at + 1);
}

/** Whether the user asked for this command's help rather than kubectl's. */
export function wantsWrapperHelp(args: readonly string[]): boolean {
  return args[0] === '--help' || args[0] === '-h';
}

/** The `cheops kubectl` command. It leaves kubectl's flags to kubectl: commander parses none of them. */
export function kubectlCommand(): Command {
  const command = new Command('kubectl')
    .description("run the real kubectl through a site's Cheops front, carrying --scope in the server URL")
    .usage('[kubectl arguments] [--scope EXPR]')
    .argument('[kubectl-arguments...]', 'passed to kubectl unchanged, in order')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .addHelpText('after', helpText)
    .action(async () => {
      const args = rawKubectlArgs(command);
      if (wantsWrapperHelp(args)) {
        command.outputHelp();
        return;
      }
      process.exitCode = await runKubectlCli(args);
    });
  return command;
}
