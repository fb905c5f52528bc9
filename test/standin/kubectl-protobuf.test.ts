/**
 * Where the protobuf test vectors of simulator/standin/testdata/ come from, checked again on every
 * run: each command of testdata/vectors.json runs with the real kubectl against a stand-in behind a
 * recording proxy, and the one protobuf body it sends must decode to what kubectl says the object
 * is: the JSON that `--dry-run=client -o json` prints (Go's own encoding of the object it sends),
 * or, for `kubectl debug --copy-to`, the source pod as the server returned it, copied as kubectl does.
 *
 *   CHEOPS_UPDATE_VECTORS=1 npx vitest run test/standin/kubectl-protobuf.test.ts
 *
 * rewrites testdata/<name>.pb and <name>.json from this run, after the same checks.
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logger.js';
import { systemClock, systemRandom } from '../../core/system.js';
import { createStandin, type Standin } from '../../simulator/standin/index.js';
import type { JsonObject } from '../../simulator/standin/json.js';
import { decodeProtobufBody, protobufVectors, testdataFile, testdataUrl, type ProtobufVector } from '../../simulator/standin/test-support.js';
import { kubectlBinary, kubectlFor, type Kubectl } from './kubectl-harness.js';

const update = process.env.CHEOPS_UPDATE_VECTORS === '1';
const testdata = fileURLToPath(testdataUrl);

/** A stand-in behind a plain HTTP proxy that keeps every protobuf body written to it. */
interface Recorder {
  readonly url: string;
  readonly bodies: Buffer[];
  close(): Promise<void>;
}

async function relay(standin: Standin, request: IncomingMessage, response: ServerResponse, bodies: Buffer[]): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  if (request.method !== 'GET' && request.headers['content-type']?.includes('protobuf') === true) bodies.push(body);
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) if (typeof value === 'string') headers.set(name, value);
  const answer = await standin.fetch(
    new Request(`http://standin${request.url ?? '/'}`, { method: request.method ?? 'GET', headers, ...(body.length > 0 ? { body } : {}) }),
  );
  response.writeHead(answer.status, Object.fromEntries(answer.headers));
  response.end(Buffer.from(await answer.arrayBuffer()));
}

async function startRecorder(): Promise<Recorder> {
  const standin = createStandin({ site: 'Site1', clock: systemClock, random: systemRandom, logger: silentLogger });
  await standin.ready;
  const bodies: Buffer[] = [];
  const server = createServer((request, response) => {
    relay(standin, request, response, bodies).catch((error: unknown) => response.destroy(error as Error));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await standin.close();
    },
  };
}

/** `kubectl debug --copy-to`'s copy of `source` (kubectl 1.32, all --keep-* flags), without the debug container. */
function debugCopy(source: JsonObject, copyName: string): JsonObject {
  const metadata = source.metadata as JsonObject;
  const { nodeName: _nodeName, ...spec } = source.spec as JsonObject;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: copyName, namespace: metadata.namespace ?? null, creationTimestamp: null, labels: metadata.labels ?? null, annotations: metadata.annotations ?? null },
    spec: { ...spec, shareProcessNamespace: true },
    status: {},
  };
}

function withoutLastContainer(pod: JsonObject): JsonObject {
  const spec = pod.spec as JsonObject;
  return { ...pod, spec: { ...spec, containers: (spec.containers as JsonObject[]).slice(0, -1) } };
}

const clientVersion = /v\d+\.\d+\.\d+/.exec(execFileSync(kubectlBinary, ['version', '--client'], { encoding: 'utf8' }))?.[0];
const vectorsVersion = (JSON.parse(testdataFile('vectors.json').toString('utf8')) as { kubectl: string }).kubectl;

describe("kubectl's protobuf bodies (the source of testdata/)", () => {
  let recorder: Recorder;
  let kubectl: Kubectl;
  const substitute = (args: readonly string[]): string[] =>
    args.map((arg) => arg.replaceAll('{dir}', kubectl.directory).replaceAll('{testdata}', testdata));
  const ok = async (args: readonly string[]): Promise<string> => {
    const result = await kubectl.run(substitute(args));
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.code}):\n${result.stderr}`);
    return result.stdout;
  };

  beforeAll(async () => {
    recorder = await startRecorder();
    kubectl = await kubectlFor(recorder.url);
    await writeFile(join(kubectl.directory, 'bytes.bin'), Uint8Array.from({ length: 256 }, (_, index) => index));
    await writeFile(join(kubectl.directory, 'app.conf'), 'listen 8080\nmode edge\n');
  });

  afterAll(async () => {
    await recorder?.close();
    await kubectl?.dispose();
  });

  /** Runs a vector's command and returns the one protobuf body it sent, and what it must decode to. */
  async function capture(vector: ProtobufVector): Promise<{ body: Buffer; expected: JsonObject; decoded: JsonObject }> {
    for (const step of vector.setup ?? []) await ok(step);
    recorder.bodies.length = 0;
    await ok(vector.kubectl);
    expect(recorder.bodies, `${vector.name}: protobuf bodies sent`).toHaveLength(1);
    const body = recorder.bodies[0]!;
    const decoded = decodeProtobufBody(body);
    if (vector.expected === 'dry-run') {
      return { body, decoded, expected: JSON.parse(await ok([...vector.kubectl, '--dry-run=client', '-o', 'json'])) as JsonObject };
    }
    const copyTo = vector.kubectl.find((arg) => arg.startsWith('--copy-to='))?.slice('--copy-to='.length) ?? '';
    const source = JSON.parse(await ok(['get', 'pod', vector.kubectl[1] ?? '', '-n', 'vectors', '-o', 'json'])) as JsonObject;
    expect(withoutLastContainer(decoded)).toEqual(debugCopy(source, copyTo));
    expect((decoded.spec as { containers: JsonObject[] }).containers.at(-1)).toMatchObject({ name: 'debugger', image: 'busybox:1.36' });
    return { body, decoded, expected: decoded };
  }

  // In order: the namespace first, the others are created in it.
  it.each(protobufVectors().map((vector) => [vector.name, vector] as const))('%s decodes to the object kubectl meant', async (_name, vector) => {
    const { body, decoded, expected } = await capture(vector);
    expect(decoded).toEqual(expected);
    if (update) {
      await writeFile(join(testdata, `${vector.name}.pb`), body);
      await writeFile(join(testdata, `${vector.name}.json`), `${JSON.stringify(expected, null, 2)}\n`);
    } else if (clientVersion === vectorsVersion && vector.expected === 'dry-run') {
      // The same kubectl sends the same bytes: the stored vector is what this kubectl really sends.
      expect(body.equals(testdataFile(`${vector.name}.pb`))).toBe(true);
    }
  });
});
