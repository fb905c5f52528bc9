/**
 * No resurrection after a delete. Once a replicant is tombstoned, the object of that incarnation
 * (any object whose marker is one of the incarnation's writes) must not come back:
 * - on a site, after its application deleted it as a replicated delete (the reconciler's, or the
 *   write path's for an acknowledged delete that wrote the tombstone), no create brings it back,
 *   even for a moment (watched in the application log, so a transient resurrection that a later
 *   pass removes again is caught too);
 * - no later incarnation of the key starts from one of its writes (a new life of the name must
 *   start from the new create, not from the deleted object). Only the first writes of the later
 *   incarnation count: a patch sent before the delete and applied late, on the new life, is a
 *   write in flight (forwarding may apply a write on two members), not the old object;
 * - on a site that has stored the tombstone, the reconciler creates no object of the incarnation
 *   after that (a replicated delete need not have come first: the application may never have
 *   held it, or lost it; the site knows the replicant is deleted, so no create of it is right);
 * - after the run has settled, no site of the scope still holds it.
 */
import * as Automerge from '@automerge/automerge';
import type { SiteName } from '../../core/ids.js';
import type { DocumentChangedEvent } from '../../crdt/documents.js';
import { decodeReplicant } from '../../crdt/replicant-decode.js';
import { metaIdOfDocId } from '../../crdt/replicant.js';
import { markerOf } from '../harness/app-log.js';
import { appKeyText, type WorkloadKey } from '../workload/key-space.js';
import { incarnationsByKey } from './convergence.js';
import type { DesiredWrite, ReplicantHistory } from './replicant-history.js';
import { at, describeRef, resultOf, type CheckContext, type CheckerResult } from './types.js';

/**
 * When each site first stored a tombstoned version of each replicant, watched live (every change
 * a node stores, as the monitor hears it). Each site's copy is rebuilt from the changes it stored
 * and decoded with the replicant model; once tombstoned (never set back) it is dropped.
 */
export class TombstoneLog {
  /** Per document id, per site: virtual ms when the site first stored it tombstoned. */
  readonly firstStoredAtMs = new Map<string, Map<SiteName, number>>();
  private readonly copies = new Map<string, Automerge.Doc<unknown>>();

  record(site: SiteName, event: DocumentChangedEvent, atMs: number): void {
    if (metaIdOfDocId(event.docId) === undefined || this.firstStoredAtMs.get(event.docId)?.has(site) === true) return;
    const copyKey = `${site} ${event.docId}`;
    const [copy] = Automerge.applyChanges(this.copies.get(copyKey) ?? Automerge.init<unknown>(), [...event.changes]);
    // Reading one root field is cheap; the whole document is decoded only when it says deleted.
    if ((copy as { deleted?: unknown }).deleted !== true) {
      this.copies.set(copyKey, copy);
      return;
    }
    const decoded = decodeReplicant(event.docId, Automerge.toJS(copy));
    if (!decoded.ok || !decoded.replicant.deleted) {
      this.copies.set(copyKey, copy);
      return;
    }
    this.copies.delete(copyKey);
    const sites = this.firstStoredAtMs.get(event.docId) ?? new Map<SiteName, number>();
    sites.set(site, atMs);
    this.firstStoredAtMs.set(event.docId, sites);
  }
}

type Incarnations = Array<{ incarnation: number; history: ReplicantHistory }>;

function markersOf(writes: readonly DesiredWrite[]): Set<string> {
  return new Set(writes.map((write) => write.marker).filter((marker): marker is string => marker !== undefined));
}

/** The writes an incarnation started from: those with no other write of it in their causal past. */
function firstWrites(history: ReplicantHistory): DesiredWrite[] {
  return history.writes.filter((write) => !history.writes.some((other) => other !== write && history.precedes(other.hash, write.hash)));
}

/** Markers of writes in flight across a delete: written in one life, and later, not as a first write, in another. */
function inFlightMarkers(incarnations: Incarnations): Set<string> {
  const found = new Set<string>();
  incarnations.forEach(({ history }, index) => {
    if (index === 0) return;
    const first = new Set(firstWrites(history));
    const earlier = markersOf(incarnations.slice(0, index).flatMap((previous) => previous.history.writes));
    for (const write of history.writes) if (!first.has(write) && write.marker !== undefined && earlier.has(write.marker)) found.add(write.marker);
  });
  return found;
}

/**
 * Whether a delete the application of `site` answered at `atMs` was a replicated one: made by the
 * reconciler (for a tombstone), or by the write path for a delete the client had acknowledged.
 * A delete whose client never heard back (the site died before writing the tombstone) is not
 * final: the replicant still wants the object, and bringing it back is right. Nor is one answered
 * without `X-Cheops-Meta-Id`: the site knew no replicant of the key (it had not received it yet,
 * or lost it in a crash), so the delete went to its application alone, as the user was told; the
 * replicant, live then, wants the object back on that site and its reconciler rightly creates it
 * (convergence requires it). Only a delete that tombstoned the replicant forbids a come-back.
 */
function finalDelete(ctx: CheckContext, key: WorkloadKey, site: SiteName, atMs: number, source: 'client' | 'node'): boolean {
  if (source === 'node') return true;
  return ctx.history.of(key).some(
    (op) => op.call.verb === 'delete' && op.outcome === 'acknowledged' && op.metaId !== undefined && (op.site === site || op.forwardedTo === site) &&
      op.issuedAtMs <= atMs && atMs <= (op.answeredAtMs ?? Number.POSITIVE_INFINITY),
  );
}

