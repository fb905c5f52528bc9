/**
 * The control API of a running `cheops up`: the network between its sites, over HTTP and JSON on a
 * local port (127.0.0.1:<base port> by default). `cheops partition`, `cheops heal`, `cheops link`
 * and `cheops links` are its clients; curl works as well:
 *
 * | request | body | what |
 * |---|---|---|
 * | `GET /v1/links` | | every link: sites, relay, state, conditions each way, bytes and connections |
 * | `POST /v1/partition` | `{"groups": [["Site3"]], "mode": "reset"}` | cuts every link between sites of different groups; sites in no group form one more group |
 * | `POST /v1/heal` | `{"sites": ["Site3"]}` or `{}` | heals the links of those sites, or every link |
 * | `POST /v1/link` | `{"from": "Site1", "to": "Site2", "latency": "100ms", "loss": "1%", "bandwidth": "10mbit", "oneWay": false}` | changes a link's conditions |
 *
 * Errors are `{"error": "...", "code": "..."}` with status 400 (bad input) or 404 (no such route).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { CheopsError, ErrorCode, errorMessage, isCheopsError } from '../core/index.js';
import {
  cutModes, parseBandwidth, parseLatency, parseLoss, type CutMode, type LinkConditions, type RelayMesh,
} from '../simulator/relay/index.js';

/** A running control API. */
export interface ControlServer {
  readonly url: string;
  close(): Promise<void>;
}

type Handler = (mesh: RelayMesh, body: Record<string, unknown>) => unknown;

const routes: Record<string, Handler> = {
  'GET /v1/links': (mesh) => ({ items: mesh.status() }),
  'POST /v1/partition': (mesh, body) => {
    const groups = stringLists(body.groups, 'groups');
    const mode = body.mode ?? 'reset';
    if (typeof mode !== 'string' || !cutModes.includes(mode as CutMode)) throw badRequest(`mode must be one of ${cutModes.join(', ')}`);
    return { cut: mesh.partition(groups, mode as CutMode) };
  },
  'POST /v1/heal': (mesh, body) => ({ healed: mesh.heal(body.sites === undefined ? undefined : stringList(body.sites, 'sites')) }),
  'POST /v1/link': (mesh, body) => {
    const from = body.from;
    const to = body.to;
    if (typeof from !== 'string' || typeof to !== 'string') throw badRequest('from and to must be site names');
    mesh.setConditions(from, to, conditionsChange(body), { oneWay: body.oneWay === true });
    return { items: mesh.status().filter((link) => [link.from, link.to].includes(from) && [link.from, link.to].includes(to)) };
  },
};

/** Serves the control API of `mesh` on `host:port`. */
export async function startControlServer(mesh: RelayMesh, host: string, port: number): Promise<ControlServer> {
  const server = createServer((request, response) => {
    void handle(mesh, request, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(new CheopsError(ErrorCode.ConfigInvalid, `cannot serve the control API on ${host}:${port}: ${error.code ?? error.message} (choose another with --control)`, { cause: error }));
    });
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  return { url: `http://${host}:${bound}`, close: () => closeServer(server) };
}

async function handle(mesh: RelayMesh, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = (request.url ?? '/').split('?')[0] ?? '/';
  const handler = routes[`${request.method ?? 'GET'} ${path}`];
  try {
    if (handler === undefined) {
      reply(response, 404, { error: `no route ${request.method ?? ''} ${path}; see GET /v1/links`, code: ErrorCode.HttpNotFound });
      return;
    }
    reply(response, 200, handler(mesh, await readJson(request)));
  } catch (error) {
    const code = isCheopsError(error) ? error.code : ErrorCode.HttpBadRequest;
    reply(response, 400, { error: errorMessage(error), code });
  }
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > 64 * 1024) throw badRequest('body larger than 64 KiB');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw badRequest('the body is not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw badRequest('the body must be a JSON object');
  return parsed as Record<string, unknown>;
}

function conditionsChange(body: Record<string, unknown>): Partial<LinkConditions> {
  const change: { -readonly [K in keyof LinkConditions]?: LinkConditions[K] } = {};
  const text = (name: string): string | undefined => {
    const value = body[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' && typeof value !== 'number') throw badRequest(`${name} must be a string such as the CLI takes`);
    return String(value);
  };
  const latency = text('latency');
  const loss = text('loss');
  const bandwidth = text('bandwidth');
  if (latency !== undefined) change.latency = parseLatency(latency, 'latency');
  if (loss !== undefined) change.loss = parseLoss(loss, 'loss');
  if (bandwidth !== undefined) change.bandwidthBytesPerSecond = bandwidth === 'unlimited' ? undefined : parseBandwidth(bandwidth, 'bandwidth');
  if (Object.keys(change).length === 0) throw badRequest('nothing to change: give latency, loss or bandwidth');
  return change;
}

function stringList(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw badRequest(`${name} must be a list of site names`);
  return value;
}

function stringLists(value: unknown, name: string): string[][] {
  if (!Array.isArray(value) || value.length === 0) throw badRequest(`${name} must be a non-empty list of lists of site names`);
  return value.map((group) => stringList(group, name));
}

function badRequest(message: string): CheopsError {
  return new CheopsError(ErrorCode.HttpBadRequest, message);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
