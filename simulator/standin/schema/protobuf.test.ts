import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../json.js';
import { decodeProtobufBody, protobufVectors, testdataFile } from '../test-support.js';
import { decodeEnvelope, decodeMessage, formatGoDuration, protobufMagic } from './protobuf.js';

/**
 * Bodies the real kubectl sent, with the JSON of the object each encodes (testdata/README.md):
 * every kind kubectl sends as protobuf to the resources the stand-in serves.
 */
const vectors = protobufVectors();

describe('protobuf decoding', () => {
  it.each(vectors.map((vector) => vector.name))('decodes %s, as kubectl sent it, to the object kubectl meant', (name) => {
    const expected = JSON.parse(testdataFile(`${name}.json`).toString('utf8')) as JsonObject;
    expect(decodeProtobufBody(testdataFile(`${name}.pb`))).toEqual(expected);
  });

  it('has a vector for every kind kubectl sends as protobuf to the stand-in', () => {
    const kinds = new Set(vectors.map((vector) => vector.kind));
    for (const kind of ['v1/Namespace', 'v1/Secret', 'v1/ConfigMap', 'v1/Service', 'v1/ServiceAccount', 'apps/v1/Deployment', 'v1/Pod']) {
      expect(kinds).toContain(kind);
    }
  });

  it('rejects a body without the magic prefix', () => {
    const result = decodeEnvelope(Buffer.from('{"kind":"Pod"}'));
    expect(result.ok).toBe(false);
  });

  it('rejects a truncated message without throwing', () => {
    const body = testdataFile('core.v1.Pod.pb');
    for (const length of [40, 200, body.length - 1]) {
      const envelope = decodeEnvelope(body.subarray(0, length));
      const outcome = envelope.ok ? decodeMessage('io.k8s.api.core.v1.Pod', envelope.value.raw) : envelope;
      expect(outcome.ok).toBe(false);
    }
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

/** Protobuf wire format, written by hand: enough to build a message field by field. */
const wire = {
  varint(value: bigint): number[] {
    const bytes: number[] = [];
    let rest = BigInt.asUintN(64, value);
    do {
      const low = Number(rest & 0x7fn);
      rest >>= 7n;
      bytes.push(rest === 0n ? low : low | 0x80);
    } while (rest !== 0n);
    return bytes;
  },
  number(field: number, value: number | bigint): number[] {
    return [...wire.varint(BigInt(field << 3)), ...wire.varint(BigInt(value))];
  },
  bytes(field: number, content: readonly number[] | string): number[] {
    const data = typeof content === 'string' ? [...Buffer.from(content, 'utf8')] : content;
    return [...wire.varint(BigInt((field << 3) | 2)), ...wire.varint(BigInt(data.length)), ...data];
  },
  /** A whole request body: the magic, then runtime.Unknown{typeMeta{apiVersion, kind}, raw}. */
  body(apiVersion: string, kind: string, message: readonly number[]): Uint8Array {
    const typeMeta = [...wire.bytes(1, apiVersion), ...wire.bytes(2, kind)];
    return Uint8Array.from([...protobufMagic, ...wire.bytes(1, typeMeta), ...wire.bytes(2, message)]);
  },
};

/**
 * The kinds kubectl never sends as protobuf but a client-go program may (events, scales), and the
 * time types only they carry, built field by field from the numbers in k8s.io/api's generated.proto.
 */
describe('protobuf decoding of hand-built messages', () => {
  const newYear = 1_767_225_600n; // 2026-01-01T00:00:00Z
  const time = (seconds: bigint, nanos = 0): number[] => [...wire.number(1, seconds), ...(nanos === 0 ? [] : wire.number(2, nanos))];

  it('decodes an event: Time drops its nanoseconds, MicroTime keeps microseconds, an empty time is null', () => {
    const metadata = [...wire.bytes(1, 'web.1'), ...wire.bytes(3, 'default'), ...wire.bytes(8, time(newYear))];
    const involved = [...wire.bytes(1, 'Pod'), ...wire.bytes(2, 'default'), ...wire.bytes(3, 'web'), ...wire.bytes(5, 'v1')];
    const series = [...wire.number(1, 2), ...wire.bytes(2, time(newYear + 2n))];
    const event = [
      ...wire.bytes(1, metadata), ...wire.bytes(2, involved), ...wire.bytes(3, 'Probed'),
      ...wire.bytes(6, time(newYear, 500_000_000)), ...wire.bytes(7, []), ...wire.number(8, 3), ...wire.bytes(9, 'Normal'),
      ...wire.bytes(10, time(newYear + 1n, 123_456_789)), ...wire.bytes(11, series), ...wire.bytes(14, 'kubelet'),
    ];
    expect(decodeProtobufBody(wire.body('v1', 'Event', event))).toEqual({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'web.1', namespace: 'default', creationTimestamp: '2026-01-01T00:00:00Z' },
      involvedObject: { kind: 'Pod', namespace: 'default', name: 'web', apiVersion: 'v1' },
      reason: 'Probed',
      source: {},
      firstTimestamp: '2026-01-01T00:00:00Z',
      lastTimestamp: null,
      count: 3,
      type: 'Normal',
      eventTime: '2026-01-01T00:00:01.123456Z',
      series: { count: 2, lastObservedTime: '2026-01-01T00:00:02.000000Z' },
      reportingComponent: 'kubelet',
      reportingInstance: '',
    });
  });

  it('decodes managed fields, whose FieldsV1 holds JSON, and refuses one that does not', () => {
    const fieldsV1 = (json: string): number[] => wire.bytes(1, json);
    const entry = (json: string): number[] => [
      ...wire.bytes(1, 'kubectl-client-side-apply'), ...wire.bytes(2, 'Update'), ...wire.bytes(3, 'v1'),
      ...wire.bytes(4, time(newYear)), ...wire.bytes(6, 'FieldsV1'), ...wire.bytes(7, fieldsV1(json)),
    ];
    const configMap = (json: string): Uint8Array =>
      wire.body('v1', 'ConfigMap', wire.bytes(1, [...wire.bytes(1, 'settings'), ...wire.bytes(17, entry(json))]));
    expect(decodeProtobufBody(configMap('{"f:data":{"f:level":{}}}'))).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'settings',
        creationTimestamp: null,
        managedFields: [
          {
            manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: 'v1', time: '2026-01-01T00:00:00Z',
            fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:level': {} } },
          },
        ],
      },
    });
    const envelope = decodeEnvelope(configMap('{"f:data":'));
    expect(envelope.ok && decodeMessage('io.k8s.api.core.v1.ConfigMap', envelope.value.raw)).toEqual({
      ok: false,
      error: 'proto: io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1 does not hold JSON',
    });
  });

  it('decodes a scale, and a time before 1970', () => {
    const metadata = [...wire.bytes(1, 'web'), ...wire.bytes(3, 'default'), ...wire.bytes(8, time(-86_400n))];
    const scale = [...wire.bytes(1, metadata), ...wire.bytes(2, wire.number(1, 3)), ...wire.bytes(3, [...wire.number(1, 2), ...wire.bytes(2, 'app=web')])];
    expect(decodeProtobufBody(wire.body('autoscaling/v1', 'Scale', scale))).toEqual({
      apiVersion: 'autoscaling/v1',
      kind: 'Scale',
      metadata: { name: 'web', namespace: 'default', creationTimestamp: '1969-12-31T00:00:00Z' },
      spec: { replicas: 3 },
      status: { replicas: 2, selector: 'app=web' },
    });
  });
});
