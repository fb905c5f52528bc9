/**
 * Where an HTTP/1.1 message body ends (RFC 9112 §6–7), found without copying or decoding it: the
 * raw path relays bodies byte for byte, chunked framing included, and only needs to know which
 * bytes of a read still belong to the current message and which start the next one. A framer is
 * fed every read in turn and says how many of its bytes are body.
 */

/** Tracks the end of one message body. */
export interface BodyFramer {
  /** True once the whole body (for chunked: the last chunk and the trailer section) has been seen. */
  readonly done: boolean;
  /**
   * Takes `bytes[start..]`, returns the index just past the last body byte in it (`bytes.length`
   * when all of it is body). Throws a FramingError when the bytes cannot be valid framing; the
   * connection must then be closed, since where the next message starts is unknown.
   */
  advance(bytes: Uint8Array, start: number): number;
}

/** Invalid body framing: the message cannot be delimited. */
export class FramingError extends Error {
  override readonly name = 'FramingError';
}

/** A body of known length (`Content-Length`); length 0 is done at once. */
export class LengthFramer implements BodyFramer {
  private remaining: number;

  constructor(length: number) {
    this.remaining = length;
  }

  get done(): boolean {
    return this.remaining === 0;
  }

  advance(bytes: Uint8Array, start: number): number {
    const available = bytes.length - start;
    if (available <= this.remaining) {
      this.remaining -= available;
      return bytes.length;
    }
    const end = start + this.remaining;
    this.remaining = 0;
    return end;
  }
}

/** A body that ends when the connection does (a response without length or chunking). */
export class UntilCloseFramer implements BodyFramer {
  readonly done = false;

  advance(bytes: Uint8Array): number {
    return bytes.length;
  }
}

const cr = 13;
const lf = 10;
const semicolon = 59;
const space = 32;
const tab = 9;

/** States of the chunked framer, named after the RFC 9112 §7.1 grammar. */
const State = {
  size: 0,
  /** Whitespace or an extension after the size, up to CR. */
  extension: 1,
  sizeLf: 2,
  data: 3,
  dataCr: 4,
  dataLf: 5,
  /** Start of a trailer line, or the empty line that ends the body. */
  trailerStart: 6,
  trailer: 7,
  trailerLf: 8,
  endLf: 9,
  done: 10,
} as const;
type State = (typeof State)[keyof typeof State];

/** Most hex digits of a chunk size (leading zeros excluded): 13 digits stay below 2^53. */
const maxSizeDigits = 13;

/**
 * A `Transfer-Encoding: chunked` body. Strict where leniency enables request smuggling: only CRLF
 * line ends, a size of hex digits, no control bytes in extensions, no obs-fold in trailers, and a
 * cap on extension and trailer bytes.
 */
export class ChunkedFramer implements BodyFramer {
  private state: State = State.size;
  private size = 0;
  private digits = 0;
  private sawDigit = false;
  private metaBytes = 0;

  /** `maxMetaBytes` caps the bytes of chunk extensions and trailers together. */
  constructor(private readonly maxMetaBytes = 16 * 1024) {}

  get done(): boolean {
    return this.state === State.done;
  }

  advance(bytes: Uint8Array, start: number): number {
    let i = start;
    const length = bytes.length;
    while (i < length) {
      if (this.state === State.data) {
        const take = Math.min(this.size, length - i);
        this.size -= take;
        i += take;
        if (this.size === 0) this.state = State.dataCr;
        continue;
      }
      if (this.state === State.done) return i;
      // step() returns true once the body is complete (TypeScript keeps `this.state` narrowed across the call).
      if (this.step(bytes[i++] as number)) return i;
    }
    return i;
  }

  /** One byte of framing (never of data); true when it completed the body. */
  private step(byte: number): boolean {
    this.byte(byte);
    return this.state === State.done;
  }

  private byte(byte: number): void {
    switch (this.state) {
      case State.size:
        this.sizeByte(byte);
        return;
      case State.extension:
        if (byte === cr) this.state = State.sizeLf;
        else if (byte < space && byte !== tab) throw new FramingError('control character in a chunk extension');
        else this.countMeta();
        return;
      case State.sizeLf:
        this.expectLf(byte);
        if (this.size > 0) this.state = State.data;
        else this.state = State.trailerStart;
        return;
      case State.dataCr:
        if (byte !== cr) throw new FramingError('chunk data longer than its size');
        this.state = State.dataLf;
        return;
      case State.dataLf:
        this.expectLf(byte);
        this.resetSize();
        return;
      case State.trailerStart:
        if (byte === cr) this.state = State.endLf;
        else if (byte === space || byte === tab) throw new FramingError('obsolete line folding in a trailer');
        else this.trailerByte(byte);
        return;
      case State.trailer:
        this.trailerByte(byte);
        return;
      case State.trailerLf:
        this.expectLf(byte);
        this.state = State.trailerStart;
        return;
      case State.endLf:
        this.expectLf(byte);
        this.state = State.done;
        return;
      default:
        return;
    }
  }

  private sizeByte(byte: number): void {
    const digit = hexValue(byte);
    if (digit >= 0) {
      this.sawDigit = true;
      if (this.size === 0 && digit === 0) return; // leading zeros carry no size
      if (++this.digits > maxSizeDigits) throw new FramingError('chunk size too large');
      this.size = this.size * 16 + digit;
      return;
    }
    if (!this.sawDigit) throw new FramingError('chunk size expected');
    if (byte === cr) this.state = State.sizeLf;
    else if (byte === semicolon || byte === space || byte === tab) this.state = State.extension;
    else throw new FramingError('invalid character in a chunk size');
  }

  private trailerByte(byte: number): void {
    this.countMeta();
    if (byte === cr) this.state = State.trailerLf;
    else if (byte === lf || (byte < space && byte !== tab) || byte === 127) {
      throw new FramingError('control character in a trailer');
    } else this.state = State.trailer;
  }

  private expectLf(byte: number): void {
    if (byte !== lf) throw new FramingError('bare CR in chunked framing');
  }

  private countMeta(): void {
    if (++this.metaBytes > this.maxMetaBytes) throw new FramingError('chunk extensions or trailers too large');
  }

  private resetSize(): void {
    this.state = State.size;
    this.size = 0;
    this.digits = 0;
    this.sawDigit = false;
  }
}

function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  if (byte >= 97 && byte <= 102) return byte - 87;
  if (byte >= 65 && byte <= 70) return byte - 55;
  return -1;
}
