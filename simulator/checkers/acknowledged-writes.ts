/**
 * No acknowledged write lost. What can be checked when writes are concurrent:
 *
 * Replicated keys. An acknowledged write W (its body carries its op id as a marker) must be in
 * the replicant's history, and then be one of:
 * - the winner: the final `desired` value;
 * - a recorded loser: `conflict:<its revision>` (a concurrent write, or a delete, won);
 * - superseded: a later write or delete whose change has W's change in its causal past (someone
 *   overwrote it knowingly, as a user overwrites a value they have read).
 * Anything else lost it silently. An acknowledged delete must have tombstoned the replicant.
 * Besides, a site never forgets what it acknowledged: two writes made on one site one after the
 * other (the second sent after the first was answered) are causally ordered; and a write a
 * member rejected (4xx) never enters the history.
 *
 * Keys that are not replicated (remote and local ones: their writes are serialised per key by the
 * workload): the owner's application holds the last acknowledged write, or a write whose outcome
 * is unknown, whenever it was sent; nothing when that write was a delete. A write never answered
 * may take effect at any time after it was sent, as for linearizability, even after later
 * writes: a forwarded request whose sender crashed can still reach the member, late (seed 80031).
 * Each one's retry is answered on its own, and the user cannot tell which came last.
 *
 * Sharing (DESIGN.md §7). A pod relying on a shared secret is a key like the others: replicated
 * when its scope takes pods to two sites, its site's alone otherwise. The secret is its owner's
 * alone until it is first shared, and replicated after: a write acknowledged with a meta-ID is
 * held to the rules of replicated keys; one without (before the owner heard of the share) may
 * be overwritten when the replicant reaches it, with what the share took, so it is not checked
 * while a life of the secret is shared; once none is (never shared, or the last shared life
 * deleted), its owner's application holds the last write since the last replicated one, as for
 * a key that is not replicated.
 */
import { replicantDocId } from '../../crdt/replicant.js';
import { markerOf } from '../harness/app-log.js';
import type { OpRecord } from '../workload/history.js';
import { appKeyText, replicatedLike, type WorkloadKey } from '../workload/key-space.js';
import { incarnationsByKey } from './convergence.js';
import type { DesiredWrite, ReplicantHistory } from './replicant-history.js';
import { at, describeRef, resultOf, type CheckContext, type CheckerResult } from './types.js';

/** The marker an acknowledged write left: its own, or, for a create that adopted an existing object, that object's. */
function markerLeft(op: OpRecord): string | undefined {
  const adopted = op.call.verb === 'create' && op.warnings.some((warning) => warning.includes('already existed'));
  return adopted ? op.answeredMarker : op.id;
}

function describeOp(op: OpRecord): string {
  return `${op.id} (${op.call.verb} ${describeRef(op.key.ref)} on ${op.site}${op.call.scope === undefined ? '' : ' scoped'}, answered ${at(op.answeredAtMs)})`;
}

/** Why `write` is not lost, or undefined when it is. */
function keptAs(history: ReplicantHistory, write: DesiredWrite): string | undefined {
  const replicant = history.replicant;
  if (replicant === undefined) return 'undecidable';
  if (replicant.desired.revision === write.revision) return 'winner';
  if (replicant.conflicts.some((conflict) => conflict.revision === write.revision)) return 'recorded loser';
  if (history.writes.some((other) => other !== write && history.precedes(write.hash, other.hash))) return 'overwritten';
  if (history.deletions.some((hash) => history.precedes(write.hash, hash))) return 'deleted';
  return undefined;
}

