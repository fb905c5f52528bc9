/**
 * Wire messages of heartbeats on the `heartbeat` channel: `ping` and the `pong` that echoes its
 * sequence number and send time.
 */
import {
  decodeCborRecord,
  decoded,
  encodeCbor,
  field,
  isNonNegativeNumber,
  malformed,
  messageTag,
  type DecodeResult,
} from './wire.js';

/** The direct channel of heartbeats. */
export const heartbeatChannel = 'heartbeat';

export interface PingMessage {
  readonly type: 'ping';
  readonly v: 1;
  /** Increases by one per ping to a peer. */
  readonly seq: number;
  /** The sender's clock when it sent the ping, in ms. */
  readonly sentAt: number;
}

export interface PongMessage {
  readonly type: 'pong';
  readonly v: 1;
  /** The `seq` of the ping answered. */
  readonly seq: number;
  /** The `sentAt` of the ping answered. */
  readonly sentAt: number;
}

export type HeartbeatMessage = PingMessage | PongMessage;

export function encodeHeartbeatMessage(message: HeartbeatMessage): Uint8Array {
  return encodeCbor(message);
}

export function decodeHeartbeatMessage(bytes: Uint8Array): DecodeResult<HeartbeatMessage> {
  const record = decodeCborRecord(bytes);
  if (!record.ok) return record;
  const tag = messageTag(record.value);
  if (!tag.ok) return tag;
  const { type, v } = tag.value;
  if (type !== 'ping' && type !== 'pong') return malformed(`unknown type ${JSON.stringify(type)}`);
  if (v !== 1) return malformed(`unsupported version ${v}`);
  const seq = field(record.value, 'seq');
  const sentAt = field(record.value, 'sentAt');
  if (!isNonNegativeNumber(seq) || !Number.isSafeInteger(seq)) return malformed('bad seq');
  if (!isNonNegativeNumber(sentAt)) return malformed('bad sentAt');
  return decoded({ type, v: 1, seq, sentAt });
}
