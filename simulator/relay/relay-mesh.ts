/**
 * The network of a local deployment of real sites: one TcpLinkRelay per pair of sites, so every
 * libp2p connection between two sites crosses the relay of that pair and nothing else.
 *
 * How the nodes are wired (what `cheops up` and the tests pass to `cheops node`):
 * - of each pair, the site listed first dials the other through the pair's relay (`--peer`
 *   `dialAddresses(site)`); one connection carries both directions;
 * - every site announces a dead address (`--announce deadAddress(site)`: a port that resets every
 *   connection), so a site that learns the others' addresses from the site directory cannot
 *   reach them around the relays.
 * A cut link is redialled by the dialling site's redialer once healed.
 */
import type { Clock } from '../../core/clock.js';
import { SeededRandom, type Seed } from '../core/seeded-random.js';
import { describeConditions, idealLink, linkConditions, type LinkConditions } from './link-conditions.js';
import { RefusingListener } from './refusing-listener.js';
import { TcpLinkRelay, type CutMode, type LinkState, type TcpLinkRelayStats } from './tcp-link-relay.js';

/** A site of the mesh: its name and the port its node listens on for peer-to-peer traffic. */
export interface MeshSite {
  readonly name: string;
  readonly p2pPort: number;
}

export interface RelayMeshOptions {
  readonly sites: readonly MeshSite[];
  /** Conditions of every link, both ways; default an ideal link. */
  readonly conditions?: LinkConditions;
  /** Seeds the latency and loss draws of each link direction. */
  readonly seed?: Seed;
  readonly host?: string;
  readonly clock?: Clock;
}

/** One link as the control API and `cheops links` show it. */
export interface LinkStatus {
  /** The dialling site. */
  readonly from: string;
  /** The site dialled, whose port the relay forwards to. */
  readonly to: string;
  readonly relay: string;
  readonly state: LinkState;
  /** Conditions from `from` to `to`, and back. */
  readonly forward: string;
  readonly backward: string;
  readonly stats: TcpLinkRelayStats;
}

interface Link {
  readonly from: string;
  readonly to: string;
  readonly relay: TcpLinkRelay;
}

export class RelayMesh {
  private constructor(
    private readonly sites: readonly MeshSite[],
    private readonly links: readonly Link[],
    private readonly dead: ReadonlyMap<string, RefusingListener>,
  ) {}

  /** Starts a relay for every pair and a dead address for every site. */
  static async start(options: RelayMeshOptions): Promise<RelayMesh> {
    const conditions = options.conditions ?? idealLink;
    const root = new SeededRandom(options.seed ?? 'relay-mesh');
    const host = options.host ?? '127.0.0.1';
    const links: Link[] = [];
    const dead = new Map<string, RefusingListener>();
    const names = new Set(options.sites.map((site) => site.name));
    if (names.size !== options.sites.length) throw new RangeError('relay mesh: site names must be unique');
    try {
      for (const [i, from] of options.sites.entries()) {
        dead.set(from.name, await RefusingListener.start(host));
        for (const to of options.sites.slice(i + 1)) {
          const relay = await TcpLinkRelay.start({
            targetPort: to.p2pPort, host, targetHost: host, forward: conditions, backward: conditions,
            random: root.fork(`${from.name}-${to.name}`),
            ...(options.clock === undefined ? {} : { clock: options.clock }),
          });
          links.push({ from: from.name, to: to.name, relay });
        }
      }
    } catch (error) {
      await Promise.all([...links.map((link) => link.relay.close()), ...[...dead.values()].map((listener) => listener.close())]);
      throw error;
    }
    return new RelayMesh(options.sites, links, dead);
  }

  /** The site names, in order. */
  names(): string[] {
    return this.sites.map((site) => site.name);
  }

  /** The relay addresses `site` dials (`--peer`): one per later site. */
  dialAddresses(site: string): string[] {
    this.check(site);
    return this.links.filter((link) => link.from === site).map((link) => link.relay.multiaddr);
  }

