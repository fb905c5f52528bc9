/**
 * Generates api-model.generated.ts from the Go sources of k8s.io/api and k8s.io/apimachinery.
 * Struct tags carry everything a server needs: JSON names and omitempty, protobuf field numbers,
 * patch strategies; `+optional`, `+listType` and `+listMapKey` comments give the rest.
 *
 *   npx vite-node simulator/standin/schema/generate-model.ts -- <k8s.io/api dir> <k8s.io/apimachinery dir>
 *
 * Both directories must be checked out at the version named in `source` below (kubectl 1.32).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSpecialType, type FieldExtras, type FieldTuple, type StructTuple } from './model-types.js';

const source = 'k8s.io/api v0.32.4, k8s.io/apimachinery v0.32.4';

interface GoField {
  readonly name: string;
  readonly goType: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly comments: readonly string[];
}

interface GoPackage {
  readonly id: string;
  readonly imports: ReadonlyMap<string, string>;
  readonly structs: ReadonlyMap<string, GoField[]>;
  readonly aliases: ReadonlyMap<string, string>;
}

/** Go import path -> OpenAPI name prefix, for the packages that are parsed. */
const packageIds: Readonly<Record<string, string>> = {
  'k8s.io/api/core/v1': 'io.k8s.api.core.v1',
  'k8s.io/api/apps/v1': 'io.k8s.api.apps.v1',
  'k8s.io/api/autoscaling/v1': 'io.k8s.api.autoscaling.v1',
  'k8s.io/apimachinery/pkg/apis/meta/v1': 'io.k8s.apimachinery.pkg.apis.meta.v1',
};

/** Types from packages that are not parsed: their Go name -> model type. */
const foreignTypes: Readonly<Record<string, string>> = {
  'k8s.io/apimachinery/pkg/api/resource.Quantity': '@io.k8s.apimachinery.pkg.api.resource.Quantity',
  'k8s.io/apimachinery/pkg/util/intstr.IntOrString': '@io.k8s.apimachinery.pkg.util.intstr.IntOrString',
  'k8s.io/apimachinery/pkg/runtime.RawExtension': '@io.k8s.apimachinery.pkg.runtime.RawExtension',
  'k8s.io/apimachinery/pkg/runtime.Object': '@io.k8s.apimachinery.pkg.runtime.RawExtension',
  'k8s.io/apimachinery/pkg/types.UID': 'string',
};

const builtins: Readonly<Record<string, string>> = {
  string: 'string',
  bool: 'bool',
  int32: 'int32',
  int64: 'int64',
  int: 'int64',
  float64: 'float64',
  byte: 'int32',
};

/** The kinds served, with their group and version. */
const roots: readonly (readonly [string, string, string, readonly string[]])[] = [
  ['io.k8s.api.core.v1', '', 'v1', ['Pod', 'Namespace', 'Secret', 'ConfigMap', 'Service', 'ServiceAccount', 'Event', 'Endpoints']],
  ['io.k8s.api.apps.v1', 'apps', 'v1', ['Deployment', 'ReplicaSet']],
  ['io.k8s.api.autoscaling.v1', 'autoscaling', 'v1', ['Scale']],
  ['io.k8s.apimachinery.pkg.apis.meta.v1', '', 'v1', ['Status', 'DeleteOptions', 'WatchEvent']],
];
const listedKinds = new Set(['Scale', 'Status', 'DeleteOptions', 'WatchEvent']);

function parseTags(text: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const match of text.matchAll(/(\w+):"([^"]*)"/g)) tags[match[1] ?? ''] = match[2] ?? '';
  return tags;
}

function parseImports(text: string): Map<string, string> {
  const imports = new Map<string, string>();
  const block = /^import \(([\s\S]*?)^\)/m.exec(text)?.[1] ?? '';
  for (const line of block.split('\n')) {
    const match = /^\s*(\w+\s+)?"([^"]+)"/.exec(line);
    if (match === null) continue;
    const path = match[2] ?? '';
    const alias = match[1]?.trim() ?? path.slice(path.lastIndexOf('/') + 1);
    imports.set(alias, path);
  }
  return imports;
}

