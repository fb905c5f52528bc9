/**
 * `cheops sim`: a deterministic simulation of N sites (the whole node each, the stand-in as their
 * application) under a seeded workload and seeded faults, checked afterwards. Prints a timeline,
 * a summary, each checker's verdict, the trace hash and a one-line verdict; exits 1 when a checker
 * fails, and prints the command that replays the run. `--swarm N` runs N seeds, each with
 * settings drawn from the seed, one line per seed and a summary.
 */
import { Command, Option } from 'commander';
import type { SiteHooks } from '../simulator/harness/site-hooks.js';
import type { ScenarioReport } from '../simulator/scenario/run-scenario.js';
import { formatReport, formatSwarmLine, reportJson, type TimelineMode } from '../simulator/scenario/report-format.js';
import {
  parseDurationMs,
  parseFaults,
  parseLatency,
  parseWorkload,
  replayCommand,
  scenarioDefaults,
  type ScenarioOptions,
  type ScenarioProgress,
} from '../simulator/scenario/scenario-options.js';
import { swarmSeeds, swarmSettings } from '../simulator/scenario/swarm.js';

/** Where `cheops sim` writes (the process's streams, or a test's buffers). */
export interface SimOutput {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Whether progress may redraw one line (a terminal). */
  readonly interactive: boolean;
}

export interface SimFlags {
  readonly seed: string;
  readonly sites: string;
  readonly duration: string;
  readonly faults: string;
  readonly latency: string;
  readonly workload: string;
  readonly clockSkew?: string;
  readonly appLatency?: string;
  readonly bound?: string;
  readonly swarm?: string;
  readonly json?: boolean;
  readonly timeline: TimelineMode;
  readonly progress: boolean;
}

function positiveInteger(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} ${JSON.stringify(text)}: expected a positive integer`);
  return value;
}

/** The run's settings from the flags; a RangeError names a bad one. */
export function optionsFromFlags(flags: SimFlags): ScenarioOptions {
  return {
    seed: flags.seed,
    sites: positiveInteger('--sites', flags.sites),
    durationMs: parseDurationMs(flags.duration, '--duration'),
    faults: parseFaults(flags.faults),
    latency: parseLatency(flags.latency),
    operations: parseWorkload(flags.workload),
    ...(flags.clockSkew === undefined ? {} : { maxClockSkewMs: parseDurationMs(flags.clockSkew, '--clock-skew') }),
    ...(flags.appLatency === undefined ? {} : { appLatency: parseLatency(flags.appLatency, '--app-latency') }),
    ...(flags.bound === undefined ? {} : { boundMs: parseDurationMs(flags.bound, '--bound') }),
  };
}

/** Progress on stderr: one redrawn line on a terminal, a line every 5 s of wall time otherwise. */
function progressPrinter(output: SimOutput, label: string): { update: (progress: ScenarioProgress) => void; done: () => void } {
  let lastAt = 0;
  let drawn = false;
  return {
    update(progress) {
      const now = performance.now();
      if (!output.interactive && now - lastAt < 5_000) return;
      lastAt = now;
      const percent = progress.phase === 'run' ? ` ${Math.round(progress.fraction * 100)}%` : '';
      const line = `${label}: ${progress.phase}${percent}, ${(progress.virtualMs / 1000).toFixed(1)} s simulated`;
      if (output.interactive) {
        output.stderr(`\r${line.padEnd(72)}`);
        drawn = true;
      } else {
        output.stderr(`${line}\n`);
      }
    },
    done() {
      if (drawn) output.stderr(`\r${' '.repeat(72)}\r`);
    },
  };
}

/** The simulator itself, loaded when a run starts: `cheops sim --help` answers without it. */
async function runScenario(options: ScenarioOptions): Promise<ScenarioReport> {
  return (await import('../simulator/scenario/run-scenario.js')).runScenario(options);
}

async function runOne(options: ScenarioOptions, flags: SimFlags, output: SimOutput): Promise<number> {
  const progress = flags.progress ? progressPrinter(output, `seed ${options.seed}`) : undefined;
  const report = await runScenario({ ...options, ...(progress === undefined ? {} : { onProgress: progress.update }) });
  progress?.done();
  output.stdout(flags.json === true ? `${JSON.stringify(reportJson(report), null, 2)}\n` : formatReport(report, flags.timeline));
  return report.verdict === 'pass' ? 0 : 1;
}

async function runSwarm(count: number, flags: SimFlags, output: SimOutput): Promise<number> {
  const reports: ScenarioReport[] = [];
  for (const seed of swarmSeeds(flags.seed, count)) {
    const options = swarmSettings(seed);
    const progress = flags.progress ? progressPrinter(output, `seed ${seed} (${reports.length + 1}/${count})`) : undefined;
    const report = await runScenario({ ...options, ...(progress === undefined ? {} : { onProgress: progress.update }) });
    progress?.done();
    reports.push(report);
    if (flags.json !== true) output.stdout(`${formatSwarmLine(report)}\n`);
  }
  const failed = reports.filter((report) => report.verdict === 'fail');
  if (flags.json === true) {
    output.stdout(`${JSON.stringify({ runs: reports.map(reportJson), passed: reports.length - failed.length, failed: failed.length }, null, 2)}\n`);
  } else {
    const wall = reports.reduce((sum, report) => sum + report.wallMs, 0) / 1000;
    output.stdout(`\nswarm: ${reports.length} seeds, ${reports.length - failed.length} passed, ${failed.length} failed (${wall.toFixed(1)} s)\n`);
    for (const report of failed) output.stdout(`replay: ${replayCommand(report.options)}\n`);
  }
  return failed.length === 0 ? 0 : 1;
}

/**
 * Runs `cheops sim` with parsed flags; answers the exit code. `hooks` swap ports of the simulated
 * nodes (tests break a node on purpose to see the command fail); the command line never sets them.
 */
export async function runSim(flags: SimFlags, output: SimOutput, hooks?: SiteHooks): Promise<number> {
  let options: ScenarioOptions;
  let swarm: number | undefined;
  try {
    options = { ...optionsFromFlags(flags), ...(hooks === undefined ? {} : { hooks }) };
    swarm = flags.swarm === undefined ? undefined : positiveInteger('--swarm', flags.swarm);
  } catch (error) {
    output.stderr(`cheops sim: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  return swarm === undefined ? runOne(options, flags, output) : runSwarm(swarm, flags, output);
}

