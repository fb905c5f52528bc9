/**
 * The frame of one direct message on the `/cheops/msg/1.0.0` stream:
 * `varint(frame length) | varint(channel length) | channel (UTF-8) | data`.
 * The outer length prefix is read by @libp2p/utils' LengthPrefixedDecoder; the channel header is
 * ours, so one long-lived stream per peer carries every channel.
 */
import { decoded, malformed, type DecodeResult } from './wire.js';

/** Longest channel name accepted; channels are short constants (`sync`, `heartbeat`). */
export const maxChannelBytes = 128;

/** Default largest direct message: a sync message of a big document fits, a runaway one does not. */
export const defaultMaxMessageBytes = 8 * 1024 * 1024;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** True when `channel` can name a channel (1 to 128 bytes of UTF-8). */
export function isChannelName(channel: string): boolean {
  const length = textEncoder.encode(channel).length;
  return length > 0 && length <= maxChannelBytes;
}

/** Number of bytes of the unsigned LEB128 varint of `value`. */
export function varintLength(value: number): number {
  let length = 1;
  let rest = value;
  while (rest >= 0x80) {
    rest = Math.floor(rest / 0x80);
    length += 1;
  }
  return length;
}

/** Writes the unsigned LEB128 varint of `value` into `target` at `offset`; returns the next offset. */
export function writeVarint(value: number, target: Uint8Array, offset: number): number {
  let rest = value;
  let at = offset;
  while (rest >= 0x80) {
    target[at] = (rest & 0x7f) | 0x80;
    rest = Math.floor(rest / 0x80);
    at += 1;
  }
  target[at] = rest;
  return at + 1;
}

/** Reads an unsigned varint (at most 4 bytes: channel lengths are small). */
function readSmallVarint(bytes: Uint8Array): DecodeResult<{ value: number; length: number }> {
  let value = 0;
  for (let index = 0; index < 4 && index < bytes.length; index += 1) {
    const byte = bytes[index] ?? 0;
    value += (byte & 0x7f) * 2 ** (7 * index);
    if ((byte & 0x80) === 0) return decoded({ value, length: index + 1 });
  }
  return malformed('bad channel length');
}

/** Encodes one message as a length-prefixed frame ready to write to the stream. */
export function encodeFrame(channel: string, data: Uint8Array): Uint8Array {
  const channelBytes = textEncoder.encode(channel);
  if (channelBytes.length === 0 || channelBytes.length > maxChannelBytes) {
    throw new RangeError(`channel name must be 1 to ${maxChannelBytes} bytes`);
  }
  const bodyLength = varintLength(channelBytes.length) + channelBytes.length + data.length;
  const frame = new Uint8Array(varintLength(bodyLength) + bodyLength);
  let offset = writeVarint(bodyLength, frame, 0);
  offset = writeVarint(channelBytes.length, frame, offset);
  frame.set(channelBytes, offset);
  frame.set(data, offset + channelBytes.length);
  return frame;
}

/** Decodes a frame body (the outer length prefix already removed). */
export function decodeFrameBody(body: Uint8Array): DecodeResult<{ channel: string; data: Uint8Array }> {
  const header = readSmallVarint(body);
  if (!header.ok) return header;
  const { value: channelLength, length } = header.value;
  if (channelLength === 0 || channelLength > maxChannelBytes) return malformed('bad channel length');
  if (length + channelLength > body.length) return malformed('truncated frame');
  let channel: string;
  try {
    channel = textDecoder.decode(body.subarray(length, length + channelLength));
  } catch {
    return malformed('channel is not UTF-8');
  }
  return decoded({ channel, data: body.subarray(length + channelLength) });
}