function parsePackage(id: string, text: string): GoPackage {
  const structs = new Map<string, GoField[]>();
  const aliases = new Map<string, string>();
  let current: GoField[] | undefined;
  let comments: string[] = [];
  for (const line of text.split('\n')) {
    const start = /^type (\w+) struct \{$/.exec(line);
    if (start !== null) {
      current = [];
      structs.set(start[1] ?? '', current);
      comments = [];
      continue;
    }
    if (current !== undefined && line === '}') {
      current = undefined;
      continue;
    }
    const alias = /^type (\w+) =?\s*([\w.[\]*]+)$/.exec(line);
    if (current === undefined && alias !== null) aliases.set(alias[1] ?? '', alias[2] ?? '');
    if (current === undefined) continue;
    const comment = /^\s*\/\/(.*)$/.exec(line);
    if (comment !== null) {
      comments.push((comment[1] ?? '').trim());
      continue;
    }
    const named = /^\t(\w+)\s+([^\s`]+)\s+`(.*)`/.exec(line);
    const embedded = /^\t(\*?[\w.]+)\s+`(.*)`/.exec(line);
    if (named !== null) {
      current.push({ name: named[1] ?? '', goType: named[2] ?? '', tags: parseTags(named[3] ?? ''), comments });
    } else if (embedded !== null) {
      const goType = embedded[1] ?? '';
      current.push({ name: goType.replace(/^.*\./, ''), goType, tags: parseTags(embedded[2] ?? ''), comments });
    }
    comments = [];
  }
  return { id, imports: parseImports(text), structs, aliases };
}

class Generator {
  readonly types = new Map<string, StructTuple>();
  private readonly queue: [GoPackage, string][] = [];

  constructor(private readonly packages: ReadonlyMap<string, GoPackage>) {}

  /** The model type of a Go type written in `pkg`; queues the structs it names. */
  resolve(pkg: GoPackage, goType: string): string {
    const type = goType.replace(/^\*/, '');
    if (type === '[]byte') return 'bytes';
    if (type.startsWith('[]')) return `[]${this.resolve(pkg, type.slice(2))}`;
    const map = /^map\[([^\]]+)\](.+)$/.exec(type);
    if (map !== null) {
      if (this.resolve(pkg, map[1] ?? '') !== 'string') throw new Error(`map key of ${type}`);
      return `map[]${this.resolve(pkg, map[2] ?? '')}`;
    }
    const builtin = builtins[type];
    if (builtin !== undefined) return builtin;
    const dot = type.indexOf('.');
    if (dot > 0) {
      const path = pkg.imports.get(type.slice(0, dot)) ?? '';
      const foreign = foreignTypes[`${path}.${type.slice(dot + 1)}`];
      if (foreign !== undefined) return foreign;
      const target = this.packages.get(path);
      if (target === undefined) throw new Error(`unknown package of ${type} in ${pkg.id}`);
      return this.resolve(target, type.slice(dot + 1));
    }
    const qualified = `${pkg.id}.${type}`;
    if (isSpecialType(qualified)) return `@${qualified}`;
    if (pkg.structs.has(type)) {
      this.enqueue(pkg, type);
      return `@${qualified}`;
    }
    const alias = pkg.aliases.get(type);
    if (alias !== undefined) return this.resolve(pkg, alias);
    throw new Error(`unknown type ${type} in ${pkg.id}`);
  }

  enqueue(pkg: GoPackage, name: string, gvk?: readonly [string, string, string]): void {
    const qualified = `${pkg.id}.${name}`;
    if (this.types.has(qualified)) return;
    this.types.set(qualified, { fields: [], ...(gvk === undefined ? {} : { gvk }) });
    this.queue.push([pkg, name]);
  }

  run(): void {
    for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
      const [pkg, name] = next;
      const qualified = `${pkg.id}.${name}`;
      const fields = (pkg.structs.get(name) ?? []).flatMap((field) => this.field(pkg, field));
      this.types.set(qualified, { ...this.types.get(qualified), fields });
    }
  }

  private field(pkg: GoPackage, field: GoField): FieldTuple[] {
    const json = field.tags.json ?? '';
    if (json === '-' || /^[a-z]/.test(field.name)) return [];
    const [jsonName = '', ...options] = json.split(',');
    const inline = options.includes('inline');
    const protobuf = /^\w+,(\d+),/.exec(field.tags.protobuf ?? '');
    const proto = protobuf === null ? 0 : Number(protobuf[1]);
    const omitEmpty = options.includes('omitempty');
    const optional = field.comments.includes('+optional');
    const flags =
      (omitEmpty ? 'o' : '') +
      (field.goType.startsWith('*') ? 'p' : '') +
      (!omitEmpty && !optional && !inline ? 'r' : '') +
      (inline ? 'i' : '');
    const extras = fieldExtras(field);
    const type = this.resolve(pkg, field.goType);
    const tuple: FieldTuple = extras === undefined ? [jsonName, proto, type, flags] : [jsonName, proto, type, flags, extras];
    return [tuple];
  }
}

function fieldExtras(field: GoField): FieldExtras | undefined {
  const marker = (name: string): string[] =>
    field.comments.flatMap((line) => (line.startsWith(`+${name}=`) ? [line.slice(name.length + 2)] : []));
  const extras: { -readonly [K in keyof FieldExtras]: FieldExtras[K] } = {};
  if (field.tags.patchStrategy !== undefined) extras.patchStrategy = field.tags.patchStrategy;
  if (field.tags.patchMergeKey !== undefined) extras.patchMergeKey = field.tags.patchMergeKey;
  const [listType] = marker('listType');
  if (listType !== undefined) extras.listType = listType;
  const listMapKeys = marker('listMapKey');
  if (listMapKeys.length > 0) extras.listMapKeys = listMapKeys;
  const [mapType] = marker('mapType');
  if (mapType !== undefined) extras.mapType = mapType;
  return Object.keys(extras).length === 0 ? undefined : extras;
}

function render(types: ReadonlyMap<string, StructTuple>): string {
  const names = [...types.keys()].sort();
  const lines = names.map((name) => {
    const type = types.get(name) ?? { fields: [] };
    const gvk = type.gvk === undefined ? '' : `gvk: ${JSON.stringify(type.gvk)}, `;
    const fields = type.fields.map((field) => `      ${JSON.stringify(field)},`).join('\n');
    return `    ${JSON.stringify(name)}: {\n      ${gvk}fields: [\n${fields}\n      ],\n    },`;
  });
  return [
    '// Generated by generate-model.ts: do not edit. Derived from the Go types of',
    `// ${source} (Apache License 2.0, The Kubernetes Authors).`,
    "import type { ApiModel } from './model-types.js';",
    '',
    'export const apiModel: ApiModel = {',
    `  source: ${JSON.stringify(source)},`,
    '  types: {',
    ...lines,
    '  },',
    '};',
    '',
  ].join('\n');
}

function main(apiDir: string, machineryDir: string): void {
  const files: Readonly<Record<string, string>> = {
    'k8s.io/api/core/v1': join(apiDir, 'core/v1/types.go'),
    'k8s.io/api/apps/v1': join(apiDir, 'apps/v1/types.go'),
    'k8s.io/api/autoscaling/v1': join(apiDir, 'autoscaling/v1/types.go'),
    'k8s.io/apimachinery/pkg/apis/meta/v1': join(machineryDir, 'pkg/apis/meta/v1/types.go'),
  };
  const packages = new Map<string, GoPackage>();
  for (const [path, file] of Object.entries(files)) {
    packages.set(path, parsePackage(packageIds[path] ?? path, readFileSync(file, 'utf8')));
  }
  const generator = new Generator(packages);
  for (const [id, group, version, kinds] of roots) {
    const pkg = [...packages.values()].find((candidate) => candidate.id === id);
    if (pkg === undefined) throw new Error(`no package ${id}`);
    for (const kind of kinds) {
      generator.enqueue(pkg, kind, [group, version, kind]);
      if (!listedKinds.has(kind)) generator.enqueue(pkg, `${kind}List`, [group, version, `${kind}List`]);
    }
  }
  generator.run();
  const output = new URL('./api-model.generated.ts', import.meta.url);
  writeFileSync(output, render(generator.types));
  console.log(`wrote ${generator.types.size} types to ${output.pathname}`);
}

const [apiDir, machineryDir] = process.argv.slice(2).filter((arg) => arg !== '--');
if (apiDir === undefined || machineryDir === undefined) {
  console.error('usage: generate-model.ts <k8s.io/api dir> <k8s.io/apimachinery dir>');
  process.exitCode = 2;
} else {
  main(apiDir, machineryDir);
}
