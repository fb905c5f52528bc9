/**
 * Admin routes over the stored documents, relative to `/cheops/v1`, for tools that measure
 * convergence from outside (bench/heal.ts):
 *
 * - `GET /documents/heads?prefix=res/`: the heads of every stored document whose id starts with
 *   the prefix, read from the store's index (nothing is loaded);
 * - `PUT /documents/expected-heads` with `{ "docs": { "<id>": ["<hash>", …] } }`: from now on,
 *   watch for those changes (replaces the previous expectation);
 * - `GET /documents/expected-heads`: how many of those documents are held whole, and when the
 *   last expected change became durable (see expected-heads.ts).
 */
import { CheopsError, ErrorCode } from '../core/errors.js';
import { isDocumentId, type DocumentId } from '../core/ids.js';
import type { AdminHandler } from './http/index.js';
import type { ExpectedHeads } from './expected-heads.js';

export interface DocumentsAdminDeps {
  readonly documents: {
    ids(): DocumentId[];
    heads(docId: DocumentId): readonly string[] | undefined;
  };
  readonly expectedHeads: Pick<ExpectedHeads, 'expect' | 'status'>;
}

/** Most documents one expectation may name: the body is held in memory until they all arrive. */
export const maxExpectedDocuments = 100_000;

export function documentsAdminRoutes(deps: DocumentsAdminDeps): Record<`${'GET' | 'PUT'} /${string}`, AdminHandler> {
  return {
    'GET /documents/heads': (c) => {
      const prefix = c.req.query('prefix') ?? '';
      const docs: Record<string, readonly string[]> = {};
      for (const doc of deps.documents.ids()) {
        const heads = doc.startsWith(prefix) ? deps.documents.heads(doc) : undefined;
        if (heads !== undefined) docs[doc] = heads;
      }
      return c.json({ docs });
    },
    'PUT /documents/expected-heads': async (c) => {
      deps.expectedHeads.expect(parseExpectation(await c.req.json<unknown>()));
      return c.json(deps.expectedHeads.status());
    },
    'GET /documents/expected-heads': (c) => c.json(deps.expectedHeads.status()),
  };
}

function parseExpectation(body: unknown): Map<DocumentId, readonly string[]> {
  const docs = typeof body === 'object' && body !== null ? (body as { docs?: unknown }).docs : undefined;
  if (typeof docs !== 'object' || docs === null || Array.isArray(docs)) throw badRequest('expected { "docs": { "<id>": [heads] } }');
  const entries = Object.entries(docs as Record<string, unknown>);
  if (entries.length > maxExpectedDocuments) throw badRequest(`at most ${maxExpectedDocuments} documents`);
  const expectation = new Map<DocumentId, readonly string[]>();
  for (const [doc, heads] of entries) {
    if (!isDocumentId(doc)) throw badRequest(`bad document id ${JSON.stringify(doc)}`);
    if (!Array.isArray(heads) || !heads.every((hash) => typeof hash === 'string' && /^[0-9a-f]{64}$/.test(hash))) {
      throw badRequest(`bad heads for ${doc}`);
    }
    expectation.set(doc, heads as string[]);
  }
  return expectation;
}

function badRequest(message: string): CheopsError {
  return new CheopsError(ErrorCode.HttpBadRequest, message);
}
