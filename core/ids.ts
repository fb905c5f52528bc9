/**
 * Branded identifiers: a `SiteName` cannot be passed where a `PeerIdString` is expected,
 * although both are strings on the wire.
 */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A site's name as users write it in scopes (`Site1`). */
export type SiteName = Brand<string, 'SiteName'>;
/** A libp2p peer id in its string form (`12D3KooW…`). */
export type PeerIdString = Brand<string, 'PeerIdString'>;
/** The id shared by all replicas of one replicated resource. */
export type MetaId = Brand<string, 'MetaId'>;
/** The id of one Automerge document in the store and on the wire (`sites`, `res/<metaId>`). */
export type DocumentId = Brand<string, 'DocumentId'>;

const siteNamePattern = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;
const documentIdPattern = /^[A-Za-z0-9][A-Za-z0-9_./:-]{0,254}$/;

/** True when `name` can be a site name: a letter then letters, digits, `_` or `-`. */
export function isSiteName(name: string): name is SiteName {
  return siteNamePattern.test(name);
}

export function asSiteName(name: string): SiteName {
  if (!isSiteName(name)) {
    throw new TypeError(
      `invalid site name ${JSON.stringify(name)}: expected a letter followed by letters, digits, '_' or '-'`,
    );
  }
  return name;
}

export function isDocumentId(id: string): id is DocumentId {
  return documentIdPattern.test(id) && !id.includes('..');
}

export function asDocumentId(id: string): DocumentId {
  if (!isDocumentId(id)) throw new TypeError(`invalid document id ${JSON.stringify(id)}`);
  return id;
}

export function asPeerIdString(id: string): PeerIdString {
  return id as PeerIdString;
}

export function asMetaId(id: string): MetaId {
  return id as MetaId;
}

/**
 * Names one resource of the local application: which app, which service (a Kubernetes
 * resource plural, an OpenStack service type), and where it lives in that service.
 */
export interface ResourceKey {
  readonly app: string;
  readonly service: string;
  readonly namespace?: string;
  readonly name: string;
}

export function formatResourceKey(key: ResourceKey): string {
  const namespace = key.namespace === undefined ? '' : `${key.namespace}/`;
  return `${key.app}:${key.service}/${namespace}${key.name}`;
}