function checkReplicatedOp(ctx: CheckContext, op: OpRecord): string | undefined {
  if (op.metaId === undefined) {
    // An unscoped write on a site that has no replicant of the key is the application's alone, and
    // so is one that reached the object after a delete made there (on its way out: a pod in its
    // grace period, which the node applies there only, seed 4200231).
    if (op.call.scope === undefined || afterDeleteHere(ctx, op)) return undefined;
    return `${describeOp(op)}: acknowledged without X-Cheops-Meta-Id`;
  }
  const history = ctx.final.histories.get(replicantDocId(op.metaId));
  if (history === undefined) return `${describeOp(op)}: acknowledged with meta-id ${op.metaId}, but no site holds that replicant`;
  if (op.call.verb === 'delete') {
    return history.replicant?.deleted === true ? undefined : `${describeOp(op)}: the delete was acknowledged but ${history.docId} is not tombstoned`;
  }
  const marker = markerLeft(op);
  const writes = history.writes.filter((write) => write.marker !== undefined && write.marker === marker);
  if (writes.length === 0) {
    if (op.call.verb === 'create' && madeFromLaterWrite(ctx, op, history)) return undefined;
    return `${describeOp(op)}: acknowledged, but no write of ${history.docId} carries it`;
  }
  if (writes.some((write) => keptAs(history, write) !== undefined)) return undefined;
  const winner = history.replicant?.desired;
  return `${describeOp(op)}: lost: neither the winner (${winner?.revision ?? '?'}, marker ${markerOf(winner?.body) ?? 'none'}), nor a recorded conflict loser, nor overwritten by a write that saw it (revision ${writes[0]?.revision ?? '?'})`;
}

/**
 * Whether `op` reached an object on its way out: a delete of `op`'s key on its site was
 * acknowledged before `op` was answered, or the application that applied `op` (its site's, or the
 * one it was forwarded to) took a delete of the object `op` wrote before `op`'s own write. The
 * second, read in the application log, holds when the delete's answer came after `op`'s: both
 * forwarded, the delete applied first, its answer slower (seed 5000132).
 */
function afterDeleteHere(ctx: CheckContext, op: OpRecord): boolean {
  const acknowledgedBefore = ctx.history
    .of(op.key)
    .some((other) => other.site === op.site && other.call.verb === 'delete' && other.outcome === 'acknowledged' && (other.answeredAtMs ?? Infinity) <= (op.answeredAtMs ?? -Infinity));
  return acknowledgedBefore || appliedAfterDelete(ctx, op);
}

function appliedAfterDelete(ctx: CheckContext, op: OpRecord): boolean {
  const where = op.forwardedTo ?? op.site;
  const text = appKeyText(op.key.ref);
  const writes = ctx.sim.apps.writes.filter((write) => write.site === where && write.key !== undefined && write.subresource === undefined && appKeyText(write.key) === text && write.status < 300);
  const own = writes.findIndex((write) => write.marker === op.id && write.method !== 'DELETE');
  if (own === -1) return false;
  // The object `op` wrote: made by the last create before it; deleted after that create, it was on its way out.
  const before = writes.slice(0, own);
  const made = before.map((write) => write.method).lastIndexOf('POST');
  return before.slice(made + 1).some((write) => write.method === 'DELETE');
}

/**
 * A create answered before its replicant was stored, whose replicant was then made from the
 * object a later write on the same site had changed (that write's change refused by a full disk,
 * or made on the reserved entry): the create is overwritten by a write that saw it, though never
 * recorded on its own (create-recovery.ts). The later write must have been sent after the create
 * was answered, to the same site, and be what the replicant's first write carries.
 */
function madeFromLaterWrite(ctx: CheckContext, create: OpRecord, history: ReplicantHistory): boolean {
  const later = new Set(
    ctx.history
      .of(create.key)
      .filter((op) => op.site === create.site && op.issuedAtMs >= (create.answeredAtMs ?? Infinity) && op.call.verb !== 'delete')
      .map((op) => op.id),
  );
  const first = history.writes.find((write) => !history.writes.some((other) => other !== write && history.precedes(other.hash, write.hash)));
  return first?.marker !== undefined && later.has(first.marker);
}

/**
 * The write of `op`, made where it was sent: a share copies the owner's object with its marker
 * into a replicant made elsewhere (sharing), which is not the owner's write.
 */
function writeOf(history: ReplicantHistory, op: OpRecord): DesiredWrite | undefined {
  const marker = markerLeft(op);
  return history.writes.find((write) => write.marker === marker && write.site === op.site) ?? history.writes.find((write) => write.marker === marker);
}

