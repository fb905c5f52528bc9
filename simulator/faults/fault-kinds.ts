/**
 * The kinds of faults a run injects, and how `cheops sim --faults` names them:
 * `none`, `all`, or a comma list of `partitions`, `crashes`, `loss`, `reorder`, `app-outages`,
 * `disk-full`, `slow-disk` (singular forms, `partition`/`crash`, `app-outage`, `app`, `disk` and
 * `stall` accepted).
 *
 * - partitions: symmetric splits (cut or black-holed) and one-way partitions, each healed after a
 *   while;
 * - crashes: a site's process dies (in-flight writes lost) and restarts later; some crashes hit
 *   a site just as its application has applied a client's write (the window between the
 *   application's answer and the replicant's write);
 * - loss: a small loss (retransmissions) on every link, and episodes of heavy loss and resets on
 *   some links;
 * - reorder: gossip detours and duplicates on every link for the whole run;
 * - app-outages: a site's application stops answering for a while, refusing connections or
 *   answering 503, and the calls under way when it goes lose their answers (made or not); its
 *   node stays up (harness/app-availability.ts);
 * - disk-full: a site's node store refuses every write for a while, as a full disk does, and
 *   takes writes again once there is room (storage/sim-disk.ts);
 * - slow-disk: a site's node store completes nothing for 0.3 to 4 s, as a stalled SD card or a
 *   saturated I/O queue does, then what it was asked, in order (storage/sim-disk.ts).
 */

export const faultKinds = ['partitions', 'crashes', 'loss', 'reorder', 'app-outages', 'disk-full', 'slow-disk'] as const;
export type FaultKind = (typeof faultKinds)[number];

const aliases: Readonly<Record<string, FaultKind>> = {
  partition: 'partitions',
  partitions: 'partitions',
  crash: 'crashes',
  crashes: 'crashes',
  loss: 'loss',
  reorder: 'reorder',
  reordering: 'reorder',
  'app-outages': 'app-outages',
  'app-outage': 'app-outages',
  app: 'app-outages',
  'disk-full': 'disk-full',
  disk: 'disk-full',
  'slow-disk': 'slow-disk',
  stall: 'slow-disk',
};

/** Parses a `--faults` value; throws a RangeError naming what it does not know. */
export function parseFaults(text: string): FaultKind[] {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === 'none' || trimmed === '') return [];
  if (trimmed === 'all') return [...faultKinds];
  const kinds = new Set<FaultKind>();
  for (const part of trimmed.split(',')) {
    const kind = aliases[part.trim()];
    if (kind === undefined) throw new RangeError(`unknown fault ${JSON.stringify(part.trim())}: expected none, all, or a comma list of ${faultKinds.join(', ')}`);
    kinds.add(kind);
  }
  return faultKinds.filter((kind) => kinds.has(kind));
}

/** `partitions,crashes` or `none`. */
export function describeFaults(kinds: readonly FaultKind[]): string {
  return kinds.length === 0 ? 'none' : kinds.length === faultKinds.length ? 'all' : kinds.join(',');
}
