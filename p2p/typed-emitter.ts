/**
 * A small typed event emitter (transports, heartbeats). A listener that throws must not break the
 * emitter nor the other listeners (a bug in one subscriber would otherwise silence the network
 * for all), so errors are caught and logged.
 */
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

type AnyListener = (event: never) => void;

/** Dispatches events of the map `Events` (event name → payload) to registered listeners. */
export class TypedEmitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<AnyListener>>();
  private readonly logger: Logger;

  constructor(logger: Logger) {
    this.logger = logger;
  }

  on<E extends keyof Events>(event: E, listener: (event: Events[E]) => void): void {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
  }

  off<E extends keyof Events>(event: E, listener: (event: Events[E]) => void): void {
    this.listeners.get(event)?.delete(listener);
  }

  emit<E extends keyof Events>(event: E, detail: Events[E]): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as (event: Events[E]) => void)(detail);
      } catch (error) {
        this.logger.error({ event: String(event), err: errorMessage(error) }, 'event listener threw');
      }
    }
  }
}
