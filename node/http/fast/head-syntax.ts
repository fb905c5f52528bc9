/**
 * Shared syntax of HTTP/1.1 message heads (RFC 9110 §5, RFC 9112 §2–5). A head is handled as one
 * latin1 string (one character per byte, so any byte sent is kept exactly), validated by a single
 * regular expression run, and walked by index: no string is cut per line and only the names that
 * may matter are lower-cased. This runs twice per proxied request, so it is written for speed.
 */

/**
 * Zero or more field lines, each `name ":" value CRLF`, the name a token and the value free of
 * control characters but HTAB. Run sticky from the first field line: it must reach the end of the
 * head, or the line where it stopped is malformed (obs-fold, a bare CR or LF, a space before the
 * colon, a control byte).
 */
const fieldLines = /(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*\r\n)*/y;

/** A method or other token. */
export const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A request target: visible ASCII, or bytes above 0x7f as some clients send raw UTF-8. */
export const requestTarget = /^[!-~\x80-\xff]+$/;

/** A Content-Length value: digits only, at most 15 of them (below 2^53). */
export const decimalLength = /^[0-9]{1,15}$/;

/** The end of a head. */
const headEnd = Buffer.from('\r\n\r\n', 'latin1');

/**
 * Checks the field lines of `text` from `from` (the text of a head, each line ending in CRLF);
 * returns undefined when all are well formed, else what is wrong with the first bad one.
 */
export function checkFieldLines(text: string, from: number): string | undefined {
  fieldLines.lastIndex = from;
  fieldLines.test(text);
  const stop = fieldLines.lastIndex;
  if (stop === text.length) return undefined;
  const code = text.charCodeAt(stop);
  if (code === 32 || code === 9) return 'obsolete line folding in a header';
  const lineEnd = text.indexOf('\n', stop);
  return `malformed header line ${JSON.stringify(text.slice(stop, lineEnd === -1 ? stop + 60 : Math.min(lineEnd + 1, stop + 60)))}`;
}

/**
 * The header names a walk over a head cares about, matched in place without cutting or
 * lower-casing the line: by length and first letter, then letter by letter. `| 0x20` lower-cases
 * a letter and leaves `-` alone; no other token character can pass for a letter or `-` that way,
 * so the match is exact for names made of lower-case letters and dashes (all of these are).
 */
export class NameTable<N extends string> {
  private readonly slots: Array<readonly N[] | undefined> = [];

  constructor(names: Iterable<N>) {
    for (const name of names) {
      if (!/^[a-z-]{1,31}$/.test(name)) throw new Error(`NameTable takes lower-case names: ${name}`);
      const slot = name.length * 32 + (name.charCodeAt(0) & 31);
      this.slots[slot] = [...(this.slots[slot] ?? []), name];
    }
  }

  /** The table's name that `text[start..colon)` is, in any case; undefined when none. */
  match(text: string, start: number, colon: number): N | undefined {
    const length = colon - start;
    if (length >= 32) return undefined;
    const candidates = this.slots[length * 32 + (text.charCodeAt(start) & 31)];
    if (candidates === undefined) return undefined;
    for (const name of candidates) {
      let i = 1;
      while (i < length && (text.charCodeAt(start + i) | 0x20) === name.charCodeAt(i)) i++;
      if (i === length && (text.charCodeAt(start) | 0x20) === name.charCodeAt(0)) return name;
    }
    return undefined;
  }
}

/** Removes optional whitespace (SP and HTAB only, unlike `String.trim`) around a field value. */
export function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

function isOws(code: number): boolean {
  return code === 32 || code === 9;
}

/** The value of the field line whose colon is at `colon`, trimmed. */
export function fieldValue(text: string, colon: number, lineEnd: number): string {
  return trimOws(text.slice(colon + 1, lineEnd));
}

/** The lower-case, trimmed, non-empty members of a comma-separated list value. */
export function listMembers(value: string): string[] {
  const out: string[] = [];
  for (const member of value.split(',')) {
    const trimmed = trimOws(member).toLowerCase();
    if (trimmed !== '') out.push(trimmed);
  }
  return out;
}

