/**
 * Checks resource bodies against Microsoft's own type data for ARM resources (the data the Bicep compiler
 * type-checks with), as trimmed into test/infra/azure-types (its README describes the format). No Bicep CLI
 * can run here, so this stands in for its BCP037 (unknown property), BCP073 (read-only property), BCP036
 * (value outside the allowed ones) and BCP035 (missing required property) diagnostics.
 *
 * Only literal values are checked: an expression (a parameter, a call, an interpolated string) is not
 * knowable here, except a ternary whose branches are literals, whose branches are each checked.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Node } from 'web-tree-sitter';
import { ROOT, stringValue, where, type BicepFile, type Resource } from './bicep.js';

export const AZURE_TYPES = path.resolve(ROOT, 'test/infra/azure-types');

interface Ref {
  $ref: string;
}

interface PropertySpec {
  type: Ref;
  flags: number;
}

type TypeEntry =
  | { $type: 'ResourceType'; name: string; body: Ref }
  | { $type: 'ObjectType'; name: string; properties: Record<string, PropertySpec>; additionalProperties?: Ref }
  | {
      $type: 'DiscriminatedObjectType';
      name: string;
      discriminator: string;
      baseProperties: Record<string, PropertySpec>;
      elements: Record<string, Ref>;
    }
  | { $type: 'StringLiteralType'; value: string }
  | { $type: 'UnionType'; elements: Ref[] }
  | { $type: 'ArrayType'; itemType: Ref; minLength?: number; maxLength?: number }
  | { $type: 'StringType'; pattern?: string; minLength?: number; maxLength?: number }
  | { $type: 'IntegerType'; minValue?: number; maxValue?: number }
  | { $type: 'BooleanType' | 'AnyType' | 'NullType' | 'ResourceFunctionType' };

const REQUIRED = 1;
const READ_ONLY = 2;

/** Bicep language keywords allowed in a resource body besides the type's own properties. */
const KEYWORDS = new Set(['parent', 'scope', 'dependsOn']);

/** A type entry and the file it lives in, so that its `$ref`s resolve. */
interface Located {
  file: TypeEntry[];
  entry: TypeEntry;
}

export class TypeLibrary {
  private readonly files = new Map<string, TypeEntry[]>();
  private readonly index: Record<string, Ref>;

  constructor(readonly dir: string = AZURE_TYPES) {
    this.index = (
      JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as { resources: Record<string, Ref> }
    ).resources;
  }

  /** The body type of `Type@apiVersion` (type names match case-insensitively, as in Bicep). */
  resourceBody(typeString: string): Located | undefined {
    const key = Object.keys(this.index).find((k) => k.toLowerCase() === typeString.toLowerCase());
    if (!key) return undefined;
    const [file, index] = this.index[key]!.$ref.split('#/');
    const entries = this.load(file!);
    const resource = entries[Number(index)];
    if (resource?.$type !== 'ResourceType') throw new Error(`${key}: index points at a ${resource?.$type}`);
    return this.resolve(entries, resource.body);
  }

  /** The API versions the data has for a type, for the message when the one used is missing. */
  versionsOf(type: string): string[] {
    return Object.keys(this.index)
      .filter((k) => k.split('@')[0]!.toLowerCase() === type.toLowerCase())
      .map((k) => k.split('@')[1]!);
  }

  resolve(file: TypeEntry[], ref: Ref): Located {
    const entry = file[Number(ref.$ref.replace('#/', ''))];
    if (!entry) throw new Error(`dangling reference ${ref.$ref}`);
    return { file, entry };
  }

  private load(relative: string): TypeEntry[] {
    let entries = this.files.get(relative);
    if (!entries) {
      entries = JSON.parse(readFileSync(path.join(this.dir, relative), 'utf8')) as TypeEntry[];
      this.files.set(relative, entries);
    }
    return entries;
  }
}

// ---- Walking a body -------------------------------------------------------------------------------------

interface Walk {
  lib: TypeLibrary;
  file: BicepFile;
  problems: string[];
  /** The resource body's type, to say where a misplaced property belongs. */
  root: Located;
  resource: Resource;
}

