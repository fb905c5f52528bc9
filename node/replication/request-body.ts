/**
 * The body of an intercepted write: read whole (bounded), parsed when it is JSON or YAML, and with
 * any scope the glue finds inside it (the `cheops.io/scope` annotation) taken out before the body
 * goes anywhere. Protobuf and other bodies stay opaque bytes.
 */
import { parse as parseYaml } from 'yaml';
import { CheopsError, ErrorCode } from '../../core/index.js';
import type { ReplicationGlue } from '../../glue/types.js';
import type { FrontCall } from '../http/index.js';

/** How a body is written. */
export type BodyFormat = 'json' | 'yaml' | 'opaque';

/** Largest body read: above the 3 MiB a Kubernetes API server accepts, with room. */
export const maxBodyBytes = 8 * 1024 * 1024;

/** A write's body, read. */
export interface WriteBody {
  readonly bytes: Uint8Array;
  /** The media type to send `bytes` with (unchanged unless the body was rewritten). */
  readonly contentType: string | undefined;
  readonly format: BodyFormat;
  /** The parsed body when JSON or YAML that parsed, without any carried scope. */
  readonly parsed: unknown;
  /** The scope the body carried, if any. */
  readonly scope: string | undefined;
}

/** The format of a media type: `application/json`, `…+json`; `application/yaml`, `…+yaml`, `text/yaml`. */
export function bodyFormat(contentType: string | undefined): BodyFormat {
  const media = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (media === 'application/json' || /^application\/[\w.+-]+\+json$/.test(media)) return 'json';
  if (media === 'application/yaml' || media === 'application/x-yaml' || media === 'text/yaml' || /^application\/[\w.+-]+\+yaml$/.test(media)) return 'yaml';
  return 'opaque';
}

function parse(format: BodyFormat, bytes: Uint8Array): unknown {
  if (format === 'opaque' || bytes.length === 0) return undefined;
  const text = new TextDecoder().decode(bytes);
  try {
    return format === 'json' ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100 });
  } catch {
    // The application will say what is wrong with it, in its own words.
    return undefined;
  }
}

/** Reads the call's body whole; more than `maxBodyBytes` is a 400. */
export async function readWriteBody(call: FrontCall, glue: ReplicationGlue): Promise<WriteBody> {
  const declared = Number(call.headers['content-length'] ?? '0');
  if (declared > maxBodyBytes) throw tooLarge(declared);
  const bytes = await call.readBody(maxBodyBytes);
  if (bytes === undefined) throw tooLarge(undefined);
  const contentType = call.headers['content-type'];
  const format = bodyFormat(contentType);
  const parsed = parse(format, bytes);
  if (parsed === undefined) return { bytes, contentType, format, parsed, scope: undefined };
  const taken = glue.takeScope(parsed);
  if (taken.body === parsed) return { bytes, contentType, format, parsed, scope: taken.scope };
  // JSON is YAML too: a rewritten body is sent as JSON under its original media type.
  const rewritten = new TextEncoder().encode(JSON.stringify(taken.body));
  return { bytes: rewritten, contentType, format, parsed: taken.body, scope: taken.scope };
}

/** `bytes` when the request declared it; a chunked body is cut off as soon as it passes the limit. */
function tooLarge(bytes: number | undefined): CheopsError {
  const size = bytes === undefined ? '' : ` (${bytes} bytes)`;
  return new CheopsError(ErrorCode.HttpBadRequest, `the request body${size} is larger than the ${maxBodyBytes} bytes Cheops reads`, {
    details: { ...(bytes === undefined ? {} : { bytes }), limit: maxBodyBytes },
  });
}
