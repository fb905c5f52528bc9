/**
 * A real `cheops node` killed with SIGKILL while its application makes a scoped create: the
 * create's intent was staged before the application saw it (node/replication/create-intents.ts),
 * so after the restart the node replicates the object the application made, rather than leave it
 * on its site alone, named by nothing (swarm seed 7400111 found the window in the simulator).
 * Site1's application is a stand-in served by this test, which holds the create until the node
 * is dead; Site2 runs the embedded one.
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

describe('a node killed while its application makes a scoped create', () => {
  let dataRoot: string;
  let standin: Standin;
  let server: ServerType;
  let site1: NodeProcess;
  let site2: NodeProcess;
  /** Creates the application received while held, and the release of the hold. */
  const held: string[] = [];
  let release: () => void = () => undefined;
  let hold: Promise<void> | undefined;

  beforeAll(async () => {
    dataRoot = await mkdtemp(join(tmpdir(), 'cheops-create-crash-'));
    standin = createStandin({ site: 'Site1', clock: systemClock, random: systemRandom, logger: silentLogger });
    await standin.ready;
    const fetchHeld = async (request: Request): Promise<Response> => {
      if (request.method !== 'POST' || hold === undefined || new URL(request.url).searchParams.has('dryRun')) return standin.fetch(request);
      // Read whole first, as an API server does: the create goes on once its client is gone.
      const body = await request.text();
      held.push(new URL(request.url).pathname);
      await hold;
      return standin.fetch(new Request(request.url, { method: 'POST', headers: request.headers, body }));
    };
    ({ site1, site2, server } = await nodesWithServedApp(dataRoot, fetchHeld));
  }, 40_000);

  afterAll(async () => {
    release();
    await Promise.all([site1?.kill(), site2?.kill()]);
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
    await standin?.close();
    await rm(dataRoot, { recursive: true, force: true });
  });

  it('replicates, after its restart, the object its application made', async () => {
    hold = new Promise<void>((resolve) => (release = resolve));
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'caught' }, spec: { containers: [{ name: 'web', image: 'nginx' }] } });
    // Waiting for every site: the create that wrote no intent at all before stop 28.
    const answer = fetch(`${site1.url}${pods}`, {
      method: 'POST', body, headers: { 'content-type': 'application/json', 'x-cheops-scope': '{Site1 & Site2}', 'x-cheops-wait': 'all' },
    }).then((response) => response.status, (error: unknown) => String(error));
    await waitFor(() => held.length > 0, 10_000, () => `the create never reached the application:\n${site1.log}`);
    await site1.kill();
    release();
    hold = undefined;
    expect(await answer).toMatch(/fetch failed|other side closed|socket/);
    // The application made it; the node died before any replicant named it.
    await waitFor(async () => (await standin.fetch(new Request(`http://app${pods}/caught`))).status === 200, 5_000, () => 'the application never made the pod');

    site1.start();
    await site1.ready();
    await waitFor(
      async () => (await fetch(`${site2.url}${pods}/caught`)).status === 200,
      20_000,
      () => `Site2 never got the pod made on Site1 before its node was killed:\n${site1.log}`,
    );
    // Site1 names it too: a scoped read answers it with its meta-ID.
    const read = await fetch(`${site1.url}${pods}/caught`, { headers: { 'x-cheops-scope': '{Site1 & Site2}' } });
    expect(read.status).toBe(200);
  }, 60_000);
});
