/**
 * Issue 3's end-to-end suite through a real site: the real kubectl drives a `cheops node --app
 * standin` process's front, which passes every unscoped request through untouched (the cases are
 * test/standin/kubectl-suite.ts, also run against the stand-in alone). Then `npm start`:
 * `cheops up` with three sites, the commands it prints, and a clean stop on Ctrl-C.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allocateSites, cheopsBin, NodeProcess, projectRoot, waitFor } from './support/cheops-process.js';
import { freePortBase } from './support/ports.js';
import { childPids, commandLine, isRunning } from './support/processes.js';
import { describeKubectlSuite } from './standin/kubectl-suite.js';

describeKubectlSuite("kubectl through a site's Cheops front (passthrough)", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cheops-passthrough-'));
  const [ports] = await allocateSites(1);
  const node = new NodeProcess({
    site: 'Site1',
    dataDir,
    httpPort: ports!.httpPort,
    p2pPort: ports!.p2pPort,
    app: 'standin',
    extraArgs: ['--log-level', 'warn'],
  });
  node.start();
  await node.ready();
  return {
    url: node.url,
    close: async () => {
      await node.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});

/** `cheops up`, started as `npm start` starts it, its output collected. */
interface Up {
  readonly child: ChildProcess;
  output(): string;
}

function startUp(args: readonly string[]): Up {
  const child = spawn(process.execPath, [cheopsBin, 'up', ...args], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

/** The indented lines under "Try:" in `cheops up`'s banner. */
function triedCommands(banner: string): string[] {
  const lines = banner.split('\n');
  const start = lines.indexOf('Try:');
  if (start === -1) return [];
  const commands: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith('  ')) break;
    commands.push(line.trim());
  }
  return commands;
}

/** Runs one printed line in a shell, after the printed `export`, as a user pasting it would. */
function shell(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', script], { env: { ...process.env, ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

describe('npm start (cheops up)', () => {
  let dataDir: string;
  let up: Up | undefined;
  const started: number[] = [];

  afterAll(async () => {
    // Whatever a failed case left behind: the sites (by pid), then `cheops up` itself.
    for (const pid of started) if (await isRunning(pid)) process.kill(pid, 'SIGKILL');
    if (up !== undefined && up.child.exitCode === null && up.child.signalCode === null) up.child.kill('SIGKILL');
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  });

  it('leaves three sites running, the commands it prints work, and Ctrl-C stops them all', { timeout: 120_000 }, async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cheops-up-'));
    const base = await freePortBase([1, 2, 3, 101, 102, 103]);
    const running = startUp(['--sites', '3', '--base-port', String(base), '--data', dataDir]);
    up = running;
    await waitFor(() => running.output().includes('Press Ctrl-C to stop.'), 60_000, () => `cheops up never got ready:\n${running.output()}`);

    const pid = running.child.pid!;
    started.push(...(await childPids(pid)));
    const siteCommands = await Promise.all(started.map((child) => commandLine(child)));
    expect(siteCommands).toHaveLength(3);
    for (const [index, line] of siteCommands.entries()) expect(line).toContain(`node --site Site${index + 1}`);
    // As `npm start` runs them: each site compiled its document paths before it listened.
    for (const k of [1, 2, 3]) expect(await readFile(join(dataDir, `site${k}`, 'cheops.log'), 'utf8')).toContain('document paths compiled');

    const [exportLine, ...commands] = triedCommands(running.output());
    expect(exportLine).toBe(`export KUBECONFIG=${join(dataDir, 'kubeconfig')}`);
    expect(commands).toHaveLength(3);
    // A fresh HOME: the printed commands must work without anything the user might have set up.
    const env = { HOME: join(dataDir, 'home'), KUBECONFIG: '' };
    const results = [];
    for (const command of commands) results.push({ command, ...(await shell(`${exportLine!}; ${command}`, env)) });
    for (const result of results) expect(result, `${result.command}\n${result.stderr}`).toMatchObject({ code: 0 });
    expect(results[0]!.stdout).toBe('deployment.apps/web created\n');
    const sites = JSON.parse(results[1]!.stdout) as { items: Array<{ name: string }> };
    expect(sites.items.map((site) => site.name)).toContain('Site1');
    // Site2 is its own cluster: Site1's deployment is not there.
    expect(results[2]!.stdout).not.toContain('web-');
    // Each printed dashboard is its site's page.
    const dashboards = /^Dashboards: (.*)$/m.exec(running.output())?.[1]?.split(/\s+/) ?? [];
    expect(dashboards).toHaveLength(3);
    for (const [index, url] of dashboards.entries()) {
      const page = await fetch(url);
      expect([page.status, await page.text()]).toEqual([200, expect.stringContaining(`<h1>Cheops — Site${index + 1}</h1>`)]);
    }

    running.child.kill('SIGINT');
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
      if (running.child.exitCode !== null || running.child.signalCode !== null) resolve([running.child.exitCode, running.child.signalCode]);
      else running.child.once('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
    });
    expect({ code, signal }, running.output()).toEqual({ code: 0, signal: null });
    for (const child of started) expect(await isRunning(child), `site process ${child} still runs`).toBe(false);
  });
});
