import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../core/errors.js';
import { asSiteName, type SiteName } from '../core/ids.js';
import type { Scope } from './ast.js';
import { validateSites, type KnownSites } from './known-sites.js';
import { parseScope } from './parse.js';
import type { ScopeResolution } from './resolution.js';
import { bindingFor, resolveScope } from './resolve.js';

interface Deployment {
  readonly self?: string;
  readonly sites?: readonly string[];
  readonly down?: readonly string[];
  /** `'Site1>Site2': 12` is the RTT measured from Site1 to Site2. */
  readonly rtt?: Readonly<Record<string, number>>;
}

function deployment({ self = 'Site1', sites = ['Site1', 'Site2', 'Site3'], down = [], rtt = {} }: Deployment = {}): KnownSites {
  return {
    self: asSiteName(self),
    sites: sites.map(asSiteName),
    isUp(site: SiteName): boolean {
      if (site === self) throw new Error('isUp must not be asked about self');
      return !down.includes(site);
    },
    rttMs: (from: SiteName, to: SiteName) => rtt[`${from}>${to}`],
  };
}

function scopeOf(source: string): Scope {
  const result = parseScope(source);
  if (!result.ok) throw new Error(result.error.message);
  return result.scope;
}

function resolve(source: string, service: string, known: KnownSites = deployment()): ScopeResolution {
  const result = resolveScope(scopeOf(source), service, known);
  if (!result.ok) throw new Error(result.error.message);
  return result.resolution;
}

const here = (site: string) => ({ kind: 'site', site, self: true, up: true });
const there = (site: string, up = true) => ({ kind: 'site', site, self: false, up });

describe('resolveScope: operators', () => {
  it('keeps a service with no binding on this site (passthrough)', () => {
    expect(resolve('{secrets: Site2}', 'pods')).toEqual({
      service: 'pods',
      source: 'none',
      collaboration: 'local',
      location: here('Site1'),
      target: here('Site1'),
      targetCollaboration: 'local',
      sites: ['Site1'],
      warnings: [],
    });
  });

  it('resolves a single site to local or remote', () => {
    expect(resolve('{pods: Site1}', 'pods')).toMatchObject({ source: 'service', collaboration: 'local', sites: ['Site1'] });
    expect(resolve('{pods: Site2}', 'pods')).toMatchObject({
      source: 'service',
      collaboration: 'remote',
      target: there('Site2'),
      sites: ['Site2'],
    });
  });

  it('resolves & to a replication on every site', () => {
    const resolution = resolve('{Site1 & Site2 & Site3}', 'pods', deployment({ down: ['Site3'] }));
    expect(resolution).toMatchObject({ source: 'all', collaboration: 'replication', targetCollaboration: 'replication' });
    expect(resolution.location).toEqual({
      kind: 'replication',
      members: [here('Site1'), there('Site2'), there('Site3', false)],
    });
    expect(resolution.sites).toEqual(['Site1', 'Site2', 'Site3']);
    expect(resolution.warnings).toEqual([]);
  });

  it('resolves % to a cross over the sites', () => {
    const resolution = resolve('{namespaces: Site1 % Site2}', 'namespaces');
    expect(resolution).toMatchObject({ collaboration: 'cross', targetCollaboration: 'cross', sites: ['Site1', 'Site2'] });
    expect(resolution.target).toEqual({ kind: 'cross', members: [here('Site1'), there('Site2')] });
  });

  it('keeps nested groups: (Site1 & Site2) % Site3', () => {
    const resolution = resolve('{pods: (Site1 & Site2) % Site3}', 'pods');
    expect(resolution.location).toEqual({
      kind: 'cross',
      members: [{ kind: 'replication', members: [here('Site1'), there('Site2')] }, there('Site3')],
    });
    expect(resolution.sites).toEqual(['Site1', 'Site2', 'Site3']);
  });

  it('lists each site once, in the order written', () => {
    expect(resolve('{(Site2 & Site1) % (Site1 & Site3)}', 'pods').sites).toEqual(['Site2', 'Site1', 'Site3']);
  });
});

