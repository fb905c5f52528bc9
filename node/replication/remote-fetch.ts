/**
 * The production RemoteFetch: HTTP to other sites' fronts over one keep-alive pool. A dead site
 * must fail fast so that forwarding can try the next member, hence the short connect timeout.
 */
import { Agent } from 'undici';
import { relayFetch } from '../relay-fetch.js';
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
    fetch: (request: Request, signal?: AbortSignal) => relayFetch(request.url, request, agent, signal),
    close: () => agent.close(),
  };
}
