/**
 * `cheops up --latency 50ms`: the sites talk to each other only through the link relays, so the
 * RTTs they measure are two one-way delays; `cheops partition` cuts a site off (it shows down on
 * the others within 5 s and keeps serving its own kubectl), `cheops heal` brings it back, and
 * `cheops links` shows the links. Everything runs through the real CLI, as a user would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cheopsBin, projectRoot, runCheops, waitFor, type SiteRow } from './support/cheops-process.js';
import { runKubectl } from './support/kubectl-run.js';
import { freePortBase } from './support/ports.js';

let dataDir: string;
let base: number;
let up: ChildProcess | undefined;
let output = '';

const url = (k: number): string => `http://127.0.0.1:${base + k}`;

async function sites(k: number): Promise<SiteRow[]> {
  const response = await fetch(`${url(k)}/cheops/v1/sites`);
  return ((await response.json()) as { items: SiteRow[] }).items;
}

async function stateOf(k: number, name: string): Promise<SiteRow | undefined> {
  return (await sites(k)).find((row) => row.name === name);
}

/** `cheops <args> --data <dataDir>`, which must succeed; its standard output. */
async function control(args: readonly string[]): Promise<string> {
  const result = await runCheops([...args, '--data', dataDir]);
  expect(result, result.stderr).toMatchObject({ code: 0 });
  return result.stdout;
}

const kubectl = (args: readonly string[]): ReturnType<typeof runKubectl> =>
  runKubectl(args, { KUBECONFIG: join(dataDir, 'kubeconfig'), HOME: join(dataDir, 'home') });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'cheops-up-network-'));
  base = await freePortBase([0, 1, 2, 3, 101, 102, 103]);
  const child = spawn(process.execPath, [cheopsBin, 'up', '--sites', '3', '--latency', '50ms', '--base-port', String(base), '--data', dataDir, '--no-warm-up'], {
    cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'],
  });
  up = child;
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitFor(() => output.includes('Press Ctrl-C to stop.'), 60_000, () => `cheops up never got ready:\n${output}`);
}, 90_000);

afterAll(async () => {
  const child = up;
  if (child !== undefined && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    await exited;
  }
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

describe('cheops up with a network between the sites', () => {
  it('starts its sites as told: --no-warm-up reaches every one of them', async () => {
    for (const k of [1, 2, 3]) {
      const log = await readFile(join(dataDir, `site${k}`, 'cheops.log'), 'utf8');
      expect(log).toContain('document store open');
      expect(log).not.toContain('document paths compiled');
    }
  });

  it('prints the network and how to control it', () => {
    expect(output).toContain(`Between two sites: 50ms one way, through a relay per pair (control API http://127.0.0.1:${base})`);
    expect(output).toMatch(/cheops partition Site3 --data \S+/);
    expect(existsSync(join(dataDir, 'control.json'))).toBe(true);
  });

  it('every site measures an RTT of about twice the one-way latency to every other', { timeout: 30_000 }, async () => {
    for (const k of [1, 2, 3]) {
      await waitFor(async () => (await sites(k)).every((row) => row.state === 'self' || (row.state === 'up' && row.rttMs !== null)), 20_000, () => `Site${k} does not see all up`);
    }
    // A few heartbeats, so the RTTs are warm ones.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    for (const k of [1, 2, 3]) {
      for (const row of (await sites(k)).filter((candidate) => candidate.state !== 'self')) {
        expect(row.rttMs, `Site${k} → ${row.name}`).toBeGreaterThanOrEqual(98);
        // About twice the one-way latency, not more (a loaded machine adds some; a doubled delay would be 200).
        expect(row.rttMs, `Site${k} → ${row.name}`).toBeLessThan(180);
      }
    }
  });

  it('cheops partition Site3: down on the others within 5 s, Site3 keeps serving its kubectl; cheops heal: up again', { timeout: 60_000 }, async () => {
    expect(await control(['partition', 'Site3'])).toBe('cut (reset): Site1–Site3, Site2–Site3\n');
    const started = performance.now();
    await waitFor(async () => (await stateOf(1, 'Site3'))?.state === 'down' && (await stateOf(2, 'Site3'))?.state === 'down', 5_000, () => 'Site3 never shown down');
    expect(performance.now() - started).toBeLessThan(5_000);
    // Site1 and Site2 still see each other.
    expect((await stateOf(1, 'Site2'))?.state).toBe('up');
    const created = await kubectl(['--context', 'Site3', 'run', 'alone', '--image=nginx']);
    expect(created, created.stderr).toMatchObject({ code: 0, stdout: 'pod/alone created\n' });
    const listed = await kubectl(['--context', 'Site3', 'get', 'pods', '--no-headers']);
    expect(listed.stdout).toMatch(/^alone\s/m);
    expect(await control(['links'])).toMatch(/Site1→Site3\s+reset/);

    expect(await control(['heal'])).toBe('healed: Site1–Site3, Site2–Site3\n');
    await waitFor(async () => (await stateOf(1, 'Site3'))?.state === 'up' && (await stateOf(2, 'Site3'))?.state === 'up', 10_000, () => 'Site3 never back up');
    expect(await control(['links'])).not.toMatch(/reset|blackhole/);
  });

  it("--mode blackhole: nothing is refused, the heartbeats notice within 5 s; a changed link changes the RTT", { timeout: 60_000 }, async () => {
    await control(['partition', 'Site1,Site2', 'Site3', '--mode', 'blackhole']);
    const started = performance.now();
    await waitFor(async () => (await stateOf(1, 'Site3'))?.state === 'down', 5_000, () => 'Site3 never shown down');
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(await control(['heal', 'Site3'])).toBe('healed: Site1–Site3, Site2–Site3\n');
    await waitFor(async () => (await stateOf(1, 'Site3'))?.state === 'up', 10_000, () => 'Site3 never back up');

    expect(await control(['link', 'Site1', 'Site2', '--latency', '100ms'])).toMatch(/Site1→Site2\s+open\s+100ms\s+100ms/);
    await waitFor(async () => ((await stateOf(1, 'Site2'))?.rttMs ?? 0) > 190, 10_000, () => 'the RTT never followed the link');
  });

  it('refuses an unknown site and a bad latency in one line', { timeout: 60_000 }, async () => {
    const unknown = await runCheops(['partition', 'Site9', '--data', dataDir]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('cheops: unknown site Site9; the sites are Site1, Site2, Site3\n');
    const bad = await runCheops(['link', 'Site1', 'Site2', '--latency', 'fast', '--data', dataDir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^cheops: invalid latency "fast"/);
    const nowhere = await runCheops(['heal', '--data', join(dataDir, 'nothing-here')]);
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toMatch(/no running cheops up found/);
  });

  it('Ctrl-C stops everything and removes control.json', { timeout: 30_000 }, async () => {
    const child = up!;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(existsSync(join(dataDir, 'control.json'))).toBe(false);
  });
});