describe('resolveScope: failover', () => {
  it('uses the first alternative when it is up', () => {
    const resolution = resolve('{Site2 || Site3}', 'pods');
    expect(resolution).toMatchObject({
      collaboration: 'failover',
      location: { kind: 'failover', alternatives: [there('Site2'), there('Site3')], chosen: 0 },
      target: there('Site2'),
      targetCollaboration: 'remote',
      sites: ['Site2'],
      warnings: [],
    });
  });

  it('fails over to the next reachable alternative, and says so', () => {
    const resolution = resolve('{Site2 || Site3}', 'pods', deployment({ down: ['Site2'] }));
    expect(resolution).toMatchObject({ target: there('Site3'), sites: ['Site3'] });
    expect(resolution.warnings).toEqual([`'Site2 || Site3': Site2 unreachable; using Site3`]);
  });

  it('counts this site as always reachable', () => {
    const resolution = resolve('{Site2 || Site1}', 'pods', deployment({ down: ['Site2', 'Site3'] }));
    expect(resolution).toMatchObject({ target: here('Site1'), targetCollaboration: 'local' });
  });

  it('tries the first alternative when none is reachable, and says so', () => {
    const resolution = resolve('{Site2 || Site3}', 'pods', deployment({ down: ['Site2', 'Site3'] }));
    expect(resolution).toMatchObject({ target: there('Site2', false), location: { chosen: 0 } });
    expect(resolution.warnings).toEqual([`'Site2 || Site3': no alternative is reachable; trying Site2`]);
  });

  it('needs every site of a group alternative to be up', () => {
    const resolution = resolve('{pods: (Site2 & Site3) || Site1}', 'pods', deployment({ down: ['Site3'] }));
    expect(resolution).toMatchObject({ collaboration: 'failover', target: here('Site1'), sites: ['Site1'] });
    expect(resolution.warnings).toEqual([`'(Site2 & Site3) || Site1': (Site2 & Site3) unreachable; using Site1`]);
  });

  it('decides a failover nested in a replication', () => {
    const resolution = resolve('{(Site2 || Site3) & Site1}', 'pods', deployment({ down: ['Site2'] }));
    expect(resolution).toMatchObject({ collaboration: 'replication', targetCollaboration: 'replication' });
    expect(resolution.target).toEqual({ kind: 'replication', members: [there('Site3'), here('Site1')] });
    expect(resolution.sites).toEqual(['Site3', 'Site1']);
  });
});

describe('resolveScope: which binding applies', () => {
  const source = '{pods: Site2, Site3, around: Site1, 5ms}';

  it('prefers the service binding, then the bare location, then around', () => {
    const known = deployment({ rtt: { 'Site1>Site2': 3, 'Site1>Site3': 50 } });
    expect(resolve(source, 'pods', known)).toMatchObject({ source: 'service', sites: ['Site2'] });
    expect(resolve(source, 'secrets', known)).toMatchObject({ source: 'all', sites: ['Site3'] });
    expect(resolve('{pods: Site2, around: Site1, 5ms}', 'secrets', known)).toMatchObject({
      source: 'around',
      sites: ['Site1', 'Site2'],
    });
    expect(resolve('{pods: Site2}', 'secrets', known)).toMatchObject({ source: 'none', sites: ['Site1'] });
  });

  it('bindingFor finds the same binding whatever the order written', () => {
    expect(bindingFor(scopeOf('{around: Site1, 5ms, Site3, pods: Site2}'), 'pods')?.kind).toBe('service');
    expect(bindingFor(scopeOf('{around: Site1, 5ms, Site3, pods: Site2}'), 'secrets')?.kind).toBe('all');
    expect(bindingFor(scopeOf('{pods: Site2}'), 'secrets')).toBeUndefined();
  });
});