  /** The address `site` announces (`--announce`): it resets every connection. */
  deadAddress(site: string): string {
    this.check(site);
    return this.dead.get(site)!.multiaddr;
  }

  /** The relay between two sites, in either order. */
  relay(a: string, b: string): TcpLinkRelay {
    return this.link(a, b).relay;
  }

  /**
   * Sets the conditions from `from` to `to` (and back, unless `oneWay`): a partial change keeps
   * the rest of that direction's conditions.
   */
  setConditions(from: string, to: string, change: Partial<LinkConditions>, options: { oneWay?: boolean } = {}): void {
    const link = this.link(from, to);
    const outbound = link.from === from ? 'forward' : 'backward';
    const inbound = outbound === 'forward' ? 'backward' : 'forward';
    link.relay.setConditions(linkConditions(change, link.relay[outbound].conditions), outbound);
    if (options.oneWay !== true) link.relay.setConditions(linkConditions(change, link.relay[inbound].conditions), inbound);
  }

  /** Sets every link, both ways. */
  setAllConditions(change: Partial<LinkConditions>): void {
    for (const link of this.links) this.setConditions(link.from, link.to, change);
  }

  /**
   * Cuts every link between sites of different groups. Sites left out of every group form one more
   * group, so `partition([['Site3']])` cuts Site3 off from all the others. Returns the links cut.
   */
  partition(groups: ReadonlyArray<readonly string[]>, mode: CutMode = 'reset'): Array<[string, string]> {
    const groupOf = new Map<string, number>();
    for (const [index, group] of groups.entries()) {
      for (const site of group) {
        this.check(site);
        if (groupOf.has(site)) throw new RangeError(`${site} is in two groups`);
        groupOf.set(site, index);
      }
    }
    const cut: Array<[string, string]> = [];
    for (const link of this.links) {
      if ((groupOf.get(link.from) ?? -1) === (groupOf.get(link.to) ?? -1)) continue;
      link.relay.cut(mode);
      cut.push([link.from, link.to]);
    }
    return cut;
  }

  /** Heals every link of `sites`, or every link. Returns the links healed. */
  heal(sites?: readonly string[]): Array<[string, string]> {
    for (const site of sites ?? []) this.check(site);
    const healed: Array<[string, string]> = [];
    for (const link of this.links) {
      if (sites !== undefined && !sites.includes(link.from) && !sites.includes(link.to)) continue;
      if (link.relay.state === 'open') continue;
      link.relay.heal();
      healed.push([link.from, link.to]);
    }
    return healed;
  }

  /** Every link, with its state, conditions and counters. */
  status(): LinkStatus[] {
    return this.links.map(({ from, to, relay }) => ({
      from, to, relay: relay.multiaddr, state: relay.state,
      forward: describeConditions(relay.forward.conditions),
      backward: describeConditions(relay.backward.conditions),
      stats: relay.stats(),
    }));
  }

  /** Bytes that crossed every link, both ways, so far. */
  totalBytes(): number {
    return this.links.reduce((sum, { relay }) => sum + relay.forward.stats.bytesOut + relay.backward.stats.bytesOut, 0);
  }

  async close(): Promise<void> {
    await Promise.all([...this.links.map((link) => link.relay.close()), ...[...this.dead.values()].map((listener) => listener.close())]);
  }

  private link(a: string, b: string): Link {
    this.check(a);
    this.check(b);
    const link = this.links.find((candidate) => (candidate.from === a && candidate.to === b) || (candidate.from === b && candidate.to === a));
    if (link === undefined) throw new RangeError(`no link between ${a} and ${b}`);
    return link;
  }

  private check(site: string): void {
    if (!this.sites.some((candidate) => candidate.name === site)) {
      throw new RangeError(`unknown site ${site}; the sites are ${this.names().join(', ')}`);
    }
  }
}