/** Problems of every resource declaration in the files, as `file:line:column: ...` messages. */
export function typeProblems(files: BicepFile[], lib = new TypeLibrary()): string[] {
  const problems: string[] = [];
  for (const file of files) {
    for (const resource of file.resources) {
      const at = `${where(file.file, resource.node)}: ${resource.symbol} (${resource.typeString})`;
      const body = lib.resourceBody(resource.typeString);
      if (!body) {
        const known = lib.versionsOf(resource.type);
        problems.push(
          `${at}: no type data for this type and API version (known: ${known.join(', ') || 'none'}); use one of those`,
        );
        continue;
      }
      if (!resource.body) {
        problems.push(`${at}: the body is not an object literal, so it cannot be checked`);
        continue;
      }
      const walk: Walk = { lib, file, problems, root: body, resource };
      if (resource.existing) checkExisting(walk, resource.body);
      else checkObject(walk, resource.body, body, resource.symbol, true);
    }
  }
  return problems;
}

function checkExisting(walk: Walk, object: Node): void {
  for (const [key, , node] of entries(object)) {
    if (key !== 'name' && !KEYWORDS.has(key))
      walk.problems.push(
        `${where(walk.file.file, node)}: ${walk.resource.symbol}: an existing resource takes only name, parent and scope, not ${key}`,
      );
  }
}

/** The object literal's properties: key, value node and the property node (for positions). */
function entries(object: Node): [string, Node, Node][] {
  const out: [string, Node, Node][] = [];
  for (const p of object.namedChildren) {
    if (p.type !== 'object_property') continue;
    const [key, value] = p.namedChildren.filter((c) => c.type !== 'comment');
    if (!key || !value) continue;
    const name = key.type === 'string' ? stringValue(key) : key.text;
    if (name !== undefined) out.push([name, value, p]);
  }
  return out;
}

/** The effective object shape of an ObjectType or DiscriminatedObjectType, given the literal it describes. */
function shapeOf(
  walk: Walk,
  type: Located,
  object: Node,
  path: string,
): { name: string; properties: Record<string, PropertySpec>; additional: Ref | undefined } | undefined {
  const { entry, file } = type;
  if (entry.$type === 'ObjectType')
    return { name: entry.name, properties: entry.properties, additional: entry.additionalProperties };
  if (entry.$type !== 'DiscriminatedObjectType') return undefined;
  const discriminator = entries(object).find(([k]) => k === entry.discriminator);
  const chosen = discriminator && stringValue(discriminator[1]);
  const base = { ...entry.baseProperties };
  if (!discriminator || chosen === undefined) {
    // Not a literal: accept any element's properties.
    const merged = { ...base };
    for (const ref of Object.values(entry.elements)) {
      const element = walk.lib.resolve(file, ref).entry;
      if (element.$type === 'ObjectType') Object.assign(merged, element.properties);
    }
    return { name: entry.name, properties: merged, additional: undefined };
  }
  const ref = entry.elements[chosen];
  if (!ref) {
    walk.problems.push(
      `${where(walk.file.file, discriminator[2])}: ${path}: ${entry.discriminator} '${chosen}' is none of ${Object.keys(
        entry.elements,
      )
        .map((e) => `'${e}'`)
        .join(', ')}`,
    );
    return undefined;
  }
  const element = walk.lib.resolve(file, ref).entry;
  if (element.$type !== 'ObjectType') return undefined;
  return {
    name: `${entry.name} (${entry.discriminator} '${chosen}')`,
    properties: { ...base, ...element.properties },
    additional: element.additionalProperties,
  };
}

function checkObject(walk: Walk, object: Node, type: Located, path: string, isBody = false): void {
  const at = where(walk.file.file, object);
  const shape = shapeOf(walk, type, object, path);
  if (!shape) return;
  const seen = new Set<string>();
  for (const [key, value, node] of entries(object)) {
    const here = `${where(walk.file.file, node)}: ${path}.${key}`;
    if (isBody && KEYWORDS.has(key)) continue;
    const match =
      Object.keys(shape.properties).find((k) => k === key) ??
      Object.keys(shape.properties).find((k) => k.toLowerCase() === key.toLowerCase());
    if (!match) {
      if (shape.additional) {
        checkValue(walk, value, walk.lib.resolve(type.file, shape.additional), `${path}.${key}`);
        continue;
      }
      walk.problems.push(`${here}: unknown property of ${shape.name}${hint(walk, key, shape.properties, path)}`);
      continue;
    }
    seen.add(match);
    const spec = shape.properties[match]!;
    if (spec.flags & READ_ONLY) {
      walk.problems.push(`${here}: read-only property of ${shape.name} (ARM returns it; it cannot be set)`);
      continue;
    }
    checkValue(walk, value, walk.lib.resolve(type.file, spec.type), `${path}.${match}`);
  }
  if (walk.resource.existing) return;
  for (const [name, spec] of Object.entries(shape.properties)) {
    if (spec.flags & REQUIRED && !(spec.flags & READ_ONLY) && !seen.has(name))
      walk.problems.push(`${at}: ${path}: required property ${name} of ${shape.name} is missing`);
  }
}

