/**
 * `cheops sim` as a user meets it: a failed checker exits 1 with a FAIL verdict, the checker's
 * violations and the command that replays the run; a bad flag exits 2 naming it.
 */
import { describe, expect, it } from 'vitest';
import { runSim, type SimFlags, type SimOutput } from '../../cli/sim-command.js';
import type { SiteHooks } from '../../simulator/harness/site-hooks.js';
import { describeFaults, parseFaults } from '../../simulator/faults/fault-kinds.js';
import { swarmSettings } from '../../simulator/scenario/swarm.js';
import { dropsReplicatedWrites } from './broken-nodes.js';

const flags: SimFlags = { seed: '5', sites: '3', duration: '8s', faults: 'none', latency: '20ms', workload: '30', timeline: 'none', progress: false };

async function sim(overrides: Partial<SimFlags>, hooks?: SiteHooks): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const output: SimOutput = { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), interactive: false };
  const code = await runSim({ ...flags, ...overrides }, output, hooks);
  return { code, stdout, stderr };
}

describe('cheops sim', () => {
  it('passes with exit 0 on a sound node', async () => {
    const run = await sim({});
    expect(run.stdout).toMatch(/^verdict: PASS/m);
    expect(run.code).toBe(0);
  });

  it('exits 1 on a failed checker, names the violation and prints the replay command', async () => {
    const run = await sim({}, dropsReplicatedWrites('Site2'));
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^verdict: FAIL/m);
    expect(run.stdout).toMatch(/FAIL\s+convergence/);
    expect(run.stdout).toMatch(/on Site2: the application lacks it/);
    expect(run.stdout).toContain('replay: cheops sim --seed 5 --sites 3 --duration 8s --faults none --latency 20ms --workload 30');
  });

  it('replays a run with a slow application with that latency', async () => {
    const run = await sim({ appLatency: '5-15ms' }, dropsReplicatedWrites('Site2'));
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('application latency 5–15ms');
    expect(run.stdout).toContain('replay: cheops sim --seed 5 --sites 3 --duration 8s --faults none --latency 20ms --workload 30 --app-latency 5-15ms');
  });

  it('draws a slow application for some seeds of a swarm, an immediate one for others', () => {
    const drawn = Array.from({ length: 40 }, (_, index) => swarmSettings(1000 + index).appLatency);
    expect(drawn.filter((latency) => latency === undefined).length).toBeGreaterThan(5);
    expect(new Set(drawn.filter((latency) => latency !== undefined).map((latency) => latency?.type))).toEqual(new Set(['fixed', 'uniform', 'long-tail']));
  });

  it('takes application outages among the faults, and prints what they did', async () => {
    expect(parseFaults('partitions,app')).toEqual(['partitions', 'app-outages']);
    expect(parseFaults('all')).toEqual(expect.arrayContaining(['app-outages', 'disk-full', 'slow-disk']));
    expect(parseFaults('disk')).toEqual(['disk-full']);
    expect(parseFaults('stall,partition')).toEqual(['partitions', 'slow-disk']);
    expect(describeFaults(['partitions', 'crashes', 'loss', 'reorder'])).toBe('partitions,crashes,loss,reorder');
    const run = await sim({ faults: 'app-outages', duration: '20s' });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/faults +\d+: .* [1-9]\d* application outages/);
    expect(run.stdout).toContain('cheops sim: seed 5, 3 sites, 20 s, faults app-outages,');
  });

  it('keeps the settings each swarm seed drew before application outages and disk faults were drawn', () => {
    const drawn = Array.from({ length: 40 }, (_, index) => swarmSettings(1000 + index).faults);
    expect(drawn.filter((faults) => faults.includes('app-outages')).length).toBeGreaterThan(15);
    expect(drawn.filter((faults) => faults.includes('disk-full')).length).toBeGreaterThan(15);
    expect(drawn.filter((faults) => faults.includes('slow-disk')).length).toBeGreaterThan(15);
    // Seed 3100004 as `cheops sim --swarm 300 --seed 3100000` ran it before outages were drawn.
    const { faults, ...settings } = swarmSettings(3100004);
    expect(settings).toEqual({
      seed: 3100004, sites: 2, durationMs: 30_000, latency: { type: 'long-tail', medianMs: 20, p99Ms: 200 }, operations: 113, appLatency: { type: 'fixed', ms: 2 },
    });
    expect(faults.filter((kind) => kind !== 'app-outages' && kind !== 'disk-full' && kind !== 'slow-disk')).toEqual(['partitions', 'crashes', 'reorder']);
  });

  it('exits 2 naming a bad flag', async () => {
    const run = await sim({ sites: 'three' });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('cheops sim: --sites "three": expected a positive integer\n');
  });
});
