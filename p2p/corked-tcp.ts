/**
 * TCP whose connections hand the kernel one write per tick, not one per buffer.
 *
 * @libp2p/tcp writes every buffer of an outgoing list with its own `socket.write`, and noise
 * frames each message as two buffers (a 2-byte length, then the ciphertext): a 40-byte
 * heartbeat left as two TCP segments, and the peer woke up twice to read it. Measured on
 * loopback, a small message cost 4 write and 2 read syscalls. Corking the socket for the rest of
 * the tick sends all that one tick writes to a connection (every frame of a burst included) in
 * one `writev`; `process.nextTick` runs before any I/O, so no byte waits longer than it did.
 */
import { Socket } from 'node:net';
import type { MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface';

/** The part of a TCP connection this wrapper touches (libp2p keeps its socket in `socket`). */
interface SocketBackedConnection {
  readonly socket?: unknown;
  sendData?: (data: unknown) => unknown;
}

function corkWrites(connection: MultiaddrConnection): void {
  const backed = connection as unknown as SocketBackedConnection;
  const socket = backed.socket;
  const sendData = backed.sendData;
  if (!(socket instanceof Socket) || typeof sendData !== 'function') return;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  backed.sendData = function corkedSendData(this: unknown, data: unknown): unknown {
    if (!corked && !socket.destroyed) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return sendData.call(this, data);
  };
}

function corkingUpgrader(upgrader: Upgrader): Upgrader {
  const corking: Upgrader = Object.create(upgrader) as Upgrader;
  corking.upgradeInbound = (connection, options) => {
    corkWrites(connection);
    return upgrader.upgradeInbound(connection, options);
  };
  corking.upgradeOutbound = (connection, options) => {
    corkWrites(connection);
    return upgrader.upgradeOutbound(connection, options);
  };
  return corking;
}

/** Wraps a libp2p transport factory (`tcp()`) so its connections cork writes per tick. */
export function corkedWrites<Components>(factory: (components: Components) => Transport): (components: Components) => Transport {
  return (components) => {
    const transport = factory(components);
    // Patched in place: the transport carries symbols and getters libp2p checks.
    const dial = transport.dial.bind(transport);
    const createListener = transport.createListener.bind(transport);
    transport.dial = (address, options) => dial(address, { ...options, upgrader: corkingUpgrader(options.upgrader) });
    transport.createListener = (options) => createListener({ ...options, upgrader: corkingUpgrader(options.upgrader) });
    return transport;
  };
}
