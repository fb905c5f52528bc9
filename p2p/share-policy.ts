/**
 * Scope safety's single question: may this document (its changes, sync messages, heads, even its
 * id) be exchanged with this peer? Document sync asks it before every send and on every receive.
 */
import { errorMessage } from '../core/errors.js';
import type { DocumentId, PeerIdString } from '../core/ids.js';
import type { Logger } from '../core/logger.js';

/** The sites a document may be sent to: every site, or these peers. */
export type SharedWith = 'all' | ReadonlySet<PeerIdString>;

/**
 * Who shares `docId`. For a document this site does not hold yet, the answer says who may bring
 * it here (an empty set refuses it). The node derives it from each document's scope; the site
 * directory is `'all'`.
 */
export type SharePolicy = (docId: DocumentId) => SharedWith;

const nobody: ReadonlySet<PeerIdString> = new Set();

/** Asks `policy` who shares `doc`; a policy that throws keeps the document local (fail closed) and is logged. */
export function sharingOf(policy: SharePolicy, doc: DocumentId, logger: Logger): SharedWith {
  try {
    return policy(doc);
  } catch (error) {
    logger.error({ doc, err: errorMessage(error) }, 'share policy failed; document kept local');
    return nobody;
  }
}

/** Whether `peer` is among `shared`. */
export function includesPeer(shared: SharedWith, peer: PeerIdString): boolean {
  return shared === 'all' || shared.has(peer);
}

/** Asks `policy` whether `peer` shares `doc` (fail closed, as `sharingOf`). */
export function isSharedWith(policy: SharePolicy, doc: DocumentId, peer: PeerIdString, logger: Logger): boolean {
  return includesPeer(sharingOf(policy, doc, logger), peer);
}
