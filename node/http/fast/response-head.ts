/**
 * Reads the head of a response from the local application (or from the front's own node:http
 * side): status, framing (RFC 9112 §6.3, the response side) and the connection options, and
 * writes the head to send to the client with the hop-by-hop headers removed.
 */
import { ChunkedFramer, LengthFramer, UntilCloseFramer, type BodyFramer } from './body-framing.js';
import {
  addListedLines,
  checkFieldLines,
  connectionOptions,
  decimalLength,
  fieldValue,
  findHeadEnd,
  headError,
  hopByHop,
  listMembers,
  NameTable,
  readConnection,
  type ConnectionOptions,
  type HeadError,
  type HeadIncomplete,
} from './head-syntax.js';

/** One parsed response head. */
export interface ResponseHead {
  readonly kind: 'head';
  readonly status: number;
  /** The head as latin1 text: the status line and every field line, each ending in CRLF. */
  readonly text: string;
  /** Index in `text` where the first field line starts. */
  readonly fieldsStart: number;
  /** The hop-by-hop field lines to leave out, flat `[start, end)` pairs in order. */
  readonly dropLines: readonly number[];
  /** How the body is delimited: `length` (0 when there is none), `chunked`, or until close. */
  readonly bodyKind: 'length' | 'chunked' | 'close';
  readonly bodyLength: number;
  readonly connection: Readonly<ConnectionOptions>;
  /** Bytes of the head in the buffer. */
  readonly length: number;
}

export type ResponseHeadResult = ResponseHead | HeadIncomplete | HeadError;

const interesting = new NameTable([...hopByHop, 'content-length', 'transfer-encoding']);

/**
 * Reads the response head starting at `start` in `bytes`. `requestMethod` matters: the answer to
 * a HEAD request has no body whatever its headers say.
 */
export function parseResponseHead(bytes: Buffer, start: number, maxBytes: number, requestMethod: string): ResponseHeadResult {
  const end = findHeadEnd(bytes, start, maxBytes);
  if (typeof end !== 'number') return end.kind === 'error' ? headError(502, end.message) : end;
  const text = bytes.toString('latin1', start, end - 2);
  const fieldsStart = text.indexOf('\r\n') + 2;
  const status = parseStatusLine(text, fieldsStart - 2);
  if (status === -1) return headError(502, `malformed status line ${JSON.stringify(text.slice(0, Math.min(60, fieldsStart - 2)))}`);
  const malformed = checkFieldLines(text, fieldsStart);
  if (malformed !== undefined) return headError(502, malformed);
  const connection = connectionOptions();
  const dropLines: number[] = [];
  let contentLength = -1;
  let transferEncoding: string | undefined;
  for (let pos = fieldsStart; pos < text.length; ) {
    const colon = text.indexOf(':', pos);
    const next = text.indexOf('\r\n', colon) + 2;
    const lower = interesting.match(text, pos, colon);
    if (lower !== undefined) {
      if (hopByHop.has(lower)) dropLines.push(pos, next);
      if (lower === 'connection') readConnection(fieldValue(text, colon, next - 2), connection);
      else if (lower === 'transfer-encoding') {
        const value = fieldValue(text, colon, next - 2);
        transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
      } else if (lower === 'content-length') {
        const value = fieldValue(text, colon, next - 2);
        if (!decimalLength.test(value) || (contentLength !== -1 && contentLength !== Number(value))) {
          return headError(502, `invalid or conflicting Content-Length ${JSON.stringify(value.slice(0, 40))}`);
        }
        contentLength = Number(value);
      }
    }
    pos = next;
  }
  if (connection.listed !== undefined) addListedLines(text, fieldsStart, connection.listed, dropLines);
  const length = end - start;
  if (status < 200 || status === 204 || status === 304 || requestMethod === 'HEAD') {
    return { kind: 'head', status, text, fieldsStart, dropLines, bodyKind: 'length', bodyLength: 0, connection, length };
  }
  if (transferEncoding !== undefined) {
    // Both framings at once is how responses get smuggled: refuse rather than pick one.
    if (contentLength !== -1) return headError(502, 'the response has both Content-Length and Transfer-Encoding');
    const bodyKind = listMembers(transferEncoding).at(-1) === 'chunked' ? 'chunked' : 'close';
    return { kind: 'head', status, text, fieldsStart, dropLines, bodyKind, bodyLength: 0, connection, length };
  }
  if (contentLength !== -1) {
    return { kind: 'head', status, text, fieldsStart, dropLines, bodyKind: 'length', bodyLength: contentLength, connection, length };
  }
  return { kind: 'head', status, text, fieldsStart, dropLines, bodyKind: 'close', bodyLength: 0, connection, length };
}

/** `HTTP/1.x NNN reason` in `text[0..end)` (the reason may be empty or absent): the status, or -1. */
function parseStatusLine(text: string, end: number): number {
  if (end < 12 || !text.startsWith('HTTP/1.') || text.charCodeAt(8) !== 32 || (end > 12 && text.charCodeAt(12) !== 32)) return -1;
  const minor = text.charCodeAt(7) - 48;
  const hundreds = text.charCodeAt(9) - 48;
  const tens = text.charCodeAt(10) - 48;
  const units = text.charCodeAt(11) - 48;
  if (minor < 0 || minor > 9 || hundreds < 1 || hundreds > 9 || tens < 0 || tens > 9 || units < 0 || units > 9) return -1;
  for (let i = 13; i < end; i++) {
    const code = text.charCodeAt(i);
    if ((code < 32 && code !== 9) || code === 127) return -1;
  }
  return hundreds * 100 + tens * 10 + units;
}

/** The framer of a response body. */
export function responseFramer(head: ResponseHead): BodyFramer {
  if (head.bodyKind === 'chunked') return new ChunkedFramer();
  if (head.bodyKind === 'close') return new UntilCloseFramer();
  return new LengthFramer(head.bodyLength);
}

/**
 * The head to send to the client: HTTP/1.1, the application's status and reason, its headers
 * minus the hop-by-hop ones (framing headers stay: the body is relayed with its framing), and
 * `Connection: close` when the front will close the client connection after this response.
 */
export function clientResponseHead(head: ResponseHead, close: boolean): string {
  const { text, dropLines } = head;
  let out = 'HTTP/1.1';
  let from = 8;
  for (let i = 0; i < dropLines.length; i += 2) {
    out += text.slice(from, dropLines[i]);
    from = dropLines[i + 1] as number;
  }
  out += text.slice(from);
  return close ? `${out}Connection: close\r\n\r\n` : `${out}\r\n`;
}
