/**
 * Watches: a chunked stream of `{"type":…,"object":…}` lines kept open until the client leaves,
 * `timeoutSeconds` passes or the server closes. Resource-version semantics follow the API server's
 * watch cache: unset or "0" starts with ADDED events for the current state, a version replays the
 * changes after it (410 Expired when they are no longer known); `sendInitialEvents=true` ends its
 * initial events with a bookmark annotated `k8s.io/initial-events-end`. Objects moving into or
 * out of a selector are seen as ADDED or DELETED, as a filtered watch reports them.
 */
import type { Clock, Timer } from '../../../core/clock.js';
import type { Logger } from '../../../core/logger.js';
import { badRequest, invalid } from '../errors.js';
import { cloneJson, stringAt, type JsonObject } from '../json.js';
import { labelsOf, metadataOf, namespaceOf } from '../object-meta.js';
import type { Registry } from '../registry.js';
import { apiVersionOf, type ResourceType } from '../resources.js';
import { matchesFields, matchesLabels } from '../selectors.js';
import type { StoreEvent, WatchEventType } from '../store.js';
import { toTable, type IncludeObject } from '../tables.js';
import { selectionOf, type Selection } from './list.js';
import { partialObject, type Output } from './negotiation.js';
import { booleanParameter, integerParameter, stringParameter } from './query.js';

export interface WatchDependencies {
  readonly registry: Registry;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Close functions of the open watches, so that the server can end them on close. */
  readonly open: Set<() => void>;
}

export interface WatchTarget {
  readonly type: ResourceType;
  readonly namespace: string;
  readonly name?: string;
}

type EventType = WatchEventType | 'BOOKMARK';

interface WatchEvent {
  readonly type: EventType;
  readonly object: JsonObject;
}

/** Watches end after half an hour when the client sets no timeout, as the API server's do. */
const defaultTimeoutSeconds = 1800;
const bookmarkIntervalMs = 60_000;
const encoder = new TextEncoder();

function matches(target: WatchTarget, selection: Selection, object: JsonObject | undefined): boolean {
  if (object === undefined) return false;
  if (target.namespace !== '' && namespaceOf(object) !== target.namespace) return false;
  return matchesLabels(selection.labels, labelsOf(object)) && matchesFields(selection.fields, object);
}

/** The event a filtered watch sees for a store change, if any. */
export function filterEvent(target: WatchTarget, selection: Selection, event: StoreEvent): WatchEvent | undefined {
  if (event.resource !== target.type) return undefined;
  const now = matches(target, selection, event.object);
  if (event.type === 'ADDED') return now ? { type: 'ADDED', object: event.object } : undefined;
  const before = matches(target, selection, event.previous ?? event.object);
  if (event.type === 'DELETED') return before ? { type: 'DELETED', object: event.object } : undefined;
  if (before && now) return { type: 'MODIFIED', object: event.object };
  if (now) return { type: 'ADDED', object: event.object };
  if (!before) return undefined;
  const gone = cloneJson(event.previous ?? event.object);
  metadataOf(gone).resourceVersion = String(event.resourceVersion);
  return { type: 'DELETED', object: gone };
}

function validateOptions(query: URLSearchParams): { sendInitialEvents: boolean | undefined; bookmarks: boolean } {
  const sendInitialEvents = booleanParameter(query, 'sendInitialEvents');
  const bookmarks = booleanParameter(query, 'allowWatchBookmarks') ?? false;
  const match = stringParameter(query, 'resourceVersionMatch');
  if (sendInitialEvents !== undefined) {
    const causes = [];
    if (match !== 'NotOlderThan') {
      causes.push({ reason: 'FieldValueForbidden', field: 'resourceVersionMatch', message: "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan" });
    }
    if (sendInitialEvents && !bookmarks) {
      causes.push({ reason: 'FieldValueForbidden', field: 'allowWatchBookmarks', message: 'Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true' });
    }
    if (causes.length > 0) throw invalid('meta.k8s.io', 'ListOptions', '', causes);
  } else if (match !== undefined) {
    throw invalid('meta.k8s.io', 'ListOptions', '', [
      { reason: 'FieldValueForbidden', field: 'resourceVersionMatch', message: 'Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided' },
    ]);
  }
  return { sendInitialEvents, bookmarks };
}