describe('resolveScope: around', () => {
  const sites = ['Site1', 'Site2', 'Site3', 'Site4'];

  it('takes the sites within the RTT of the centre, nearest first', () => {
    const known = deployment({ sites, rtt: { 'Site1>Site2': 30, 'Site1>Site3': 80, 'Site1>Site4': 10 } });
    const resolution = resolve('{around: Site1, 50ms}', 'pods', known);
    expect(resolution).toMatchObject({ source: 'around', collaboration: 'replication', warnings: [] });
    expect(resolution.sites).toEqual(['Site1', 'Site4', 'Site2']);
  });

  it('includes a site exactly at the radius, and reads seconds', () => {
    const known = deployment({ sites, rtt: { 'Site1>Site2': 50, 'Site1>Site3': 51, 'Site1>Site4': 500 } });
    expect(resolve('{around: Site1, 0.05s}', 'pods', known).sites).toEqual(['Site1', 'Site2']);
  });

  it('measures from the centre, which may be another site', () => {
    const known = deployment({ sites, rtt: { 'Site2>Site1': 15, 'Site2>Site3': 25, 'Site2>Site4': 5 } });
    expect(resolve('{around: Site2, 20ms}', 'pods', known)).toMatchObject({
      collaboration: 'replication',
      sites: ['Site2', 'Site4', 'Site1'],
    });
  });

  it('is a single site when nothing else is within reach', () => {
    const known = deployment({ sites, rtt: { 'Site2>Site1': 15, 'Site2>Site3': 25, 'Site2>Site4': 5 } });
    expect(resolve('{around: Site2, 1ms}', 'pods', known)).toMatchObject({
      collaboration: 'remote',
      target: there('Site2'),
      sites: ['Site2'],
    });
  });

  it('falls back to the sites known up when no RTT is measured yet, with a warning', () => {
    const resolution = resolve('{around: Site1, 50ms}', 'pods', deployment({ sites, down: ['Site3'] }));
    expect(resolution.sites).toEqual(['Site1', 'Site2', 'Site4']);
    expect(resolution.warnings).toEqual([
      `no RTT measured from Site1 yet: 'around: Site1, 50ms' falls back to the sites known up (Site1, Site2, Site4)`,
    ]);
  });

  it('leaves out sites with no measurement when others are measured, with a warning', () => {
    const known = deployment({ sites, rtt: { 'Site1>Site2': 30, 'Site1>Site4': 10 } });
    const resolution = resolve('{around: Site1, 50ms}', 'pods', known);
    expect(resolution.sites).toEqual(['Site1', 'Site4', 'Site2']);
    expect(resolution.warnings).toEqual([`no RTT measured from Site1 to Site3 yet: left out of 'around: Site1, 50ms'`]);
  });

  it('gives this site alone, silently, in a deployment of one', () => {
    const resolution = resolve('{around: Site1, 50ms}', 'pods', deployment({ sites: ['Site1'] }));
    expect(resolution).toMatchObject({ collaboration: 'local', sites: ['Site1'], warnings: [] });
  });
});

describe('unknown sites', () => {
  it('names the first unknown site, its column and the known sites', () => {
    const result = resolveScope(scopeOf('{pods: Site1 & Site9}'), 'pods', deployment());
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe(ErrorCode.ScopeUnknownSite);
    expect(result.error.message).toBe(`unknown site 'Site9' at column 16; known sites: Site1, Site2, Site3`);
    expect(result.error.details).toEqual({
      site: 'Site9',
      line: 1,
      column: 16,
      offset: 15,
      known: ['Site1', 'Site2', 'Site3'],
    });
  });

  it('checks every binding, not only the one used', () => {
    const result = resolveScope(scopeOf('{pods: Site1, secrets: Sitex, Site8}'), 'pods', deployment());
    expect(result.ok ? undefined : result.error.message).toBe(
      `unknown site 'Sitex' at column 24; known sites: Site1, Site2, Site3`,
    );
  });

  it('checks the centre of around', () => {
    const error = validateSites(scopeOf('{around: Elsewhere, 5ms}'), deployment());
    expect(error?.details).toMatchObject({ site: 'Elsewhere', column: 10 });
  });

  it('lists known sites in numeric order, this site included', () => {
    const known = deployment({ self: 'Site1', sites: ['Site10', 'Site2'] });
    const error = validateSites(scopeOf('{Site3}'), known);
    expect(error?.message).toBe(`unknown site 'Site3' at column 2; known sites: Site1, Site2, Site10`);
  });

  it('names the line when the site is past the first line', () => {
    const error = validateSites(scopeOf('{pods: Site1,\n secrets: Site7}'), deployment());
    expect(error?.message).toBe(`unknown site 'Site7' at line 2, column 11; known sites: Site1, Site2, Site3`);
  });

  it('accepts a scope whose sites are all known', () => {
    expect(validateSites(scopeOf('{pods: Site1 & Site2, around: Site3, 5ms}'), deployment())).toBeUndefined();
  });
});
