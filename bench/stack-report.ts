/**
 * Numbers and tables of the real-stack benchmarks: percentiles, a verdict against a target, and a
 * plain-text table in the house format (first column left, the rest right-aligned).
 */

/** Percentiles of a sample. */
export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** The value below which `fraction` of the sorted sample lies (nearest rank). */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank]!;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, value) => sum + value, 0) / Math.max(1, sorted.length);
  return {
    n: sorted.length,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    max: sorted.at(-1) ?? Number.NaN,
    mean: sorted.length === 0 ? Number.NaN : mean,
  };
}

/**
 * Samples a p99 needs to mean anything: with n values, the nearest-rank p99 is the largest of the
 * last ceil(n / 100), so of 20 values it is their maximum (a 95th percentile at best).
 */
export const minSamplesForP99 = 100;

/**
 * Writes that give at least `minSamplesForP99` (write, remote site) pairs at `sites` sites: each
 * write is measured on every site but its origin.
 */
export function writesForP99(sites: number): number {
  return Math.ceil(minSamplesForP99 / Math.max(1, sites - 1));
}

/** A target met or missed. */
export type Verdict = 'PASS' | 'MISS';

export const verdict = (met: boolean): Verdict => (met ? 'PASS' : 'MISS');

/** A number for a table: fixed decimals, or a dash when it is not one. */
export function fixed(value: number | undefined, decimals = 1): string {
  return value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(decimals);
}

export function mebibytes(bytes: number): string {
  return fixed(bytes / 2 ** 20, 1);
}

export function kibibytes(bytes: number): string {
  return fixed(bytes / 1024, 1);
}

/** The table: a header, a rule, the rows; notes below it. */
export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>, notes: readonly string[] = []): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line), ...notes].join('\n');
}

/** Waits until `check` holds, polling every `intervalMs`; the time it took, or throws after `timeoutMs`. */
export async function until(check: () => Promise<boolean>, timeoutMs: number, what: string, intervalMs = 100): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await check().catch(() => false)) return performance.now() - start;
    if (performance.now() - start > timeoutMs) throw new Error(`${what}: not after ${(timeoutMs / 1000).toFixed(0)} s`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
