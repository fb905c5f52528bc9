/**
 * The content of the site directory document, read defensively: any peer can write anything into
 * a shared document, so entries are parsed rather than trusted, and a bad entry is left out of the
 * view instead of failing it. Also the resolution of names claimed by several peer ids, which
 * must pick the same winner on every site from the same content.
 */
import * as Automerge from '@automerge/automerge';
import { isSiteName, type PeerIdString, type SiteName } from '../core/ids.js';

/** One site as the directory knows it. */
export interface SiteEntry {
  readonly name: SiteName;
  /** The site's libp2p peer id: the entry's key in the document. */
  readonly peerId: PeerIdString;
  /** Multiaddrs other sites can dial. */
  readonly addresses: readonly string[];
  /** The base URL of the site's HTTP front. */
  readonly http: string;
  /** The kind of application the site fronts (`kubernetes`, `openstack`). */
  readonly app: string;
  /** When the site first claimed its name (ms since the epoch, the site's clock); earliest claim wins. */
  readonly registeredAt: number;
}

/** A name claimed by more than one peer id: one winner, the same on every site, and the others. */
export interface SiteNameConflict {
  readonly name: SiteName;
  readonly winner: SiteEntry;
  readonly losers: readonly SiteEntry[];
}

export interface SiteDirectoryView {
  /** One entry per name (the winner), sorted by name. */
  readonly sites: readonly SiteEntry[];
  /** Names claimed by several peer ids, sorted by name. */
  readonly conflicts: readonly SiteNameConflict[];
  /** Peer ids whose entries are malformed and left out. */
  readonly ignored: readonly string[];
}

export const emptyView: SiteDirectoryView = { sites: [], conflicts: [], ignored: [] };

/** Earliest claim first; equal times are broken by the smaller peer id, so the order is total. */
export function compareClaims(a: SiteEntry, b: SiteEntry): number {
  if (a.registeredAt !== b.registeredAt) return a.registeredAt - b.registeredAt;
  if (a.peerId === b.peerId) return 0;
  return a.peerId < b.peerId ? -1 : 1;
}

/**
 * The resolved directory from the document's content: the content as `read` gives it, or the
 * draft inside a change. Accepts strings stored as text or as immutable strings.
 */
export function resolveSiteDirectory(content: unknown): SiteDirectoryView {
  if (!isRecord(content)) return emptyView;
  const byName = new Map<SiteName, SiteEntry[]>();
  const ignored: string[] = [];
  for (const [key, value] of Object.entries(content)) {
    const entry = parseSiteEntry(key, value);
    if (entry === undefined) {
      ignored.push(key);
      continue;
    }
    const claims = byName.get(entry.name) ?? [];
    claims.push(entry);
    byName.set(entry.name, claims);
  }
  const sites: SiteEntry[] = [];
  const conflicts: SiteNameConflict[] = [];
  for (const name of [...byName.keys()].sort()) {
    const [winner, ...losers] = (byName.get(name) ?? []).sort(compareClaims);
    if (winner === undefined) continue;
    sites.push(winner);
    if (losers.length > 0) conflicts.push({ name, winner, losers });
  }
  return { sites, conflicts, ignored: ignored.sort() };
}

/** The entry stored under `key`, or undefined when it is not a well-formed entry for that key. */
export function parseSiteEntry(key: string, value: unknown): SiteEntry | undefined {
  if (!isRecord(value)) return undefined;
  const name = text(value.name);
  const peerId = text(value.peerId);
  const http = text(value.http);
  const app = text(value.app);
  const addresses = textList(value.addresses);
  const registeredAt = value.registeredAt;
  if (name === undefined || !isSiteName(name) || peerId !== key || peerId.length === 0) return undefined;
  if (http === undefined || app === undefined || addresses === undefined) return undefined;
  if (typeof registeredAt !== 'number' || !Number.isFinite(registeredAt) || registeredAt < 0) return undefined;
  return { name, peerId: peerId as PeerIdString, addresses, http, app, registeredAt };
}

/**
 * The entry as written into the document: strings as immutable strings, so each field is one
 * last-writer-wins value rather than collaborative text (DESIGN.md §11).
 */
export function storedSiteEntry(entry: SiteEntry): Record<string, unknown> {
  return {
    name: new Automerge.ImmutableString(entry.name),
    peerId: new Automerge.ImmutableString(entry.peerId),
    addresses: entry.addresses.map((address) => new Automerge.ImmutableString(address)),
    http: new Automerge.ImmutableString(entry.http),
    app: new Automerge.ImmutableString(entry.app),
    registeredAt: entry.registeredAt,
  };
}

/** A plain object or an Automerge map (whose proxies are not plain objects). */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Automerge.isImmutableString(value);
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Automerge.isImmutableString(value)) return value.val;
  return undefined;
}

function textList(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const list: string[] = [];
  for (const item of value as unknown[]) {
    const itemText = text(item);
    if (itemText === undefined) return undefined;
    list.push(itemText);
  }
  return list;
}
