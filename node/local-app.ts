/**
 * The local-application port: how the node itself talks to the application of its site (the
 * replication reconciler applying a desired state, the write path reading back an object). It is
 * fetch-shaped so that the simulator can plug the stand-in in-process, and the production
 * implementation talks HTTP over one keep-alive pool. Over sockets the front's passthrough does
 * not use it (it relays bytes to the application itself, node/http/fast/); the front's in-process
 * `fetch` entry does, when the application has no URL.
 */
import { Agent } from 'undici';
import { relayFetch } from './relay-fetch.js';

export interface LocalApp {
  /** Base URL of the application's HTTP API, when it has one (production); absent in-process. */
  readonly url: string | undefined;
  /** Sends one request to the application; rejects only when it cannot be reached. */
  fetch(request: Request): Promise<Response>;
  close(): Promise<void>;
}

/** The application at `baseUrl`, over a keep-alive connection pool. */
export function httpLocalApp(baseUrl: string): LocalApp {
  const base = new URL(baseUrl);
  const agent = new Agent({ keepAliveTimeout: 4_000, connections: 64 });
  return {
    url: base.href.replace(/\/$/, ''),
    fetch(request: Request): Promise<Response> {
      const incoming = new URL(request.url);
      const target = new URL(`${base.pathname.replace(/\/$/, '')}${incoming.pathname}${incoming.search}`, base.origin);
      return relayFetch(target, request, agent);
    },
    close: () => agent.close(),
  };
}

/** An in-process application (the stand-in in the simulator and in tests). */
export function inProcessLocalApp(handler: (request: Request) => Promise<Response>): LocalApp {
  return { url: undefined, fetch: handler, close: () => Promise.resolve() };
}
