/**
 * Lists and watches of several sites as one (a read under a cross scope, DESIGN.md §7). A `Table`
 * (what `kubectl get` prints) gets a first column, SITE, naming where each row's object lives; a
 * plain list (`-o json`, `-o yaml`) has every site's items one after the other, in scope order.
 *
 * Paging does not survive a merge (each site has its own continue tokens), so every site is asked
 * for its whole list. Resource versions are each site's own: the merged list carries all of them
 * in one opaque version (`cheops.` and the sites' versions, encoded), and a watch or a list that
 * names it asks each site from its own version, so that `kubectl get -w` (a list, then a watch
 * from its version) shows no object twice. A version the merge did not make is dropped: no site
 * knows it. Bookmarks (a site's version) are dropped from a merged watch for the same reason.
 */
import type { SiteName } from '../../core/ids.js';
import { arrayIn, isJsonObject, stringIn, type JsonObject, type JsonValue } from '../json.js';
import type { SiteList } from '../types.js';

const siteColumn: JsonObject = { name: 'Site', type: 'string', format: '', description: 'The Cheops site the object lives on.', priority: 0 };
const versionPrefix = 'cheops.';

/** One resource version for the sites' own ones. */
function encodeVersions(versions: Readonly<Record<string, string>>): string {
  return versionPrefix + Buffer.from(JSON.stringify(versions)).toString('base64url');
}

/** The sites' versions in a merged version, or undefined for any other. */
function decodeVersions(version: string): Readonly<Record<string, string>> | undefined {
  if (!version.startsWith(versionPrefix)) return undefined;
  try {
    const decoded: unknown = JSON.parse(Buffer.from(version.slice(versionPrefix.length), 'base64url').toString());
    if (!isJsonObject(decoded) || !Object.values(decoded).every((value) => typeof value === 'string')) return undefined;
    return decoded as Record<string, string>;
  } catch {
    return undefined;
  }
}

/**
 * What to ask `site` for a list or a watch of several sites: no paging, and `site`'s own version
 * where the target names a merged one (none where it names another).
 */
export function memberTarget(target: string, site: SiteName): string {
  const mark = target.indexOf('?');
  if (mark === -1) return target;
  const query = new URLSearchParams(target.slice(mark + 1));
  query.delete('limit');
  query.delete('continue');
  const version = query.get('resourceVersion');
  if (version !== null && version !== '' && version !== '0') {
    const own = decodeVersions(version)?.[site];
    if (own === undefined) query.delete('resourceVersion');
    else query.set('resourceVersion', own);
  }
  const rest = query.toString();
  return rest === '' ? target.slice(0, mark) : `${target.slice(0, mark)}?${rest}`;
}

/** The merged list's metadata: every site's version in one, when each has one. */
function mergedMetadata(lists: readonly SiteList[]): JsonObject {
  const versions: Record<string, string> = {};
  for (const list of lists) {
    const version = stringIn(list.body, ['metadata', 'resourceVersion']);
    if (version === undefined || version === '') return {};
    versions[list.site] = version;
  }
  return { resourceVersion: encodeVersions(versions) };
}

export function mergeKubernetesLists(lists: readonly SiteList[]): JsonObject | undefined {
  const bodies = lists.map((list) => list.body);
  const first = bodies[0];
  if (!isJsonObject(first) || !bodies.every((body) => isJsonObject(body) && body.kind === first.kind && body.apiVersion === first.apiVersion)) return undefined;
  if (first.kind === 'Table') return mergeTables(lists, first);
  if (typeof first.kind !== 'string' || !first.kind.endsWith('List')) return undefined;
  const items = lists.flatMap((list) => arrayIn(list.body, ['items']) as JsonValue[]);
  return { ...first, metadata: mergedMetadata(lists), items };
}

function mergeTables(lists: readonly SiteList[], first: JsonObject): JsonObject | undefined {
  const columns = arrayIn(first, ['columnDefinitions']) as JsonValue[];
  const rows: JsonValue[] = [];
  for (const list of lists) {
    const sited = sitedRows(list.body, list.site);
    if (sited === undefined) return undefined;
    rows.push(...sited);
  }
  // Without headers (asked for with `noHeaders`) there is no column to show the site in, but the rows carry it as the others do.
  return { ...first, metadata: mergedMetadata(lists), columnDefinitions: columns.length > 0 ? [siteColumn, ...columns] : [], rows };
}

/** A table's rows with `site` as their first cell; undefined for a malformed row. */
function sitedRows(table: unknown, site: SiteName): JsonValue[] | undefined {
  const rows: JsonValue[] = [];
  for (const row of arrayIn(table, ['rows'])) {
    if (!isJsonObject(row)) return undefined;
    rows.push({ ...row, cells: [site, ...(arrayIn(row, ['cells']) as JsonValue[])] });
  }
  return rows;
}

/**
 * One event of `site`'s watch, for a watch of several sites; undefined to leave it out. A Table
 * event's rows get the site's cell; its column definitions (only the first event of each site's
 * watch has them) are kept, with the SITE column, on the first event the client gets
 * (`headersSent` false) and dropped from the others.
 */
export function memberWatchEvent(site: SiteName, event: unknown, headersSent: boolean): { readonly event: JsonObject; readonly headers: boolean } | undefined {
  if (!isJsonObject(event) || event.type === 'BOOKMARK') return undefined;
  const object = event.object;
  if (!isJsonObject(object) || object.kind !== 'Table') return { event, headers: false };
  const rows = sitedRows(object, site);
  if (rows === undefined) return undefined;
  const columns = arrayIn(object, ['columnDefinitions']) as JsonValue[];
  const headers = !headersSent && columns.length > 0;
  return { event: { ...event, object: { ...object, columnDefinitions: headers ? [siteColumn, ...columns] : [], rows } }, headers };
}
