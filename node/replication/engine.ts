/**
 * The replication engine of one site (docs/REPLICATION.md): the write path behind the front's
 * interceptor, the reconciler that drives the local application to each replicant's desired
 * state, the key index, the share policy of replicant documents, the admin routes and metrics.
 *
 * Life cycle: `open()` before document sync starts (the share policy needs the index), `start()`
 * once it runs (the reconciler resumes from the stored documents), `stop()` after the front stops.
 */
import { Registry } from 'prom-client';
import { errorMessage, type CheopsError, type Clock, type Logger, type Random } from '../../core/index.js';
import type { DocumentId, PeerIdString, SiteName } from '../../core/ids.js';
import { sameHeads } from '../../crdt/document-layout.js';
import type { DocumentStore } from '../../crdt/document-store.js';
import { metaIdOfDocId, replicantDocId } from '../../crdt/replicant.js';
import type { Storage } from '../../crdt/storage.js';
import type { StagingLog } from '../../crdt/staging-log.js';
import type { ReplicationGlue } from '../../glue/types.js';
import type { BackgroundGate } from '../../p2p/background-hold.js';
import type { SharedWith } from '../../p2p/share-policy.js';
import type { IncomingHttpHeaders } from 'node:http';
import type { AdminHandler, InterceptFilter, Interceptor, RequestScope, UpgradeElsewhere } from '../http/index.js';
import type { LocalApp } from '../local-app.js';
import { replicantAdminRoutes, replicantOverviews, type ReplicantOverview } from './admin.js';
import { Applier } from './applier.js';
import { indexOnArrival, type ArrivalIndexDeps } from './arrival-index.js';
import type { EngineContext, RemoteFetch, ReplicationOptions, ResolvedReplicationOptions } from './context.js';
import { replicationInterceptor } from './interceptor.js';
import { CreateIntents } from './create-intents.js';
import { AnsweredUpdates } from './answered-updates.js';
import { CreateRecovery } from './create-recovery.js';
import { RecoveryLoop } from './recovery-loop.js';
import { UpdateRecovery } from './update-recovery.js';
import { AppHealth } from './app-health.js';
import { KeyIndex } from './key-index.js';
import { KeyLocks } from './key-locks.js';
import { createReplicationMetrics } from './metrics.js';
import { reconcilePass } from './reconcile-pass.js';
import { Reconciler } from './reconciler.js';
import { Replicants } from './replicants.js';
import { replicantSharePolicy } from './share-policy.js';
import { Resharer } from './reshare.js';
import { MembershipClaims } from './membership-claims.js';
import { CreatesUnderWay } from './creating.js';
import { SentOnWrites } from './sent-on.js';
import { replicationWants } from './wants.js';
import { upgradeRoute } from './read-forward.js';
import type { SitesPort } from './sites.js';

/** The ports and components the engine runs on (production or simulated). */
export interface ReplicationComponents {
  readonly documents: DocumentStore;
  /** The site store; the key index lives there under `['replicant-key', …]`. */
  readonly storage: Storage;
  /** Where creates stage their intent and writes their mark before the application sees them (create-intents.ts, key-index.ts); the site store when absent. */
  readonly stagingLog?: StagingLog;
  readonly localApp: LocalApp;
  readonly glue: ReplicationGlue;
  readonly sites: SitesPort;
  readonly remote: RemoteFetch;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /** Where the metrics go; a private registry when absent (tests). */
  readonly registry?: Registry;
  /** True while more urgent work runs (a heal's document sync): reconcile passes wait (Reconciler). */
  readonly yieldTo?: () => boolean;
  /** False while the store refuses writes (StorageHealth); always writable when absent. */
  readonly storageWritable?: () => boolean;
}

/** Reconcile passes run at once by default (bench/heal.ts measures the application's floor with as many). */
export const defaultReconcileConcurrency = 8;

const defaults: ResolvedReplicationOptions = {
  concurrency: defaultReconcileConcurrency,
  retryBaseMs: 1_000,
  retryMaxMs: 60_000,
  defaultWaitMs: 30_000,
  maxWaitMs: 300_000,
  remoteReadTimeoutMs: 5_000,
  shareArrivalTimeoutMs: 10_000,
};

