/**
 * A run's report as `cheops sim` prints it: the timeline of faults and notable events, a summary
 * table, each checker's verdict, the trace hash, a one-line verdict and, on failure, the command
 * that replays the run. Also the JSON form (`--json`) and one line per seed for swarms.
 */
import { describeLatency } from '../core/distributions.js';
import { formatTraceEvent, type TraceEvent } from '../core/trace.js';
import { describeFaults } from '../faults/fault-kinds.js';
import type { ScenarioReport } from './run-scenario.js';
import { formatLatency, replayCommand } from './scenario-options.js';

/** Which timeline to print: faults and lifecycle (with errors), everything, or nothing. */
export type TimelineMode = 'faults' | 'all' | 'none';

const maxLogLines = 40;

/** The timeline's lines. */
export function formatTimeline(events: readonly TraceEvent[], mode: TimelineMode): string[] {
  if (mode === 'none') return [];
  const lines: string[] = [];
  let logs = 0;
  let skipped = 0;
  for (const event of events) {
    if (event.kind === 'log') {
      if (mode === 'faults' && event.data['level'] !== 'error') continue;
      logs += 1;
      if (logs > maxLogLines && mode === 'faults') {
        skipped += 1;
        continue;
      }
    }
    lines.push(formatTraceEvent(event));
  }
  if (skipped > 0) lines.push(`  … ${skipped} more error lines (--timeline all shows every event)`);
  return lines;
}

function table(rows: ReadonlyArray<readonly [string, string]>): string[] {
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `  ${name.padEnd(width)}  ${value}`);
}

function kilobytes(bytes: number): string {
  return bytes < 10_240 ? `${bytes} B` : `${(bytes / 1024).toFixed(0)} KiB`;
}

/** `9 dependent pod creates: 5 acknowledged, 3 refused (CHEOPS_DEPENDENCY_MISSING 2, …); 4 secret deletes: 1 acknowledged, 3 refused while relied upon` */
function describeSharing(sharing: ScenarioReport['counts']['sharing']): string {
  const by = Object.entries(sharing.refusedBy).sort(([a], [b]) => (a < b ? -1 : 1)).map(([code, count]) => `${code} ${count}`);
  return [
    `${sharing.creates} dependent pod creates: ${sharing.createsAcknowledged} acknowledged, ${sharing.createsRefused} refused by the share${by.length === 0 ? '' : ` (${by.join(', ')})`}`,
    `${sharing.secretDeletes} secret deletes: ${sharing.secretDeletesAcknowledged} acknowledged, ${sharing.secretDeletesReliedUpon} refused while relied upon`,
  ].join('; ');
}

/** The summary table. */
export function formatSummary(report: ScenarioReport): string[] {
  const { counts, network, http, faults, disk } = report;
  const faultTotal = faults.partitions + faults.oneWayPartitions + faults.crashes + faults.lossEpisodes + faults.appOutages + faults.fullDisks + faults.slowDisks;
  return table([
    ['operations', `${counts.operations} (${counts.retries} retries, ${counts.skipped} skipped: site down)`],
    ['acknowledged', `${counts.acknowledged}  rejected ${counts.rejected}  unknown outcome ${counts.unknown}  forwarded ${counts.forwarded}`],
    ['reads', `${counts.reads} (${counts.forwardedReads} answered by another site)`],
    ['shares', describeSharing(counts.sharing)],
    ['replicants', `${report.replicants}  conflicts recorded ${report.conflicts}`],
    ['messages', `${network.messagesSent} direct (${kilobytes(network.bytesSent)}), ${network.gossipSent} gossip (${kilobytes(network.gossipBytes)}), ${network.messagesLost} lost, ${network.retransmits} retransmits`],
    ['http', `${http.requests} forwarded requests (${kilobytes(http.bytesSent + http.bytesReceived)}), ${http.failed} failed`],
    ['connections', `${network.connects} opened, ${network.disconnects} closed, ${network.refused} refused, ${network.resets} resets`],
    ['faults', `${faultTotal}: ${faults.partitions} partitions, ${faults.oneWayPartitions} one-way, ${faults.crashes} crashes (${faults.crashesMidWrite} mid-write, ${faults.crashesAfterAck} just after an acknowledgement), ${faults.lossEpisodes} loss episodes, ${faults.appOutages} application outages, ${faults.fullDisks} full disks, ${faults.slowDisks} stalled disks`],
    ['disk', `${disk.writes} writes, ${disk.lostWrites} lost in crashes`],
    ['settled', report.settledAfterMs === undefined ? 'never' : `${(report.settledAfterMs / 1000).toFixed(2)} s after the final heal`],
  ]);
}

