/**
 * The physical limit of a reconnection over libp2p: two bare transports (no Cheops site on top)
 * linked by a TCP relay with the heal benchmark's conditions, the dialer redialling and sending
 * one message each time. Measured from the relay's connection to the listener (the moment the
 * heal benchmark counts from) to that first message at the listener: what multistream-select,
 * the noise handshake and a new stream's negotiation cost before any byte of a protocol moves.
 */
import { silentLogger } from '../core/logger.js';
import { createLibp2pTransport, type Libp2pTransport } from '../p2p/libp2p-transport.js';
import { memoryKeyStore } from '../p2p/peer-identity.js';
import { TcpLinkRelay, type LinkConditions } from '../simulator/relay/index.js';
import { summarize, type Summary } from './stack-report.js';
import { wallMs } from './stack-client.js';

const probeChannel = 'probe';

async function startTransport(): Promise<Libp2pTransport> {
  const transport = await createLibp2pTransport({ listen: ['/ip4/127.0.0.1/tcp/0'], keyStore: memoryKeyStore() }, { logger: silentLogger });
  await transport.start();
  return transport;
}

function portOf(address: string): number {
  const match = /\/tcp\/(\d+)/.exec(address);
  if (match === null) throw new Error(`no TCP port in ${address}`);
  return Number(match[1]);
}

/** Resolves with the wall time of the next message `transport` receives on the probe channel. */
function nextMessageAt(transport: Libp2pTransport): Promise<number> {
  return new Promise((resolve) => {
    const onMessage = (event: { readonly channel: string }): void => {
      if (event.channel !== probeChannel) return;
      transport.off('message', onMessage);
      resolve(wallMs());
    };
    transport.on('message', onMessage);
  });
}

/** Reconnection → first message, over `samples` fresh connections. */
export async function probeLibp2pReconnect(conditions: LinkConditions, samples = 5): Promise<Summary> {
  const listener = await startTransport();
  const dialer = await startTransport();
  const relay = await TcpLinkRelay.start({ targetPort: portOf(listener.addresses()[0] ?? ''), forward: conditions, backward: conditions });
  const times: number[] = [];
  try {
    for (let sample = 0; sample < samples; sample += 1) {
      const arrived = nextMessageAt(listener);
      await dialer.dial(`/ip4/127.0.0.1/tcp/${relay.port}/p2p/${listener.peerId}`);
      await dialer.send(listener.peerId, probeChannel, new Uint8Array([1]));
      const at = await arrived;
      times.push(at - (relay.stats().lastConnectedAtMs ?? Number.NaN));
      await dialer.hangUp(listener.peerId);
      while (listener.connectedPeers().length > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    await relay.close();
    await dialer.stop();
    await listener.stop();
  }
  return summarize(times);
}