/** The `sim` command. */
export function simCommand(output?: SimOutput): Command {
  return new Command('sim')
    .description('simulate sites under faults from a seed (whole node, stand-in applications), check invariants, print a verdict')
    .option('--seed <seed>', 'the seed: the same seed gives the same run and trace hash', '1')
    .option('--sites <n>', 'number of sites', String(scenarioDefaults.sites))
    .option('--duration <time>', 'how long the workload and faults run, simulated (30s, 500ms, 2m)', `${scenarioDefaults.durationMs / 1000}s`)
    .option('--faults <list>', 'none, all, or a comma list of partitions, crashes, loss, reorder, app-outages, disk-full', 'all')
    .option('--latency <spec>', 'one-way link latency: 20ms, 10-50ms, long-tail:20ms:200ms, normal:50ms:10ms', '10-50ms')
    .option('--workload <w>', 'light, mixed, heavy, or a number of operations', 'mixed')
    .option('--clock-skew <time>', "each site's wall clock off by up to this")
    .option('--app-latency <spec>', "how long each site's application takes to answer a call, as --latency (default: at once)")
    .option('--bound <time>', 'convergence must follow the final heal within this (default 15s)')
    .option('--swarm <n>', 'run n seeds from --seed, each with settings drawn from the seed')
    .option('--json', 'print the report as JSON')
    .addOption(new Option('--timeline <mode>', 'which timeline to print').choices(['faults', 'all', 'none']).default('faults'))
    .option('--no-progress', 'no progress lines on stderr')
    .addHelpText(
      'after',
      '\nExamples:\n  cheops sim --seed 42\n  cheops sim --seed 7 --sites 3 --duration 60s --faults partitions,crashes --latency long-tail:20ms:200ms\n  cheops sim --swarm 50 --seed 1000\n',
    )
    .action(async (flags: SimFlags) => {
      const out: SimOutput = output ?? {
        stdout: (text) => process.stdout.write(text),
        stderr: (text) => process.stderr.write(text),
        interactive: process.stderr.isTTY,
      };
      process.exitCode = await runSim(flags, out);
    });
}
