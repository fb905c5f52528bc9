import { createServer } from 'node:net';

/** Linux hands out the local ports of outgoing connections from here up (ip_local_port_range). */
const ephemeralPortsFrom = 32_768;

/**
 * A TCP port free on 127.0.0.1 right now, below the ephemeral range (see `freePortBase`); tests
 * bind it soon after.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const port = 10_000 + Math.floor(Math.random() * (ephemeralPortsFrom - 10_000));
    if (await isPortFree(port)) return port;
  }
  throw new Error('no free port below the ephemeral range after 100 attempts');
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
 * out from a base (`cheops up --base-port`: base+k and base+100+k). Drawn at random below the
 * ephemeral range: a port found free there can be taken, before the command binds it, by the local
 * end of an outgoing connection (a relay's, a site's), and parallel test files draw apart.
 */
export async function freePortBase(offsets: readonly number[], attempts = 50): Promise<number> {
  const lowest = Math.min(...offsets);
  const highest = Math.max(...offsets);
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const base = 10_000 - lowest + Math.floor(Math.random() * (ephemeralPortsFrom - 10_000 - (highest - lowest)));
    const free = await Promise.all(offsets.map((offset) => isPortFree(base + offset)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no free port range for offsets ${offsets.join(', ')} after ${attempts} attempts`);
}
