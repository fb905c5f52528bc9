import { describe, expect, it } from 'vitest';
import { systemClock, systemRandom } from '../core/system.js';
import { warmUpDocuments } from './warm-up.js';

describe('warmUpDocuments', () => {
  it('takes throwaway replicants through create, whole intake, pushes and sync rounds until both stores agree', async () => {
    const report = await warmUpDocuments({ clock: systemClock, random: systemRandom }, 3);
    expect(report.documents).toBe(3);
    // Concurrent writes on both sides need the sync protocol both ways, every round.
    expect(report.syncMessages).toBeGreaterThanOrEqual(3 * 2);
    expect(report.ms).toBeGreaterThan(0);
  });
});
