/**
 * The front's Prometheus metrics, registered on the node's own Registry (never prom-client's
 * global one: tests and the simulator run several nodes in one process).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { BatchedHistogram } from './batched-histogram.js';

/**
 * Who answered a request: the front itself (`owned`: health, metrics, admin API), the local
 * application untouched (`passthrough`), or Cheops in the application's place (`intercepted`:
 * a scoped call taken by the collaboration engine, or refused for a bad scope).
 */
export type RequestKind = 'owned' | 'passthrough' | 'intercepted';

/** The metrics the front updates on every request. */
export interface FrontMetrics {
  /** Counts one finished request and observes its duration. */
  finished(kind: RequestKind, method: string, code: number, seconds: number): void;
  started(kind: RequestKind): void;
  ended(kind: RequestKind): void;
  /** Counts a failure to reach the local application, by error code (`ECONNREFUSED`, …). */
  upstreamError(reason: string): void;
}

/**
 * Latency buckets in seconds: a passthrough adds well under a millisecond, and a local API call
 * takes a few; the top buckets catch slow lists and long watches without one series per watch.
 */
const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Methods get their own label value; anything else is `OTHER`, so a client cannot grow the series. */
const methodLabels = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE', 'OTHER'] as const;
const kinds: readonly RequestKind[] = ['owned', 'passthrough', 'intercepted'];
const kindIndex: Readonly<Record<RequestKind, number>> = { owned: 0, passthrough: 1, intercepted: 2 };

function methodIndex(method: string): number {
  switch (method) {
    case 'GET':
      return 0;
    case 'HEAD':
      return 1;
    case 'POST':
      return 2;
    case 'PUT':
      return 3;
    case 'PATCH':
      return 4;
    case 'DELETE':
      return 5;
    case 'OPTIONS':
      return 6;
    case 'CONNECT':
      return 7;
    case 'TRACE':
      return 8;
    default:
      return 9;
  }
}

let processRegistry: Registry | undefined;

/**
 * prom-client's default metrics (CPU, memory, event loop lag, GC), prefixed `cheops_`, in one
 * registry per process: they describe the process, not a site. Each registration starts an
 * event-loop monitor and a GC observer that nothing ever stops, and they kept the registry they
 * were given, with every metric of its site and what those read: a simulator swarm, which runs
 * hundreds of sites in one process, kept every site it had run (~2 MB each; its seeds ran 10x
 * slower after 600).
 */
export function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'cheops_' });
  }
  return processRegistry;
}

/**
 * Registers the front's metrics on `registry`, prefixed `cheops_`. Call once per registry
 * (prom-client refuses a name registered twice). `/metrics` serves them with processMetrics().
 */
export function createFrontMetrics(registry: Registry): FrontMetrics {
  // Made as the first site starts, not at the first scrape: the CPU counters count from their
  // registration.
  processMetrics();
  // The hot path only bumps plain numbers; prom-client's labelled updates (a label hash each) run
  // at scrape time in `collect()`. Measured in the front, they cost more per request than the
  // rest of its bookkeeping together. Counts are keyed by one number: kind, method and status.
  const inFlight: Record<RequestKind, number> = { owned: 0, passthrough: 0, intercepted: 0 };
  const pending = new Map<number, number>();
  new Counter({
    name: 'cheops_http_requests_total',
    help: 'HTTP requests answered by the front, by kind (owned, passthrough, intercepted), method and status code.',
    labelNames: ['kind', 'method', 'code'] as const,
    registers: [registry],
    collect() {
      for (const [key, count] of pending) {
        if (count === 0) continue;
        const code = key % 1000;
        const method = methodLabels[Math.floor(key / 1000) % 16] ?? 'OTHER';
        const kind = kinds[Math.floor(key / 16_000)] ?? 'owned';
        this.inc({ kind, method, code: String(code) }, count);
        pending.set(key, 0);
      }
    },
  });
  new Gauge({
    name: 'cheops_http_requests_in_flight',
    help: 'Requests being answered right now, by kind (open watches count).',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      for (const kind of Object.keys(inFlight) as RequestKind[]) this.set({ kind }, inFlight[kind]);
    },
  });
  const duration = new BatchedHistogram({
    name: 'cheops_http_request_duration_seconds',
    help: 'Time from a request reaching the front to the end of its response (watches included), by kind.',
    label: 'kind',
    values: kinds,
    buckets: latencyBuckets,
  });
  registry.registerMetric(duration);
  const upstreamErrors = new Counter({
    name: 'cheops_upstream_errors_total',
    help: 'Failures to reach or read the local application, by error code.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  return {
    finished(kind, method, code, seconds) {
      const index = kindIndex[kind];
      // Status codes are three digits (a bogus one counts as 999 rather than growing the series).
      const key = index * 16_000 + methodIndex(method) * 1000 + (code >= 100 && code <= 999 ? code : 999);
      pending.set(key, (pending.get(key) ?? 0) + 1);
      duration.record(index, seconds);
    },
    started: (kind) => void inFlight[kind]++,
    ended: (kind) => void inFlight[kind]--,
    upstreamError: (reason) => upstreamErrors.inc({ reason }),
  };
}

/** A bounded label value for an upstream error: its `code` when it looks like one. */
export function upstreamErrorReason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,40}$/.test(code) ? code : 'OTHER';
}
