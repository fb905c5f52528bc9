/**
 * The site directory: one document, id `sites`, shared by every site. Each site's entry sits at
 * the root under its libp2p peer id, so sites registering concurrently write different keys and
 * merge without conflict (a nested map created on two sites would hide one of them). A site writes
 * only its own entry.
 *
 * A name already bound to another peer id is refused at registration. Two sites can still claim
 * one name while they cannot see each other (a partition); after the merge every site resolves
 * the claims the same way (earliest `registeredAt`, then smallest peer id) and reports the losers.
 */
import type { Clock } from '../core/clock.js';
import { CheopsError, ErrorCode, isCheopsError } from '../core/errors.js';
import { asDocumentId, isSiteName, type PeerIdString, type SiteName } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { DocumentStore } from './document-store.js';
import {
  parseSiteEntry,
  resolveSiteDirectory,
  storedSiteEntry,
  type SiteDirectoryView,
  type SiteEntry,
  type SiteNameConflict,
} from './site-entries.js';

export type { SiteDirectoryView, SiteEntry, SiteNameConflict } from './site-entries.js';
export { resolveSiteDirectory } from './site-entries.js';

/** The id of the site directory document. */
export const siteDirectoryId = asDocumentId('sites');

/** What a site says about itself when it registers; the directory adds its peer id and the time. */
export interface SiteRegistration {
  readonly name: string;
  readonly addresses: readonly string[];
  readonly http: string;
  readonly app: string;
}

/** Fields of its own entry a registered site may change; a new name goes through register(). */
export type SiteUpdate = Partial<Pick<SiteEntry, 'addresses' | 'http' | 'app'>>;

export interface SiteDirectoryComponents {
  readonly documents: Pick<DocumentStore, 'read' | 'change'>;
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface SiteDirectoryInit {
  /** This site's peer id: the only entry this directory writes. */
  readonly peerId: PeerIdString;
}

type DirectoryDraft = Record<string, unknown>;

export class SiteDirectory {
  private readonly components: SiteDirectoryComponents;
  private readonly logger: Logger;
  private readonly peerId: PeerIdString;

  constructor(components: SiteDirectoryComponents, init: SiteDirectoryInit) {
    this.components = components;
    this.logger = components.logger.child({ component: 'site-directory' });
    this.peerId = init.peerId;
  }

  /**
   * Writes this site's entry and resolves with it once stored. Keeps the original `registeredAt`
   * when the site registers again under the same name (a restart), so it keeps its claim. Rejects
   * with CHEOPS_SITE_NAME_TAKEN when the name resolves to another peer id.
   */
  async register(registration: SiteRegistration): Promise<SiteEntry> {
    const name = checkRegistration(registration);
    let entry: SiteEntry | undefined;
    await this.components.documents.change<DirectoryDraft>(
      siteDirectoryId,
      (doc) => {
        const holder = resolveSiteDirectory(doc).sites.find((site) => site.name === name);
        if (holder !== undefined && holder.peerId !== this.peerId) {
          throw new CheopsError(ErrorCode.SiteNameTaken, `site name ${name} is already bound to peer ${holder.peerId}`, {
            details: { name, peerId: holder.peerId },
          });
        }
        const own = parseSiteEntry(this.peerId, doc[this.peerId]);
        const registeredAt = own?.name === name ? own.registeredAt : Math.floor(this.components.clock.now());
        entry = {
          name,
          peerId: this.peerId,
          addresses: [...registration.addresses],
          http: registration.http,
          app: registration.app,
          registeredAt,
        };
        doc[this.peerId] = storedSiteEntry(entry);
      },
      { create: true, message: `register ${name}` },
    );
    if (entry === undefined) throw new Error('unreachable: the change ran');
    this.logger.info({ name, peerId: this.peerId }, 'site registered');
    return entry;
  }

  /** Changes fields of this site's entry. Rejects with CHEOPS_NOT_RUNNING before register(). */
  async update(patch: SiteUpdate): Promise<SiteEntry> {
    checkFields(patch);
    const unregistered = (): CheopsError => new CheopsError(ErrorCode.NotRunning, 'this site is not registered in the directory yet');
    let entry: SiteEntry | undefined;
    const change = this.components.documents.change<DirectoryDraft>(
      siteDirectoryId,
      (doc) => {
        const own = parseSiteEntry(this.peerId, doc[this.peerId]);
        if (own === undefined) throw unregistered();
        entry = {
          ...own,
          ...(patch.addresses === undefined ? {} : { addresses: [...patch.addresses] }),
          ...(patch.http === undefined ? {} : { http: patch.http }),
          ...(patch.app === undefined ? {} : { app: patch.app }),
        };
        doc[this.peerId] = storedSiteEntry(entry);
      },
      { message: 'update site' },
    );
    await change.catch((error: unknown) => {
      throw isCheopsError(error, ErrorCode.DocumentNotFound) ? unregistered() : error;
    });
    if (entry === undefined) throw new Error('unreachable: the change ran');
    return entry;
  }

  /** The resolved directory: one entry per name, the conflicts, and the malformed entries left out. */
  async view(): Promise<SiteDirectoryView> {
    const content = await this.components.documents.read(siteDirectoryId);
    const view = resolveSiteDirectory(content);
    if (view.ignored.length > 0) this.logger.debug({ peers: view.ignored }, 'malformed site entries ignored');
    return view;
  }

  /** One entry per name, sorted by name; the same on every site holding the same document. */
  async list(): Promise<SiteEntry[]> {
    return [...(await this.view()).sites];
  }

  /** Names claimed by more than one peer id, with the winner every site agrees on. */
  async conflicts(): Promise<SiteNameConflict[]> {
    return [...(await this.view()).conflicts];
  }

  /** The site that holds `name`, if any. */
  async lookup(name: SiteName): Promise<SiteEntry | undefined> {
    return (await this.view()).sites.find((site) => site.name === name);
  }
}

function checkRegistration(registration: SiteRegistration): SiteName {
  if (!isSiteName(registration.name)) {
    throw new CheopsError(
      ErrorCode.ConfigInvalid,
      `invalid site name ${JSON.stringify(registration.name)}: expected a letter followed by letters, digits, '_' or '-'`,
    );
  }
  checkFields(registration);
  return registration.name;
}

function checkFields(fields: SiteUpdate): void {
  const strings = { http: fields.http, app: fields.app };
  for (const [field, value] of Object.entries(strings)) {
    if (value !== undefined && typeof value !== 'string') {
      throw new CheopsError(ErrorCode.ConfigInvalid, `site ${field} must be a string`);
    }
  }
  if (fields.addresses !== undefined && !fields.addresses.every((address) => typeof address === 'string')) {
    throw new CheopsError(ErrorCode.ConfigInvalid, 'site addresses must be strings');
  }
}
