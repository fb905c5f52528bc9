/**
 * Content negotiation: which representation a client accepts (JSON, YAML, a meta.k8s.io Table or
 * PartialObjectMetadata), how a request body is decoded (JSON, YAML, Kubernetes protobuf), and
 * how answers are written, warnings included.
 */
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { badRequest, notAcceptable, unsupportedMediaType, type ApiError } from '../errors.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../json.js';
import { structForKind } from '../schema/model.js';
import { decodeEnvelope, decodeMessage } from '../schema/protobuf.js';
import { parseApiVersion } from '../resources.js';

export interface MediaType {
  readonly type: string;
  readonly parameters: Readonly<Record<string, string>>;
}

/** Parses one media type (`application/json;as=Table;v=v1;g=meta.k8s.io`). */
export function parseMediaType(text: string): MediaType {
  const [type = '', ...parts] = text.split(';');
  const parameters: Record<string, string> = {};
  for (const part of parts) {
    const equals = part.indexOf('=');
    if (equals > 0) parameters[part.slice(0, equals).trim().toLowerCase()] = part.slice(equals + 1).trim().replace(/^"|"$/g, '');
  }
  return { type: type.trim().toLowerCase(), parameters };
}

export type OutputShape = 'object' | 'Table' | 'PartialObjectMetadata';

export interface Output {
  readonly format: 'json' | 'yaml';
  readonly shape: OutputShape;
}

const jsonLike = new Set(['application/json', 'application/*', '*/*']);

/** The first acceptable representation in an Accept header; 406 when there is none. */
export function negotiateOutput(accept: string | null, allowTransforms = true): Output {
  if (accept === null || accept.trim() === '') return { format: 'json', shape: 'object' };
  for (const entry of accept.split(',')) {
    const media = parseMediaType(entry);
    const as = media.parameters.as;
    const format = media.type === 'application/yaml' ? 'yaml' : jsonLike.has(media.type) ? 'json' : undefined;
    if (format === undefined) continue;
    if (as === undefined) return { format, shape: 'object' };
    const metaGroup = media.parameters.g === 'meta.k8s.io' && (media.parameters.v === 'v1' || media.parameters.v === 'v1beta1');
    if (!allowTransforms || !metaGroup) continue;
    if (as === 'Table') return { format, shape: 'Table' };
    if (as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') return { format, shape: 'PartialObjectMetadata' };
  }
  throw notAcceptable('only the following media types are accepted: application/json, application/yaml');
}

/** The media types a body may have. */
export const bodyMediaTypes = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];

/** Decodes a create/update/delete body by its Content-Type; `expected` names the type for errors. */
export function decodeBody(contentType: string | null, body: Uint8Array, expected: string): JsonValue {
  const media = parseMediaType(contentType ?? 'application/json').type || 'application/json';
  const unrecognized = `the object provided is unrecognized (must be of type ${expected})`;
  if (media === 'application/json' || media === 'application/yaml') {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch {
      throw badRequest(`${unrecognized}: couldn't get version/kind; json parse error: invalid UTF-8`);
    }
    try {
      return (media === 'application/json' ? JSON.parse(text) : parseYaml(text)) as JsonValue;
    } catch (error) {
      const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
      const prefix = media === 'application/json' ? 'json parse error' : 'error converting YAML to JSON';
      throw badRequest(`${unrecognized}: couldn't get version/kind; ${prefix}: ${detail ?? ''}`);
    }
  }
  if (media === 'application/vnd.kubernetes.protobuf') return decodeProtobuf(body, unrecognized);
  throw unsupportedMediaType(bodyMediaTypes);
}

function decodeProtobuf(body: Uint8Array, unrecognized: string): JsonObject {
  const envelope = decodeEnvelope(body);
  if (!envelope.ok) throw badRequest(`${unrecognized}: ${envelope.error}`);
  const { apiVersion, kind, raw } = envelope.value;
  const { group, version } = parseApiVersion(apiVersion);
  const info = structForKind(group, version, kind) ?? (kind === 'DeleteOptions' ? structForKind('', 'v1', kind) : undefined);
  if (info === undefined) throw badRequest(`${unrecognized}: no kind "${kind}" is registered for version "${apiVersion}"`);
  const decoded = decodeMessage(info.name, raw);
  if (!decoded.ok) throw badRequest(`${unrecognized}: ${decoded.error}`);
  return { apiVersion, kind, ...decoded.value };
}

/** The text of a Warning header (RFC 7234 code 299, as the API server writes it). */
function warningHeader(text: string): string {
  return `299 - ${JSON.stringify(text)}`;
}

/** A JSON (or YAML) answer. */
export function objectResponse(status: number, body: JsonValue, output: Output = { format: 'json', shape: 'object' }, warnings: readonly string[] = []): Response {
  const headers = new Headers({ 'Cache-Control': 'no-cache, private' });
  for (const warning of warnings) headers.append('Warning', warningHeader(warning));
  if (output.format === 'yaml') {
    headers.set('Content-Type', 'application/yaml');
    return new Response(stringifyYaml(body), { status, headers });
  }
  headers.set('Content-Type', 'application/json');
  return new Response(`${JSON.stringify(body)}\n`, { status, headers });
}

/** The `Status` answer of an error. */
export function errorResponse(error: ApiError): Response {
  return objectResponse(error.code, error.toStatus());
}

/** The PartialObjectMetadata of an object. */
export function partialObject(object: JsonObject): JsonObject {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: isJsonObject(object.metadata) ? object.metadata : {} };
}
