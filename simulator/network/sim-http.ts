/**
 * HTTP between the fronts of simulated sites: the `RemoteFetch` a node forwards writes with
 * (node/replication/forward.ts), carried over the simulated network's partitions and link model
 * instead of sockets. A site's front is found by the host of its URL (`http://site2.sim`).
 *
 * One request is one exchange on a connection of its own, as the production pool's would be:
 * - connecting across a `cut` partition is refused at once (the route is withdrawn); across a
 *   black-holed (`stall`) direction the connect times out after 3 s, the production timeout;
 * - a site that is down refuses (the reset comes back after one delay); one that dies while it
 *   handles the request resets the connection;
 * - each leg takes its link's delay, retransmissions included (`directFate`), and may reset;
 * - a partition that falls while the answer is on its way holds it until the stall timeout,
 *   then the connection is closed.
 * The answer leg waits on the caller's clock scope, so a caller that crashed never hears it.
 */
import type { Clock } from '../../core/clock.js';
import type { PeerIdString } from '../../core/ids.js';
import type { Random } from '../../core/random.js';
import type { SeededRandom } from '../core/seeded-random.js';
import type { Trace } from '../core/trace.js';
import { directFate } from './link-profile.js';
import type { SimNetwork } from './sim-network.js';

/** A site as simulated HTTP sees it (SimSite is one). */
export interface HttpHost {
  readonly name: string;
  readonly peerId: PeerIdString;
  /** Answers a request in the current process; rejects when down or when the process dies. */
  call(request: Request): Promise<Response>;
  /** The current process's clock, or undefined when down. */
  readonly clockScope: Clock | undefined;
}

/** Counters over the run. */
export interface HttpStats {
  requests: number;
  answered: number;
  /** Refused or failed before an answer (partition, down site, reset). */
  failed: number;
  bytesSent: number;
  bytesReceived: number;
}

export interface SimHttpComponents {
  readonly clock: Clock;
  readonly network: SimNetwork;
  /** Forked once per directed pair of sites. */
  readonly random: SeededRandom;
  readonly trace?: Trace;
  /** The host serving `hostname`, if any. */
  readonly resolve: (hostname: string) => HttpHost | undefined;
}

interface Answer {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly bytes: Uint8Array;
}

/** Production's connect timeout (node/replication/remote-fetch.ts). */
const connectTimeoutMs = 3_000;

/** What undici's fetch rejects with: a TypeError whose cause says why. */
function fetchFailed(reason: string): TypeError {
  return new TypeError(`fetch failed: ${reason}`, { cause: new Error(reason) });
}

