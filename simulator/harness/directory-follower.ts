/**
 * Follows the site directory as node/site.ts's `watchDirectory` does: every site listed is tracked
 * by heartbeats and kept connected by the redialer, so a site learnt through a peer, or restarted
 * with its directory from disk, dials the others itself. A copy, because site.ts keeps it private;
 * it goes away when the harness runs the whole node through `startSite` (README.md).
 */
import { errorMessage } from '../../core/errors.js';
import type { PeerIdString } from '../../core/ids.js';
import type { Logger } from '../../core/logger.js';
import type { DocumentStore } from '../../crdt/document-store.js';
import { siteDirectoryId, type SiteDirectory } from '../../crdt/site-directory.js';
import type { Heartbeats } from '../../p2p/heartbeat.js';
import type { Redialer } from '../../p2p/redialer.js';

export interface DirectoryFollowerDeps {
  readonly documents: DocumentStore;
  readonly directory: SiteDirectory;
  readonly heartbeats: Heartbeats;
  readonly redialer: Redialer;
  readonly self: PeerIdString;
  readonly logger: Logger;
}

/** Starts following; answers the function that stops it. */
export function followDirectory(deps: DirectoryFollowerDeps): () => void {
  const { documents, directory, heartbeats, redialer, self, logger } = deps;
  let refreshing = Promise.resolve();
  const refresh = (): void => {
    refreshing = refreshing
      .then(async () => {
        const view = await directory.view();
        for (const entry of view.sites) {
          if (entry.peerId === self) continue;
          heartbeats.track(entry.peerId);
          for (const address of entry.addresses) redialer.add(address, entry.peerId);
        }
      })
      .catch((error: unknown) => logger.warn({ error: errorMessage(error) }, 'site directory refresh failed'));
  };
  const unsubscribe = documents.onChange((event) => {
    if (event.docId === siteDirectoryId) refresh();
  });
  refresh();
  return unsubscribe;
}