/**
 * Connection-specific headers (RFC 9110 §7.6.1), never forwarded; `Connection` may name more.
 * `Transfer-Encoding` is absent on purpose: the raw path relays chunked bodies as they are, so
 * their framing header goes with them. `Expect` is here because the front answers it itself.
 */
export const hopByHop: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'expect',
]);

/** What a `Connection` header says, its list members sorted out. */
export interface ConnectionOptions {
  close: boolean;
  keepAlive: boolean;
  upgrade: boolean;
  /** Other names listed: headers to drop as hop-by-hop; undefined when none (the usual case). */
  listed: Set<string> | undefined;
}

export function connectionOptions(): ConnectionOptions {
  return { close: false, keepAlive: false, upgrade: false, listed: undefined };
}

/** Reads one `Connection` header value into `into`. */
export function readConnection(value: string, into: ConnectionOptions): void {
  // What nearly every client sends: nothing to split.
  if (value === 'keep-alive' || value === 'Keep-Alive') {
    into.keepAlive = true;
    return;
  }
  if (value === 'close') {
    into.close = true;
    return;
  }
  for (const member of listMembers(value)) {
    if (member === 'close') into.close = true;
    else if (member === 'keep-alive') into.keepAlive = true;
    else if (member === 'upgrade') into.upgrade = true;
    else if (!hopByHop.has(member)) (into.listed ??= new Set()).add(member);
  }
}

/**
 * Adds to `dropLines` (flat `[start, end)` pairs in line order) the lines of `text` from `from`
 * whose names are in `listed`, keeping the pairs sorted. Runs only for a `Connection` header that
 * names extra headers, which almost no client sends.
 */
export function addListedLines(text: string, from: number, listed: ReadonlySet<string>, dropLines: number[]): void {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < dropLines.length; i += 2) pairs.push([dropLines[i] as number, dropLines[i + 1] as number]);
  for (let pos = from; pos < text.length; ) {
    const colon = text.indexOf(':', pos);
    const next = text.indexOf('\r\n', colon) + 2;
    if (listed.has(text.slice(pos, colon).toLowerCase()) && !pairs.some(([start]) => start === pos)) pairs.push([pos, next]);
    pos = next;
  }
  pairs.sort((a, b) => a[0] - b[0]);
  dropLines.length = 0;
  for (const [start, end] of pairs) dropLines.push(start, end);
}

/** A head that could not be read, with the status to answer and why. */
export interface HeadError {
  readonly kind: 'error';
  readonly status: 400 | 431 | 501 | 502 | 505;
  readonly message: string;
}

/** Not a whole head yet: wait for more bytes. */
export interface HeadIncomplete {
  readonly kind: 'incomplete';
}

export const incomplete: HeadIncomplete = { kind: 'incomplete' };

export function headError(status: HeadError['status'], message: string): HeadError {
  return { kind: 'error', status, message };
}

/**
 * Finds the end of the head that starts at `start` in `bytes`: the index just past its empty
 * line, `incomplete` when it has not all arrived, or an error when it is too large or its lines
 * end in a bare LF (which some parsers accept and others not: a smuggling vector).
 */
export function findHeadEnd(bytes: Buffer, start: number, maxBytes: number): number | HeadIncomplete | HeadError {
  const end = bytes.indexOf(headEnd, start);
  if (end !== -1) {
    if (end + 4 - start > maxBytes) return headError(431, `the message head is larger than ${maxBytes} bytes`);
    return end + 4;
  }
  if (bytes.length - start > maxBytes) return headError(431, `the message head is larger than ${maxBytes} bytes`);
  for (let lf = bytes.indexOf(10, start); lf !== -1; lf = bytes.indexOf(10, lf + 1)) {
    if (lf === start || bytes[lf - 1] !== 13) return headError(400, 'a line of the message head ends in a bare LF');
  }
  return incomplete;
}
