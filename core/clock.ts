/** A scheduled callback that can be cancelled. Cancelling twice, or after it ran, is harmless. */
export interface Timer {
  cancel(): void;
}

/**
 * Time, injected. Only core/system.ts reads the real clock; the simulator provides a clock
 * that jumps from event to event, so a seed replays a run exactly.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch, possibly fractional. Never goes backwards. */
  now(): number;
  /** Runs `callback` once after `delayMs`. */
  setTimeout(callback: () => void, delayMs: number): Timer;
  /** Runs `callback` every `intervalMs` until cancelled. */
  setInterval(callback: () => void, intervalMs: number): Timer;
}

/** Resolves after `delayMs` on `clock`, or rejects with the signal's reason when it aborts first. */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      timer.cancel();
      reject(abortReason(signal));
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * An AbortSignal that aborts after `delayMs` on the injected clock (`AbortSignal.timeout` reads
 * the real one), optionally also when `parent` aborts.
 */
export function deadlineSignal(clock: Clock, delayMs: number, parent?: AbortSignal): AbortSignal {
  const controller = new AbortController();
  const timer = clock.setTimeout(() => {
    controller.abort(new DOMException(`deadline of ${delayMs} ms passed`, 'TimeoutError'));
  }, delayMs);
  if (parent !== undefined) {
    if (parent.aborted) controller.abort(parent.reason);
    else parent.addEventListener('abort', () => controller.abort(parent.reason), { once: true });
  }
  controller.signal.addEventListener('abort', () => timer.cancel(), { once: true });
  return controller.signal;
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new DOMException('aborted', 'AbortError');
}
