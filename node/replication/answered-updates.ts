/**
 * Updates answered before their replicant's change is stored (docs/REPLICATION.md §2). An update
 * of a live replicant through the front is answered once the local application has made it and a
 * record of it is durable: staged in the node's StagingLog under `update:<metaId>` *before* the
 * application sees the update, and flushed while it works, as a create's intent is. The record
 * holds what the change will be made with (its time, revision nonce and base heads), not the
 * application's answer: that comes after, and waiting for a flush then cost the answer ~0.5–0.9
 * ms (stop 29's records). The change is made right after the answer, under the key's lock, and
 * the record settled once it is stored; an answer the change cannot be made from (a refusal) settles
 * it at once.
 *
 * A record left open (a crash, or a store that refused the change) is settled by UpdateRecovery:
 * from the application's answer, staged with the record once it came (`answered`, not flushed:
 * durable against the process dying), else from the object the application holds. One record per
 * replicant: a later write of the key through the front stores it first.
 */
import { errorMessage, type Logger } from '../../core/index.js';
import type { MetaId, ResourceKey } from '../../core/ids.js';
import type { JsonBody } from '../../crdt/replicant.js';
import type { StagingLog } from '../../crdt/staging-log.js';
import { isJsonObject } from '../../glue/json.js';
import { decodeStoredRecord, isStoredKey } from './stored-record.js';

/** An update through the front, answered, whose change may not be stored yet. */
export interface AnsweredUpdate {
  readonly metaId: MetaId;
  readonly key: ResourceKey;
  /**
   * The desired object, from the application's answer (the glue's canonical form): staged with the
   * record once the application answered (`answered`); absent when the process died before, or the
   * machine took the unflushed answer: read back from the application when settled.
   */
  readonly body?: JsonBody;
  readonly localId?: string;
  /** The change's time and revision nonce (`nonceText`): this site's replica entry names the revision once it is stored. */
  readonly at: number;
  readonly nonce: string;
  /** The replicant's heads when the application was sent the update: the change is made at them (LocalWrite's `base`). */
  readonly base: readonly string[];
}

/** A record's id in the staging log; the create intents' ids are bare meta-IDs, the marks' `mark:`. */
const idPrefix = 'update:';
const idOf = (metaId: MetaId): string => `${idPrefix}${metaId}`;

export class AnsweredUpdates {
  private readonly open = new Map<MetaId, AnsweredUpdate>();
  /** Ids an earlier process left open: the log settles them with `forgetLeftovers`. */
  private readonly leftoverIds = new Set<string>();

  constructor(
    private readonly logger: Logger,
    private readonly staging?: StagingLog,
  ) {}

  /** Whether updates may be answered first: only with a staging log (an fsync of the site store is the very cost avoided). */
  get enabled(): boolean {
    return this.staging !== undefined;
  }

  /**
   * Stages `update` (no body yet) and makes it durable; call before the application sees the
   * update, await after it answers. False, logged, when the log refuses either: the change is then
   * stored before the answer, and the record, promised to no one, is closed. A later update of the
   * replicant comes once this one's change is stored (update-recovery.ts's `storeAnswered`): no
   * record of it is open then.
   */
  async stage(update: AnsweredUpdate): Promise<boolean> {
    if (this.staging === undefined) return false;
    try {
      this.staging.stage(idOf(update.metaId), new TextEncoder().encode(JSON.stringify(update)));
    } catch (error) {
      this.logger.warn({ metaId: update.metaId, error: errorMessage(error) }, 'update record not staged; its change is stored before the answer instead');
      return false;
    }
    this.open.set(update.metaId, update);
    try {
      await this.staging.flush();
      return true;
    } catch (error) {
      this.logger.warn({ metaId: update.metaId, error: errorMessage(error) }, 'update record not flushed; its change is stored before the answer instead');
      this.settle(update.metaId, update.nonce);
      return false;
    }
  }

  /**
   * What the application answered to the open record of `metaId`: staged again with it, not
   * flushed, so that it survives the process dying (the machine dying may take it, and the
   * recovery then reads the application). A log that refuses it leaves the record as it was.
   */
  answered(metaId: MetaId, body: JsonBody, localId: string | undefined): void {
    const update = this.open.get(metaId);
    if (update === undefined) return;
    const withAnswer: AnsweredUpdate = { ...update, body, ...(localId === undefined ? {} : { localId }) };
    this.open.set(metaId, withAnswer);
    try {
      this.staging?.stage(idOf(metaId), new TextEncoder().encode(JSON.stringify(withAnswer)));
    } catch (error) {
      this.logger.debug({ metaId, error: errorMessage(error) }, 'answer of an update not staged; its record stands without it');
    }
  }

  /** The open record of `metaId`: its change may not be stored. */
  get(metaId: MetaId): AnsweredUpdate | undefined {
    return this.open.get(metaId);
  }

  /**
   * Closes `metaId`'s record, if one is open (and is the one of `nonce`, when given): its change (or
   * a later write's) is stored, or it needs none.
   */
  settle(metaId: MetaId, nonce?: string): void {
    if ((nonce !== undefined && this.open.get(metaId)?.nonce !== nonce) || !this.open.delete(metaId) || this.staging === undefined) return;
    const id = idOf(metaId);
    this.staging.settle(id);
    if (this.leftoverIds.delete(id)) this.staging.forgetLeftovers([id]);
  }

  /** The records an earlier process left open, now open here (oldest first); a malformed one is dropped. */
  load(): AnsweredUpdate[] {
    const leftovers = (this.staging?.leftovers() ?? []).filter(({ id }) => id.startsWith(idPrefix));
    const loaded: AnsweredUpdate[] = [];
    const malformed: string[] = [];
    for (const { id, record } of leftovers) {
      const update = parseUpdate(id.slice(idPrefix.length), record);
      if (update === undefined) {
        malformed.push(id);
        continue;
      }
      this.leftoverIds.add(id);
      this.open.set(update.metaId, update);
      loaded.push(update);
    }
    if (malformed.length > 0) {
      this.logger.warn({ ids: malformed }, 'malformed answered updates dropped from the staging log');
      this.staging?.forgetLeftovers(malformed);
    }
    return loaded;
  }
}

function parseUpdate(id: string, bytes: Uint8Array): AnsweredUpdate | undefined {
  const fields = decodeStoredRecord(id, bytes)?.fields;
  if (fields === undefined) return undefined;
  const valid =
    isStoredKey(fields.key) && (fields.body === undefined || isJsonObject(fields.body)) && typeof fields.at === 'number' && typeof fields.nonce === 'string' &&
    /^[0-9a-f]{8}$/.test(fields.nonce) && (fields.localId === undefined || typeof fields.localId === 'string') &&
    Array.isArray(fields.base) && fields.base.every((head) => typeof head === 'string' && /^[0-9a-f]{64}$/.test(head));
  return valid ? (fields as unknown as AnsweredUpdate) : undefined;
}
