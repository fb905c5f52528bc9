/**
 * Wire messages of heartbeats on the `heartbeat` channel: `ping`, and the `pong` that echoes its
 * sequence number and send time. A ping may also answer the peer's last ping (`echoSeq`, and
 * `echoHeldMs`, how long it waited for this ping): in steady state each side sends one ping per
 * interval and no pong, half the messages of ping and pong both ways. A ping asks for a pong at
 * once with `reply` (the sender needs a sample now: a new or returning connection); a ping
 * without the field, as older sites send, asks for one too.
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
  /** Answer with a pong at once; when false, the answer is the echo in the receiver's next ping. */
  readonly reply?: boolean;
  /** The `seq` of the peer's ping this one answers. */
  readonly echoSeq?: number;
  /** How long the sender held that ping before sending this one, in ms. */
  readonly echoHeldMs?: number;
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
  if (type === 'pong') return decoded({ type, v: 1, seq, sentAt });
  const reply = field(record.value, 'reply');
  const echoSeq = field(record.value, 'echoSeq');
  const echoHeldMs = field(record.value, 'echoHeldMs');
  if (reply !== undefined && typeof reply !== 'boolean') return malformed('bad reply');
  if ((echoSeq === undefined) !== (echoHeldMs === undefined)) return malformed('echoSeq and echoHeldMs go together');
  if (echoSeq !== undefined && (!isNonNegativeNumber(echoSeq) || !Number.isSafeInteger(echoSeq))) return malformed('bad echoSeq');
  if (echoHeldMs !== undefined && !isNonNegativeNumber(echoHeldMs)) return malformed('bad echoHeldMs');
  return decoded({
    type, v: 1, seq, sentAt,
    ...(reply === undefined ? {} : { reply }),
    ...(echoSeq === undefined ? {} : { echoSeq, echoHeldMs: echoHeldMs as number }),
  });
}