/** The replication engine of one site; see the file comment for its life cycle. */
export class ReplicationEngine {
  /** The front's hook: takes the writes replication concerns, leaves every other request alone. */
  readonly interceptor: Interceptor;
  /** Which unscoped requests the interceptor wants to see (the front's `wants`). */
  readonly wants: InterceptFilter;
  /** The front's `upgradeRoute`: an exec or port-forward whose scope names other sites goes to one of them. */
  readonly upgradeRoute: (method: string, url: string, scope: RequestScope, headers: IncomingHttpHeaders) => CheopsError | UpgradeElsewhere | undefined;
  /** Who may hold a document: the scope's sites for `res/…`; undefined for other documents. */
  readonly sharePolicy: (docId: DocumentId) => SharedWith | undefined;
  /**
   * Busy while the reconciler works through a backlog (a heal): replica statuses, written in the
   * background, wait until it is over (document sync's BackgroundGate).
   */
  readonly backgroundGate: BackgroundGate;
  private readonly ctx: EngineContext;
  private readonly reconciler: Reconciler;
  private readonly resharer: Resharer;
  private readonly membership: MembershipClaims;
  private readonly refused = new Set<DocumentId>();
  private readonly arrival: ArrivalIndexDeps;
  private unsubscribe: (() => void) | undefined;
  private readonly stopping = new AbortController();
  private recovery: Promise<void> = Promise.resolve();
  /** Whether start-up read the stored intents (and recorded the staging log's leftovers): tried again once the store is back. */
  private intentsRead = false;
  private readonly recoveries: RecoveryLoop;
  private readonly createRecovery: CreateRecovery;
  private readonly updateRecovery: UpdateRecovery;
  private readonly appHealth: AppHealth;

  constructor(components: ReplicationComponents, init: { readonly site: SiteName } & ReplicationOptions) {
    const { site, ...options } = init;
    const logger = components.logger.child({ component: 'replication' });
    const storageWritable = components.storageWritable ?? ((): boolean => true);
    const index = new KeyIndex(components.storage, logger, (key) => key.app === components.glue.app && components.glue.spansSites(key.service), storageWritable, components.stagingLog);
    const replicants = new Replicants({
      documents: components.documents, index, clock: components.clock, random: components.random.fork('replication'), logger, self: site, refused: this.refused,
    });
    this.arrival = { self: site, index, replicants, refused: this.refused, passWaiting: (docId) => this.reconciler.isWaiting(docId) };
    const metrics = createReplicationMetrics(components.registry ?? new Registry(), () => index.entries());
    const locks = new KeyLocks();
    this.appHealth = new AppHealth({
      app: components.localApp, readinessPath: components.glue.readinessPath, clock: components.clock, logger, changed: (answering) => metrics.appUp.set(answering ? 1 : 0),
    });
    const localApp = this.appHealth.watch(components.localApp);
    this.ctx = {
      self: site, glue: components.glue, localApp, remote: components.remote, sites: components.sites,
      documents: components.documents, replicants, index, intents: new CreateIntents(components.storage, logger, storageWritable, components.stagingLog), creating: new CreatesUnderWay(), sentOn: new SentOnWrites(components.clock), locks, clock: components.clock, logger, metrics, options: { ...defaults, ...options },
      storageWritable,
      updates: new AnsweredUpdates(logger, components.stagingLog),
      recheck: {
        replica: (docId) => this.reconciler.schedule(docId),
        intent: (metaId) => this.createRecovery.settleOne(metaId),
        created: (intent) => this.createRecovery.settleUnstored(intent),
        update: (update) => this.updateRecovery.settleOne(update),
        madeAgain: (key) => this.resharer.madeAgain(key),
      },
    };
    this.recoveries = new RecoveryLoop(this.ctx, this.stopping.signal);
    this.createRecovery = new CreateRecovery(this.ctx, this.recoveries);
    this.updateRecovery = new UpdateRecovery(this.ctx, this.recoveries);
    this.appHealth.onBack(() => {
      this.reconciler.retryNow();
      this.recoveries.retryNow();
    });
    const applier = new Applier({ localApp, glue: components.glue, logger });
    this.resharer = new Resharer(this.ctx);
    this.membership = new MembershipClaims(this.ctx, this.stopping.signal);
    this.reconciler = new Reconciler(this.ctx.options, {
      pass: reconcilePass({
        self: site, documents: components.documents, replicants, index, locks, applier, clock: components.clock, logger, metrics,
        peerIdOf: (name) => components.sites.peerIdOf(name),
        tombstoneApplied: (replicant) => this.resharer.deleted(replicant),
        writeUnsettled: (metaId) => this.createRecovery.isSettling(metaId) || this.ctx.updates.get(metaId) !== undefined,
      }),
      clock: components.clock,
      random: components.random.fork('reconciler'),
      logger,
      ...(components.yieldTo === undefined ? {} : { yieldTo: components.yieldTo }),
    });
    this.backgroundGate = { busy: () => this.reconciler.inBacklog(), onIdle: (listener) => this.reconciler.onBacklogEnded(listener) };
    this.interceptor = replicationInterceptor(this.ctx);
    this.wants = replicationWants(this.ctx);
    this.upgradeRoute = (method, url, scope, headers) => upgradeRoute(this.ctx, method, url, scope, headers);
    this.sharePolicy = replicantSharePolicy({ index, documents: components.documents, sites: components.sites, refused: this.refused });
  }

