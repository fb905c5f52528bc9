/**
 * One long-lived outbound stream per peer, written strictly one frame at a time. Concurrent
 * writes to one libp2p stream interleaved and stalled a sync forever (DESIGN.md §11), so every
 * send goes through this FIFO: a frame is handed to the stream only after the previous one was
 * accepted and, when the stream asked for it (`send()` returned false), after `onDrain()`.
 * A stream found dead is reopened once per frame before the send fails.
 */
import type { Stream } from '@libp2p/interface';
import { CheopsError, ErrorCode, errorMessage } from '../core/errors.js';
import type { PeerIdString } from '../core/ids.js';

/** Opens a new outbound stream to the peer, or rejects when there is no connection. */
export type StreamOpener = (signal?: AbortSignal) => Promise<Stream>;

interface PendingFrame {
  readonly frame: Uint8Array;
  readonly signal: AbortSignal | undefined;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly detach: () => void;
}

function abortedError(signal: AbortSignal | undefined): CheopsError {
  return new CheopsError(ErrorCode.Aborted, 'send aborted', { cause: signal?.reason });
}

function discard(): void {
  // Intentionally empty: see currentStream.
}

function isWritable(stream: Stream): boolean {
  return (
    stream.status === 'open' &&
    stream.writeStatus === 'writable' &&
    stream.remoteReadStatus === 'readable'
  );
}

/** The serialised writer of frames to one peer. */
export class PeerSender {
  private readonly peer: PeerIdString;
  private readonly openStream: StreamOpener;
  private readonly queue: PendingFrame[] = [];
  private stream: Stream | undefined;
  private pumping = false;
  private closed = false;

  constructor(peer: PeerIdString, openStream: StreamOpener) {
    this.peer = peer;
    this.openStream = openStream;
  }

  /** Resolves once the stream accepted `frame` (and drained, when it asked to). */
  send(frame: Uint8Array, signal?: AbortSignal): Promise<void> {
    if (this.closed) return Promise.reject(this.unreachable('sender closed'));
    if (signal?.aborted === true) return Promise.reject(abortedError(signal));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.queue.indexOf(item);
        if (index >= 0) {
          this.queue.splice(index, 1);
          reject(abortedError(signal));
        }
      };
      const item: PendingFrame = {
        frame,
        signal,
        resolve,
        reject,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(item);
      void this.pump();
    });
  }

  /** Forgets the current stream (its connection closed); the next send opens a new one. */
  reset(): void {
    this.stream = undefined;
  }

  /** Rejects queued frames and closes the stream. */
  async close(): Promise<void> {
    this.closed = true;
    for (const item of this.queue.splice(0)) {
      item.detach();
      item.reject(this.unreachable('sender closed'));
    }
    const stream = this.stream;
    this.stream = undefined;
    if (stream !== undefined && stream.status === 'open') {
      try {
        await stream.close();
      } catch (error) {
        stream.abort(error instanceof Error ? error : new Error(errorMessage(error)));
      }
    }
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let item = this.queue.shift(); item !== undefined; item = this.queue.shift()) {
        item.detach();
        try {
          await this.write(item.frame, item.signal);
          item.resolve();
        } catch (error) {
          item.reject(error instanceof Error ? error : new Error(errorMessage(error)));
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private async write(frame: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      if (signal?.aborted === true) throw abortedError(signal);
      const stream = await this.currentStream(signal);
      let accepted: boolean;
      try {
        accepted = stream.send(frame);
      } catch (error) {
        // The stream closed between the check and the write: reopen once, then give up.
        this.stream = undefined;
        if (attempt >= 1) throw this.unreachable('stream closed while writing', error);
        continue;
      }
      if (!accepted) await this.drain(stream, signal);
      return;
    }
  }

  private async drain(stream: Stream, signal: AbortSignal | undefined): Promise<void> {
    try {
      await stream.onDrain(signal === undefined ? {} : { signal });
    } catch (error) {
      if (signal?.aborted === true) throw abortedError(signal);
      this.stream = undefined;
      throw this.unreachable('stream closed while draining', error);
    }
  }

  private async currentStream(signal: AbortSignal | undefined): Promise<Stream> {
    if (this.stream !== undefined && isWritable(this.stream)) return this.stream;
    this.stream = undefined;
    try {
      const stream = await this.openStream(signal);
      // The peer answers on its own stream: anything written back on ours is discarded (unread
      // data would otherwise pile up in the stream's read buffer).
      stream.addEventListener('message', discard);
      this.stream = stream;
      return stream;
    } catch (error) {
      if (signal?.aborted === true) throw abortedError(signal);
      if (error instanceof CheopsError) throw error;
      throw this.unreachable('cannot open a stream', error);
    }
  }

  private unreachable(reason: string, cause?: unknown): CheopsError {
    return new CheopsError(ErrorCode.SiteUnreachable, `${this.peer}: ${reason}`, {
      cause,
      details: { peer: this.peer },
    });
  }
}
