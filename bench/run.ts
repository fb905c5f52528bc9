/**
 * `npm run bench`: runs every benchmark in turn, prints its table, and writes its numbers to
 * bench/results/<name>.json. `npm run bench -- front` runs only the named ones. New benchmarks
 * are added to `benchmarks` below.
 */
import '../core/polyfills.js';
import '../core/runtime-flags.js';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultFrontBenchOptions, formatFrontTable, runFrontBenchmark } from './front.js';
import { formatSimReplicationDelayTable, runSimReplicationDelayBenchmark } from './sim-replication-delay.js';
import { stackBenchmarks, type Benchmark } from './stack-benchmarks.js';

const benchmarks: readonly Benchmark[] = [
  {
    name: 'front',
    description: 'HTTP front: added latency of the passthrough, against direct and HAProxy',
    async run() {
      const result = await runFrontBenchmark(defaultFrontBenchOptions);
      return { json: result, table: formatFrontTable(result) };
    },
  },
  // Real stack (real node processes, relays between sites): replication-delay, local-first, heal, scale.
  ...stackBenchmarks,
  {
    name: 'sim-replication-delay',
    description: 'simulated: acknowledged scoped create at Site1 → applied on every remote site, 5/20/100 sites, 50 ms one way (virtual time)',
    async run() {
      const result = await runSimReplicationDelayBenchmark();
      return { json: result, table: formatSimReplicationDelayTable(result) };
    },
  },
];

/** The package root (where package.json is), whether run from dist/bench or from bench/. */
function packageRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(directory, 'package.json'))) {
    const parent = dirname(directory);
    if (parent === directory) return process.cwd();
    directory = parent;
  }
  return directory;
}

async function main(): Promise<void> {
  // `--quick` (or BENCH_QUICK=1): the short form of the benchmarks that have one, for smoke tests.
  if (process.argv.includes('--quick')) process.env.BENCH_QUICK = '1';
  process.argv = process.argv.filter((arg) => arg !== '--quick');
  const wanted = process.argv.slice(2);
  const selected = benchmarks.filter((b) => wanted.length === 0 || wanted.includes(b.name));
  if (selected.length === 0) {
    console.error(`no benchmark named ${wanted.join(', ')}; known: ${benchmarks.map((b) => b.name).join(', ')}`);
    process.exitCode = 2;
    return;
  }
  const resultsDirectory = join(packageRoot(), 'bench', 'results');
  await mkdir(resultsDirectory, { recursive: true });
  for (const benchmark of selected) {
    console.log(`== ${benchmark.name}: ${benchmark.description}`);
    const started = performance.now();
    const { json, table } = await benchmark.run();
    const file = join(resultsDirectory, `${benchmark.name}.json`);
    await writeFile(file, `${JSON.stringify(json, null, 2)}\n`);
    console.log(`\n${table}\n`);
    console.log(`== ${benchmark.name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s, results in ${file}`);
  }
}

await main();
// Everything is printed and saved. Exit now rather than wait for the event loop to empty: after a
// 100-site simulation the process spent minutes of CPU tearing down (no socket, timer or child
// left; Automerge's finalizers over hundreds of thousands of documents are the likely cost).
process.exit();
