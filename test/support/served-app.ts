import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { allocateSites, NodeProcess, waitFor } from './cheops-process.js';

/** Two running nodes, Site1 seeing Site2 up, and the server of Site1's application. */
export interface NodesWithServedApp {
  readonly site1: NodeProcess;
  readonly site2: NodeProcess;
  readonly server: ServerType;
}

/**
 * Starts Site1 and Site2 under `dataRoot`: Site1's application is `fetch`, served by the test (it
 * outlives the node, as an application does, and the test can hold its calls); Site2 runs the
 * embedded stand-in.
 */
export async function nodesWithServedApp(dataRoot: string, fetch: (request: Request) => Promise<Response>, site1LogLevel = 'warn'): Promise<NodesWithServedApp> {
  let server: ServerType | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    server = serve({ fetch, hostname: '127.0.0.1', port: 0 }, (address: AddressInfo) => resolve(address.port));
    server.once('error', reject);
  });
  const [first, second] = await allocateSites(2);
  const site2 = new NodeProcess({ site: 'Site2', dataDir: join(dataRoot, 'site2'), ...second!, app: 'standin', extraArgs: ['--log-level', 'warn'] });
  const site1 = new NodeProcess({
    site: 'Site1', dataDir: join(dataRoot, 'site1'), ...first!, peers: [second!.p2pPort], app: `http://127.0.0.1:${port}`, extraArgs: ['--log-level', site1LogLevel],
  });
  site2.start();
  site1.start();
  await Promise.all([site1.ready(), site2.ready()]);
  await waitFor(async () => (await site1.sites()).some((row) => row.name === 'Site2' && row.state === 'up'), 15_000, () => `Site2 never seen up:\n${site1.log}`);
  return { site1, site2, server: server! };
}
