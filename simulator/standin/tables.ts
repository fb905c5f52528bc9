/**
 * Server-side printing: the `Table` objects kubectl asks for (`Accept: …;as=Table;g=meta.k8s.io`)
 * with the columns and cells of Kubernetes' own printers (pkg/printers/internalversion), so that
 * `kubectl get` shows NAME READY STATUS RESTARTS AGE for pods, and so on.
 */
import { arrayAt, isJsonObject, numberAt, objectAt, objectsAt, stringAt, stringMapAt, type JsonObject, type JsonValue } from './json.js';
import type { ResourceType } from './resources.js';

interface Column {
  readonly name: string;
  readonly type?: string;
  readonly format?: string;
  readonly priority?: number;
}

type Cell = (object: JsonObject, now: number) => JsonValue;

interface Printer {
  readonly columns: readonly Column[];
  readonly cells: readonly Cell[];
}

const none = '<none>';

/** Kubernetes' duration.HumanDuration: `5s`, `3m20s`, `2h5m`, `4d`, … */
export function humanDuration(millis: number): string {
  const seconds = Math.trunc(millis / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  const years = Math.trunc(hours / 24 / 365);
  const days = Math.trunc(hours / 24) % 365;
  if (hours < 24 * 365 * 8) return days === 0 ? `${years}y` : `${years}y${days}d`;
  return `${years}y`;
}

function since(timestamp: string | undefined, now: number): string {
  if (timestamp === undefined) return '<unknown>';
  const millis = Date.parse(timestamp);
  return Number.isNaN(millis) ? '<unknown>' : humanDuration(now - millis);
}

const name: Cell = (object) => stringAt(objectAt(object, 'metadata'), 'name') ?? '';
const age: Cell = (object, now) => since(stringAt(objectAt(object, 'metadata'), 'creationTimestamp'), now);
const count = (field: string): Cell => (object) => Object.keys(objectAt(object, field) ?? {}).length;
const path = (...keys: string[]): Cell => (object) => {
  let current: JsonValue | undefined = object;
  for (const key of keys) current = isJsonObject(current) ? current[key] : undefined;
  return current ?? 0;
};

function templateContainers(object: JsonObject): JsonObject[] {
  return objectsAt(objectAt(objectAt(objectAt(object, 'spec'), 'template'), 'spec'), 'containers');
}

const containers: Cell = (object) => templateContainers(object).map((container) => stringAt(container, 'name') ?? '').join(',');
const images: Cell = (object) => templateContainers(object).map((container) => stringAt(container, 'image') ?? '').join(',');

/** metav1.FormatLabelSelector: `app=web,tier in (a,b)`, `<none>` when empty. */
export function formatLabelSelector(selector: JsonObject | undefined): string {
  if (selector === undefined) return none;
  const parts = Object.entries(stringMapAt(selector, 'matchLabels')).map(([key, value]) => `${key}=${value}`);
  for (const expression of objectsAt(selector, 'matchExpressions')) {
    const key = stringAt(expression, 'key') ?? '';
    const values = arrayAt(expression, 'values').map(String).join(',');
    const operator = stringAt(expression, 'operator');
    if (operator === 'In') parts.push(`${key} in (${values})`);
    else if (operator === 'NotIn') parts.push(`${key} notin (${values})`);
    else if (operator === 'Exists') parts.push(key);
    else if (operator === 'DoesNotExist') parts.push(`!${key}`);
  }
  return parts.length === 0 ? none : parts.join(',');
}

const selector: Cell = (object) => formatLabelSelector(objectAt(objectAt(object, 'spec'), 'selector'));
const text = (column: string, priority = 0, type = 'string'): Column => ({ name: column, type, priority });
const nameColumn: Column = { name: 'Name', type: 'string', format: 'name' };
const workloadWide = [text('Containers', 1), text('Images', 1), text('Selector', 1)];

function podStatusReason(pod: JsonObject): string {
  const status = objectAt(pod, 'status');
  let reason = stringAt(status, 'reason') ?? stringAt(status, 'phase') ?? '';
  for (const container of objectsAt(status, 'containerStatuses')) {
    const state = objectAt(container, 'state');
    const waiting = stringAt(objectAt(state, 'waiting'), 'reason');
    const terminated = objectAt(state, 'terminated');
    if (waiting !== undefined && waiting !== '') reason = waiting;
    else if (terminated !== undefined) reason = stringAt(terminated, 'reason') ?? 'Error';
  }
  if (stringAt(objectAt(pod, 'metadata'), 'deletionTimestamp') !== undefined) reason = 'Terminating';
  return reason;
}

const podReady: Cell = (pod) => {
  const statuses = objectsAt(objectAt(pod, 'status'), 'containerStatuses');
  const ready = statuses.filter((status) => status.ready === true).length;
  return `${ready}/${objectsAt(objectAt(pod, 'spec'), 'containers').length}`;
};

const podRestarts: Cell = (pod) =>
  objectsAt(objectAt(pod, 'status'), 'containerStatuses').reduce((sum, status) => sum + (numberAt(status, 'restartCount') ?? 0), 0);

function servicePorts(service: JsonObject): string {
  const ports = objectsAt(objectAt(service, 'spec'), 'ports').map((port) => {
    const nodePort = numberAt(port, 'nodePort');
    const protocol = stringAt(port, 'protocol') ?? 'TCP';
    const number = numberAt(port, 'port') ?? 0;
    return nodePort === undefined || nodePort === 0 ? `${number}/${protocol}` : `${number}:${nodePort}/${protocol}`;
  });
  return ports.length === 0 ? none : ports.join(',');
}

function externalIp(service: JsonObject): string {
  const spec = objectAt(service, 'spec');
  const type = stringAt(spec, 'type') ?? 'ClusterIP';
  const external = arrayAt(spec, 'externalIPs').map(String);
  if (type === 'ExternalName') return stringAt(spec, 'externalName') ?? none;
  if (type === 'LoadBalancer') {
    const ingress = objectsAt(objectAt(objectAt(service, 'status'), 'loadBalancer'), 'ingress');
    const addresses = [...ingress.map((item) => stringAt(item, 'ip') ?? stringAt(item, 'hostname') ?? ''), ...external];
    return addresses.length === 0 ? '<pending>' : addresses.join(',');
  }
  return external.length === 0 ? none : external.join(',');
}

function serviceSelector(service: JsonObject): string {
  const entries = Object.entries(stringMapAt(objectAt(service, 'spec'), 'selector')).sort(([a], [b]) => (a < b ? -1 : 1));
  return entries.length === 0 ? none : entries.map(([key, value]) => `${key}=${value}`).join(',');
}

function endpointsCell(endpoints: JsonObject): string {
  const addresses = objectsAt(endpoints, 'subsets').flatMap((subset) => {
    const ports = objectsAt(subset, 'ports').map((port) => numberAt(port, 'port'));
    return objectsAt(subset, 'addresses').flatMap((address) =>
      (ports.length === 0 ? [undefined] : ports).map((port) => `${stringAt(address, 'ip') ?? ''}${port === undefined ? '' : `:${port}`}`),
    );
  });
  if (addresses.length === 0) return none;
  return addresses.length > 3 ? `${addresses.slice(0, 3).join(',')} + ${addresses.length - 3} more...` : addresses.join(',');
}

function eventObject(event: JsonObject): string {
  const involved = objectAt(event, 'involvedObject');
  return `${(stringAt(involved, 'kind') ?? '').toLowerCase()}/${stringAt(involved, 'name') ?? ''}`;
}

const printers: Readonly<Record<string, Printer>> = {
  pods: {
    columns: [nameColumn, text('Ready'), text('Status'), text('Restarts', 0, 'integer'), text('Age'), text('IP', 1), text('Node', 1), text('Nominated Node', 1), text('Readiness Gates', 1)],
    cells: [
      name,
      podReady,
      podStatusReason,
      podRestarts,
      age,
      (pod) => stringAt(objectAt(pod, 'status'), 'podIP') ?? none,
      (pod) => stringAt(objectAt(pod, 'spec'), 'nodeName') ?? none,
      (pod) => stringAt(objectAt(pod, 'status'), 'nominatedNodeName') ?? none,
      (pod) => (objectsAt(objectAt(pod, 'spec'), 'readinessGates').length === 0 ? none : 'gates'),
    ],
  },
  namespaces: {
    columns: [nameColumn, text('Status'), text('Age')],
    cells: [name, (namespace) => stringAt(objectAt(namespace, 'status'), 'phase') ?? '', age],
  },
  secrets: {
    columns: [nameColumn, text('Type'), text('Data'), text('Age')],
    cells: [name, (secret) => stringAt(secret, 'type') ?? '', count('data'), age],
  },
  configmaps: {
    columns: [nameColumn, text('Data'), text('Age')],
    cells: [name, (map) => Object.keys(objectAt(map, 'data') ?? {}).length + Object.keys(objectAt(map, 'binaryData') ?? {}).length, age],
  },
  serviceaccounts: {
    columns: [nameColumn, text('Secrets'), text('Age')],
    cells: [name, (account) => arrayAt(account, 'secrets').length, age],
  },
  services: {
    columns: [nameColumn, text('Type'), text('Cluster-IP'), text('External-IP'), text('Port(s)'), text('Age'), text('Selector', 1)],
    cells: [
      name,
      (service) => stringAt(objectAt(service, 'spec'), 'type') ?? 'ClusterIP',
      (service) => stringAt(objectAt(service, 'spec'), 'clusterIP') || none,
      externalIp,
      servicePorts,
      age,
      serviceSelector,
    ],
  },
  deployments: {
    columns: [nameColumn, text('Ready'), text('Up-to-date'), text('Available'), text('Age'), ...workloadWide],
    cells: [
      name,
      (deployment) => `${numberAt(objectAt(deployment, 'status'), 'readyReplicas') ?? 0}/${numberAt(objectAt(deployment, 'spec'), 'replicas') ?? 0}`,
      path('status', 'updatedReplicas'),
      path('status', 'availableReplicas'),
      age,
      containers,
      images,
      selector,
    ],
  },
  replicasets: {
    columns: [nameColumn, text('Desired', 0, 'integer'), text('Current', 0, 'integer'), text('Ready', 0, 'integer'), text('Age'), ...workloadWide],
    cells: [name, path('spec', 'replicas'), path('status', 'replicas'), path('status', 'readyReplicas'), age, containers, images, selector],
  },
  endpoints: {
    columns: [nameColumn, text('Endpoints'), text('Age')],
    cells: [name, endpointsCell, age],
  },
  events: {
    columns: [text('Last Seen'), text('Type'), text('Reason'), text('Object'), text('Subobject', 1), text('Source', 1), text('Message'), text('First Seen', 1), text('Count', 1), { ...nameColumn, priority: 1 }],
    cells: [
      (event, now) => since(stringAt(event, 'lastTimestamp') ?? stringAt(event, 'eventTime'), now),
      (event) => stringAt(event, 'type') ?? '',
      (event) => stringAt(event, 'reason') ?? '',
      eventObject,
      (event) => stringAt(objectAt(event, 'involvedObject'), 'fieldPath') ?? '',
      (event) => stringAt(objectAt(event, 'source'), 'component') ?? stringAt(event, 'reportingComponent') ?? '',
      (event) => (stringAt(event, 'message') ?? '').trim(),
      (event, now) => since(stringAt(event, 'firstTimestamp') ?? stringAt(event, 'eventTime'), now),
      (event) => numberAt(event, 'count') ?? 1,
      name,
    ],
  },
};

const defaultPrinter: Printer = { columns: [nameColumn, text('Age')], cells: [name, age] };

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** The row's `object`: nothing, the object's metadata (the default) or the whole object. */
function rowObject(object: JsonObject, include: IncludeObject): JsonValue {
  if (include === 'None') return null;
  if (include === 'Object') return object;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: objectAt(object, 'metadata') ?? {} };
}

export interface TableOptions {
  readonly now: number;
  readonly includeObject: IncludeObject;
  readonly noHeaders?: boolean;
  readonly resourceVersion?: string;
  readonly continueToken?: string;
}

/** A meta.k8s.io/v1 Table of `objects` of `type`. */
export function toTable(type: ResourceType, objects: readonly JsonObject[], options: TableOptions): JsonObject {
  const printer = printers[type.plural] ?? defaultPrinter;
  const columnDefinitions = options.noHeaders === true ? [] : printer.columns.map((column) => ({
    name: column.name,
    type: column.type ?? 'string',
    format: column.format ?? '',
    description: '',
    priority: column.priority ?? 0,
  }));
  const metadata: JsonObject = {};
  if (options.resourceVersion !== undefined) metadata.resourceVersion = options.resourceVersion;
  if (options.continueToken !== undefined) metadata.continue = options.continueToken;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions,
    rows: objects.map((object) => ({
      cells: printer.cells.map((cell) => cell(object, options.now)),
      object: rowObject(object, options.includeObject),
    })),
  };
}
