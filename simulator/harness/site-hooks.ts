/**
 * Where a test reaches into a simulated site without touching production code: every hook wraps
 * one of the ports `startSite` is given (the local application, the store, the transport, the way
 * to other sites' fronts), or the site's own front as its clients reach it. The harness calls
 * them at each boot; a hook that returns its argument changes nothing.
 *
 * This is how the checkers' own tests build a deliberately broken node (an application that
 * drops writes, a store that forgets, a transport that leaks documents): the fault sits in a
 * port, the node's code runs as shipped.
 */
import type { SiteName } from '../../core/ids.js';
import type { Storage } from '../../crdt/storage.js';
import type { LocalApp } from '../../node/local-app.js';
import type { RemoteFetch } from '../../node/replication/context.js';
import type { Transport } from '../../p2p/transport.js';
import type { SeededRandom } from '../core/seeded-random.js';
import type { ClockScope } from '../core/sim-clock.js';

/** What a hook knows of the process it wraps a port for. */
export interface SiteHookContext {
  readonly site: SiteName;
  /** 1 for the first process of the site, +1 per restart. */
  readonly incarnation: number;
  /** The process's clock: timers set on it die with the process. */
  readonly clock: ClockScope;
  /** A stream of its own for the hook (forked per site and incarnation). */
  readonly random: SeededRandom;
}

/** Wrappers of the ports of every site's node; each optional. */
export interface SiteHooks {
  /** The application as the node sees it (the stand-in, already observed by the AppLog). */
  readonly localApp?: (app: LocalApp, context: SiteHookContext) => LocalApp;
  /** The node's store (not the stand-in's). */
  readonly storage?: (storage: Storage, context: SiteHookContext) => Storage;
  /** The node's transport (the simulated network still sees the real one). */
  readonly transport?: (transport: Transport, context: SiteHookContext) => Transport;
  /** How the node reaches other sites' fronts (forwarded writes and reads). */
  readonly remoteFetch?: (remote: RemoteFetch, context: SiteHookContext) => RemoteFetch;
  /** The site's front as the workload's clients reach it (a proxy in front of the site). */
  readonly front?: (front: RemoteFetch, context: SiteHookContext) => RemoteFetch;
}
