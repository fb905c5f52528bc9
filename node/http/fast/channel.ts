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
  /** Sends request head and first body bytes together, in one write. */
  writeHead(head: string, body: Uint8Array | undefined): boolean;
  resume(): void;
  /** The exchange is over and the channel may carry another one. */
  release(): void;
  /** Closes the channel; its user gets no further event. */
  destroy(): void;
}

/**
 * A head and the first body bytes as one write (one system call, one packet for a small message):
 * the head's latin1 text and the bytes copied into one new Buffer. The copy is needed anyway when
 * the bytes are the pool's shared read buffer, and costs less than turning them into a string.
 */
export function headWithBody(head: string, body: Uint8Array | undefined): string | Buffer {
  if (body === undefined || body.length === 0) return head;
  const out = Buffer.allocUnsafe(head.length + body.length);
  out.write(head, 0, 'latin1');
  out.set(body, head.length);
  return out;
}
