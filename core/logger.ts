/**
 * Structured logging, injected. The real implementation is pino (core/system.ts); its methods
 * take an optional object of fields first, then the message, as here.
 */
export interface LogFn {
  (fields: object, message?: string): void;
  (message: string): void;
}

export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  /** A logger that adds `bindings` to every entry (`{ component: 'sync' }`). */
  child(bindings: Record<string, unknown>): Logger;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogEntry {
  readonly level: LogLevel;
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/**
 * A logger that keeps its entries in memory: tests assert on what was logged (a hostile
 * message is dropped *and logged*), and the simulator prints notable entries on its timeline.
 */
export class MemoryLogger implements Logger {
  readonly entries: LogEntry[];
  private readonly bindings: Readonly<Record<string, unknown>>;

  constructor(entries: LogEntry[] = [], bindings: Readonly<Record<string, unknown>> = {}) {
    this.entries = entries;
    this.bindings = bindings;
  }

  readonly debug: LogFn = (a: object | string, b?: string) => this.push('debug', a, b);
  readonly info: LogFn = (a: object | string, b?: string) => this.push('info', a, b);
  readonly warn: LogFn = (a: object | string, b?: string) => this.push('warn', a, b);
  readonly error: LogFn = (a: object | string, b?: string) => this.push('error', a, b);

  child(bindings: Record<string, unknown>): Logger {
    return new MemoryLogger(this.entries, { ...this.bindings, ...bindings });
  }

  /** Entries whose message contains `text`. */
  find(text: string): LogEntry[] {
    return this.entries.filter((entry) => entry.message.includes(text));
  }

  private push(level: LogLevel, a: object | string, b?: string): void {
    const fields = typeof a === 'string' ? {} : (a as Record<string, unknown>);
    const message = typeof a === 'string' ? a : (b ?? '');
    this.entries.push({ level, message, fields: { ...this.bindings, ...fields } });
  }
}

/** A logger that drops everything. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