/** The events a new watch starts with (initial state or replayed history), and its start version. */
function startingEvents(deps: WatchDependencies, target: WatchTarget, selection: Selection, query: URLSearchParams, sendInitialEvents: boolean | undefined): WatchEvent[] {
  const version = stringParameter(query, 'resourceVersion');
  const store = deps.registry.store;
  if (sendInitialEvents === true || (sendInitialEvents === undefined && (version === undefined || version === '0'))) {
    const objects = store.list(target.type, target.namespace === '' ? undefined : target.namespace).filter((object) => matches(target, selection, object));
    return objects.map((object) => ({ type: 'ADDED', object }));
  }
  if (version === undefined || version === '0') return [];
  if (!/^\d+$/.test(version)) throw badRequest(`invalid resource version: ${JSON.stringify(version)}`);
  return store.changesSince(Number(version)).flatMap((event) => filterEvent(target, selection, event) ?? []);
}

/** Opens a watch; throws an ApiError (answered as a Status) when it cannot start. */
export function openWatch(deps: WatchDependencies, target: WatchTarget, query: URLSearchParams, output: Output, includeObject: IncludeObject): Response {
  const selection = selectionOf(target.type, query, target.name);
  const { sendInitialEvents, bookmarks } = validateOptions(query);
  const timeoutSeconds = integerParameter(query, 'timeoutSeconds') ?? defaultTimeoutSeconds;
  const initial = startingEvents(deps, target, selection, query, sendInitialEvents);
  const apiVersion = apiVersionOf(target.type.group, target.type.version);
  const bookmark = (annotations?: JsonObject): WatchEvent => ({
    type: 'BOOKMARK',
    object: { kind: target.type.kind, apiVersion, metadata: { resourceVersion: String(deps.registry.store.resourceVersion), ...(annotations === undefined ? {} : { annotations }) } },
  });
  if (sendInitialEvents === true) initial.push(bookmark({ 'k8s.io/initial-events-end': 'true' }));
  let headersSent = false;
  const encode = (event: WatchEvent): Uint8Array => {
    let object: JsonObject = event.object;
    if (event.type !== 'BOOKMARK' && output.shape === 'Table') {
      object = toTable(target.type, [event.object], { now: deps.clock.now(), includeObject, noHeaders: headersSent, resourceVersion: stringAt(metadataOf(event.object), 'resourceVersion') ?? '' });
      headersSent = true;
    } else if (event.type !== 'BOOKMARK' && output.shape === 'PartialObjectMetadata') object = partialObject(event.object);
    return encoder.encode(`${JSON.stringify({ type: event.type, object })}\n`);
  };
  const timers: Timer[] = [];
  let unsubscribe: (() => void) | undefined;
  let closed = false;
  let close = (): void => undefined;
  let cancelHook = (): void => undefined;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const cleanup = (): void => {
        if (closed) return;
        closed = true;
        unsubscribe?.();
        for (const timer of timers) timer.cancel();
        deps.open.delete(close);
      };
      close = (): void => {
        if (closed) return;
        cleanup();
        controller.close();
      };
      const send = (event: WatchEvent): void => {
        if (!closed) controller.enqueue(encode(event));
      };
      deps.open.add(close);
      for (const event of initial) send(event);
      unsubscribe = deps.registry.store.subscribe((change) => {
        const event = filterEvent(target, selection, change);
        if (event !== undefined) send(event);
      });
      timers.push(deps.clock.setTimeout(close, timeoutSeconds * 1000));
      if (bookmarks) timers.push(deps.clock.setInterval(() => send(bookmark()), bookmarkIntervalMs));
      cancelHook = cleanup;
    },
    cancel() {
      cancelHook();
    },
  });
  deps.logger.debug({ resource: target.type.plural, namespace: target.namespace, events: initial.length }, 'watch opened');
  return new Response(stream, { status: 200, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' } });
}
