import { describe, expect, it } from 'vitest';
import { systemClock } from '../../core/system.js';
import type { EngineContext } from './context.js';
import { withinReadDeadline } from './forward.js';

/** What withinReadDeadline reads of the engine: its clock and its read deadline. */
const ctx = { clock: systemClock, options: { remoteReadTimeoutMs: 50 } } as unknown as EngineContext;

describe('withinReadDeadline', () => {
  it('gives up at the deadline even when the work never heeds its signal (a Request may miss the abort after a collection)', async () => {
    const started = performance.now();
    await expect(withinReadDeadline(ctx, new AbortController().signal, () => new Promise<never>(() => undefined))).rejects.toThrow('no answer within 50 ms');
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('hands the work a signal that aborts at the deadline, and when the caller leaves, even after the answer began', async () => {
    let seen: AbortSignal | undefined;
    await expect(withinReadDeadline(ctx, new AbortController().signal, (signal) => new Promise((_resolve, reject) => {
      seen = signal;
      signal.addEventListener('abort', () => reject(new Error('aborted')));
    }))).rejects.toThrow('no answer within 50 ms');
    expect(seen?.aborted).toBe(true);
    // An answer that began (a watch streaming): the deadline no longer applies, the client's leaving does.
    const client = new AbortController();
    const streaming = await withinReadDeadline(ctx, client.signal, (signal) => Promise.resolve(signal));
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(streaming.aborted).toBe(false);
    client.abort();
    expect(streaming.aborted).toBe(true);
  });

  it('answers what the work answers in time, and passes the caller\'s own abort on as it is', async () => {
    expect(await withinReadDeadline(ctx, new AbortController().signal, () => Promise.resolve('answer'))).toBe('answer');
    const client = new AbortController();
    client.abort(new Error('client gone'));
    await expect(withinReadDeadline(ctx, client.signal, () => new Promise<never>(() => undefined))).rejects.toThrow('client gone');
  });
});