/**
 * Two writes one site made one after the other must be causally ordered in the replicant. The site
 * that made a write is the one it was forwarded to, if it was: a member lacking the object sends a
 * write on (node/replication/held-elsewhere.ts), and holds only what reaches it of it afterwards.
 */
function checkSessionOrder(ctx: CheckContext, ops: readonly OpRecord[]): string[] {
  const violations: string[] = [];
  const madeOn = (op: OpRecord): string => op.forwardedTo ?? op.site;
  const local = ops.filter((op) => op.outcome === 'acknowledged' && op.metaId !== undefined && op.call.verb !== 'delete' && op.key.sites.some((site) => site === madeOn(op)));
  for (const [index, later] of local.entries()) {
    const history = ctx.final.histories.get(replicantDocId(later.metaId as NonNullable<OpRecord['metaId']>));
    if (history === undefined) continue;
    const laterWrite = writeOf(history, later);
    for (const earlier of local.slice(0, index)) {
      if (madeOn(earlier) !== madeOn(later) || earlier.metaId !== later.metaId || (earlier.answeredAtMs ?? Infinity) > later.issuedAtMs) continue;
      const earlierWrite = writeOf(history, earlier);
      if (laterWrite === undefined || earlierWrite === undefined || earlierWrite === laterWrite) continue;
      if (!history.precedes(earlierWrite.hash, laterWrite.hash)) {
        violations.push(`${describeOp(later)}: made on ${madeOn(later)} without ${earlier.id}, which ${madeOn(later)} had acknowledged before (its store forgot it?)`);
      }
    }
  }
  return violations;
}

/** A write a member refused must not have been replicated. */
function checkRejected(ctx: CheckContext, ops: readonly OpRecord[]): string[] {
  const rejected = new Map(ops.filter((op) => op.outcome === 'rejected').map((op) => [op.id, op]));
  const violations: string[] = [];
  for (const history of ctx.final.histories.values()) {
    for (const write of history.writes) {
      const op = write.marker === undefined ? undefined : rejected.get(write.marker);
      if (op !== undefined) violations.push(`${describeOp(op)}: answered ${op.status ?? '?'}, yet ${history.docId} holds it (${write.revision})`);
    }
  }
  return violations;
}

/** The serialised writes of a key that is not replicated: its owner holds the last one. */
function checkUnreplicatedKey(ctx: CheckContext, key: WorkloadKey, ops: readonly OpRecord[]): string | undefined {
  const owner = key.sites[0];
  if (owner === undefined) return undefined;
  const sent = ops.filter((op) => op.outcome !== 'skipped' && op.outcome !== 'rejected');
  const lastAck = sent.map((op) => op.outcome).lastIndexOf('acknowledged');
  const candidates = sent.filter((op, index) => index === lastAck || op.outcome !== 'acknowledged');
  if (candidates.length === 0) return undefined;
  const object = ctx.final.apps.get(owner)?.get(appKeyText(key.ref));
  const marker = object === undefined ? undefined : markerOf(object);
  const explains = (op: OpRecord): boolean => (op.call.verb === 'delete' ? object === undefined : marker === op.id);
  if (candidates.some(explains) || (lastAck === -1 && object === undefined)) return undefined;
  const last = sent[lastAck];
  const expected = last === undefined ? 'nothing acknowledged' : describeOp(last);
  return `${describeRef(key.ref)} on ${owner}: the application holds ${object === undefined ? 'nothing' : `marker ${marker ?? 'none'}`}, but the last acknowledged write is ${expected}`;
}

/**
 * The serialised writes of an object of a cross namespace (DESIGN.md §7). It lives on one member,
 * but each side of a partition may make it, and a write on one side cannot reach the other's
 * object: so the last acknowledged write is checked on the member that applied it (where it was
 * sent, or `X-Cheops-Forwarded-To`). That member holds its object (or that of a write never
 * answered); after a delete, nothing but such a write's object. Another member's object
 * of the same name is its own side's (the cross-names checker holds the sites to telling them
 * apart).
 */
