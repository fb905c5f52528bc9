/**
 * Real `cheops` processes for integration tests: spawned through the same launcher users run
 * (`bin/cheops.js`), killed with real signals, their logs kept for the failure message.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
export const cheopsBin = fileURLToPath(new URL('../../bin/cheops.js', import.meta.url));

export interface SiteRow {
  name: string;
  peerId: string;
  state: 'self' | 'up' | 'down';
  rttMs: number | null;
  http: string;
}

export interface NodeProcessOptions {
  readonly site: string;
  readonly dataDir: string;
  readonly httpPort: number;
  readonly p2pPort: number;
  readonly peers?: readonly number[];
  readonly app?: string;
  readonly extraArgs?: readonly string[];
}

/** Ports for `count` sites. */
export async function allocateSites(count: number): Promise<Array<{ httpPort: number; p2pPort: number }>> {
  const sites = [];
  for (let index = 0; index < count; index += 1) sites.push({ httpPort: await freePort(), p2pPort: await freePort() });
  return sites;
}

export class NodeProcess {
  readonly url: string;
  private child: ChildProcess | undefined;
  private output = '';

  constructor(readonly options: NodeProcessOptions) {
    this.url = `http://127.0.0.1:${options.httpPort}`;
  }

  get log(): string {
    return this.output;
  }

  start(): void {
    const { site, dataDir, httpPort, p2pPort, peers = [], app, extraArgs = [] } = this.options;
    const args = [
      cheopsBin, 'node', '--site', site, '--data', dataDir, '--http', `127.0.0.1:${httpPort}`,
      '--p2p', `/ip4/127.0.0.1/tcp/${p2pPort}`,
      ...peers.flatMap((port) => ['--peer', `/ip4/127.0.0.1/tcp/${port}`]),
      ...(app === undefined ? [] : ['--app', app]),
      ...extraArgs,
    ];
    const child = spawn(process.execPath, args, { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.child = child;
  }

  /** Waits until the front answers /readyz. */
  async ready(timeoutMs = 15_000): Promise<void> {
    await waitFor(async () => (await fetch(`${this.url}/readyz`)).ok, timeoutMs, () => `${this.options.site} never became ready:\n${this.output}`);
  }

  async sites(): Promise<SiteRow[]> {
    const response = await fetch(`${this.url}/cheops/v1/sites`);
    const body = (await response.json()) as { items: SiteRow[] };
    return body.items;
  }

  /** SIGKILL: no chance to flush or say goodbye. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }
}

/** Polls `condition` every 100 ms until it holds; throws `describe()` after `timeoutMs`. */
export async function waitFor(
  condition: () => Promise<boolean> | boolean,
  timeoutMs: number,
  describe: () => string,
): Promise<number> {
  const start = performance.now();
  for (;;) {
    try {
      if (await condition()) return performance.now() - start;
    } catch {
      // not yet: the process may still be starting
    }
    if (performance.now() - start > timeoutMs) throw new Error(describe());
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** How one `cheops` run ended, and what it printed. */
export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly timeoutMs?: number;
  /** Variables added to this process's environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** Written to the CLI's stdin, which is then closed. */
  readonly input?: string;
}

/** Runs the CLI to completion and returns its exit code and output. */
export function runCli(args: readonly string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCheops(args, { timeoutMs });
}

/** Runs the CLI to completion with extra environment and stdin; never rejects on a failure exit. */
export function runCheops(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCheops(args, options.env);
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin?.end(options.input);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Starts the CLI with piped stdio (the caller reads, writes and ends it). */
export function spawnCheops(args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [cheopsBin, ...args], { cwd: projectRoot, env: { ...process.env, ...env }, stdio: 'pipe' });
}
