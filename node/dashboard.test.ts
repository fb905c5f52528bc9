import { describe, expect, it } from 'vitest';
import { asSiteName, type PeerIdString } from '../core/ids.js';
import { escapeHtml, renderDashboard } from './dashboard.js';
import type { SiteItem } from './sites-view.js';

const [site1, site2, site3] = [asSiteName('Site1'), asSiteName('Site2'), asSiteName('Site3')];

function site(name: typeof site1, state: SiteItem['state'], rttMs: number | null): SiteItem {
  return { name, peerId: `12D3KooW${name}` as PeerIdString, state, rttMs, http: `http://127.0.0.1:800${name.slice(-1)}`, app: 'kubernetes', addresses: [] };
}

const sites = [site(site1, 'self', 0), site(site2, 'down', null), site(site3, 'up', 12.5)];

/** The row of the table cell whose text is `first`. */
function rowOf(html: string, first: string): string {
  const start = html.indexOf(`<tr><td>${first}</td>`) >= 0 ? html.indexOf(`<tr><td>${first}</td>`) : html.indexOf(`<td>${first}</td>`);
  expect(start).toBeGreaterThanOrEqual(0);
  return html.slice(html.lastIndexOf('<tr', start), html.indexOf('</tr>', start));
}

describe('the dashboard page', () => {
  it('shows the sites, each replicant with every site status, and what is at risk', () => {
    const html = renderDashboard({
      self: site1,
      sites,
      nowMs: Date.UTC(2026, 10, 24, 4, 0, 0),
      replicants: [
        {
          resource: 'pods default/purple', metaId: 'res/a', incarnation: 0, scope: '{Site1 & Site3}', sites: [site1, site3], deleted: false,
          statuses: { Site1: 'applied', Site3: 'failed' }, conflicts: 1, dependents: [], contested: [],
        },
        {
          resource: 'secrets default/token', metaId: 'res/b', incarnation: 0, scope: '{Site2 & Site1}', sites: [site2, site1], deleted: false,
          statuses: { Site1: 'applied' }, conflicts: 0, dependents: ['Site1 pods default/user'], atRiskFrom: site2, contested: [],
        },
        {
          resource: 'namespaces spread', metaId: 'res/d', incarnation: 0, scope: '{Site1 % Site3}', sites: [site1, site3], deleted: false,
          statuses: { Site1: 'applied', Site3: 'applied' }, conflicts: 0, dependents: [], contested: ['pods spread/blue'],
        },
        {
          resource: 'configmaps default/old', metaId: 'res/c', incarnation: 2, scope: '{Site1 & Site2}', sites: [site1, site2], deleted: true,
          statuses: { Site1: 'deleted', Site2: 'deleted' }, conflicts: 0, dependents: [], contested: [],
        },
      ],
    });
    expect(html).toContain('<title>Cheops — Site1</title>');
    expect(html).toContain('<meta http-equiv="refresh" content="5">');
    expect(html).toContain('3 sites, 1 seen down · 3 live replicants · 1 replicas pending · 1 failed · 1 at risk');
    expect(html).toContain('2026-11-24T04:00:00.000Z');
    expect(rowOf(html, 'Site2')).toContain('<td class="state-down">down</td><td>—</td>');
    expect(rowOf(html, 'Site3')).toContain('<td class="state-up">up</td><td>12.5 ms</td>');
    // One column per site: the replicant's status there, blank where its scope does not go.
    const purple = rowOf(html, 'pods default/purple');
    expect(purple).toContain('<td class="status-applied">applied</td><td class="outside"></td><td class="status-failed">failed</td><td>1</td>');
    const token = rowOf(html, 'secrets default/token');
    expect(token).toContain('<tr class="at-risk">');
    expect(token).toContain('<td class="status-applied">applied</td><td class="status-pending">pending</td><td class="outside"></td>');
    expect(token).toContain('<td>Site1 pods default/user</td><td>at risk: shared from Site2, unreachable</td>');
    expect(rowOf(html, 'configmaps default/old')).toContain('<tr class="deleted">');
    expect(rowOf(html, 'namespaces spread')).toContain('<td>made on two sites during a partition: pods spread/blue</td>');
  });

  it('escapes what users and peers named, and says when there is nothing to show', () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y'`)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;');
    const hostile = renderDashboard({
      self: site1, sites, nowMs: 0, refreshSeconds: 10,
      replicants: [{ resource: 'pods default/<img src=x>', metaId: 'res/x', incarnation: 0, scope: '{Site1}', sites: [site1], deleted: false, statuses: {}, conflicts: 0, dependents: [], contested: [] }],
    });
    expect(hostile).not.toContain('<img');
    expect(hostile).toContain('pods default/&lt;img src=x&gt;');
    expect(hostile).toContain('content="10"');
    expect(renderDashboard({ self: site1, sites, nowMs: 0, replicants: [] })).toContain('No replicant is held here yet');
    expect(renderDashboard({ self: site1, sites, nowMs: 0, replicants: undefined })).toContain('Replication is off on this site');
  });
});
