/**
 * Reads a request head off the wire, strictly: anything two HTTP parsers could read differently
 * (both Content-Length and Transfer-Encoding, two lengths, obs-fold, a bare CR or LF, a control
 * byte, a space before a colon) is refused with 400 before a byte of it is forwarded, so that the
 * front and the application can never disagree on where a request ends (request smuggling).
 * Only what routing, framing and forwarding need is interpreted; the header lines stay as sent.
 */
import type { HeaderReader } from '../interceptor.js';
import { scopeHeader } from '../scope-carrier.js';
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
  requestTarget,
  token,
  type ConnectionOptions,
  type HeadError,
  type HeadIncomplete,
} from './head-syntax.js';

/** How the request says whether it has a body, and how long it is. */
export type RequestFraming = { readonly kind: 'none' } | { readonly kind: 'length'; readonly length: number } | { readonly kind: 'chunked' };

const noBody: RequestFraming = { kind: 'none' };
const chunkedBody: RequestFraming = { kind: 'chunked' };

/** One parsed request head. */
export interface RequestHead {
  readonly kind: 'head';
  readonly method: string;
  /** The request target as sent (`/api/v1/pods?watch=true`). */
  readonly target: string;
  /** 1 for HTTP/1.1, 0 for HTTP/1.0. */
  readonly minor: 0 | 1;
  /** The head as latin1 text: the request line and every field line, each ending in CRLF. */
  readonly text: string;
  /** Index in `text` where the first field line starts. */
  readonly fieldsStart: number;
  readonly framing: RequestFraming;
  /** Whether the client wants the connection kept after this exchange. */
  readonly keepAlive: boolean;
  readonly connection: Readonly<ConnectionOptions>;
  /** `Expect`: absent, `100-continue`, or anything else. */
  readonly expect: 'none' | 'continue' | 'other';
  /** `Connection: upgrade` with an `Upgrade` header: kubectl exec, port-forward. */
  readonly upgrade: boolean;
  /** Whether an `X-Cheops-Scope` header is present. */
  readonly scoped: boolean;
  /** Field lines not to forward (hop-by-hop, scope, X-Forwarded-For), flat `[start, end)` pairs in order. */
  readonly dropLines: readonly number[];
  /** The `Host` value, if any. */
  readonly host: string | undefined;
  /** The X-Forwarded-For values, joined with `, `, if any. */
  readonly forwardedFor: string | undefined;
  readonly hasForwardedProto: boolean;
  readonly hasForwardedHost: boolean;
  /** Bytes of the head in the buffer, leading empty lines included. */
  readonly length: number;
}

export type RequestHeadResult = RequestHead | HeadIncomplete | HeadError;

/** Empty lines a client may send before a request (after a body, by old habit): RFC 9112 §2.2. */
const maxLeadingEmptyLines = 4;

const forwardedFor = 'x-forwarded-for';
const forwardedProto = 'x-forwarded-proto';
const forwardedHost = 'x-forwarded-host';
const interesting = new NameTable([
  ...hopByHop,
  'host',
  'content-length',
  'transfer-encoding',
  scopeHeader,
  forwardedFor,
  forwardedProto,
  forwardedHost,
]);

/** What a walk over the field lines gathers. */
interface Fields {
  hosts: number;
  host: string | undefined;
  contentLength: number;
  transferEncoding: string | undefined;
  readonly connection: ConnectionOptions;
  expect: RequestHead['expect'];
  upgradeHeader: boolean;
  scoped: boolean;
  readonly dropLines: number[];
  forwardedFor: string | undefined;
  hasForwardedProto: boolean;
  hasForwardedHost: boolean;
}

/**
 * Reads the request head starting at `start` in `bytes`. `maxBytes` bounds the head (a larger
 * one is answered 431, like node's `maxHeaderSize`).
 */
export function parseRequestHead(bytes: Buffer, start: number, maxBytes: number): RequestHeadResult {
  let from = start;
  for (let i = 0; i < maxLeadingEmptyLines && bytes[from] === 13 && bytes[from + 1] === 10; i++) from += 2;
  const end = findHeadEnd(bytes, from, maxBytes);
  if (typeof end !== 'number') return end;
  const text = bytes.toString('latin1', from, end - 2);
  const lineEnd = text.indexOf('\r\n');
  const line = parseRequestLine(text.slice(0, lineEnd));
  if (line.kind === 'error') return line;
  const fieldsStart = lineEnd + 2;
  const malformed = checkFieldLines(text, fieldsStart);
  if (malformed !== undefined) return headError(400, malformed);
  const fields: Fields = {
    hosts: 0,
    host: undefined,
    contentLength: -1,
    transferEncoding: undefined,
    connection: connectionOptions(),
    expect: 'none',
    upgradeHeader: false,
    scoped: false,
    dropLines: [],
    forwardedFor: undefined,
    hasForwardedProto: false,
    hasForwardedHost: false,
  };
  for (let pos = fieldsStart; pos < text.length; ) {
    const colon = text.indexOf(':', pos);
    const next = text.indexOf('\r\n', colon) + 2;
    const name = interesting.match(text, pos, colon);
    if (name !== undefined) {
      const error = interpret(fields, name, text, pos, colon, next);
      if (error !== undefined) return error;
    }
    pos = next;
  }
  if (fields.connection.listed !== undefined) addListedLines(text, fieldsStart, fields.connection.listed, fields.dropLines);
  return finish(line, fields, text, fieldsStart, end - start);
}

interface RequestLine {
  readonly kind: 'line';
  readonly method: string;
  readonly target: string;
  readonly minor: 0 | 1;
}

