/**
 * A channel is where the raw path sends one request and reads its response: a pooled connection
 * to the local application (upstream-pool.ts), or an in-process connection to the front's own
 * node:http side (internal-channel.ts). The exchange driving it (exchange.ts) sees only this.
 */

/** Who reads a channel right now. */
export interface ChannelUser {
  /**
   * Bytes from the channel. They are only valid during the call (the pool reads every connection
   * into one shared buffer): copy what must outlive it. Return false to stop reading until
   * `resume()`.
   */
  onChannelData(bytes: Buffer): boolean;
  /** The channel can take writes again after `write` returned false. */
  onChannelDrain(): void;
  /** The channel closed (the peer ended it, or it failed with `error`); no event follows. */
  onChannelClose(error: Error | undefined): void;
}

/** One request at a time over a byte stream. */
export interface Channel {
  /** True when an earlier exchange used this channel (a stale keep-alive connection may fail). */
  readonly reused: boolean;
  /** True once the connection to the application was established (false: it was refused). */
  readonly connected: boolean;
  /** Attaches the exchange that will read the next bytes. */
  attach(user: ChannelUser): void;
  /** Sends bytes; false when the caller should wait for `onChannelDrain`. */
  write(data: string | Uint8Array): boolean;
  /** Sends request head and first body bytes together (one system call for a small request). */
  writeHead(head: string, body: Uint8Array | undefined): boolean;
  resume(): void;
  /** The exchange is over and the channel may carry another one. */
  release(): void;
  /** Closes the channel; its user gets no further event. */
  destroy(): void;
}

/** Below this many bytes, a head and its body are sent as one latin1 string: one write, no copy of a Buffer list. */
export const smallBodyBytes = 16 * 1024;

/** `head` and `body` as one string when the body is small, for a single write. */
export function joinHead(head: string, body: Uint8Array | undefined): string | undefined {
  if (body === undefined || body.length === 0) return head;
  if (body.length > smallBodyBytes) return undefined;
  return head + Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1');
}
