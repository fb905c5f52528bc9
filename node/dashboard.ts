/**
 * The dashboard page (DESIGN.md §9), `GET /cheops/dashboard`: what this site knows, at a glance,
 * for the people running it: the sites and whether heartbeats see them, and every replicant held
 * here with each site's replica status, its conflicts, what relies on it, what is at risk
 * (DESIGN.md §8: a dependency shared from a site now unreachable), and the names of a cross
 * namespace made on two sites during a partition (DESIGN.md §7). One server-rendered page that
 * reloads itself; no script, nothing fetched from elsewhere (edge sites may have no internet).
 * Built from the key index and the site view only: a page view loads no document.
 */
import type { SiteName } from '../core/ids.js';
import type { ReplicantOverview } from './replication/index.js';
import type { SiteItem } from './sites-view.js';

export interface DashboardView {
  readonly self: SiteName;
  readonly sites: readonly SiteItem[];
  /** Absent when the node runs without replication (no application glue). */
  readonly replicants: readonly ReplicantOverview[] | undefined;
  /** When the page was made, ms since the epoch. */
  readonly nowMs: number;
  /** Seconds between reloads. */
  readonly refreshSeconds?: number;
}

const escapes: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for HTML (names and scopes come from users and peers). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => escapes[character] ?? character);
}

function cell(text: string, className?: string): string {
  return `<td${className === undefined ? '' : ` class="${className}"`}>${escapeHtml(text)}</td>`;
}

function siteRows(sites: readonly SiteItem[]): string {
  return sites
    .map((site) => `<tr>${cell(site.name)}${cell(site.state, `state-${site.state}`)}${cell(site.rttMs === null ? '—' : `${site.rttMs} ms`)}${cell(site.http)}</tr>`)
    .join('\n');
}

function replicaCells(replicant: ReplicantOverview, columns: readonly SiteName[]): string {
  return columns
    .map((site) => {
      if (!replicant.sites.includes(site)) return '<td class="outside"></td>';
      const status = replicant.statuses[site] ?? 'pending';
      return cell(status, `status-${status}`);
    })
    .join('');
}

function replicantRows(replicants: readonly ReplicantOverview[], columns: readonly SiteName[]): string {
  return replicants
    .map((replicant) => {
      const notes = [
        ...(replicant.deleted ? ['deleted'] : []),
        ...(replicant.atRiskFrom === undefined ? [] : [`at risk: shared from ${replicant.atRiskFrom}, unreachable`]),
        ...(replicant.contested.length === 0 ? [] : [`made on two sites during a partition: ${replicant.contested.join(', ')}`]),
      ];
      const rowClass = replicant.atRiskFrom !== undefined ? ' class="at-risk"' : replicant.deleted ? ' class="deleted"' : '';
      return (
        `<tr${rowClass}>${cell(replicant.resource)}${cell(replicant.scope)}${cell(String(replicant.incarnation))}${replicaCells(replicant, columns)}` +
        `${cell(replicant.conflicts === 0 ? '' : String(replicant.conflicts))}${cell(replicant.dependents.join(', '))}${cell(notes.join('; '))}</tr>`
      );
    })
    .join('\n');
}

function summary(view: DashboardView): string {
  const down = view.sites.filter((site) => site.state === 'down').length;
  const parts = [`${view.sites.length} sites, ${down} seen down`];
  if (view.replicants !== undefined) {
    const live = view.replicants.filter((replicant) => !replicant.deleted);
    const pending = live.reduce((sum, replicant) => sum + replicant.sites.filter((site) => (replicant.statuses[site] ?? 'pending') === 'pending').length, 0);
    const failed = live.reduce((sum, replicant) => sum + replicant.sites.filter((site) => replicant.statuses[site] === 'failed').length, 0);
    const atRisk = live.filter((replicant) => replicant.atRiskFrom !== undefined).length;
    parts.push(`${live.length} live replicants`, `${pending} replicas pending`, `${failed} failed`, `${atRisk} at risk`);
  }
  return parts.join(' · ');
}

const style = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d1d1f; }
h1 { font-size: 1.4em; margin: 0 0 .2em; } h2 { font-size: 1.1em; margin: 1.4em 0 .4em; }
.summary, .meta { color: #555; } table { border-collapse: collapse; } th, td { padding: .25em .7em; border-bottom: 1px solid #ddd; text-align: left; }
th { background: #f4f4f6; } .state-down, .status-failed { color: #b00020; font-weight: 600; } .state-up, .status-applied { color: #1b7f3b; }
.status-pending { color: #9a6700; } .outside { background: #fafafa; } tr.at-risk { background: #fff4e5; } tr.deleted { color: #888; }
`;

/** The whole page. */
export function renderDashboard(view: DashboardView): string {
  const refresh = view.refreshSeconds ?? 5;
  const columns = view.sites.map((site) => site.name);
  const replicants =
    view.replicants === undefined
      ? '<p>Replication is off on this site (no application glue).</p>'
      : view.replicants.length === 0
        ? '<p>No replicant is held here yet: write with a scope (<code>cheops kubectl … --scope {Site1 &amp; Site2}</code>).</p>'
        : `<table>
<thead><tr><th>resource</th><th>scope</th><th>#</th>${columns.map((site) => `<th>${escapeHtml(site)}</th>`).join('')}<th>conflicts</th><th>relied upon by</th><th>notes</th></tr></thead>
<tbody>
${replicantRows(view.replicants, columns)}
</tbody>
</table>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="${refresh}">
<title>Cheops — ${escapeHtml(view.self)}</title>
<style>${style}</style>
</head>
<body>
<h1>Cheops — ${escapeHtml(view.self)}</h1>
<p class="summary">${escapeHtml(summary(view))}</p>
<p class="meta">As this site sees it at ${escapeHtml(new Date(view.nowMs).toISOString())}, reloaded every ${refresh} s. JSON: <a href="/cheops/v1/sites">sites</a>, <a href="/cheops/v1/replicants">replicants</a>; <a href="/metrics">metrics</a>.</p>
<h2>Sites</h2>
<table>
<thead><tr><th>site</th><th>state</th><th>RTT</th><th>front</th></tr></thead>
<tbody>
${siteRows(view.sites)}
</tbody>
</table>
<h2>Replicants</h2>
${replicants}
</body>
</html>
`;
}
