/**
 * V8 settings for the long-running processes (`cheops node`, `up`, `sim`, the benchmarks),
 * applied when this module loads: bin/cheops.js and bench/run.ts import it before anything that
 * compiles WebAssembly.
 *
 * `--no-liftoff`: a WebAssembly function is compiled by the optimising compiler when first
 * called, not by the baseline one first. Automerge is WebAssembly, and with the baseline code a
 * site ran it ~4× slower until V8 judged each function hot (taking in 200 real replicants four
 * times over in a fresh process: 2.5, 1.2, 0.8, 0.7 ms per document each round, against 2.0 then
 * 0.52 with this flag, whose first round pays the compilation). A short-lived page wants the
 * fast start; a site that runs for weeks wants the fast code from its first heal on.
 * crdt/warm-up.ts then compiles the hot paths at start-up.
 */
import { setFlagsFromString } from 'node:v8';

/**
 * `--no-warm-up` (cheops node, cheops up) keeps V8's baseline compiler: without the warm-up, the
 * first calls would each wait for the optimising compiler (a site just started answered its
 * heartbeats 100+ ms late), while baseline code starts at once and is optimised as it gets hot.
 * Read from the command line because the flag must be set before Automerge loads.
 */
const compilesOptimisedFirst = !process.argv.includes('--no-warm-up');

if (compilesOptimisedFirst) setFlagsFromString('--no-liftoff');
