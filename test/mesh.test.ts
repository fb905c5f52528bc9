/**
 * Three real `cheops node` processes on loopback, over real libp2p: they see each other up with
 * RTTs, a SIGKILLed site shows down within 5 s and up again within 5 s of a restart on the same
 * data directory (same peer id), and a site-directory change made while a site was down reaches
 * it after its restart.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocateSites, NodeProcess, waitFor, type SiteRow } from './support/cheops-process.js';

const contractMs = 5_000;

describe('a mesh of three real site processes', () => {
  let dataRoot: string;
  let ports: Array<{ httpPort: number; p2pPort: number }>;
  const nodes: NodeProcess[] = [];

  const makeNode = (index: number, peers: readonly number[]): NodeProcess =>
    new NodeProcess({
      site: `Site${index + 1}`,
      dataDir: join(dataRoot, `site${index + 1}`),
      httpPort: ports[index]!.httpPort,
      p2pPort: ports[index]!.p2pPort,
      peers,
      extraArgs: ['--log-level', 'warn'],
    });

  const stateOf = (rows: SiteRow[], name: string): SiteRow | undefined => rows.find((row) => row.name === name);

  const seesAllUp = async (node: NodeProcess, names: readonly string[]): Promise<boolean> => {
    const rows = await node.sites();
    return names.every((name) => {
      const row = stateOf(rows, name);
      return row !== undefined && (row.state === 'self' || (row.state === 'up' && row.rttMs !== null));
    });
  };

  beforeAll(async () => {
    dataRoot = await mkdtemp(join(tmpdir(), 'cheops-mesh-'));
    ports = await allocateSites(4);
    // Site1 knows nobody; Site2 and Site3 know only Site1: the rest is learnt from the directory.
    nodes.push(makeNode(0, []), makeNode(1, [ports[0]!.p2pPort]), makeNode(2, [ports[0]!.p2pPort]));
    for (const node of nodes) node.start();
    await Promise.all(nodes.map((node) => node.ready()));
  });

  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await rm(dataRoot, { recursive: true, force: true });
  });

  it('every site sees the three sites, itself as self and the others up with an RTT', async () => {
    const names = ['Site1', 'Site2', 'Site3'];
    for (const node of nodes) {
      await waitFor(() => seesAllUp(node, names), 15_000, () => `${node.options.site} does not see all up:\n${node.log}`);
      const rows = await node.sites();
      expect(rows.map((row) => row.name)).toEqual(names);
      expect(stateOf(rows, node.options.site)).toMatchObject({ state: 'self', rttMs: 0, http: node.url });
      for (const row of rows) expect(row.peerId).toMatch(/^12D3KooW/);
    }
  });

  it('a SIGKILLed site shows down within 5 s and up again within 5 s of a restart, with the same peer id', async () => {
    const [site1, site2, site3] = nodes as [NodeProcess, NodeProcess, NodeProcess];
    const peerIdBefore = stateOf(await site1.sites(), 'Site3')!.peerId;
    await site3.kill();
    for (const observer of [site1, site2]) {
      await waitFor(
        async () => stateOf(await observer.sites(), 'Site3')?.state === 'down',
        contractMs,
        () => `${observer.options.site} did not see Site3 down within 5 s`,
      );
    }
    site3.start();
    await site3.ready();
    for (const observer of [site1, site2]) {
      await waitFor(
        async () => stateOf(await observer.sites(), 'Site3')?.state === 'up',
        contractMs,
        () => `${observer.options.site} did not see Site3 up within 5 s of its restart:\n${site3.log}`,
      );
    }
    expect(stateOf(await site1.sites(), 'Site3')!.peerId).toBe(peerIdBefore);
    expect(stateOf(await site3.sites(), 'Site3')).toMatchObject({ state: 'self', peerId: peerIdBefore });
  });

  it('a directory change made while a site was down reaches it after its restart', async () => {
    const [site1, , site3] = nodes as [NodeProcess, NodeProcess, NodeProcess];
    await site3.kill();
    // Site4 joins through Site1 while Site3 is down: only Site1 and Site2 learn of it now.
    const site4 = makeNode(3, [ports[0]!.p2pPort]);
    nodes.push(site4);
    site4.start();
    await site4.ready();
    await waitFor(async () => stateOf(await site1.sites(), 'Site4')?.state === 'up', 15_000, () => `Site1 never saw Site4:\n${site4.log}`);
    // Site3 restarts with no --peer: it knows the others only from its stored directory.
    site3.start();
    await site3.ready();
    await waitFor(
      () => seesAllUp(site3, ['Site1', 'Site2', 'Site3', 'Site4']),
      15_000,
      () => `Site3 did not learn of Site4 after its restart:\n${site3.log}`,
    );
    await waitFor(async () => stateOf(await site4.sites(), 'Site3')?.state === 'up', 15_000, () => 'Site4 never saw Site3 up');
  });
});
