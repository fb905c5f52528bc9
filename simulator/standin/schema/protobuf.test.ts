import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../json.js';
import { structForKind } from './model.js';
import { normalizeObject } from './normalize.js';
import { decodeEnvelope, decodeMessage, formatGoDuration } from './protobuf.js';

/** Fully populated objects and their protobuf encodings, from k8s.io/api's round-trip test data. */
const vectors = [
  'core.v1.Pod',
  'core.v1.Secret',
  'core.v1.ConfigMap',
  'core.v1.Service',
  'core.v1.Namespace',
  'core.v1.ServiceAccount',
  'core.v1.Event',
  'apps.v1.Deployment',
  'apps.v1.ReplicaSet',
  'autoscaling.v1.Scale',
];

function fixture(name: string): Buffer {
  return readFileSync(new URL(`../testdata/${name}`, import.meta.url));
}

function decodeBody(body: Uint8Array): JsonObject {
  const envelope = decodeEnvelope(body);
  if (!envelope.ok) throw new Error(envelope.error);
  const { apiVersion, kind, raw } = envelope.value;
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const info = structForKind(group ?? '', version ?? '', kind);
  if (info === undefined) throw new Error(`no type for ${apiVersion} ${kind}`);
  const decoded = decodeMessage(info.name, raw);
  if (!decoded.ok) throw new Error(decoded.error);
  return { apiVersion, kind, ...normalizeObject(info.name, decoded.value).value };
}

describe('protobuf decoding', () => {
  it.each(vectors)('decodes %s exactly as the Go server encodes it in JSON', (name) => {
    const expected = JSON.parse(fixture(`${name}.json`).toString('utf8')) as JsonObject;
    expect(decodeBody(fixture(`${name}.pb`))).toEqual(expected);
  });

  it('rejects a body without the magic prefix', () => {
    const result = decodeEnvelope(Buffer.from('{"kind":"Pod"}'));
    expect(result.ok).toBe(false);
  });

  it('rejects a truncated message without throwing', () => {
    const body = fixture('core.v1.Pod.pb');
    const envelope = decodeEnvelope(body.subarray(0, 40));
    const outcome = envelope.ok ? decodeMessage('io.k8s.api.core.v1.Pod', envelope.value.raw) : envelope;
    expect(outcome.ok).toBe(false);
  });

  it('survives random garbage after the magic', () => {
    let seed = 7;
    for (let round = 0; round < 200; round++) {
      const bytes = Uint8Array.from({ length: 64 }, () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0xff);
      bytes.set([0x6b, 0x38, 0x73, 0x00]);
      const envelope = decodeEnvelope(bytes);
      if (envelope.ok) expect(() => decodeMessage('io.k8s.api.core.v1.Pod', envelope.value.raw)).not.toThrow();
    }
  });

  it('formats durations as Go does', () => {
    expect(formatGoDuration(0n)).toBe('0s');
    expect(formatGoDuration(90_000_000_000n)).toBe('1m30s');
    expect(formatGoDuration(1_500_000_000n)).toBe('1.5s');
    expect(formatGoDuration(100_000_000n)).toBe('100ms');
    expect(formatGoDuration(3_600_000_000_000n)).toBe('1h0m0s');
  });
});