function checkValue(walk: Walk, value: Node, type: Located, path: string): void {
  const { entry } = type;
  const at = `${where(walk.file.file, value)}: ${path}`;
  switch (value.type) {
    case 'object': {
      const objectType = objectTypeFor(walk, type);
      if (objectType) checkObject(walk, value, objectType, path);
      else if (entry.$type !== 'AnyType')
        walk.problems.push(`${at}: an object where the type expects ${describe(walk, type)}`);
      return;
    }
    case 'array': {
      const arrayType = pick(walk, type, (e) => e.$type === 'ArrayType');
      if (!arrayType) {
        if (entry.$type !== 'AnyType')
          walk.problems.push(`${at}: an array where the type expects ${describe(walk, type)}`);
        return;
      }
      if (arrayType.entry.$type !== 'ArrayType') return;
      const item = walk.lib.resolve(arrayType.file, arrayType.entry.itemType);
      value.namedChildren
        .filter((c) => c.type !== 'comment')
        .forEach((c, i) => checkValue(walk, c, item, `${path}[${i}]`));
      return;
    }
    case 'for_statement': {
      const arrayType = pick(walk, type, (e) => e.$type === 'ArrayType');
      const body = value.childForFieldName('body');
      if (arrayType?.entry.$type === 'ArrayType' && body)
        checkValue(walk, body, walk.lib.resolve(arrayType.file, arrayType.entry.itemType), `${path}[]`);
      return;
    }
    case 'ternary_expression': {
      for (const branch of ['consequence', 'alternative']) {
        const b = value.childForFieldName(branch);
        if (b) checkValue(walk, b, type, path);
      }
      return;
    }
    case 'parenthesized_expression': {
      const inner = value.namedChildren[0];
      if (inner) checkValue(walk, inner, type, path);
      return;
    }
    case 'string': {
      const literal = stringValue(value);
      if (literal === undefined) return; // interpolated: not knowable here
      const problem = literalProblem(walk, type, literal);
      if (problem) walk.problems.push(`${at}: '${literal}' ${problem}`);
      return;
    }
    case 'number': {
      const n = Number(value.text);
      const integer = pick(walk, type, (e) => e.$type === 'IntegerType');
      if (!integer) {
        if (entry.$type !== 'AnyType')
          walk.problems.push(`${at}: a number where the type expects ${describe(walk, type)}`);
        return;
      }
      const i = integer.entry as { minValue?: number; maxValue?: number };
      if ((i.minValue !== undefined && n < i.minValue) || (i.maxValue !== undefined && n > i.maxValue))
        walk.problems.push(`${at}: ${n} is outside ${i.minValue ?? '-∞'}..${i.maxValue ?? '∞'}`);
      return;
    }
    case 'boolean':
    case 'true':
    case 'false': {
      if (!pick(walk, type, (e) => e.$type === 'BooleanType') && entry.$type !== 'AnyType')
        walk.problems.push(`${at}: a boolean where the type expects ${describe(walk, type)}`);
      return;
    }
    default:
      return; // an expression: not knowable here
  }
}

/** The first type (the type itself, or one of a union's elements) that satisfies `test`. */
function pick(walk: Walk, type: Located, test: (e: TypeEntry) => boolean): Located | undefined {
  if (test(type.entry)) return type;
  if (type.entry.$type === 'UnionType') {
    for (const ref of type.entry.elements) {
      const element = walk.lib.resolve(type.file, ref);
      if (test(element.entry)) return element;
    }
  }
  return undefined;
}

function objectTypeFor(walk: Walk, type: Located): Located | undefined {
  return pick(walk, type, (e) => e.$type === 'ObjectType' || e.$type === 'DiscriminatedObjectType');
}

