/**
 * A stand-in on a LevelStorage keeps its cluster across a restart, as a real cluster keeps etcd:
 * objects, uids and a resource version that keeps growing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logger.js';
import { systemClock, systemRandom } from '../../core/system.js';
import { LevelStorage } from '../../crdt/level-storage.js';
import { serveStandin } from '../../simulator/standin/index.js';
import { kubectlFor } from './kubectl-harness.js';

const cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function start(location: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const storage = await LevelStorage.open({ location, sync: false });
  const served = await serveStandin({ site: 'Site1', clock: systemClock, random: systemRandom, logger: silentLogger, storage });
  return {
    url: served.url,
    stop: async () => {
      await served.close();
      await storage.close();
    },
  };
}

describe('stand-in on LevelStorage', () => {
  it('keeps its objects across a close and reopen', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'cheops-standin-level-'));
    cleanup.push(() => rm(directory, { recursive: true, force: true }));
    const location = join(directory, 'standin');

    const first = await start(location);
    const before = await kubectlFor(first.url);
    cleanup.push(() => before.dispose());
    expect((await before.run(['create', 'configmap', 'kept', '--from-literal=a=b'])).code).toBe(0);
    expect((await before.run(['create', 'deployment', 'web', '--image=nginx', '--replicas=2'])).code).toBe(0);
    expect((await before.run(['rollout', 'status', 'deployment/web', '--timeout=20s'])).code).toBe(0);
    const uid = (await before.run(['get', 'configmap', 'kept', '-o', 'jsonpath={.metadata.uid}'])).stdout;
    const version = Number((await before.run(['get', 'configmap', 'kept', '-o', 'jsonpath={.metadata.resourceVersion}'])).stdout);
    await first.stop();

    const second = await start(location);
    cleanup.push(second.stop);
    const after = await kubectlFor(second.url);
    cleanup.push(() => after.dispose());
    expect((await after.run(['get', 'configmap', 'kept', '-o', 'jsonpath={.metadata.uid} {.data.a}'])).stdout).toBe(`${uid} b`);
    expect((await after.run(['get', 'deployment', 'web', '--no-headers'])).stdout).toMatch(/^web\s+2\/2\s+2\s+2\s+/);
    expect((await after.run(['get', 'pods', '-l', 'app=web', '-o', 'name'])).stdout.trim().split('\n')).toHaveLength(2);
    const created = await after.run(['create', 'configmap', 'new', '-o', 'jsonpath={.metadata.resourceVersion}']);
    expect(Number(created.stdout)).toBeGreaterThan(version);
  });
});