/**
 * Creates on `site` of an object the site had deleted as a deleted incarnation's. A delete's
 * answer is often a Status, not the object: the object deleted is the one the site's last write
 * of the key left.
 */
function watchSite(ctx: CheckContext, key: WorkloadKey, site: SiteName, deleted: ReadonlySet<string>, inFlight: ReadonlySet<string>): string[] {
  const text = appKeyText(key.ref);
  let current: string | undefined;
  const deletedAt = new Map<string, number>();
  const violations: string[] = [];
  for (const write of ctx.sim.apps.writes) {
    if (write.site !== site || write.key === undefined || write.subresource !== undefined || write.status >= 300) continue;
    if (appKeyText(write.key) !== text) continue;
    if (write.method === 'DELETE') {
      const gone = write.marker ?? current;
      if (gone !== undefined && deleted.has(gone) && !deletedAt.has(gone) && finalDelete(ctx, key, site, write.atMs, write.source)) deletedAt.set(gone, write.atMs);
      current = undefined;
      continue;
    }
    current = write.marker;
    const when = write.marker === undefined ? undefined : deletedAt.get(write.marker);
    if (write.method === 'POST' && when !== undefined && write.marker !== undefined && !inFlight.has(write.marker)) {
      violations.push(`${describeRef(key.ref)} on ${site}: the object deleted at ${at(when)} (marker ${write.marker}) was created again at ${at(write.atMs)} by the ${write.source === 'node' ? 'reconciler' : 'write path'}`);
    }
  }
  return violations;
}

/**
 * Creates by the reconciler on `site`, of an object of the tombstoned incarnation (`markers`),
 * made after the site had stored the tombstone (at `tombstonedAtMs`): a POST, or a PUT that
 * created. Writes in flight across the delete are the later life's, not this one's.
 */
function createsAfterTombstone(
  ctx: CheckContext, key: WorkloadKey, site: SiteName, incarnation: number, tombstonedAtMs: number, markers: ReadonlySet<string>, inFlight: ReadonlySet<string>,
): string[] {
  const text = appKeyText(key.ref);
  const violations: string[] = [];
  for (const write of ctx.sim.apps.writes) {
    if (write.site !== site || write.source !== 'node' || write.key === undefined || write.subresource !== undefined || write.status >= 300) continue;
    if (!(write.method === 'POST' || (write.method === 'PUT' && write.status === 201)) || write.issuedAtMs <= tombstonedAtMs) continue;
    if (write.marker === undefined || !markers.has(write.marker) || inFlight.has(write.marker) || appKeyText(write.key) !== text) continue;
    violations.push(
      `${describeRef(key.ref)} on ${site}: the reconciler created the object of deleted incarnation #${incarnation} (marker ${write.marker}) at ${at(write.issuedAtMs)}, after the site stored its tombstone at ${at(tombstonedAtMs)}`,
    );
  }
  return violations;
}

function checkKey(ctx: CheckContext, key: WorkloadKey, incarnations: Incarnations): { checked: number; violations: string[] } {
  const violations: string[] = [];
  const deleted = new Set<string>();
  let checked = 0;
  incarnations.forEach(({ incarnation, history }, index) => {
    if (history.replicant?.deleted !== true) return;
    checked += 1;
    const markers = markersOf(history.writes);
    for (const marker of markers) deleted.add(marker);
    const later = incarnations.slice(index + 1);
    for (const next of later) {
      const carried = firstWrites(next.history).find((write) => write.marker !== undefined && markers.has(write.marker));
      if (carried !== undefined) {
        violations.push(`${describeRef(key.ref)}: incarnation #${next.incarnation} starts from write ${carried.marker ?? '?'} of deleted incarnation #${incarnation} (${carried.revision}): the deleted object came back`);
      }
    }
    const laterMarkers = markersOf(later.flatMap((next) => next.history.writes));
    const inFlight = inFlightMarkers(incarnations);
    for (const [site, tombstonedAtMs] of ctx.tombstonedAtMs.get(history.docId) ?? []) {
      if (key.sites.includes(site)) violations.push(...createsAfterTombstone(ctx, key, site, incarnation, tombstonedAtMs, markers, inFlight));
    }
    for (const site of key.sites) {
      const object = ctx.final.apps.get(site)?.get(appKeyText(key.ref));
      const marker = object === undefined ? undefined : markerOf(object);
      if (marker !== undefined && markers.has(marker) && !laterMarkers.has(marker)) {
        violations.push(`${describeRef(key.ref)} on ${site}: still holds the object of deleted incarnation #${incarnation} (marker ${marker}) after the run settled`);
      }
    }
  });
  if (deleted.size > 0) {
    const inFlight = inFlightMarkers(incarnations);
    for (const site of key.sites) violations.push(...watchSite(ctx, key, site, deleted, inFlight));
  }
  return { checked, violations };
}

/** The no-resurrection checker. */
export function checkResurrection(ctx: CheckContext): CheckerResult {
  const violations: string[] = [];
  let checked = 0;
  for (const [key, incarnations] of incarnationsByKey(ctx)) {
    const result = checkKey(ctx, key, incarnations);
    checked += result.checked;
    violations.push(...result.violations);
  }
  return resultOf('no-resurrection', checked, violations);
}
