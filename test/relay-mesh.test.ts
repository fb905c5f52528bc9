/**
 * RelayMesh (one relay per pair of sites, a dead address per site) and the control API that
 * `cheops up` serves on it, over real sockets: which links a partition cuts, what a heal heals,
 * one-way conditions, and the API's answers to good and bad requests.
 */
import { connect, createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startControlServer, type ControlServer } from '../cli/up-control.js';
import { RelayMesh } from '../simulator/relay/index.js';

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** N listening "sites" (echo servers) and the mesh between them. */
async function meshOf(names: readonly string[]): Promise<RelayMesh> {
  const servers: Server[] = [];
  const sites = [];
  for (const name of names) {
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.pipe(socket);
    });
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
    servers.push(server);
    sites.push({ name, p2pPort: port });
  }
  const mesh = await RelayMesh.start({ sites });
  cleanups.push(async () => {
    await mesh.close();
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });
  return mesh;
}

/** Connects to a multiaddr's port, sends one byte, and says whether it came back. */
function echoes(multiaddr: string): Promise<boolean> {
  const port = Number(multiaddr.split('/')[4]);
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('x'));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, 1_000);
    socket.on('data', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

describe('RelayMesh', () => {
  it('has one relay per pair, dialled by the first site of the pair, and a dead address per site', async () => {
    const mesh = await meshOf(['A', 'B', 'C']);
    expect(mesh.dialAddresses('A')).toHaveLength(2);
    expect(mesh.dialAddresses('B')).toHaveLength(1);
    expect(mesh.dialAddresses('C')).toHaveLength(0);
    expect(await echoes(mesh.dialAddresses('B')[0]!)).toBe(true);
    expect(await echoes(mesh.deadAddress('A'))).toBe(false);
    expect(mesh.status().map((link) => `${link.from}-${link.to}`)).toEqual(['A-B', 'A-C', 'B-C']);
    expect(() => mesh.dialAddresses('Z')).toThrow('unknown site Z; the sites are A, B, C');
  });

  it('partition: sites in no group form one more group; heal heals the links of the sites named', async () => {
    const mesh = await meshOf(['A', 'B', 'C', 'D']);
    expect(mesh.partition([['C']])).toEqual([['A', 'C'], ['B', 'C'], ['C', 'D']]);
    expect(await echoes(mesh.relay('A', 'C').multiaddr)).toBe(false);
    expect(await echoes(mesh.relay('A', 'B').multiaddr)).toBe(true);
    expect(mesh.heal(['A'])).toEqual([['A', 'C']]);
    expect(mesh.heal()).toEqual([['B', 'C'], ['C', 'D']]);
    expect(mesh.partition([['A', 'B'], ['C']], 'blackhole')).toEqual([['A', 'C'], ['A', 'D'], ['B', 'C'], ['B', 'D'], ['C', 'D']]);
    expect(mesh.relay('D', 'C').state).toBe('blackhole');
    expect(() => mesh.partition([['A'], ['A']])).toThrow('A is in two groups');
  });

  it('sets conditions one way or both, keeping what is not changed', async () => {
    const mesh = await meshOf(['A', 'B']);
    mesh.setConditions('B', 'A', { latency: { type: 'fixed', ms: 30 } }, { oneWay: true });
    mesh.setConditions('A', 'B', { loss: 0.01 });
    const [link] = mesh.status();
    expect(link).toMatchObject({ from: 'A', to: 'B', forward: '0ms, 1% loss', backward: '30ms, 1% loss' });
  });
});

describe("cheops up's control API", () => {
  async function serve(): Promise<{ mesh: RelayMesh; control: ControlServer; post: (path: string, body: unknown) => Promise<{ status: number; body: Record<string, unknown> }> }> {
    const mesh = await meshOf(['Site1', 'Site2', 'Site3']);
    const control = await startControlServer(mesh, '127.0.0.1', 0);
    cleanups.push(() => control.close());
    const post = async (path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
      const response = await fetch(`${control.url}${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    return { mesh, control, post };
  }

  it('partitions, heals and changes links', async () => {
    const { mesh, control, post } = await serve();
    expect(await post('/v1/partition', { groups: [['Site3']] })).toEqual({ status: 200, body: { cut: [['Site1', 'Site3'], ['Site2', 'Site3']] } });
    expect(mesh.relay('Site1', 'Site3').state).toBe('reset');
    expect(await post('/v1/heal', {})).toEqual({ status: 200, body: { healed: [['Site1', 'Site3'], ['Site2', 'Site3']] } });
    const changed = await post('/v1/link', { from: 'Site2', to: 'Site1', latency: '20-40ms', bandwidth: '10mbit', oneWay: true });
    expect(changed.status).toBe(200);
    expect(changed.body.items).toMatchObject([{ from: 'Site1', to: 'Site2', forward: '0ms', backward: '20–40ms, 10 Mbit/s' }]);
    const links = (await (await fetch(`${control.url}/v1/links`)).json()) as { items: unknown[] };
    expect(links.items).toHaveLength(3);
  });

  it('answers bad requests with 400 and a reason, unknown routes with 404', async () => {
    const { control, post } = await serve();
    expect(await post('/v1/partition', { groups: [['Site9']] })).toMatchObject({ status: 400, body: { error: 'unknown site Site9; the sites are Site1, Site2, Site3' } });
    expect(await post('/v1/partition', { groups: [['Site1']], mode: 'explode' })).toMatchObject({ status: 400, body: { error: 'mode must be one of reset, blackhole' } });
    expect(await post('/v1/partition', 'not json')).toMatchObject({ status: 400, body: { error: 'the body is not JSON' } });
    expect(await post('/v1/link', { from: 'Site1', to: 'Site2' })).toMatchObject({ status: 400 });
    expect(await post('/v1/link', { from: 'Site1', to: 'Site2', loss: '150%' })).toMatchObject({ status: 400, body: { code: 'CHEOPS_CONFIG_INVALID' } });
    expect((await fetch(`${control.url}/v1/nothing`)).status).toBe(404);
  });
});
