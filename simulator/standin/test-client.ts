/** A small client for the stand-in's unit tests: requests through `fetch`, no socket. */
import { MemoryLogger } from '../../core/logger.js';
import type { Storage } from '../../crdt/storage.js';
import type { JsonObject } from './json.js';
import { createStandin, type Standin } from './standin.js';
import { ManualClock, SeededRandom } from './test-support.js';

export interface TestResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: JsonObject;
}

export interface TestStandin {
  readonly standin: Standin;
  readonly clock: ManualClock;
  readonly logger: MemoryLogger;
  /** Sends a request; a non-string, non-bytes body is sent as JSON. */
  readonly request: (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<TestResponse>;
}

/** A stand-in on a manual clock and a seeded random source, ready to use. */
export async function testStandin(options: { site?: string; seed?: number; storage?: Storage; watchHistorySize?: number } = {}): Promise<TestStandin> {
  const clock = new ManualClock();
  const logger = new MemoryLogger();
  const standin = createStandin({
    site: options.site ?? 'Site1',
    clock,
    random: new SeededRandom(options.seed ?? 1),
    logger,
    ...(options.storage === undefined ? {} : { storage: options.storage }),
    ...(options.watchHistorySize === undefined ? {} : { watchHistorySize: options.watchHistorySize }),
  });
  await standin.ready;
  await standin.idle();
  const request = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<TestResponse> => {
    let payload: string | Uint8Array | undefined;
    const sent = { ...headers };
    if (typeof body === 'string' || body instanceof Uint8Array) payload = body;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      sent['content-type'] ??= 'application/json';
    }
    const response = await standin.fetch(new Request(`http://standin.test${path}`, { method, headers: sent, ...(payload === undefined ? {} : { body: payload }) }));
    const text = await response.text();
    const parsed: unknown = text === '' ? {} : JSON.parse(text);
    await standin.idle();
    return { status: response.status, headers: response.headers, body: parsed as JsonObject };
  };
  return { standin, clock, logger, request };
}

/** A minimal pod manifest. */
export function podManifest(name: string, labels: Record<string, string> = {}): JsonObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } };
}

/** A minimal deployment manifest. */
export function deploymentManifest(name: string, replicas: number, image = 'nginx:1.27'): JsonObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } },
    },
  };
}
