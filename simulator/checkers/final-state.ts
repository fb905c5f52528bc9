/**
 * Reading a run's state for the checkers, once it has healed: whether it has settled (polled
 * while the clock runs), and then everything the checkers look at (FinalState).
 */
import { asDocumentId, type DocumentId, type SiteName } from '../../core/ids.js';
import { decodeReplicant } from '../../crdt/replicant-decode.js';
import { metaIdOfDocId, replicaCurrent, replicantDocPrefix } from '../../crdt/replicant.js';
import type { Simulation } from '../harness/simulation.js';
import { groupVersionOf, type WorkloadResource } from '../workload/kubectl-requests.js';
import { appKeyText, listsItsOwnSites, type KeySpace } from '../workload/key-space.js';
import { loadReplicantHistory, type ReplicantHistory } from './replicant-history.js';
import type { AppObject, FinalState } from './types.js';

/** Every replicant document held by a site that is up, in a stable order. */
export function replicantIds(sim: Simulation): DocumentId[] {
  const ids = new Set<string>();
  for (const site of sim.upSites()) for (const id of site.node.documents.ids()) if (id.startsWith(replicantDocPrefix)) ids.add(id);
  return [...ids].sort().map(asDocumentId);
}

/**
 * The sites that must hold a replicant: its key's scope, or every site for one no key names; a
 * shared secret's or a widenable key's, those it lists itself (its owner and the sites it is
 * shared with; its scope and the site a write added), as the first up site holding it has it. Undefined when that cannot be read.
 */
async function membersOf(sim: Simulation, keys: KeySpace, docId: DocumentId): Promise<SiteName[] | undefined> {
  const metaId = metaIdOfDocId(docId);
  const found = metaId === undefined ? undefined : keys.byMetaId(metaId);
  if (found === undefined) return sim.sites.map((site) => site.name);
  if (!listsItsOwnSites(found.key)) return [...found.key.sites];
  const holder = sim.upSites().find((site) => site.node.documents.heads(docId) !== undefined);
  if (holder === undefined) return undefined;
  const decoded = decodeReplicant(docId, await holder.node.documents.read(docId));
  return decoded.ok ? [...decoded.replicant.meta.sites] : undefined;
}

/**
 * Why the run has not settled yet, or undefined once it has: every site is up, every replicant is
 * held at the same heads by every site of its scope, and every one of them says its replica is
 * current. (The checkers then compare the applications themselves; this is only when to look.)
 * Run it through the clock.
 */
export async function unsettledReason(sim: Simulation, keys: KeySpace): Promise<string | undefined> {
  const down = sim.sites.filter((site) => site.state !== 'up').map((site) => site.name);
  if (down.length > 0) return `${down.join(', ')} down`;
  // A re-share an owner still owes a site (a name made again) shows in no document until it is done.
  const busy = sim.sites.filter((site) => site.node.site.replicationUnderWay() > 0).map((site) => site.name);
  if (busy.length > 0) return `${busy.join(', ')} still re-sharing a dependency`;
  for (const docId of replicantIds(sim)) {
    const members = await membersOf(sim, keys, docId);
    if (members === undefined) return `${docId}: no site holding it can say which sites it is shared with`;
    const heads = members.map((name) => sim.site(name).node.documents.heads(docId));
    const first = heads[0];
    const behind = members.filter((_, index) => heads[index] === undefined || first === undefined || [...(heads[index] ?? [])].sort().join() !== [...first].sort().join());
    if (behind.length > 0) return `${docId}: ${behind.join(', ')} ${first === undefined ? 'do not all hold it' : `hold${behind.length === 1 ? 's' : ''} other heads than ${members[0] ?? '?'}`} (sites ${members.join(', ')})`;
    const decoded = decodeReplicant(docId, await sim.site(members[0] as string).node.documents.read(docId));
    if (!decoded.ok) return `${docId}: does not decode (${decoded.reason})`;
    const stale = members.filter((site) => !replicaCurrent(decoded.replicant, site));
    if (stale.length > 0) return `${docId}: the replica of ${stale.join(', ')} is not current`;
  }
  return undefined;
}

/** Whether the run has settled (unsettledReason). */
export async function settled(sim: Simulation, keys: KeySpace): Promise<boolean> {
  return (await unsettledReason(sim, keys)) === undefined;
}

const resources: readonly WorkloadResource[] = ['configmaps', 'secrets', 'pods', 'deployments'];

/** The workload's objects `site`'s application holds (an object being deleted counts as gone). */
async function appObjects(sim: Simulation, name: SiteName, keys: KeySpace): Promise<Map<string, AppObject>> {
  const objects = new Map<string, AppObject>();
  const standin = sim.site(name).node.standin;
  const namespaces = ['default', ...keys.containers.map((container) => container.ref.name)];
  for (const namespace of namespaces) for (const resource of resources) {
    const root = groupVersionOf(resource) === 'v1' ? '/api/v1' : `/apis/${groupVersionOf(resource)}`;
    const response = await standin.fetch(new Request(`http://app${root}/namespaces/${namespace}/${resource}`, { headers: { accept: 'application/json' } }));
    if (response.status !== 200) continue;
    const list = (await response.json()) as { apiVersion?: string; kind?: string; items?: AppObject[] };
    // List items carry no apiVersion or kind; the object read alone does.
    const kind = list.kind?.replace(/List$/, '');
    for (const listed of list.items ?? []) {
      const item: AppObject = { apiVersion: list.apiVersion, kind, ...listed };
      const metadata = item.metadata as { name?: string; deletionTimestamp?: string } | undefined;
      if (metadata?.name === undefined || metadata.deletionTimestamp !== undefined) continue;
      const key = keys.byAppKey({ service: resource, namespace, name: metadata.name });
      if (key !== undefined) objects.set(appKeyText(key.ref), item);
    }
  }
  return objects;
}

/** Reads the final state (through the clock: the applications answer in their processes). */
export async function readFinalState(sim: Simulation, keys: KeySpace): Promise<FinalState> {
  const histories = new Map<DocumentId, ReplicantHistory>();
  for (const docId of replicantIds(sim)) {
    const history = await loadReplicantHistory(docId, sim.sites);
    if (history !== undefined) histories.set(docId, history);
  }
  const apps = new Map<SiteName, Map<string, AppObject>>();
  for (const site of sim.upSites()) apps.set(site.name, await appObjects(sim, site.name, keys));
  return { histories, apps };
}
