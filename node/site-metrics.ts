/**
 * The site's own Prometheus metrics (`cheops_` prefix), read when scraped: peers by state, RTT
 * per site, document-sync counters, the number of stored documents and whether the store takes writes.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { DocumentStore } from '../crdt/document-store.js';
import type { StorageHealth } from '../crdt/storage-health.js';
import type { DocSync, DocSyncStats } from '../p2p/doc-sync.js';
import type { SitesView } from './sites-view.js';

export interface SiteMetricsDeps {
  readonly sites: Pick<SitesView, 'list'>;
  readonly docSync: Pick<DocSync, 'stats'>;
  readonly documents: Pick<DocumentStore, 'ids' | 'loadedCount'>;
  readonly storage: Pick<StorageHealth, 'writable'>;
}

const syncCounters: ReadonlyArray<[keyof DocSyncStats, string, string]> = [
  ['syncMessagesSent', 'cheops_sync_messages_sent_total', 'Automerge sync messages sent to peers'],
  ['syncMessagesReceived', 'cheops_sync_messages_received_total', 'Automerge sync messages received from peers'],
  ['pushesSent', 'cheops_sync_pushes_sent_total', 'small changes pushed to peers as they were made'],
  ['pushesReceived', 'cheops_sync_pushes_received_total', 'changes pushed by peers'],
  ['refused', 'cheops_sync_refused_total', 'peer messages refused: the peer is not part of the document'],
  ['malformed', 'cheops_sync_malformed_total', 'peer messages dropped: they did not decode or apply'],
  ['overloaded', 'cheops_sync_overloaded_total', "peer messages dropped: the peer's inbound backlog was full (a resync follows)"],
];

export function createSiteMetrics(registry: Registry, deps: SiteMetricsDeps): void {
  new Gauge({
    name: 'cheops_sites',
    help: 'known sites by state (self, up, down)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const state of ['self', 'up', 'down'] as const) this.set({ state }, 0);
      for (const site of deps.sites.list()) this.inc({ state: site.state });
    },
  });
  new Gauge({
    name: 'cheops_site_rtt_milliseconds',
    help: 'smoothed heartbeat round-trip time to each site that answers',
    labelNames: ['site'],
    registers: [registry],
    collect() {
      this.reset();
      for (const site of deps.sites.list()) {
        if (site.state === 'up' && site.rttMs !== null) this.set({ site: site.name }, site.rttMs);
      }
    },
  });
  new Gauge({
    name: 'cheops_documents',
    help: 'documents in the site store',
    registers: [registry],
    collect() {
      this.set(deps.documents.ids().length);
    },
  });
  new Gauge({
    name: 'cheops_store_writable',
    help: "1 while the site's store takes writes, 0 from a refused write (a full disk) until one goes through",
    registers: [registry],
    collect() {
      this.set(deps.storage.writable ? 1 : 0);
    },
  });
  new Gauge({
    name: 'cheops_documents_loaded',
    help: 'documents loaded in memory (idle ones stay on disk)',
    registers: [registry],
    collect() {
      this.set(deps.documents.loadedCount);
    },
  });
  for (const [field, name, help] of syncCounters) {
    // A counter mirrored from DocSync's own counts, which only grow.
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(deps.docSync.stats()[field]);
      },
    });
  }
}
