/**
 * The shape of the generated API model (api-model.generated.ts): the Go structs of k8s.io/api and
 * k8s.io/apimachinery that the stand-in serves, reduced to what a server needs to decode protobuf,
 * round-trip JSON the way Go does (omitempty, pointers, zero values), validate field names, publish
 * OpenAPI and apply strategic merge patches. One source for all five keeps them consistent.
 */

/**
 * A field's type, as a small string grammar:
 * `string` `int32` `int64` `bool` `float64` `bytes` (a Go []byte, base64 in JSON),
 * `[]T` (a list), `map[]T` (a map from string), `@name` (a struct or special type by OpenAPI name).
 */
export type TypeExpression = string;

/** Facts about a field besides its type, from struct tags and `+marker` comments. */
export interface FieldExtras {
  readonly patchStrategy?: string;
  readonly patchMergeKey?: string;
  readonly listType?: string;
  readonly listMapKeys?: readonly string[];
  readonly mapType?: string;
}

/**
 * One field: [json name ('' when inline), protobuf field number (0 when absent from protobuf),
 * type, flags, extras]. Flags: `o` omitempty, `p` pointer, `r` required, `i` inline.
 */
export type FieldTuple =
  | readonly [string, number, TypeExpression, string]
  | readonly [string, number, TypeExpression, string, FieldExtras];

/** Group, version, kind of a top-level type. */
export type GroupVersionKindTuple = readonly [group: string, version: string, kind: string];

export interface StructTuple {
  readonly gvk?: GroupVersionKindTuple;
  readonly fields: readonly FieldTuple[];
}

export interface ApiModel {
  /** Where the model came from (versions of the Go modules). */
  readonly source: string;
  readonly types: Readonly<Record<string, StructTuple>>;
}

/** The types encoded by hand-written code rather than as structs (custom Go marshalers). */
export const SpecialType = {
  Time: 'io.k8s.apimachinery.pkg.apis.meta.v1.Time',
  MicroTime: 'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime',
  Duration: 'io.k8s.apimachinery.pkg.apis.meta.v1.Duration',
  FieldsV1: 'io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1',
  Quantity: 'io.k8s.apimachinery.pkg.api.resource.Quantity',
  IntOrString: 'io.k8s.apimachinery.pkg.util.intstr.IntOrString',
  RawExtension: 'io.k8s.apimachinery.pkg.runtime.RawExtension',
} as const;

export type SpecialType = (typeof SpecialType)[keyof typeof SpecialType];

const specialNames: ReadonlySet<string> = new Set(Object.values(SpecialType));

/** True when `name` is one of the hand-encoded types. */
export function isSpecialType(name: string): name is SpecialType {
  return specialNames.has(name);
}