/** Why a string literal does not fit the type, or undefined when it does. */
function literalProblem(walk: Walk, type: Located, literal: string): string | undefined {
  const { entry } = type;
  switch (entry.$type) {
    case 'AnyType':
      return undefined;
    case 'StringType': {
      if (entry.minLength !== undefined && literal.length < entry.minLength)
        return `is shorter than ${entry.minLength} characters`;
      if (entry.maxLength !== undefined && literal.length > entry.maxLength)
        return `is longer than ${entry.maxLength} characters`;
      if (entry.pattern && !new RegExp(entry.pattern).test(literal)) return `does not match ${entry.pattern}`;
      return undefined;
    }
    case 'StringLiteralType':
      return literal === entry.value ? undefined : `is not '${entry.value}'`;
    case 'UnionType': {
      const elements = entry.elements.map((r) => walk.lib.resolve(type.file, r));
      const known = elements.flatMap((e) => (e.entry.$type === 'StringLiteralType' ? [e.entry.value] : []));
      if (known.includes(literal)) return undefined;
      const close = nearest(literal, known);
      const open = elements.some(
        (e) => e.entry.$type !== 'StringLiteralType' && literalProblem(walk, e, literal) === undefined,
      );
      // An open enum (known values plus any string) accepts anything, but a near miss of a known value is a typo.
      if (open) return close ? `is not a known value; did you mean '${close}'?` : undefined;
      if (!known.length) return `fits none of ${describe(walk, type)}`;
      return `is not an allowed value (${known.map((a) => `'${a}'`).join(', ')})${close ? `; did you mean '${close}'?` : ''}`;
    }
    default:
      return `is a string where the type expects ${describe(walk, type)}`;
  }
}

function describe(walk: Walk, type: Located): string {
  const { entry } = type;
  if (entry.$type === 'UnionType')
    return entry.elements.map((r) => describe(walk, walk.lib.resolve(type.file, r))).join(' | ');
  if (entry.$type === 'StringLiteralType') return `'${entry.value}'`;
  if (entry.$type === 'ObjectType' || entry.$type === 'DiscriminatedObjectType') return `object ${entry.name}`;
  return entry.$type.replace(/Type$/, '').toLowerCase();
}

// ---- "Did you mean" ------------------------------------------------------------------------------------

/** A near spelling among the properties here, or the place in the body where a property of that name lives. */
function hint(walk: Walk, key: string, properties: Record<string, PropertySpec>, path: string): string {
  const writable = Object.keys(properties).filter((k) => !(properties[k]!.flags & READ_ONLY));
  const close = nearest(key, writable);
  if (close) return `; did you mean ${close}?`;
  const here = `${path.replace(/\[\d*\]/g, '')}.${key}`.toLowerCase();
  const elsewhere = findProperty(walk, key, walk.root).filter((p) => p.toLowerCase() !== here);
  if (elsewhere.length) return `; wrong nesting: it belongs at ${elsewhere.slice(0, 2).join(' or ')}`;
  // A property the type gained (or lost) in another API version: name the versions that have it here.
  const versions = walk.lib.versionsOf(walk.resource.type).filter((v) => {
    const body = v === walk.resource.apiVersion ? undefined : walk.lib.resourceBody(`${walk.resource.type}@${v}`);
    return body !== undefined && findProperty(walk, key, body).some((p) => p.toLowerCase() === here);
  });
  if (versions.length) return `; API version ${walk.resource.apiVersion} lacks it, ${versions.join(', ')} has it`;
  return '';
}

/** Paths (from a resource body type) at which a property named `key` exists, breadth first, a few levels deep. */
function findProperty(walk: Walk, key: string, root: Located): string[] {
  const found: string[] = [];
  const queue: { type: Located; path: string; depth: number }[] = [
    { type: root, path: walk.resource.symbol, depth: 0 },
  ];
  const visited = new Set<TypeEntry>();
  while (queue.length) {
    const { type, path, depth } = queue.shift()!;
    if (visited.has(type.entry) || depth > 4) continue;
    visited.add(type.entry);
    const { entry } = type;
    const properties =
      entry.$type === 'ObjectType'
        ? entry.properties
        : entry.$type === 'DiscriminatedObjectType'
          ? Object.assign(
              {},
              entry.baseProperties,
              ...Object.values(entry.elements).map((r) => {
                const e = walk.lib.resolve(type.file, r).entry;
                return e.$type === 'ObjectType' ? e.properties : {};
              }),
            )
          : undefined;
    if (entry.$type === 'UnionType' || entry.$type === 'ArrayType') {
      const refs = entry.$type === 'UnionType' ? entry.elements : [entry.itemType];
      for (const r of refs) queue.push({ type: walk.lib.resolve(type.file, r), path, depth });
      continue;
    }
    if (!properties) continue;
    for (const [name, spec] of Object.entries(properties as Record<string, PropertySpec>)) {
      if (spec.flags & READ_ONLY) continue;
      if (name.toLowerCase() === key.toLowerCase()) found.push(`${path}.${name}`);
      queue.push({ type: walk.lib.resolve(type.file, spec.type), path: `${path}.${name}`, depth: depth + 1 });
    }
  }
  return found;
}

/** The candidate within a small edit distance of `word` (case-insensitive), if one stands out. */
export function nearest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 4)) ? best : undefined;
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
