/**
 * Replication's Prometheus metrics (docs/REPLICATION.md §6): pending replicas per site, operations
 * on the local application by outcome, the delay from a write on another site to its application
 * here, conflicts recorded, writes taken by the write path, and reads forwarded by their scope.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { IndexEntry } from './key-index.js';

/** The metrics the engine updates as it works (gauges are read when scraped). */
export interface ReplicationMetrics {
  /** Reconciler operations on the local application: `op` create|update|delete|none, `outcome` applied|deleted|failed|transient. */
  readonly operations: Counter<'op' | 'outcome'>;
  /** Seconds from `desired.at` on the writing site to its application on this one. */
  readonly delay: Histogram;
  /** Losing writes recorded here. */
  readonly conflicts: Counter;
  /** Writes through this site's front: `op` create|update|patch|delete, `result` replicated|rejected|forwarded|local. */
  readonly writes: Counter<'op' | 'result'>;
  /** Reads whose scope sent them to another site, by the site that answered. */
  readonly forwardedReads: Counter<'site'>;
  /** 1 while the local application answers, 0 while it is found down (AppHealth). */
  readonly appUp: Gauge;
}

/** Creates the metrics on `registry`; `entries` is read when scraped. */
export function createReplicationMetrics(registry: Registry, entries: () => readonly IndexEntry[]): ReplicationMetrics {
  new Gauge({
    name: 'cheops_replicas_pending',
    help: 'replicas of live replicants held here that are not applied yet, by site (as this site last read them)',
    labelNames: ['site'],
    registers: [registry],
    collect() {
      // Counted here and set once per site: a labelled inc() per entry and site cost a label
      // lookup each, which made every scrape O(replicants × sites) of prom-client work.
      const pending = new Map<string, number>();
      for (const entry of entries()) {
        if (entry.deleted) continue;
        for (const site of entry.sites) {
          const status = entry.statuses[site];
          pending.set(site, (pending.get(site) ?? 0) + (status === undefined || status === 'pending' ? 1 : 0));
        }
      }
      this.reset();
      for (const [site, count] of pending) this.set({ site }, count);
    },
  });
  new Gauge({
    name: 'cheops_replicants',
    help: 'replicants held here, live or deleted',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      const all = entries();
      let deleted = 0;
      for (const entry of all) if (entry.deleted) deleted += 1;
      this.set({ state: 'live' }, all.length - deleted);
      this.set({ state: 'deleted' }, deleted);
    },
  });
  new Gauge({
    name: 'cheops_cross_contested_names',
    help: 'names of cross namespaces held here that two sites or more made during a partition (the first claim wins, the others are reported)',
    registers: [registry],
    collect() {
      let contested = 0;
      for (const entry of entries()) contested += entry.contested?.length ?? 0;
      this.set(contested);
    },
  });
  return {
    operations: new Counter({
      name: 'cheops_replication_operations_total',
      help: 'reconciler operations on the local application, by operation and outcome',
      labelNames: ['op', 'outcome'],
      registers: [registry],
    }),
    delay: new Histogram({
      name: 'cheops_replication_delay_seconds',
      help: 'time from a write on another site to its application on this one (wall clocks of real machines differ)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    conflicts: new Counter({
      name: 'cheops_replication_conflicts_total',
      help: 'losing concurrent writes recorded on this site',
      registers: [registry],
    }),
    writes: new Counter({
      name: 'cheops_replicated_writes_total',
      help: 'writes on replicated or scoped resources through this front, by operation and result',
      labelNames: ['op', 'result'],
      registers: [registry],
    }),
    forwardedReads: new Counter({
      name: 'cheops_forwarded_reads_total',
      help: 'reads through this front whose scope sent them to another site, by the site that answered',
      labelNames: ['site'],
      registers: [registry],
    }),
    appUp: appUpGauge(registry),
  };
}

function appUpGauge(registry: Registry): Gauge {
  const gauge = new Gauge({
    name: 'cheops_local_application_up',
    help: "1 while this site's application answers, 0 from a call it failed and a readiness probe it did not answer until it answers again",
    registers: [registry],
  });
  gauge.set(1);
  return gauge;
}