  /**
   * Calls `listener` with each replicant whose sites grow (a dependency shared with one more
   * site): the site's document sync offers it to them at once (DocSync.offer), since they may have
   * pushed changes here, refused, before this site knew they shared it. Returns how to stop.
   */
  onWidened(listener: (docId: DocumentId) => void): () => void {
    return this.ctx.index.onWidened((metaId) => listener(replicantDocId(metaId)));
  }

  /**
   * Document sync refused a message of `peer` about `doc` (its scope here leaves the peer out):
   * the peer may have made the object too, with a scope naming both (membership-claims.ts).
   */
  readonly refusedFrom = (peer: PeerIdString, doc: DocumentId): boolean => this.membership.refused(peer, doc);

  /** Loads the key index and starts following document changes (before document sync starts). */
  async open(): Promise<void> {
    await this.ctx.index.load();
    this.unsubscribe = this.ctx.documents.onChange((event) => {
      const metaId = metaIdOfDocId(event.docId);
      if (metaId === undefined) return;
      this.reconciler.schedule(event.docId);
      if (event.origin === 'remote') {
        indexOnArrival(this.arrival, event.docId, metaId).catch((error: unknown) => {
          this.ctx.logger.debug({ docId: event.docId, error: errorMessage(error) }, 'a received replicant was not indexed on arrival');
        });
      }
    });
  }

  /**
   * Resumes: every stored replicant whose replica was not found current at its present heads, or
   * on which a write through the front was cut short by the crash (`localWritePending`), is
   * reconciled (docs/REPLICATION.md §3), and index entries whose document is gone are forgotten.
   */
  start(): void {
    const { documents, index } = this.ctx;
    let resumed = 0;
    for (const docId of documents.ids()) {
      const metaId = metaIdOfDocId(docId);
      if (metaId === undefined) continue;
      const entry = index.byMetaId(metaId);
      const current = entry?.currentAt;
      const heads = documents.heads(docId);
      if (current === undefined || heads === undefined || !sameHeads(current, heads) || entry?.localWritePending === true) {
        this.reconciler.schedule(docId);
        resumed += 1;
      }
    }
    for (const entry of index.entries()) {
      if (!documents.has(replicantDocId(entry.metaId))) void index.remove(entry.metaId);
    }
    // Before the reconciler: each answered update a crash left holds its key's lock first.
    this.updateRecovery.resume();
    this.reconciler.start();
    // A re-share lives in memory: one a crash cut short is started again (reshare.ts).
    this.resharer.resume();
    this.settleStoredIntents();
    this.ctx.logger.info({ replicants: index.size, resumed }, 'replication started');
  }

  /** Stops following changes and waits for the passes under way. */
  async stop(): Promise<void> {
    this.resharer.stop();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.stopping.abort();
    this.appHealth.stop();
    await this.recovery;
    await this.recoveries.stopped();
    await this.ctx.replicants.settled();
    await this.reconciler.stop();
    await this.ctx.index.settled();
  }

  /** The admin routes, relative to `/cheops/v1`. */
  adminRoutes(): Record<`${'GET' | 'POST'} /${string}`, AdminHandler> {
    return replicantAdminRoutes(this.ctx, this.resharer);
  }

  /** Every replicant held here, for the dashboard (from the key index: no document is loaded). */
  overviews(): ReplicantOverview[] {
    return replicantOverviews(this.ctx);
  }

  /** Resolves when no reconcile pass is queued or running (tests). */
  async idle(): Promise<void> {
    await this.ctx.replicants.settled();
    await this.reconciler.idle();
    await this.ctx.index.settled();
  }

  /** The site's store takes writes again (a full disk had room): what waited for it runs now. */
  storageBack(): void {
    this.reconciler.retryNow();
    this.recoveries.retryNow();
    if (!this.intentsRead && !this.stopping.signal.aborted) this.settleStoredIntents();
  }

  /** Settles the intents a crash left (create-recovery.ts); a store refusing the staging log's leftovers is tried again once it takes writes. */
  private settleStoredIntents(): void {
    const read = (): void => {
      this.intentsRead = true;
    };
    this.recovery = this.recovery.then(() => this.createRecovery.settleStored(read)).catch((error: unknown) => {
      this.ctx.logger.error({ error: errorMessage(error) }, 'create intents not read; read again once the store takes writes');
    });
  }

  /** Documents waiting for a retry of a transient failure (tests, metrics). */
  retrying(): number {
    return this.reconciler.retrying();
  }

  /** Work under way that no document shows yet: re-shares of dependencies asked for, told or waiting to retry (reshare.ts). */
  workUnderWay(): number {
    return this.resharer.underWay();
  }
}

