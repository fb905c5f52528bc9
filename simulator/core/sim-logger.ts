/**
 * The Logger of a simulated process: every line is folded into the trace's hash (a line that
 * differs between two runs of one seed points at the divergence), and warnings and errors are
 * kept as notable events on the timeline. Lines of a dead process (work left over from before a
 * crash) are dropped: a crashed process writes nothing.
 */
import type { LogFn, Logger, LogLevel } from '../../core/logger.js';
import type { Trace, TraceData, TraceValue } from './trace.js';

export interface SimLoggerOptions {
  readonly trace: Trace;
  /** The site the lines belong to. */
  readonly site?: string;
  /** Levels kept on the timeline; default warn and error. */
  readonly notable?: readonly LogLevel[];
  /** False once the process has died; default always alive. */
  readonly alive?: () => boolean;
}

const defaultNotable: readonly LogLevel[] = ['warn', 'error'];

/** A Logger writing into a simulation's trace. */
export class SimLogger implements Logger {
  private readonly options: SimLoggerOptions;
  private readonly bindings: TraceData;

  constructor(options: SimLoggerOptions, bindings: TraceData = {}) {
    this.options = options;
    this.bindings = bindings;
  }

  readonly debug: LogFn = (a: object | string, b?: string) => this.write('debug', a, b);
  readonly info: LogFn = (a: object | string, b?: string) => this.write('info', a, b);
  readonly warn: LogFn = (a: object | string, b?: string) => this.write('warn', a, b);
  readonly error: LogFn = (a: object | string, b?: string) => this.write('error', a, b);

  child(bindings: Record<string, unknown>): Logger {
    return new SimLogger(this.options, { ...this.bindings, ...traceData(bindings) });
  }

  private write(level: LogLevel, a: object | string, b: string | undefined): void {
    if (this.options.alive?.() === false) return;
    const message = typeof a === 'string' ? a : (b ?? '');
    const fields = typeof a === 'string' ? {} : traceData(a as Record<string, unknown>);
    const data: TraceData = { level, message, ...this.bindings, ...fields };
    if ((this.options.notable ?? defaultNotable).includes(level)) this.options.trace.record('log', data, this.options.site);
    else this.options.trace.digest('log', { site: this.options.site ?? null, ...data });
  }
}

/** Log fields as trace values: primitives and string lists as they are, errors by message. */
export function traceData(fields: Readonly<Record<string, unknown>>): TraceData {
  const out: Record<string, TraceValue> = {};
  for (const [key, value] of Object.entries(fields)) out[key] = traceValue(value);
  return out;
}

function traceValue(value: unknown): TraceValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return value.message;
  if (Array.isArray(value)) {
    const items: readonly unknown[] = value;
    return items.every((item): item is string => typeof item === 'string') ? items : `[${items.length} items]`;
  }
  return `[${typeof value}]`;
}
