/**
 * Reads go where their scope says, and name only what was written (DESIGN.md §7, reads.ts):
 *
 * - a read sent to a site its scope leaves out is answered by a site of the scope
 *   (`X-Cheops-Forwarded-To`), or refused with a 5xx when none could be reached; it is never
 *   answered from the site's own application;
 * - a read sent to a member, or without a scope, is answered by the site it reached, which waits on
 *   no other (local first); in a cross namespace, by the member holding the object; a scoped read
 *   of an object (not of a cross namespace) the member's application did not hold may be answered by another
 *   member (node/replication/held-elsewhere.ts), never one of an object it held all along;
 * - every answer is a 200 or a 404 (but for those 5xx, and a 5xx while the application that had
 *   to answer was out, `--faults app-outages`); a 200 holds the object asked for, made by
 *   a write of that object the clients had sent by then (its op marker), nothing invented.
 *
 * Reads without an answer (the site died, the client gave up) say nothing and are not checked.
 */
import type { SiteName } from '../../core/ids.js';
import { appKeyText } from '../workload/key-space.js';
import type { ReadRecord } from '../workload/reads.js';
import { at, describeRef, resultOf, type CheckContext, type CheckerResult } from './types.js';
import { defaultSentOnOptions } from '../../node/replication/sent-on.js';

function describeRead(read: ReadRecord): string {
  const scope = read.call.scope === undefined ? 'no scope' : `scope ${read.call.scope}`;
  return `${read.id} (get ${describeRef(read.key.ref)} on ${read.site}, ${scope}, at ${at(read.issuedAtMs)})`;
}

/**
 * What is wrong with one answered read, if anything. `appOut`: whether a site's application was
 * out during the read; `heldThroughout`: whether the reading site's application held the object
 * from the read's start to its answer.
 */
function violationOf(read: ReadRecord, writtenBy: (marker: string) => number | undefined, appOut: (site: SiteName) => boolean, heldThroughout: () => boolean): string | undefined {
  const status = read.status ?? 0;
  const outside = read.call.scope !== undefined && !read.key.sites.includes(read.site);
  if (status !== 200 && status !== 404) {
    if (outside && status >= 500) return undefined;
    // The application that had to answer was out (in a cross namespace, any member's may hold the object).
    const answering = read.key.kind === 'cross' ? [read.site, ...read.key.sites] : [read.site];
    if (status >= 500 && answering.some(appOut)) return undefined;
    return `${describeRead(read)} answered ${status}`;
  }
  if (outside) {
    if (read.forwardedTo === undefined) return `${describeRead(read)} answered ${status} by ${read.site} itself, outside its scope`;
    if (!read.key.sites.some((site) => site === read.forwardedTo)) return `${describeRead(read)} answered ${status} by ${read.forwardedTo}, outside its scope`;
  } else if (read.forwardedTo !== undefined) {
    // A member answers by itself, but for an object of a cross namespace, which it finds on the
    // member holding it, and a scoped read of an object it lacks (a replicated one, a shared pod).
    const member = read.key.sites.some((site) => site === read.forwardedTo);
    const lacking = read.key.kind !== 'cross' && read.call.scope !== undefined && member;
    if (lacking && heldThroughout()) return `${describeRead(read)} answered by ${read.forwardedTo}, though ${read.site} held the object all along`;
    if (!member || (read.key.kind !== 'cross' && !lacking)) {
      return `${describeRead(read)} answered by ${read.forwardedTo}, though ${read.site} was to answer it${read.key.kind === 'cross' ? ' or a member' : ' itself'}`;
    }
  }
  if (status !== 200) return undefined;
  const object = read.object;
  if (object === undefined || object.name !== read.key.ref.name || object.namespace !== read.key.ref.namespace) {
    return `${describeRead(read)} answered another object (${String(object?.namespace)}/${String(object?.name)})`;
  }
  if (object.marker === undefined) return `${describeRead(read)} answered an object no write of the workload made (no op marker)`;
  const issuedAtMs = writtenBy(object.marker);
  if (issuedAtMs === undefined) return `${describeRead(read)} answered an object marked ${object.marker}, which is no write of ${describeRef(read.key.ref)}`;
  if (issuedAtMs > (read.answeredAtMs ?? Number.POSITIVE_INFINITY)) {
    return `${describeRead(read)} answered the object of ${object.marker}, sent only at ${at(issuedAtMs)}`;
  }
  return undefined;
}

export function checkReads(ctx: CheckContext): CheckerResult {
  const answered = ctx.history.reads.filter((read) => read.outcome === 'answered');
  const violations: string[] = [];
  for (const read of answered) {
    const writes = new Map(ctx.history.of(read.key).filter((op) => op.outcome !== 'skipped').map((op) => [op.id, op.issuedAtMs]));
    const appOut = (site: SiteName): boolean => ctx.sim.site(site).app.wasOut(read.issuedAtMs, read.answeredAtMs ?? Number.POSITIVE_INFINITY);
    const violation = violationOf(read, (marker) => writes.get(marker), appOut, () => heldThroughout(ctx, read) && !followsSentOn(ctx, read));
    if (violation !== undefined) violations.push(violation);
  }
  return resultOf('reads', answered.length, violations);
}

/**
 * Whether `read` may have followed a write of its key that its site sent on to the site that
 * answered it, within the bound: the read goes there while the site's copy lacks that write.
 */
function followsSentOn(ctx: CheckContext, read: ReadRecord): boolean {
  return ctx.history.of(read.key).some((op) =>
    op.site === read.site && op.forwardedTo === read.forwardedTo && op.outcome === 'acknowledged' && op.call.verb !== 'create' &&
    op.issuedAtMs < read.issuedAtMs && read.issuedAtMs - op.issuedAtMs <= defaultSentOnOptions.maxAgeMs);
}

/**
 * Whether `read.site`'s application held the object read from the read's start to its answer, as
 * its log of writes tells: made (or written) by its last write before, and no delete meanwhile.
 */
function heldThroughout(ctx: CheckContext, read: ReadRecord): boolean {
  const text = appKeyText(read.key.ref);
  const until = read.answeredAtMs ?? Number.POSITIVE_INFINITY;
  const writes = ctx.sim.apps.writes.filter((write) =>
    write.site === read.site && write.key !== undefined && write.subresource === undefined && write.status < 300 && appKeyText(write.key) === text && write.atMs <= until);
  const before = writes.filter((write) => write.atMs < read.issuedAtMs);
  const last = before[before.length - 1];
  return last !== undefined && last.method !== 'DELETE' && !writes.some((write) => write.atMs >= read.issuedAtMs && write.method === 'DELETE');
}
