/**
 * Writes this site sent on to another member because it lacked the object (held-elsewhere.ts),
 * kept until this site's own copy holds them, so that the writes its clients make next follow them.
 *
 * Why: a member that lacks the object sends a write on; the member applying it answers with the
 * heads of the replicant after it (`X-Cheops-Heads`). The replicant's document then reaches this
 * site by a sync with any member, and one sent before that write (the other member's change still
 * on its way, over another connection than the answer's) is a copy without it. A next write made
 * here on that copy was concurrent with the first, and one of the two won: a client's later write
 * could lose to its earlier one (swarm seed 6200306). While the copy here lacks those heads, the
 * next write of the key goes where the first went, and so does a read of it (the client's own
 * write is what it reads back); once the copy holds them, both are answered here again. Should
 * that member be cut off meanwhile, the write is made here all the same, with a `Warning`, and
 * the read answered here: neither waits on a site it cannot reach.
 *
 * Memory only: a restart forgets them, and with them only the order of writes in flight.
 */
import type { Clock } from '../../core/clock.js';
import type { DocumentId, MetaId, ResourceKey, SiteName } from '../../core/ids.js';
import { isMetaId, keyText, replicantDocId } from '../../crdt/replicant.js';
import type { EngineContext } from './context.js';
import { errorMessage } from '../../core/index.js';
import type { FrontCall } from '../http/index.js';
import { readForwarded } from './forward.js';
import { CheopsHeader, describeKey, forwardedFrom, relay, warning } from './http.js';

/** A write sent on whose change this site's copy may not hold yet. */
export interface SentOnWrite {
  readonly site: SiteName;
  readonly metaId: MetaId;
  readonly heads: readonly string[];
  /** The scope the write was sent on with: the next one goes with it when it has none. */
  readonly scope: string;
  readonly at: number;
}

export interface SentOnOptions {
  /** Kept at most this long: a copy that has not caught up by then is cut off, and its writes made here. */
  readonly maxAgeMs: number;
  /** At most this many keys; the oldest go first. */
  readonly maxKeys: number;
}

export const defaultSentOnOptions: SentOnOptions = { maxAgeMs: 60_000, maxKeys: 1_000 };

/** Automerge change hashes: 64 hex digits. */
const headPattern = /^[0-9a-f]{64}$/;

export class SentOnWrites {
  // Insertion order is age order: a key written again is moved to the back.
  private readonly byKey = new Map<string, SentOnWrite>();

  constructor(
    private readonly clock: Pick<Clock, 'now'>,
    private readonly options: SentOnOptions = defaultSentOnOptions,
  ) {}

  get size(): number {
    return this.byKey.size;
  }

  /**
   * Keeps the write `answer` reports, sent on to `site` for `key`: nothing unless it was applied
   * there (2xx) and names its replicant and heads.
   */
  record(key: ResourceKey, site: SiteName, scope: string, answer: Response): void {
    if (answer.status < 200 || answer.status > 299) return;
    const metaId = answer.headers.get(CheopsHeader.MetaId) ?? '';
    const heads = (answer.headers.get(CheopsHeader.Heads) ?? '').split(',').map((head) => head.trim()).filter((head) => head !== '');
    if (!isMetaId(metaId) || heads.length === 0 || !heads.every((head) => headPattern.test(head))) return;
    const text = keyText(key);
    this.byKey.delete(text);
    this.byKey.set(text, { site, metaId, heads, scope, at: this.clock.now() });
    for (const oldest of this.byKey.keys()) {
      if (this.byKey.size <= this.options.maxKeys) break;
      this.byKey.delete(oldest);
    }
  }

  /** The write sent on for `key` that `lacks` says this site's copy does not hold yet; one it holds, or too old, is forgotten. */
  async lacking(key: ResourceKey, lacks: (docId: DocumentId, heads: readonly string[]) => Promise<boolean>): Promise<SentOnWrite | undefined> {
    const text = keyText(key);
    const sent = this.byKey.get(text);
    if (sent === undefined) return undefined;
    if (this.clock.now() - sent.at > this.options.maxAgeMs || !(await lacks(replicantDocId(sent.metaId), sent.heads))) {
      if (this.byKey.get(text) === sent) this.byKey.delete(text);
      return undefined;
    }
    return sent;
  }

  /** Whether a write of `key` was sent on and may not be held here yet (synchronous: reads ask before anything else). */
  has(key: ResourceKey): boolean {
    return this.byKey.size > 0 && this.byKey.has(keyText(key));
  }
}

/** What a request of `key` through this site's front does about a write sent on before it. */
export type SentOnStep =
  | { readonly kind: 'none' }
  /** Sent where that write went (`sent.site` is up); `what` says why. */
  | { readonly kind: 'follow'; readonly sent: SentOnWrite; readonly what: string }
  /** Answered here, with a warning: `sent.site` is cut off. */
  | { readonly kind: 'here'; readonly sent: SentOnWrite; readonly what: string };

/** Nothing sent on to follow. */
export const noneSentOn: SentOnStep = { kind: 'none' };

/** Whether a request of `key` (not one forwarded here) must follow a write sent on before it, which this copy lacks. */
export async function afterSentOn(ctx: EngineContext, call: { readonly headers: Readonly<Record<string, string | string[] | undefined>> }, key: ResourceKey): Promise<SentOnStep> {
  if (ctx.sentOn.size === 0 || forwardedFrom(call) !== undefined) return { kind: 'none' };
  const sent = await ctx.sentOn.lacking(key, (docId, heads) => ctx.documents.lacks(docId, heads));
  if (sent === undefined) return { kind: 'none' };
  const what = `${describeKey(key)} on ${ctx.self} does not hold yet the write sent on to ${sent.site} before this request`;
  if (ctx.sites.isUp(sent.site)) return { kind: 'follow', sent, what };
  // Kept: each request until the copy catches up (or the bound passes) says so, and follows again once that site is back.
  return { kind: 'here', sent, what: `${what}, and ${sent.site} is cut off` };
}

/**
 * A read of `key`, which a write sent on before it may have changed: answered by the site the
 * write went to while this copy lacks it, else by `here`. A read that site cannot answer (cut off
 * meanwhile, too slow) is answered here, with a `Warning`.
 */
export async function readFollowing(ctx: EngineContext, call: FrontCall, key: ResourceKey, here: () => Promise<Response>): Promise<Response> {
  const after = await afterSentOn(ctx, call, key);
  if (after.kind === 'none') return here();
  if (after.kind === 'here') return here().then((answer) => withWarning(answer, `${after.what}: read here`));
  const { site, scope } = after.sent;
  const base = ctx.sites.httpOf(site);
  try {
    if (base === undefined) throw new Error('its HTTP address is not known yet');
    const answer = await readForwarded(ctx, call, base, call.scope?.text ?? scope);
    // Its application out: this copy, however old, rather than nothing.
    if (answer.status >= 500) throw new Error(`it answered ${answer.status}`);
    ctx.metrics.forwardedReads.inc({ site });
    return relay(answer, [[CheopsHeader.ForwardedTo, site], warning(`${after.what}: read from there`)]);
  } catch (error) {
    if (call.signal.aborted) throw error;
    const text = `${describeKey(key)} on ${ctx.self} may not hold yet the write sent on to ${site}, which could not be asked (${errorMessage(error)}): read here`;
    return here().then((answer) => withWarning(answer, text));
  }
}

/** `answer` with one more `Warning`. */
function withWarning(answer: Response, text: string): Response {
  answer.headers.append(...warning(text));
  return answer;
}