/** One line per checker, and its violations under it. */
export function formatResults(report: ScenarioReport): string[] {
  const lines: string[] = [];
  for (const result of report.results) {
    lines.push(`  ${result.ok ? 'ok  ' : 'FAIL'}  ${result.name} (${result.checked} checked)${result.ok ? '' : `: ${result.violationCount} violation${result.violationCount === 1 ? '' : 's'}`}`);
    for (const violation of result.violations) lines.push(`          - ${violation}`);
    if (result.violationCount > result.violations.length) lines.push(`          … ${result.violationCount - result.violations.length} more`);
  }
  return lines;
}

/** `PASS: 5 checkers hold (...)` or `FAIL: ...`. */
export function formatVerdict(report: ScenarioReport): string {
  const failed = report.results.filter((result) => !result.ok).map((result) => result.name);
  const timing = `${(report.virtualMs / 1000).toFixed(1)} s simulated in ${(report.wallMs / 1000).toFixed(1)} s`;
  return failed.length === 0
    ? `verdict: PASS (${report.results.length} checkers hold; ${timing})`
    : `verdict: FAIL (${failed.join(', ')}; ${timing})`;
}

/** The whole text report. */
export function formatReport(report: ScenarioReport, mode: TimelineMode): string {
  const { options } = report;
  const lines = [
    `cheops sim: seed ${String(options.seed)}, ${options.sites} sites, ${options.durationMs / 1000} s, faults ${describeFaults(options.faults)}, latency ${describeLatency(options.latency)}, ${options.operations} operations${options.appLatency === undefined ? '' : `, application latency ${describeLatency(options.appLatency)}`}`,
  ];
  const timeline = formatTimeline(report.timeline, mode);
  if (timeline.length > 0) lines.push('', 'timeline (virtual ms since the start, site, event)', ...timeline);
  lines.push('', 'summary', ...formatSummary(report), '', 'checkers', ...formatResults(report), '', `trace hash: ${report.traceHash}`, formatVerdict(report));
  if (report.verdict === 'fail') lines.push(`replay: ${replayCommand(options)}`);
  return `${lines.join('\n')}\n`;
}

/** One line of a swarm: the seed, its settings, its verdict and hash. */
export function formatSwarmLine(report: ScenarioReport): string {
  const { options } = report;
  const failed = report.results.filter((result) => !result.ok).map((result) => result.name);
  return [
    `seed ${String(options.seed).padEnd(8)}`,
    `${options.sites} sites`,
    `${String(options.durationMs / 1000).padStart(2)} s`,
    `faults ${describeFaults(options.faults).padEnd(28)}`,
    `latency ${formatLatency(options.latency).padEnd(22)}`,
    `${String(options.operations).padStart(3)} ops`,
    `app ${options.appLatency === undefined ? '0ms' : formatLatency(options.appLatency)}`.padEnd(22),
    report.verdict === 'pass' ? 'PASS' : `FAIL ${failed.join(',')}`,
    `hash ${report.traceHash.slice(0, 12)}`,
    `${(report.wallMs / 1000).toFixed(1)} s`,
  ].join('  ');
}

/** The report as JSON (`--json`): everything but the raw material. */
export function reportJson(report: ScenarioReport): Record<string, unknown> {
  const { details: _details, options, ...rest } = report;
  const { hooks: _hooks, onProgress: _progress, ...settings } = options;
  return { ...rest, options: settings, replay: replayCommand(options) };
}
