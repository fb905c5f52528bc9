/**
 * The lists of several sites as one (a read under a cross scope, DESIGN.md §7): a `Table` (what
 * `kubectl get` prints) gets a first column, SITE, naming where each row's object lives; a plain
 * list (`-o json`, `-o yaml`) has every site's items one after the other, in scope order. Paging
 * does not survive a merge (each site has its own continue tokens), so the sites are asked for
 * whole lists, and the merged list carries no resource version to watch from.
 */
import { arrayIn, isJsonObject, type JsonObject, type JsonValue } from '../json.js';
import type { SiteList } from '../types.js';

const siteColumn: JsonObject = { name: 'Site', type: 'string', format: '', description: 'The Cheops site the object lives on.', priority: 0 };

/** The target without its paging (`limit`, `continue`): the whole list. */
export function wholeListTarget(target: string): string {
  const mark = target.indexOf('?');
  if (mark === -1) return target;
  const query = new URLSearchParams(target.slice(mark + 1));
  query.delete('limit');
  query.delete('continue');
  const rest = query.toString();
  return rest === '' ? target.slice(0, mark) : `${target.slice(0, mark)}?${rest}`;
}

export function mergeKubernetesLists(lists: readonly SiteList[]): JsonObject | undefined {
  const bodies = lists.map((list) => list.body);
  const first = bodies[0];
  if (!isJsonObject(first) || !bodies.every((body) => isJsonObject(body) && body.kind === first.kind && body.apiVersion === first.apiVersion)) return undefined;
  if (first.kind === 'Table') return mergeTables(lists);
  if (typeof first.kind !== 'string' || !first.kind.endsWith('List')) return undefined;
  const items = lists.flatMap((list) => arrayIn(list.body, ['items']) as JsonValue[]);
  return { ...first, metadata: {}, items };
}

function mergeTables(lists: readonly SiteList[]): JsonObject | undefined {
  const first = lists[0]?.body as JsonObject;
  const columns = arrayIn(first, ['columnDefinitions']) as JsonValue[];
  // Without headers (a later page of a chunked list) there is no column to add the site to.
  const withSite = columns.length > 0;
  const rows: JsonValue[] = [];
  for (const list of lists) {
    for (const row of arrayIn(list.body, ['rows'])) {
      if (!isJsonObject(row)) return undefined;
      rows.push(withSite ? { ...row, cells: [list.site, ...(arrayIn(row, ['cells']) as JsonValue[])] } : row);
    }
  }
  return { ...first, metadata: {}, columnDefinitions: withSite ? [siteColumn, ...columns] : columns, rows };
}