function delay(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

/** Simulated HTTP between fronts. */
export class SimHttp {
  private readonly deps: SimHttpComponents;
  private readonly randoms = new Map<string, Random>();
  private readonly counters: HttpStats = { requests: 0, answered: 0, failed: 0, bytesSent: 0, bytesReceived: 0 };

  constructor(deps: SimHttpComponents) {
    this.deps = deps;
  }

  /** The RemoteFetch of `from`'s node. */
  remoteFetch(from: HttpHost): (request: Request, signal?: AbortSignal) => Promise<Response> {
    return (request, signal) => this.fetch(from, request, signal);
  }

  stats(): HttpStats {
    return { ...this.counters };
  }

  /**
   * Sends `request` from `from` to the host its URL names; `signal` (else `request.signal`) ends
   * it. Watched directly: the Request's own may miss an abort after a garbage collection
   * (RemoteFetch), and a trace must not depend on when the collector ran.
   */
  async fetch(from: HttpHost, request: Request, signal: AbortSignal = request.signal): Promise<Response> {
    const url = new URL(request.url);
    const hasBody = request.body !== null && request.method !== 'GET' && request.method !== 'HEAD';
    const body = hasBody ? new Uint8Array(await request.arrayBuffer()) : undefined;
    const caller = from.clockScope;
    if (caller === undefined) throw fetchFailed('the calling process is dead');
    this.counters.requests += 1;
    this.counters.bytesSent += body?.length ?? 0;
    const target = this.deps.resolve(url.hostname);
    this.deps.trace?.digest('http:request', { from: from.name, to: target?.name ?? url.hostname, method: request.method, path: url.pathname, bytes: body?.length ?? 0 });
    try {
      if (target === undefined) throw fetchFailed(`getaddrinfo ENOTFOUND ${url.hostname}`);
      await this.connect(from, target, caller);
      const outbound = directFate(this.deps.network.linkProfileOf(from.peerId, target.peerId), this.linkRandom(from, target));
      if (outbound.type === 'reset') {
        await delay(caller, outbound.noticeAfterMs);
        throw fetchFailed('ECONNRESET');
      }
      // The request travels on the network's clock: it arrives even if its sender dies meanwhile.
      await delay(this.deps.clock, outbound.delayMs);
      const answer = await this.serve(target, new Request(url, { method: request.method, headers: request.headers, ...(body === undefined ? {} : { body }) }));
      await this.reply(from, target, caller, 'failure' in answer ? 0 : answer.bytes.length);
      if ('failure' in answer) throw fetchFailed(answer.failure);
      if (signal.aborted) throw signal.reason;
      this.counters.answered += 1;
      this.counters.bytesReceived += answer.bytes.length;
      this.deps.trace?.digest('http:response', { from: target.name, to: from.name, status: answer.status, bytes: answer.bytes.length });
      return new Response(answer.status === 204 || answer.status === 304 ? null : answer.bytes, answer);
    } catch (error) {
      this.counters.failed += 1;
      this.deps.trace?.digest('http:failed', { from: from.name, to: target?.name ?? url.hostname, error: error instanceof Error ? error.message : String(error) });
      throw error;
    }
  }

  /** Opening the connection: refused across a cut, timed out across a black hole. */
  private async connect(from: HttpHost, target: HttpHost, caller: Clock): Promise<void> {
    const { network } = this.deps;
    const modes = [network.blockMode(from.peerId, target.peerId), network.blockMode(target.peerId, from.peerId)];
    if (modes.includes('cut')) throw fetchFailed('EHOSTUNREACH');
    if (modes.includes('stall')) {
      await delay(caller, connectTimeoutMs);
      throw fetchFailed('UND_ERR_CONNECT_TIMEOUT');
    }
  }

  /**
   * The target's process handles the request; its answer is read whole there. A target down or
   * dying answers a refusal or a reset instead, which travels back as an answer would.
   */
  private async serve(target: HttpHost, request: Request): Promise<Answer | { failure: string }> {
    try {
      const response = await target.call(request);
      const bytes = new Uint8Array(await response.arrayBuffer());
      return { status: response.status, statusText: response.statusText, headers: response.headers, bytes };
    } catch (error) {
      const refused = error instanceof Error && error.name === 'SiteDownError' && error.message.includes('refused');
      return { failure: refused ? 'ECONNREFUSED' : 'other side closed' };
    }
  }

  /** The answer's way back: the link's delay, held by a partition until the stall timeout. */
  private async reply(from: HttpHost, target: HttpHost, caller: Clock, bytes: number): Promise<void> {
    const { network } = this.deps;
    if (network.isBlocked(target.peerId, from.peerId)) {
      await delay(caller, network.stallTimeout);
      throw fetchFailed('UND_ERR_SOCKET: the connection stalled and was closed');
    }
    const fate = directFate(network.linkProfileOf(target.peerId, from.peerId), this.linkRandom(target, from));
    this.deps.trace?.digest('http:reply-fate', { bytes, fate: fate.type });
    if (fate.type === 'reset') {
      await delay(caller, fate.noticeAfterMs);
      throw fetchFailed('ECONNRESET');
    }
    await delay(caller, fate.delayMs);
  }

  private linkRandom(from: HttpHost, to: HttpHost): Random {
    const key = `${from.name} ${to.name}`;
    let random = this.randoms.get(key);
    if (random === undefined) {
      random = this.deps.random.fork(key);
      this.randoms.set(key, random);
    }
    return random;
  }
}
