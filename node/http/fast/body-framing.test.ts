import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkedFramer, FramingError, LengthFramer, type BodyFramer } from './body-framing.js';

/** Feeds `body` (then `after`) to a framer in reads cut at `cuts`; returns where the body ended. */
function feed(framer: BodyFramer, message: Buffer, cuts: readonly number[]): number {
  const points = [...new Set([0, ...cuts.map((cut) => cut % (message.length + 1)), message.length])].sort((a, b) => a - b);
  for (let i = 0; i + 1 < points.length; i++) {
    const read = message.subarray(points[i], points[i + 1]);
    const end = framer.advance(read, 0);
    if (framer.done) return (points[i] as number) + end;
    expect(end).toBe(read.length);
  }
  return -1;
}

describe('LengthFramer', () => {
  it('ends after exactly its length, whatever the reads', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.array(fc.nat(), { maxLength: 6 }), (length, cuts) => {
        const message = Buffer.concat([Buffer.alloc(length, 1), Buffer.from('GET / HTTP/1.1\r\n')]);
        const framer = new LengthFramer(length);
        if (length === 0) expect(framer.done).toBe(true);
        else expect(feed(framer, message, cuts)).toBe(length);
      }),
    );
  });
});

describe('ChunkedFramer', () => {
  const encoded = (chunks: readonly Buffer[], trailers = ''): Buffer =>
    Buffer.concat([
      ...chunks.filter((chunk) => chunk.length > 0).flatMap((chunk) => [Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]),
      Buffer.from(`0\r\n${trailers}\r\n`),
    ]);

  it('finds the end of a chunked body whatever the reads, with the next request after it', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 70 }), { maxLength: 5 }), fc.array(fc.nat(), { maxLength: 8 }), (chunks, cuts) => {
        const body = encoded(chunks.map((chunk) => Buffer.from(chunk)));
        const message = Buffer.concat([body, Buffer.from('GET / HTTP/1.1\r\n\r\n')]);
        expect(feed(new ChunkedFramer(), message, cuts)).toBe(body.length);
      }),
    );
  });

  it('accepts extensions, upper-case hex, leading zeros and trailers', () => {
    const body = Buffer.from('0A;name=value\r\n0123456789\r\n000\r\nExpires: never\r\nX-Sum: 1\r\n\r\n');
    expect(feed(new ChunkedFramer(), Buffer.concat([body, Buffer.from('NEXT')]), [3, 17, 30])).toBe(body.length);
  });

  it.each([
    ['no size', '\r\n'],
    ['a non-hex size', 'g\r\n'],
    ['a negative size', '-1\r\n'],
    ['a huge size', 'fffffffffffffffff\r\n'],
    ['a bare LF after the size', '5\nhello\r\n0\r\n\r\n'],
    ['data longer than its size', '2\r\nabc\r\n0\r\n\r\n'],
    ['a bare LF after the data', '2\r\nab\n0\r\n\r\n'],
    ['a control byte in an extension', '2;a\x01\r\nab\r\n0\r\n\r\n'],
    ['obs-fold in a trailer', '0\r\nX: 1\r\n 2\r\n\r\n'],
    ['a bare LF in a trailer', '0\r\nX: 1\nY: 2\r\n\r\n'],
  ])('refuses %s', (_what, text) => {
    expect(() => new ChunkedFramer().advance(Buffer.from(text, 'latin1'), 0)).toThrow(FramingError);
  });

  it('caps extensions and trailers', () => {
    const text = `1;${'x'.repeat(100)}\r\na\r\n0\r\n\r\n`;
    expect(() => new ChunkedFramer(50).advance(Buffer.from(text), 0)).toThrow(/too large/);
  });
});