function parseRequestLine(line: string): RequestLine | HeadError {
  const first = line.indexOf(' ');
  const second = first === -1 ? -1 : line.indexOf(' ', first + 1);
  if (second === -1) return headError(400, 'malformed request line');
  const method = line.slice(0, first);
  const target = line.slice(first + 1, second);
  const version = line.slice(second + 1);
  if (!token.test(method)) return headError(400, 'malformed request line: invalid method');
  if (!requestTarget.test(target)) return headError(400, 'malformed request line: invalid request target');
  if (version === 'HTTP/1.1') return { kind: 'line', method, target, minor: 1 };
  if (version === 'HTTP/1.0') return { kind: 'line', method, target, minor: 0 };
  if (/^HTTP\/[0-9]\.[0-9]$/.test(version)) return headError(505, `HTTP version ${version.slice(5)} is not supported`);
  return headError(400, 'malformed request line: invalid HTTP version');
}

/** Notes what one header line (named `lower`) means for routing, framing and forwarding; an error for a refused one. */
function interpret(fields: Fields, lower: string, text: string, start: number, colon: number, next: number): HeadError | undefined {
  if (hopByHop.has(lower) || lower === scopeHeader || lower === forwardedFor) fields.dropLines.push(start, next);
  switch (lower) {
    case 'host':
      fields.hosts++;
      fields.host = fieldValue(text, colon, next - 2);
      return undefined;
    case 'content-length': {
      const value = fieldValue(text, colon, next - 2);
      if (fields.contentLength !== -1) return headError(400, 'Content-Length is given more than once');
      if (!decimalLength.test(value)) return headError(400, `invalid Content-Length ${JSON.stringify(value.slice(0, 40))}`);
      fields.contentLength = Number(value);
      return undefined;
    }
    case 'transfer-encoding':
      if (fields.transferEncoding !== undefined) return headError(400, 'Transfer-Encoding is given more than once');
      fields.transferEncoding = fieldValue(text, colon, next - 2);
      return undefined;
    case 'connection':
      readConnection(fieldValue(text, colon, next - 2), fields.connection);
      return undefined;
    case 'expect':
      fields.expect = fields.expect === 'none' && fieldValue(text, colon, next - 2).toLowerCase() === '100-continue' ? 'continue' : 'other';
      return undefined;
    case 'upgrade':
      fields.upgradeHeader = true;
      return undefined;
    case scopeHeader:
      fields.scoped = true;
      return undefined;
    case forwardedFor: {
      const value = fieldValue(text, colon, next - 2);
      fields.forwardedFor = fields.forwardedFor === undefined ? value : `${fields.forwardedFor}, ${value}`;
      return undefined;
    }
    case forwardedProto:
      fields.hasForwardedProto = true;
      return undefined;
    case forwardedHost:
      fields.hasForwardedHost = true;
      return undefined;
    default:
      return undefined;
  }
}

function finish(line: RequestLine, fields: Fields, text: string, fieldsStart: number, length: number): RequestHead | HeadError {
  const framing = requestFraming(line.minor, fields);
  if (framing.kind === 'error') return framing;
  if (fields.hosts > 1) return headError(400, 'Host is given more than once');
  if (fields.hosts === 0 && line.minor === 1) return headError(400, 'an HTTP/1.1 request must have a Host header');
  const { connection } = fields;
  return {
    kind: 'head',
    method: line.method,
    target: line.target,
    minor: line.minor,
    text,
    fieldsStart,
    framing,
    keepAlive: !connection.close && (line.minor === 1 || connection.keepAlive),
    connection,
    expect: fields.expect,
    upgrade: connection.upgrade && fields.upgradeHeader,
    scoped: fields.scoped,
    dropLines: fields.dropLines,
    host: fields.host,
    forwardedFor: fields.forwardedFor,
    hasForwardedProto: fields.hasForwardedProto,
    hasForwardedHost: fields.hasForwardedHost,
    length,
  };
}

/** RFC 9112 §6.3, the request side, refusing every ambiguous case. */
function requestFraming(minor: 0 | 1, fields: Fields): RequestFraming | HeadError {
  const te = fields.transferEncoding;
  if (te === undefined) {
    return fields.contentLength <= 0 ? noBody : { kind: 'length', length: fields.contentLength };
  }
  if (fields.contentLength !== -1) return headError(400, 'both Content-Length and Transfer-Encoding are given');
  if (minor === 0) return headError(400, 'Transfer-Encoding in an HTTP/1.0 request');
  const codings = listMembers(te);
  if (codings.length === 1 && codings[0] === 'chunked') return chunkedBody;
  if (codings.at(-1) !== 'chunked') return headError(400, 'the last transfer coding of a request must be chunked');
  return headError(501, `transfer coding ${JSON.stringify(te.slice(0, 40))} is not supported`);
}

/** The value of header `name` (any case), repeated values joined with `, `; null when absent. */
export function headerValue(head: RequestHead, name: string): string | null {
  const lower = name.toLowerCase();
  const { text } = head;
  let found: string | null = null;
  for (let pos = head.fieldsStart; pos < text.length; ) {
    const colon = text.indexOf(':', pos);
    const next = text.indexOf('\r\n', colon) + 2;
    if (colon - pos === lower.length && text.slice(pos, colon).toLowerCase() === lower) {
      const value = fieldValue(text, colon, next - 2);
      found = found === null ? value : `${found}, ${value}`;
    }
    pos = next;
  }
  return found;
}

/** The head's headers as a HeaderReader (`wants` reads them so). */
export function headerReader(head: RequestHead): HeaderReader {
  return { get: (name) => headerValue(head, name) };
}
