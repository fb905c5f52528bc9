/**
 * In-process sites for replication tests: per site a DocumentStore on MemoryStorage, a
 * MemoryTransport on one MemoryNetwork, DocSync with the engine's share policy, and a
 * ReplicationEngine in front of a local application the test provides (the stand-in, in process).
 * `site.fetch(request)` plays the front: scope header or `/scope/` prefix, interceptor, passthrough.
 * Partitions cut connections and mark the site down, as heartbeats would. Tests only.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { systemClock, systemRandom } from '../../core/system.js';
import { MemoryLogger, type Clock, type Random } from '../../core/index.js';
import { asPeerIdString, asSiteName, type DocumentId, type PeerIdString, type SiteName } from '../../core/ids.js';
import { DocumentStore } from '../../crdt/document-store.js';
import { MemoryStorage } from '../../crdt/memory-storage.js';
import { MemoryStagingLog } from '../../crdt/staging-log.js';
import type { Storage } from '../../crdt/storage.js';
import { kubernetesReplicationGlue } from '../../glue/kubernetes/index.js';
import { createDocSync, type DocSync } from '../../p2p/doc-sync.js';
import { MemoryNetwork, type LinkPolicy } from '../../p2p/memory-network.js';
import { createMemoryTransport, type MemoryTransport } from '../../p2p/memory-transport.js';
import { parseScope } from '../../scope/index.js';
import { errorResponse, type FrontCall, type RequestScope } from '../http/index.js';
import { readWebBody } from '../http/fetch-entry.js';
import { adminPrefix, createOwnedRoutes } from '../http/owned-routes.js';
import { Registry } from 'prom-client';
import type { Hono } from 'hono';
import type { LocalApp } from '../local-app.js';
import type { ReplicationOptions } from './context.js';
import { ReplicationEngine } from './engine.js';
import type { SitesPort } from './sites.js';

/** A site's application, built by the test (the stand-in in process). */
export interface TestApp {
  readonly localApp: LocalApp;
  /** Resolves when the application has settled (its controllers idle). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** Builds a site's application. */
export type AppFactory = (site: SiteName) => TestApp;

/** The sites of a test mesh and how to build them. */
export interface TestMeshInit {
  readonly names: readonly string[];
  readonly app: AppFactory;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly options?: ReplicationOptions;
}

/** A FrontCall over a web Request, as the front would build it. */
export function frontCall(request: Request, url: string, scope: RequestScope | undefined, logger: MemoryLogger): FrontCall {
  const headers: IncomingHttpHeaders = {};
  request.headers.forEach((value, name) => {
    if (name !== 'x-cheops-scope') headers[name] = value;
  });
  const question = url.indexOf('?');
  return {
    method: request.method,
    url,
    path: question === -1 ? url : url.slice(0, question),
    query: question === -1 ? '' : url.slice(question + 1),
    headers,
    scope,
    signal: request.signal,
    logger,
    request: () => request,
    readBody: (maxBytes) => readWebBody(request, maxBytes),
  };
}

/** One in-process site. */
export class TestSite {
  readonly name: SiteName;
  readonly peerId: PeerIdString;
  readonly logger = new MemoryLogger();
  /** Kept across stop and start; a test may wrap it between the two. */
  storage: Storage = new MemoryStorage();
  /** Its staging log; each start reads back what the last process left open, as after a crash. */
  stagingLog = new MemoryStagingLog();
  documents!: DocumentStore;
  transport!: MemoryTransport;
  sync!: DocSync;
  engine!: ReplicationEngine;

  constructor(
    private readonly mesh: TestMesh,
    name: string,
    readonly app: TestApp,
  ) {
    this.name = asSiteName(name);
    this.peerId = asPeerIdString(`peer-${name}`);
  }

  /** Builds and starts the site's parts on its (kept) storage. */
  async start(): Promise<void> {
    const { clock, random, network } = this.mesh;
    // The admin routes are the new engine's.
    this.owned = undefined;
    this.stagingLog = this.stagingLog.reopen();
    this.documents = new DocumentStore({ storage: this.storage, clock, random: random.fork(this.name), logger: this.logger });
    await this.documents.open();
    this.transport = createMemoryTransport({ peerId: this.peerId, name: this.name }, { network, random, logger: this.logger });
    await this.transport.start();
    this.engine = new ReplicationEngine(
      {
        documents: this.documents, storage: this.storage, stagingLog: this.stagingLog, localApp: this.app.localApp, glue: kubernetesReplicationGlue,
        sites: this.mesh.sitesPort(this.name), remote: (request, signal) => this.mesh.route(request, signal), clock, random, logger: this.logger,
      },
      { site: this.name, ...this.mesh.options },
    );
    await this.engine.open();
    const policy = this.engine.sharePolicy;
    this.sync = createDocSync({ sharedWith: (docId: DocumentId) => policy(docId) ?? new Set() }, {
      transport: this.transport, documents: this.documents, clock, logger: this.logger, onRefused: this.engine.refusedFrom,
    });
    this.sync.start();
    this.engine.onWidened((docId) => this.sync.offer(docId));
    this.engine.start();
  }

  /** Stops everything but the storage and the application (a crash, as far as the store goes). */
  async stop(): Promise<void> {
    await this.engine.stop();
    await this.sync.stop();
    await this.transport.stop();
    await this.documents.close();
  }

  private owned: Hono | undefined;

