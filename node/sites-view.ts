/**
 * What this site knows of every site: the site directory's entries joined with heartbeat state.
 * It answers `GET /cheops/v1/sites` and, synchronously, the scope resolver's questions (which
 * sites exist, which are up, at what RTT), so resolving a scope never waits on anything.
 */
import type { PeerIdString, SiteName } from '../core/ids.js';
import type { SiteEntry } from '../crdt/site-directory.js';
import type { Heartbeats } from '../p2p/heartbeat.js';

export type SiteState = 'self' | 'up' | 'down';

/** One row of `GET /cheops/v1/sites`. */
export interface SiteItem {
  readonly name: SiteName;
  readonly peerId: PeerIdString;
  readonly state: SiteState;
  /** Smoothed heartbeat RTT in milliseconds; 0 for this site; null before the first pong. */
  readonly rttMs: number | null;
  /** The URL of the site's HTTP front. */
  readonly http: string;
  readonly app: string;
  readonly addresses: readonly string[];
}

export interface SitesViewDeps {
  readonly heartbeats: Pick<Heartbeats, 'peer'>;
  readonly self: PeerIdString;
}

export class SitesView {
  private entries: readonly SiteEntry[] = [];
  private readonly heartbeats: Pick<Heartbeats, 'peer'>;
  private readonly self: PeerIdString;

  constructor(deps: SitesViewDeps) {
    this.heartbeats = deps.heartbeats;
    this.self = deps.self;
  }

  /** Replaces the directory entries (called whenever the site directory changes). */
  update(entries: readonly SiteEntry[]): void {
    this.entries = [...entries].sort((a, b) => a.name.localeCompare(b.name));
  }

  list(): SiteItem[] {
    return this.entries.map((entry) => this.item(entry));
  }

  /** The names of every known site, this one included. */
  names(): SiteName[] {
    return this.entries.map((entry) => entry.name);
  }

  byName(name: SiteName): SiteItem | undefined {
    const entry = this.entries.find((candidate) => candidate.name === name);
    return entry === undefined ? undefined : this.item(entry);
  }

  private item(entry: SiteEntry): SiteItem {
    const self = entry.peerId === this.self;
    const status = self ? undefined : this.heartbeats.peer(entry.peerId);
    const rtt = status?.rttMs;
    return {
      name: entry.name,
      peerId: entry.peerId,
      state: self ? 'self' : status?.state === 'up' ? 'up' : 'down',
      rttMs: self ? 0 : rtt === undefined ? null : Math.round(rtt * 100) / 100,
      http: entry.http,
      app: entry.app,
      addresses: entry.addresses,
    };
  }
}
