import { describe, expect, it } from 'vitest';
import type { BackgroundGate } from './background-hold.js';
import { decodeSyncChannelMessage } from './sync-messages.js';
import { connect, doc, settle, siteAt as site, sitesStoppedAfterEach, watchReceived, type Received, type TestSite } from './testing/sync-sites.js';
import type { ManualClock } from './testing/manual-clock.js';

/** A gate the test turns: busy, then idle (which tells the listeners, as the reconciler does). */
class TurnedGate implements BackgroundGate {
  private isBusy = false;
  private readonly listeners = new Set<() => void>();

  busy(): boolean {
    return this.isBusy;
  }

  onIdle(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  set(busy: boolean): void {
    this.isBusy = busy;
    if (!busy) for (const listener of [...this.listeners]) listener();
  }
}

const setup = sitesStoppedAfterEach();
const ids = ['res/0', 'res/1', 'res/2', 'res/3', 'res/4'];

/** a and b connected, sharing `ids` (created on a, at b already), a with a gate the test turns, b's arrivals watched. */
async function twoSites(): Promise<{ clock: ManualClock; a: TestSite; b: TestSite; gate: TurnedGate; atB: Received }> {
  const gate = new TurnedGate();
  const { clock, sites } = await setup(['a', 'b'], { background: (name) => (name === 'a' ? gate : undefined) });
  const [a, b] = [site(sites, 0), site(sites, 1)];
  await connect(a, b);
  await settle(clock, 50);
  for (const id of ids) await a.store.create(doc(id), { desired: id });
  await settle(clock, 50);
  for (const id of ids) expect(b.store.heads(doc(id))).toEqual(a.store.heads(doc(id)));
  return { clock, a, b, gate, atB: watchReceived(b.transport) };
}

/** Holds a's status of res/4, then lets a's digest of the pushes that made `ids` go (it leaves res/4 out). */
async function heldOverDigest(): Promise<{ clock: ManualClock; a: TestSite; b: TestSite; gate: TurnedGate }> {
  const made = await twoSites();
  made.gate.set(true);
  await status(made.a, 'res/4', 'applied');
  await settle(made.clock, 2_000);
  expect(await made.b.store.read(doc('res/4'))).toEqual({ desired: 'res/4' });
  return made;
}

/** Writes a's status into `id` (a background change unless said otherwise). */
function status(a: TestSite, id: string, value: string, background = true): Promise<readonly string[]> {
  return a.store.change(doc(id), (draft: Record<string, unknown>) => {
    draft['status:a'] = value;
  }, { background });
}

/** The documents of each `docs` message b received, and how many pushes. */
function arrivals(received: Received): { docsMessages: string[][]; pushes: number } {
  const docsMessages: string[][] = [];
  let pushes = 0;
  for (const payload of received.payloads) {
    const sync = decodeSyncChannelMessage(payload);
    if (sync.ok && sync.value.type === 'docs') docsMessages.push(sync.value.items.map((item) => item.doc));
    else if (!sync.ok) pushes += 1;
  }
  return { docsMessages, pushes };
}

describe('DocSync holding background changes while its site is busy', () => {
  it('pushes a background change at once while the site is not busy', async () => {
    const { clock, a, b, atB } = await twoSites();
    await status(a, 'res/1', 'applied');
    await settle(clock, 50);
    expect(b.store.heads(doc('res/1'))).toEqual(a.store.heads(doc('res/1')));
    expect(arrivals(atB)).toEqual({ docsMessages: [], pushes: 1 });
  });

  it('holds background changes while busy, and sends those of every document in one message once idle', async () => {
    const { clock, a, b, gate, atB } = await twoSites();
    gate.set(true);
    for (const id of ids) await status(a, id, 'applied');
    await status(a, 'res/2', 'applied again');
    await settle(clock, 500);
    for (const id of ids) expect(await b.store.read(doc(id))).toEqual({ desired: id });
    expect(atB.payloads).toHaveLength(0);
    gate.set(false);
    await settle(clock, 50);
    for (const id of ids) expect(b.store.heads(doc(id))).toEqual(a.store.heads(doc(id)));
    expect(await b.store.read(doc('res/2'))).toEqual({ desired: 'res/2', 'status:a': 'applied again' });
    // One message for all five documents (res/2's two changes merged in its item), no push, no sync session.
    expect(arrivals(atB)).toEqual({ docsMessages: [ids], pushes: 0 });
    expect(a.sync.stats().syncMessagesSent + b.sync.stats().syncMessagesSent).toBe(0);
  });

  it('sends a change that is not a background one at once, after the changes its document held', async () => {
    const { clock, a, b, gate, atB } = await twoSites();
    gate.set(true);
    await status(a, 'res/1', 'applied');
    await status(a, 'res/3', 'applied');
    await a.store.change(doc('res/1'), (draft: Record<string, unknown>) => {
      draft['desired'] = 'new';
    });
    await settle(clock, 50);
    // res/1 whole at once, by two pushes in order (no sync needed for a missing dependency); res/3 still held.
    expect(b.store.heads(doc('res/1'))).toEqual(a.store.heads(doc('res/1')));
    expect(await b.store.read(doc('res/1'))).toEqual({ desired: 'new', 'status:a': 'applied' });
    expect(await b.store.read(doc('res/3'))).toEqual({ desired: 'res/3' });
    expect(arrivals(atB)).toEqual({ docsMessages: [], pushes: 2 });
    expect(a.sync.stats().syncMessagesSent + b.sync.stats().syncMessagesSent).toBe(0);
  });

  it('sends what it holds after backgroundHoldMaxMs though the site is still busy', async () => {
    const { clock, a, b } = await heldOverDigest();
    await settle(clock, 2_900);
    expect(await b.store.read(doc('res/4'))).toEqual({ desired: 'res/4' });
    await settle(clock, 200);
    expect(b.store.heads(doc('res/4'))).toEqual(a.store.heads(doc('res/4')));
  });

  it('leaves a document with changes held out of its digests, and still sends them once idle', async () => {
    const { clock, a, b, gate } = await heldOverDigest();
    gate.set(false);
    await settle(clock, 50);
    expect(b.store.heads(doc('res/4'))).toEqual(a.store.heads(doc('res/4')));
  });
});
