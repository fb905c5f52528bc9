/**
 * Letting pending promise work run between two simulated events.
 *
 * Why one `setImmediate` turn is enough: after every macrotask callback Node empties the
 * `process.nextTick` queue and the V8 microtask queue (promise reactions, `queueMicrotask`), and
 * keeps doing so until both are empty, including jobs queued by the jobs themselves. A
 * `setImmediate` callback is a macrotask of the check phase, so when it runs, every job reachable
 * from the state left by the last event has run to completion: "no more pending work".
 *
 * What it cannot wait for is work that leaves the JavaScript queues: real I/O (sockets, files, the
 * thread pool behind async crypto and zlib), real timers, and `setImmediate` chains the code under
 * test starts itself (each link needs one more turn, hence `turns`). Under simulation the node
 * reaches none of these: storage, transport, clock and randomness are the simulated ports, the
 * stand-in's controllers run on promises, and lint forbids real timers outside core/system.ts.
 * A component that breaks this rule shows up as a run that is not reproducible (the determinism
 * test) or as a promise still pending when the simulation says it is stalled.
 */

/** Runs `turns` macrotask turns, so that all promise jobs and next-tick callbacks have run. */
export async function drainPendingWork(turns = 1): Promise<void> {
  for (let turn = 0; turn < turns; turn += 1) {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
