/**
 * The production RemoteFetch: HTTP to other sites' fronts over one keep-alive pool. A dead site
 * must fail fast so that forwarding can try the next member, hence the short connect timeout.
 */
import { Agent, fetch as undiciFetch } from 'undici';
import type { RemoteFetch } from './context.js';

/** A RemoteFetch over HTTP, and how to close its connections. */
export interface HttpRemoteFetch {
  readonly fetch: RemoteFetch;
  close(): Promise<void>;
}

/** Connects within 3 s or gives up: a live site on a LAN or a WAN answers a SYN well within that. */
const connectTimeoutMs = 3_000;

/** HTTP to other fronts over one keep-alive pool. */
export function httpRemoteFetch(): HttpRemoteFetch {
  const agent = new Agent({ keepAliveTimeout: 4_000, connections: 32, connect: { timeout: connectTimeoutMs } });
  return {
    async fetch(request: Request): Promise<Response> {
      const hasBody = request.body !== null && request.method !== 'GET' && request.method !== 'HEAD';
      // undici's own fetch and Response types are structurally the web ones; cast at this one edge.
      const response = await undiciFetch(request.url, {
        method: request.method,
        headers: [...request.headers],
        body: hasBody ? request.body : null,
        signal: request.signal,
        redirect: 'manual',
        dispatcher: agent,
        ...(hasBody ? { duplex: 'half' as const } : {}),
      });
      return response;
    },
    close: () => agent.close(),
  };
}
