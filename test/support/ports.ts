import { createServer } from 'node:net';

/** A TCP port free on 127.0.0.1 right now (the OS picks it; tests bind it soon after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Whether `port` can be bound on 127.0.0.1 right now. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A base port such that base + every offset is free right now, for commands that lay their ports
 * out from a base (`cheops up --base-port`: base+k and base+100+k). The base is found from a port
 * the OS picks, so that parallel test files do not collide on a fixed range.
 */
export async function freePortBase(offsets: readonly number[], attempts = 50): Promise<number> {
  const highest = Math.max(...offsets);
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const base = (await freePort()) - Math.min(...offsets);
    if (base < 1024 || base + highest > 65_535) continue;
    const free = await Promise.all(offsets.map((offset) => isPortFree(base + offset)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no free port range for offsets ${offsets.join(', ')} after ${attempts} attempts`);
}
