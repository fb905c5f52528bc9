/**
 * The stand-in's HTTP surface: health, version, discovery, OpenAPI and the resource API, behind one
 * error mapper so that nothing a client sends can crash the server (every failure is a `Status`).
 */
import type { Logger } from '../../../core/logger.js';
import { ApiError, internalError, methodNotAllowed, pathNotFound } from '../errors.js';
import type { JsonObject } from '../json.js';
import { groupVersions } from '../resources.js';
import { openApiDocuments, openApiRoot } from '../schema/openapi.js';
import { openApiV2Document, openApiV2Json, openApiV2Protobuf, openApiV2ProtobufResponse } from '../schema/openapi-v2.js';
import {
  aggregatedContentType,
  aggregatedDiscovery,
  aggregatedVersion,
  coreVersions,
  groupDocument,
  groupList,
  resourceList,
  serverVersion,
  versionInfo,
} from './discovery.js';
import { errorResponse, objectResponse } from './negotiation.js';
import { parseResourceRequest } from './request-info.js';
import { handleResourceRequest, type ResourceContext } from './resource-handlers.js';

export interface RouterContext extends ResourceContext {
  readonly logger: Logger;
}

const documents = openApiDocuments(groupVersions, serverVersion.gitVersion);

function plain(text: string): Response {
  return new Response(text, { status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
}

function discoveryResponse(request: Request, core: boolean, host: string): Response {
  const version = aggregatedVersion(request.headers.get('accept'));
  if (version === undefined) return objectResponse(200, core ? coreVersions(host) : groupList());
  const body: JsonObject = aggregatedDiscovery(core, version);
  return new Response(`${JSON.stringify(body)}\n`, {
    status: 200,
    headers: { 'Content-Type': aggregatedContentType(version), 'Cache-Control': 'no-cache, private', Vary: 'Accept' },
  });
}

let openApiV2: Uint8Array | undefined;

/** `/openapi/v2`: protobuf when asked for (kubectl always is), JSON otherwise. */
function openApiV2Response(request: Request): Response {
  const accept = request.headers.get('accept') ?? '';
  if (!accept.includes(openApiV2Protobuf) && !accept.includes(openApiV2ProtobufResponse)) {
    return objectResponse(200, openApiV2Json(serverVersion.gitVersion));
  }
  openApiV2 ??= openApiV2Document(serverVersion.gitVersion);
  return new Response(openApiV2, { status: 200, headers: { 'Content-Type': openApiV2ProtobufResponse } });
}

function openApiResponse(path: string): Response {
  if (path === '/openapi/v3') return objectResponse(200, openApiRoot(documents));
  const document = documents.get(path.slice('/openapi/v3/'.length));
  if (document === undefined) throw pathNotFound();
  return new Response(document.body, {
    status: 200,
    headers: { 'Content-Type': 'application/json', ETag: `"${document.hash}"`, 'Cache-Control': 'public, immutable', Expires: 'Thu, 01 Jan 2099 00:00:00 GMT' },
  });
}

function nonResource(request: Request, url: URL, path: string): Response | undefined {
  switch (path) {
    case '/version':
      return objectResponse(200, versionInfo());
    case '/healthz':
    case '/livez':
    case '/readyz':
      return plain('ok');
    case '/api':
      return discoveryResponse(request, true, url.host);
    case '/apis':
      return discoveryResponse(request, false, url.host);
    case '/openapi/v2':
      return openApiV2Response(request);
    default:
      break;
  }
  if (path === '/openapi/v3' || path.startsWith('/openapi/v3/')) return openApiResponse(path);
  const core = /^\/api\/([^/]+)$/.exec(path);
  const named = /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
  const group = /^\/apis\/([^/]+)$/.exec(path);
  const document =
    core !== null ? resourceList('', core[1] ?? '') : named !== null ? resourceList(named[1] ?? '', named[2] ?? '') : group !== null ? groupDocument(group[1] ?? '') : undefined;
  if (core !== null || named !== null || group !== null) {
    if (document === undefined) throw pathNotFound();
    return objectResponse(200, document);
  }
  return undefined;
}

/** Answers any request; never throws. Logs each request at debug level. */
export async function route(context: RouterContext, request: Request): Promise<Response> {
  const response = await answer(context, request);
  context.logger.debug(
    { method: request.method, url: request.url, contentType: request.headers.get('content-type') ?? undefined, status: response.status },
    'stand-in request',
  );
  return response;
}

async function answer(context: RouterContext, request: Request): Promise<Response> {
  try {
    const url = new URL(request.url);
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    const isRead = request.method === 'GET' || request.method === 'HEAD';
    const watchParameter = ['true', '1'].includes(url.searchParams.get('watch') ?? '');
    const info = parseResourceRequest(request.method, path, watchParameter);
    if (info !== undefined) return await handleResourceRequest(context, request, url, info);
    const answer = nonResource(request, url, path);
    if (answer === undefined) throw pathNotFound();
    if (!isRead) throw methodNotAllowed();
    return answer;
  } catch (error) {
    if (error instanceof ApiError) return errorResponse(error);
    context.logger.error({ err: error, method: request.method, url: request.url }, 'stand-in request failed');
    return errorResponse(internalError(error instanceof Error ? error.message : String(error)));
  }
}
