/**
 * A site that made a replicant this site holds too, under the same meta-ID, which this site's
 * copy does not list: the object was created there with a scope naming both sites (a create sent
 * to the site a scope adds; held-elsewhere.ts leaves creates local, as local first wants). Its
 * document messages are refused here (share-policy.ts), and each refusal of a live replicant's
 * document brings one look, at most every `lookAgainMs` per site and document: this site asks
 * that site's front for its replicant (`GET /cheops/v1/replicants/{metaId}`), and when it is
 * live, of the same key, and lists both sites, widens its own to that site (a `join:` entry, as
 * a write's widening does). The two documents then sync: the two creates are concurrent writes,
 * and one wins on every site (docs/REPLICATION.md §4). Without this, each kept its own object
 * for good, and the other sites never learnt of the second create. A create made against a name
 * deleted here (the sender's first incarnation, this site's tombstone) loses to the delete; when
 * the name was made again here since, the live incarnation is widened to the sender as well.
 *
 * A site can only add itself so to a replicant whose key it holds and whose scope, as it wrote
 * it, names this site: what a write forwarded from it with that scope (held-elsewhere.ts) does
 * too.
 */
import { errorMessage } from '../../core/errors.js';
import type { DocumentId, MetaId, PeerIdString, SiteName } from '../../core/ids.js';
import { keyText, metaIdOfDocId, replicantDocId } from '../../crdt/replicant.js';
import { decodeResourceKey } from '../../crdt/replicant-decode.js';
import { isJsonObject } from '../../glue/json.js';
import { readAnswer } from '../local-app.js';
import type { EngineContext } from './context.js';
import { withinReadDeadline } from './forward.js';
import { answerJson, CheopsHeader } from './http.js';

/** The least time between two looks at one site's copy of one replicant. */
export const lookAgainMs = 5_000;
/** Past this many remembered looks, those older than `lookAgainMs` are forgotten. */
const maxRemembered = 1_000;
/** Looks under way at once, at most: a peer naming many documents it is not in asks little of this site. */
const maxLooking = 8;

export class MembershipClaims {
  private readonly lastLook = new Map<string, number>();
  private readonly looking = new Set<string>();

  constructor(
    private readonly ctx: EngineContext,
    /** Aborted when the engine stops: a look under way gives up. */
    private readonly stopping: AbortSignal,
  ) {}

  /**
   * A message of `peer` about `doc` was refused (DocSync's `onRefused`). Returns whether this site
   * is looking whether `peer` was added to the replicant (a look started now or under way).
   */
  refused(peer: PeerIdString, doc: DocumentId): boolean {
    const metaId = metaIdOfDocId(doc);
    if (metaId === undefined || this.stopping.aborted) return false;
    const entry = this.ctx.index.byMetaId(metaId);
    if (entry === undefined) return false;
    const site = this.ctx.sites.names().find((name) => this.ctx.sites.peerIdOf(name) === peer);
    if (site === undefined || entry.sites.includes(site)) return false;
    const id = `${site} ${metaId}`;
    if (this.looking.has(id)) return true;
    const now = this.ctx.clock.now();
    const last = this.lastLook.get(id);
    if (this.looking.size >= maxLooking || (last !== undefined && now - last < lookAgainMs)) return false;
    this.remember(id, now);
    this.looking.add(id);
    void this.look(site, metaId)
      .catch((error: unknown) => this.ctx.logger.debug({ site, metaId, error: errorMessage(error) }, 'a refused site\'s replicant could not be looked at'))
      .finally(() => this.looking.delete(id));
    return true;
  }

  private async look(site: SiteName, metaId: MetaId): Promise<void> {
    const base = this.ctx.sites.httpOf(site);
    if (base === undefined) return;
    const headers = new Headers({ [CheopsHeader.ForwardedFrom]: this.ctx.self, accept: 'application/json' });
    const answer = await withinReadDeadline(this.ctx, this.stopping, async (signal) =>
      readAnswer(await this.ctx.remote(new Request(new URL(`/cheops/v1/replicants/${metaId}`, base), { headers, signal }), signal)),
    );
    const theirs = answer.status === 200 ? answerJson(answer) : undefined;
    if (!isJsonObject(theirs)) return;
    const key = decodeResourceKey(theirs.key);
    const sites = Array.isArray(theirs.sites) ? theirs.sites : [];
    // Looked at again now: the replicant here may have changed meanwhile.
    const entry = this.ctx.index.byMetaId(metaId);
    if (entry === undefined || entry.sites.includes(site)) return;
    const claims = theirs.metaId === metaId && theirs.deleted !== true && key !== undefined && keyText(key) === keyText(entry.key) &&
      sites.includes(site) && sites.includes(this.ctx.self);
    if (!claims) {
      this.ctx.logger.info({ site, metaId, key: keyText(entry.key) }, 'a site outside this replicated object\'s scope sent its document, and its own copy does not add it: its messages stay refused');
      return;
    }
    await this.ctx.replicants.join(replicantDocId(metaId), [site]);
    this.ctx.logger.info(
      { site, metaId, key: keyText(entry.key), scope: theirs.scope },
      'a site made this replicated object too, with a scope naming this site: widened to it (the two creates are concurrent writes; one wins everywhere)',
    );
    // Deleted here and made again since (a later incarnation): the site meant the object, not the
    // deleted one, whose tombstone now removes its create there. The live one goes to it too.
    const live = entry.deleted ? this.ctx.index.live(entry.key) : undefined;
    if (live === undefined || live.incarnation <= entry.incarnation || live.sites.includes(site)) return;
    await this.ctx.replicants.join(replicantDocId(live.metaId), [site]);
    this.ctx.logger.info({ site, metaId: live.metaId, key: keyText(live.key) }, 'the object that site made was deleted here and made again: the new one widened to it too');
  }

  private remember(id: string, now: number): void {
    if (this.lastLook.size >= maxRemembered) {
      for (const [known, at] of this.lastLook) if (now - at >= lookAgainMs) this.lastLook.delete(known);
    }
    this.lastLook.set(id, now);
  }
}
