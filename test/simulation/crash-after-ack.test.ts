/**
 * One of the fault schedule's crashes (fault-schedule.ts, buggify) lands the moment a client hears
 * a write acknowledged: what the node does just after its answer (an answered create's or
 * update's change, stored after the answer) is cut short, and the checkers must still find every
 * acknowledged write.
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../simulator/scenario/run-scenario.js';

describe('a crash just after an acknowledgement', () => {
  it('kills the site at the virtual moment its client hears a write acknowledged; nothing acknowledged is lost', async () => {
    const report = await runScenario({ seed: 6, sites: 3, durationMs: 15_000, faults: ['crashes'], latency: { type: 'fixed', ms: 10 }, operations: 60 });
    const crashes = report.timeline.filter((event) => event.kind === 'fault:crash-after-ack');
    expect(report.faults.crashesAfterAck).toBe(crashes.length);
    expect(crashes.length).toBeGreaterThan(0);
    for (const crash of crashes) {
      const acknowledged = report.details.operations.filter((op) => op.site === crash.site && op.outcome === 'acknowledged' && op.answeredAtMs === crash.atMs);
      expect(acknowledged.length).toBeGreaterThan(0);
    }
    expect(report.results.filter((result) => !result.ok)).toEqual([]);
    expect(report.verdict).toBe('pass');
  }, 60_000);
});
