/** Serves a stand-in over node:http (plain HTTP: kubectl connects with `insecure-skip-tls-verify` off and an http:// server URL). */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createStandin, type Standin, type StandinOptions } from './standin.js';

export interface ListenOptions {
  /** The address to bind; 127.0.0.1 by default (loopback only). */
  readonly host?: string;
  /** The port; 0 (the default) picks a free one. */
  readonly port?: number;
}

export interface ServedStandin {
  /** `http://127.0.0.1:<port>`, for a kubeconfig's `server`. */
  readonly url: string;
  readonly standin: Standin;
  /** Stops listening, ends open watches and closes the stand-in. */
  close(): Promise<void>;
}

function listen(standin: Standin, host: string, port: number): Promise<{ server: ServerType; address: AddressInfo }> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: (request: Request) => standin.fetch(request), hostname: host, port }, (address) => {
      resolve({ server, address });
    });
    server.once('error', reject);
  });
}

/** Creates a stand-in and serves it; resolves once it listens and its state is loaded. */
export async function serveStandin(options: StandinOptions, listenOptions: ListenOptions = {}): Promise<ServedStandin> {
  const standin = createStandin(options);
  await standin.ready;
  const host = listenOptions.host ?? '127.0.0.1';
  const { server, address } = await listen(standin, host, listenOptions.port ?? 0);
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    standin,
    async close(): Promise<void> {
      await standin.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
    },
  };
}