  /** The front: the admin API (the other sites' share requests), scope carriers, the interceptor, else the local application. */
  async fetch(request: Request): Promise<Response> {
    const target = new URL(request.url);
    if (target.pathname.startsWith(`${adminPrefix}/`)) {
      this.owned ??= createOwnedRoutes({ registry: new Registry(), logger: this.logger, admin: this.engine.adminRoutes() });
      return this.owned.fetch(request);
    }
    let url = `${target.pathname}${target.search}`;
    let text = request.headers.get('x-cheops-scope') ?? undefined;
    const prefix = /^\/scope\/([^/?]*)(.*)$/.exec(url);
    if (prefix !== null) {
      text = decodeURIComponent(prefix[1] ?? '');
      url = prefix[2] === '' || prefix[2]?.startsWith('?') === true ? `/${prefix[2] ?? ''}` : (prefix[2] ?? '/');
    }
    let scope: RequestScope | undefined;
    if (text !== undefined) {
      const parsed = parseScope(text);
      if (!parsed.ok) return errorResponse(parsed.error);
      scope = { text, scope: parsed.scope, carrier: prefix === null ? 'header' : 'path' };
    }
    try {
      const answer = await this.engine.interceptor(frontCall(request, url, scope, this.logger));
      if (answer !== undefined) return answer;
    } catch (error) {
      return errorResponse(error);
    }
    const body = request.method === 'GET' || request.method === 'HEAD' ? null : await request.arrayBuffer();
    return this.app.localApp.fetch(new Request(`http://app${url}`, { method: request.method, headers: request.headers, body }));
  }

  /** A request to this site's front: JSON bodies, optional scope header. */
  request(method: string, path: string, options: { body?: unknown; scope?: string; headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (options.scope !== undefined) headers['x-cheops-scope'] = options.scope;
    if (options.body !== undefined) headers['content-type'] ??= 'application/json';
    const body = options.body === undefined ? null : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    return this.fetch(new Request(`http://${this.name.toLowerCase()}.test${path}`, { method, headers, body }));
  }

  /** A request straight to the local application (what is really there). */
  async local(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await this.app.localApp.fetch(new Request(`http://app${path}`, { headers: { accept: 'application/json' } }));
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }
}

/** In-process sites on one memory network. */
export class TestMesh {
  readonly clock: Clock;
  readonly random: Random;
  readonly network: MemoryNetwork;
  readonly options: ReplicationOptions;
  readonly sites: TestSite[] = [];
  /** Sites cut off from the others. */
  private readonly cut = new Set<SiteName>();

  private constructor(init: TestMeshInit) {
    this.clock = init.clock ?? systemClock;
    this.random = init.random ?? systemRandom;
    this.options = init.options ?? {};
    const policy: LinkPolicy = {
      canConnect: (from, to) => !this.isCut(from) && !this.isCut(to),
      decide: () => ({ type: 'deliver', delayMs: 0 }),
    };
    this.network = new MemoryNetwork({ linkPolicy: policy }, { clock: this.clock });
  }

  /** Starts the sites and connects every pair. */
  static async create(init: TestMeshInit): Promise<TestMesh> {
    const mesh = new TestMesh(init);
    for (const name of init.names) mesh.sites.push(new TestSite(mesh, name, init.app(asSiteName(name))));
    for (const site of mesh.sites) await site.start();
    await mesh.connect();
    return mesh;
  }

  site(name: string): TestSite {
    const site = this.sites.find((candidate) => candidate.name === name);
    if (site === undefined) throw new Error(`no site ${name}`);
    return site;
  }

  /** Dials every pair not connected and not cut. */
  async connect(): Promise<void> {
    for (const [index, site] of this.sites.entries()) {
      for (const other of this.sites.slice(index + 1)) {
        if (this.cut.has(site.name) || this.cut.has(other.name)) continue;
        await site.transport.dial(`/memory/${other.name}`).catch(() => undefined);
      }
    }
  }

  /** Cuts `name` off from every other site. */
  async partition(name: string): Promise<void> {
    const site = this.site(name);
    this.cut.add(site.name);
    for (const other of this.sites) if (other !== site) await site.transport.hangUp(other.peerId);
  }

  /** Reconnects `name`. */
  async heal(name: string): Promise<void> {
    this.cut.delete(asSiteName(name));
    await this.connect();
  }

  /** The SitesPort of `self`: every test site, up unless cut from it. */
  sitesPort(self: SiteName): SitesPort {
    const find = (site: SiteName): TestSite | undefined => this.sites.find((candidate) => candidate.name === site);
    return {
      self,
      names: () => this.sites.map((site) => site.name),
      peerIdOf: (site) => find(site)?.peerId,
      httpOf: (site) => (find(site) === undefined ? undefined : `http://${site.toLowerCase()}.test`),
      isUp: (site) => site === self || (find(site) !== undefined && !this.cut.has(site) && !this.cut.has(self)),
      rttMs: () => 1,
    };
  }

  /** Routes a request to another site's front, by host; a cut site cannot be reached. */
  /** `signal`: unused here (the sites answer at once); tests that replace the route watch it. */
  async route(request: Request, _signal?: AbortSignal): Promise<Response> {
    const host = new URL(request.url).hostname;
    const site = this.sites.find((candidate) => `${candidate.name.toLowerCase()}.test` === host);
    // As undici fails a connection refused: the request never reached the site.
    if (site === undefined || this.cut.has(site.name)) throw new TypeError('fetch failed', { cause: Object.assign(new Error(`connect ECONNREFUSED ${host}`), { code: 'ECONNREFUSED' }) });
    return site.fetch(request);
  }

  private isCut(peer: PeerIdString): boolean {
    return this.sites.some((site) => site.peerId === peer && this.cut.has(site.name));
  }

  async stop(): Promise<void> {
    for (const site of this.sites) {
      await site.stop();
      await site.app.close();
    }
  }
}

/** Retries `check` until it stops throwing, or rethrows its last error after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 5_000): Promise<T> {
  const start = systemClock.now();
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (systemClock.now() - start > timeoutMs) throw error;
      await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 20));
    }
  }
}
