/**
 * The real-stack benchmarks (real `cheops node` processes over real libp2p, linked by relays), as
 * bench/run.ts lists them. Each prints progress lines, then a table with PASS or MISS against its
 * target; `BENCH_QUICK=1` (or `npm run bench -- --quick`) runs their short forms.
 */
import { formatHealTable, runHealBenchmark } from './heal.js';
import { formatLocalFirstTable, runLocalFirstBenchmark } from './local-first.js';
import { formatReplicationDelayTable, runReplicationDelayBenchmark } from './replication-delay.js';
import { formatScaleTable, runScaleBenchmark } from './scale.js';

/** A benchmark as bench/run.ts runs it. */
export interface Benchmark {
  readonly name: string;
  readonly description: string;
  /** Runs the benchmark; returns what to save as JSON and the table to print. */
  run(): Promise<{ readonly json: unknown; readonly table: string }>;
}

export const stackBenchmarks: readonly Benchmark[] = [
  {
    name: 'replication-delay',
    description: 'real stack: acknowledged scoped create at the origin → applied on every remote site, 2/5/20 sites, 50 ms one way',
    async run() {
      const result = await runReplicationDelayBenchmark();
      return { json: result, table: formatReplicationDelayTable(result) };
    },
  },
  {
    name: 'local-first',
    description: 'real stack: scoped create against unscoped create on one site, 100 ms to the others, then with them cut',
    async run() {
      const result = await runLocalFirstBenchmark();
      return { json: result, table: formatLocalFirstTable(result) };
    },
  },
  {
    name: 'heal',
    description: 'real stack: time and bytes to converge after a partition with K writes on each side (K = 10, 100, 1000)',
    async run() {
      const result = await runHealBenchmark();
      return { json: result, table: formatHealTable(result) };
    },
  },
  {
    name: 'scale',
    description: 'real stack: memory, store bytes and CPU per replicated resource at 10,000 resources',
    async run() {
      const result = await runScaleBenchmark();
      return { json: result, table: formatScaleTable(result) };
    },
  },
];
