/**
 * What the parts of the replication engine share: built once by the engine, passed to the write
 * path, the forwarder, the read path and the admin routes.
 */
import type { Clock, Logger } from '../../core/index.js';
import type { DocumentId, MetaId, ResourceKey, SiteName } from '../../core/ids.js';
import type { DocumentStore } from '../../crdt/document-store.js';
import type { ReplicationGlue } from '../../glue/types.js';
import type { LocalApp } from '../local-app.js';
import type { AnsweredUpdate, AnsweredUpdates } from './answered-updates.js';
import type { CreateIntent, CreateIntents } from './create-intents.js';
import type { SentOnWrites } from './sent-on.js';
import type { KeyIndex } from './key-index.js';
import type { KeyLocks } from './key-locks.js';
import type { ReplicationMetrics } from './metrics.js';
import type { Replicants } from './replicants.js';
import type { CreatesUnderWay } from './creating.js';
import type { SitesPort } from './sites.js';

/**
 * Sends a request to another site's HTTP front (fetch-shaped: the simulator routes it in process).
 * `signal` ends it: the one the request was made with, passed again because a Request follows
 * its signal only weakly (undici #3644): after a garbage collection `request.signal` may never
 * abort. An implementation watches `signal` when given, `request.signal` otherwise.
 */
export type RemoteFetch = (request: Request, signal?: AbortSignal) => Promise<Response>;

/** Tuning of the engine; every field has a default (see engine.ts). */
export interface ReplicationOptions {
  /** Documents reconciled at once; default 8 (the local application is one server, not a farm). */
  readonly concurrency?: number;
  /** First retry of a transient failure; default 1 s. */
  readonly retryBaseMs?: number;
  /** Longest delay between retries; default 60 s, so a site whose application was down for hours catches up within a minute of its return. */
  readonly retryMaxMs?: number;
  /** `X-Cheops-Wait: all` without `X-Cheops-Wait-Timeout`; default 30 s, under kubectl's own request timeout. */
  readonly defaultWaitMs?: number;
  /** The longest `X-Cheops-Wait-Timeout` accepted; default 5 min. */
  readonly maxWaitMs?: number;
  /**
   * How long a read sent to another site waits for it: for its answer to begin (then the next site
   * of the scope is asked), or, under a cross scope, for its whole list (then the list is answered
   * without it, and says so); default 5 s. A site cut off a moment ago is still seen up for a few
   * seconds, and its connection may hang rather than fail.
   */
  readonly remoteReadTimeoutMs?: number;
  /**
   * How long a write that shares a dependency from another site waits for the dependency to be
   * here (its replicant received, the local application holding it) once the owner agreed;
   * default 10 s. Past it the write is answered 504, nothing of its own written: the dependency
   * still comes, and the write may be sent again.
   */
  readonly shareArrivalTimeoutMs?: number;
}

/** The options with their defaults filled in. */
export type ResolvedReplicationOptions = Required<ReplicationOptions>;

/**
 * What to look at again when a write's application answered nothing, or a 5xx: the write may
 * have been made all the same, and the client was not told.
 */
export interface Rechecks {
  /** The replica of `docId`, whose write through the front left its mark (`localWritePending`): a pass verifies it. */
  replica(docId: DocumentId): void;
  /** The create intent of `metaId`: settled as after a crash (create-recovery.ts). */
  intent(metaId: MetaId): void;
  /** A create the application made whose replicant, intent and undo all failed: settled from memory. */
  created(intent: CreateIntent): void;
  /** An update answered before its change was stored, whose change the store refused: written from its record (update-recovery.ts). */
  update(update: AnsweredUpdate): void;
  /** A name other sites relied on, made again here: they are told, again while they cannot be reached (reshare.ts). */
  madeAgain(key: ResourceKey): void;
}

/** The engine's parts, shared by its modules. */
export interface EngineContext {
  readonly self: SiteName;
  readonly glue: ReplicationGlue;
  readonly localApp: LocalApp;
  readonly remote: RemoteFetch;
  readonly sites: SitesPort;
  readonly documents: DocumentStore;
  readonly replicants: Replicants;
  readonly index: KeyIndex;
  /** Creates answered before their replicant is stored. */
  readonly intents: CreateIntents;
  /** Updates answered before their change is stored (answered-updates.ts). */
  readonly updates: AnsweredUpdates;
  /** Creates sharing a dependency first, under way here (creating.ts). */
  readonly creating: CreatesUnderWay;
  /** Writes sent on to another member that this site's copy may not hold yet (sent-on.ts). */
  readonly sentOn: SentOnWrites;
  /** One writer per key at a time: the write path and the reconcile passes. */
  readonly locks: KeyLocks;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: ReplicationMetrics;
  readonly options: ResolvedReplicationOptions;
  readonly recheck: Rechecks;
  /** False while the site's store refuses writes (crdt/storage-health.ts): no replicated write starts then. */
  readonly storageWritable: () => boolean;
}
