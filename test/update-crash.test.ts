/**
 * A real `cheops node` killed with SIGKILL the moment it has acknowledged a burst of replicated
 * updates: each is answered once a record of it is flushed to the staging log, before its
 * replicant's change is stored (node/replication/answered-updates.ts), so the kill lands, for
 * some of them, between the answer and the change. After the restart every acknowledged label
 * reaches the other site. Site1's application is a stand-in served by this test: it outlives the
 * node, as an application does; Site2 runs the embedded one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.js';
import { systemClock, systemRandom } from '../core/system.js';
import { createStandin, type Standin } from '../simulator/standin/index.js';
import { type NodeProcess, waitFor } from './support/cheops-process.js';
import { nodesWithServedApp } from './support/served-app.js';

const pods = '/api/v1/namespaces/default/pods';
const names = Array.from({ length: 8 }, (_, index) => `burst-${index}`);

async function labelOn(url: string, name: string): Promise<string | undefined> {
  const response = await fetch(`${url}${pods}/${name}`);
  if (response.status !== 200) return undefined;
  const pod = (await response.json()) as { metadata?: { labels?: Record<string, string> } };
  return pod.metadata?.labels?.v;
}

describe('a node killed with SIGKILL as it acknowledges replicated updates', () => {
  let dataRoot: string;
  let standin: Standin;
  let server: ServerType;
  let site1: NodeProcess;
  let site2: NodeProcess;

  beforeAll(async () => {
    dataRoot = await mkdtemp(join(tmpdir(), 'cheops-update-crash-'));
    standin = createStandin({ site: 'Site1', clock: systemClock, random: systemRandom, logger: silentLogger });
    await standin.ready;
    ({ site1, site2, server } = await nodesWithServedApp(dataRoot, async (request) => standin.fetch(request), 'info'));
  }, 40_000);

  afterAll(async () => {
    await Promise.all([site1?.kill(), site2?.kill()]);
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
    await standin?.close();
    await rm(dataRoot, { recursive: true, force: true });
  });

  it('loses none of them: after its restart every acknowledged label reaches the other site', async () => {
    for (const name of names) {
      const body = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { v: '1' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } });
      const created = await fetch(`${site1.url}${pods}`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-cheops-scope': '{Site1 & Site2}' } });
      expect(created.status).toBe(201);
    }
    await waitFor(async () => (await Promise.all(names.map((name) => labelOn(site2.url, name)))).every((v) => v === '1'), 20_000, () => `Site2 never got the pods:\n${site1.log}`);

    const answers = await Promise.all(names.map((name) => fetch(`${site1.url}${pods}/${name}`, {
      method: 'PATCH', body: JSON.stringify({ metadata: { labels: { v: '2' } } }), headers: { 'content-type': 'application/merge-patch+json' },
    })));
    await site1.kill();
    expect(answers.map((answer) => answer.status)).toEqual(names.map(() => 200));

    site1.start();
    await site1.ready();
    await waitFor(
      async () => (await Promise.all(names.map((name) => labelOn(site2.url, name)))).every((v) => v === '2'),
      20_000,
      () => `Site2 lacks labels Site1 acknowledged before it was killed:\n${site1.log}`,
    );
    for (const name of names) expect(await labelOn(site1.url, name)).toBe('2');
  }, 90_000);
});
