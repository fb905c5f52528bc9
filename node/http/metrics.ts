/**
 * The front's Prometheus metrics, registered on the node's own Registry (never prom-client's
 * global one: tests and the simulator run several nodes in one process).
 */
import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';

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
const knownMethods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE']);

/**
 * Registers the front's metrics and prom-client's default process metrics on `registry`, all
 * prefixed `cheops_`. Call once per registry (prom-client refuses a name registered twice).
 */
export function createFrontMetrics(registry: Registry): FrontMetrics {
  collectDefaultMetrics({ register: registry, prefix: 'cheops_' });
  // The hot path only bumps plain numbers; prom-client's labelled updates (a label hash each) run
  // at scrape time in `collect()`. Measured in the front, they cost more per request than the
  // rest of its bookkeeping together.
  const inFlight: Record<RequestKind, number> = { owned: 0, passthrough: 0, intercepted: 0 };
  const pending = new Map<string, { readonly labels: { kind: RequestKind; method: string; code: string }; count: number }>();
  new Counter({
    name: 'cheops_http_requests_total',
    help: 'HTTP requests answered by the front, by kind (owned, passthrough, intercepted), method and status code.',
    labelNames: ['kind', 'method', 'code'] as const,
    registers: [registry],
    collect() {
      for (const entry of pending.values()) {
        if (entry.count === 0) continue;
        this.inc(entry.labels, entry.count);
        entry.count = 0;
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
  const duration = new Histogram({
    name: 'cheops_http_request_duration_seconds',
    help: 'Time from a request reaching the front to the end of its response (watches included), by kind.',
    labelNames: ['kind'] as const,
    buckets: latencyBuckets,
    registers: [registry],
  });
  const upstreamErrors = new Counter({
    name: 'cheops_upstream_errors_total',
    help: 'Failures to reach or read the local application, by error code.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  return {
    finished(kind, method, code, seconds) {
      const methodLabel = knownMethods.has(method) ? method : 'OTHER';
      const key = `${kind} ${methodLabel} ${code}`;
      const entry = pending.get(key);
      if (entry === undefined) pending.set(key, { labels: { kind, method: methodLabel, code: String(code) }, count: 1 });
      else entry.count++;
      duration.observe({ kind }, seconds);
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
