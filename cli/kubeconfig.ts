/** A kubeconfig with one cluster, user and context per site, each context named after its site. */
import { stringify } from 'yaml';

export interface KubeconfigSite {
  readonly name: string;
  /** The site's Cheops front (`http://127.0.0.1:7001`). */
  readonly server: string;
}

export function renderKubeconfig(sites: readonly KubeconfigSite[]): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: sites.map((site) => ({ name: site.name, cluster: { server: site.server } })),
    // The stand-in needs no credentials; an empty user keeps kubectl from prompting for one.
    users: sites.map((site) => ({ name: site.name, user: {} })),
    contexts: sites.map((site) => ({
      name: site.name,
      context: { cluster: site.name, user: site.name, namespace: 'default' },
    })),
    'current-context': sites[0]?.name ?? '',
  });
}