function checkCrossKey(ctx: CheckContext, key: WorkloadKey, ops: readonly OpRecord[]): string | undefined {
  const sent = ops.filter((op) => op.outcome !== 'skipped' && op.outcome !== 'rejected');
  const lastAck = sent.map((op) => op.outcome).lastIndexOf('acknowledged');
  const last = sent[lastAck];
  if (last === undefined) return undefined;
  const applier = key.sites.find((site) => site === (last.forwardedTo ?? last.site));
  if (applier === undefined) return undefined;
  // Writes never answered may have been applied there too, even one sent before it: a forwarded
  // request whose sender died may land after the user's retry (seed 80031; for a cross key, seed
  // 2400293).
  const unanswered = sent.filter((op) => op.outcome !== 'acknowledged');
  const object = ctx.final.apps.get(applier)?.get(appKeyText(key.ref));
  const marker = object === undefined ? undefined : markerOf(object);
  const explains = (op: OpRecord): boolean => (op.call.verb === 'delete' ? object === undefined : marker === op.id);
  if ([last, ...unanswered].some(explains)) return undefined;
  return `${describeRef(key.ref)} (cross) on ${applier}: the application holds ${object === undefined ? 'nothing' : `marker ${marker ?? 'none'}`}, but the last acknowledged write, applied there, is ${describeOp(last)}`;
}

/** Whether `op` was answered as a replicated write (acknowledged with its meta-ID). */
function replicatedAck(op: OpRecord): boolean {
  return op.outcome === 'acknowledged' && op.metaId !== undefined;
}

/**
 * A shared secret (see the file comment): its replicated writes as a replicated key's, and, when
 * no life of it is shared at the end, its owner's writes since the last replicated one as an
 * unreplicated key's (writes never answered, anywhere, may explain what the owner holds).
 */
function checkSharedKey(ctx: CheckContext, key: WorkloadKey, ops: readonly OpRecord[], sharedAtEnd: boolean): { checked: number; violations: string[] } {
  const violations: string[] = [];
  const replicated = ops.filter(replicatedAck);
  for (const op of replicated) {
    const problem = checkReplicatedOp(ctx, op);
    if (problem !== undefined) violations.push(problem);
  }
  violations.push(...checkSessionOrder(ctx, ops));
  if (!sharedAtEnd) {
    const since = Math.max(0, ops.map(replicatedAck).lastIndexOf(true));
    const local = ops.slice(since).filter((op) => op.site === key.sites[0] || op.outcome !== 'acknowledged');
    const problem = checkUnreplicatedKey(ctx, key, local);
    if (problem !== undefined) violations.push(`${problem} (shared secret, no life of it shared at the end)`);
  }
  return { checked: ops.filter((op) => op.outcome === 'acknowledged').length, violations };
}

/** The acknowledged-writes checker. */
export function checkAcknowledgedWrites(ctx: CheckContext): CheckerResult {
  const violations: string[] = [];
  let checked = 0;
  const incarnations = incarnationsByKey(ctx);
  for (const key of ctx.keys.keys) {
    const ops = ctx.history.of(key);
    if (key.kind === 'shared') {
      const last = (incarnations.get(key) ?? []).at(-1);
      // A replicant that does not decode counts as shared (convergence reports it).
      const result = checkSharedKey(ctx, key, ops, last !== undefined && last.history.replicant?.deleted !== true);
      checked += result.checked;
      violations.push(...result.violations);
      continue;
    }
    if (!replicatedLike(key)) {
      checked += ops.filter((op) => op.outcome === 'acknowledged').length;
      const problem = key.kind === 'cross' ? checkCrossKey(ctx, key, ops) : checkUnreplicatedKey(ctx, key, ops);
      if (problem !== undefined) violations.push(problem);
      continue;
    }
    for (const op of ops) {
      if (op.outcome !== 'acknowledged') continue;
      checked += 1;
      const problem = checkReplicatedOp(ctx, op);
      if (problem !== undefined) violations.push(problem);
    }
    violations.push(...checkSessionOrder(ctx, ops));
  }
  violations.push(...checkRejected(ctx, ctx.history.all));
  return resultOf('acknowledged-writes', checked, violations);
}
