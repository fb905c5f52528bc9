/**
 * Reading a run's state for the checkers, once it has healed: whether it has settled (polled
 * while the clock runs), and then everything the checkers look at (FinalState).
 */
import { asDocumentId, type DocumentId, type SiteName } from '../../core/ids.js';
import { decodeReplicant } from '../../crdt/replicant-decode.js';
import { metaIdOfDocId, replicaCurrent, replicantDocPrefix } from '../../crdt/replicant.js';
import type { Simulation } from '../harness/simulation.js';
import type { WorkloadResource } from '../workload/kubectl-requests.js';
import { appKeyText, type KeySpace } from '../workload/key-space.js';
import { loadReplicantHistory, type ReplicantHistory } from './replicant-history.js';
import type { AppObject, FinalState } from './types.js';

/** Every replicant document held by a site that is up, in a stable order. */
export function replicantIds(sim: Simulation): DocumentId[] {
  const ids = new Set<string>();
  for (const site of sim.upSites()) for (const id of site.node.documents.ids()) if (id.startsWith(replicantDocPrefix)) ids.add(id);
  return [...ids].sort().map(asDocumentId);
}

/** The sites that must hold a replicant: its key's scope, or every site for one no key names. */
function membersOf(sim: Simulation, keys: KeySpace, docId: DocumentId): SiteName[] {
  const metaId = metaIdOfDocId(docId);
  const found = metaId === undefined ? undefined : keys.byMetaId(metaId);
  return found === undefined ? sim.sites.map((site) => site.name) : [...found.key.sites];
}

/**
 * Whether the run has settled: every site is up, every replicant is held at the same heads by
 * every site of its scope, and every one of them says its replica is current. (The checkers then
 * compare the applications themselves; this is only when to look.) Run it through the clock.
 */
export async function settled(sim: Simulation, keys: KeySpace): Promise<boolean> {
  if (sim.sites.some((site) => site.state !== 'up')) return false;
  for (const docId of replicantIds(sim)) {
    const members = membersOf(sim, keys, docId);
    const heads = members.map((name) => sim.site(name).node.documents.heads(docId));
    const first = heads[0];
    if (first === undefined || heads.some((one) => one === undefined || [...one].sort().join() !== [...first].sort().join())) return false;
    const content = await sim.site(members[0] as string).node.documents.read(docId);
    const decoded = decodeReplicant(docId, content);
    if (!decoded.ok) return false;
    if (members.some((site) => !replicaCurrent(decoded.replicant, site))) return false;
  }
  return true;
}

const resources: readonly WorkloadResource[] = ['configmaps', 'secrets', 'pods'];

/** The workload's objects `site`'s application holds (an object being deleted counts as gone). */
async function appObjects(sim: Simulation, name: SiteName, keys: KeySpace): Promise<Map<string, AppObject>> {
  const objects = new Map<string, AppObject>();
  const standin = sim.site(name).node.standin;
  const namespaces = ['default', ...keys.containers.map((container) => container.ref.name)];
  for (const namespace of namespaces) for (const resource of resources) {
    const response = await standin.fetch(new Request(`http://app/api/v1/namespaces/${namespace}/${resource}`, { headers: { accept: 'application/json' } }));
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
