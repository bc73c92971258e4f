/**
 * Reading the Bicep under infra/ for the tests: tree-sitter-bicep syntax trees, the declarations in a file,
 * and a small evaluator for the constant parts of expressions (literals, params' defaults, vars, string
 * interpolation, a few functions). Anything that depends on the deployment (resource ids, module outputs,
 * uniqueString) evaluates to an `Unknown`, so a check can tell "not what we want" from "not knowable here".
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Language, Parser, type Node } from 'web-tree-sitter';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const INFRA = path.join(ROOT, 'infra');

let parser: Promise<Parser> | undefined;

export function bicepParser(): Promise<Parser> {
  parser ??= (async () => {
    await Parser.init();
    const wasm = createRequire(import.meta.url).resolve('tree-sitter-bicep/tree-sitter-bicep.wasm');
    const language = await Language.load(wasm);
    const p = new Parser();
    p.setLanguage(language);
    return p;
  })();
  return parser;
}

export interface SyntaxProblem {
  file: string;
  /** 1-based, like editors and the Bicep CLI. */
  line: number;
  column: number;
  kind: 'ERROR' | 'MISSING';
  node: Node;
  message: string;
}

/** Every ERROR and MISSING node, outermost first, as `file:line:column: ...` messages. */
export function syntaxProblems(root: Node, file: string): SyntaxProblem[] {
  const found: SyntaxProblem[] = [];
  const visit = (node: Node) => {
    if (node.isError || node.isMissing) {
      const kind = node.isMissing ? 'MISSING' : 'ERROR';
      const line = node.startPosition.row + 1;
      const column = node.startPosition.column + 1;
      const what = node.isMissing ? `missing ${node.type}` : `unexpected ${JSON.stringify(node.text.slice(0, 40))}`;
      found.push({ file, line, column, kind, node, message: `${file}:${line}:${column}: syntax error: ${what}` });
      if (node.isError) return;
    }
    for (const child of node.children) visit(child);
  };
  visit(root);
  return found;
}

export async function parseBicep(text: string): Promise<Node> {
  const tree = (await bicepParser()).parse(text);
  if (!tree) throw new Error('tree-sitter returned no tree');
  return tree.rootNode;
}

/** Files under infra/ with the given extension, relative to the repository root. */
export function infraFiles(extension: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith(extension)) out.push(path.relative(ROOT, full).split(path.sep).join('/'));
    }
  };
  walk(INFRA);
  return out;
}

export function where(file: string, node: Node): string {
  return `${file}:${node.startPosition.row + 1}:${node.startPosition.column + 1}`;
}

// ---- Declarations ------------------------------------------------------------------------------------

export interface Param {
  name: string;
  node: Node;
  type: string;
  default: Node | undefined;
  decorators: Node[];
}

export interface Resource {
  symbol: string;
  /** e.g. Microsoft.Storage/storageAccounts@2023-05-01 */
  typeString: string;
  /** Without the API version. */
  type: string;
  apiVersion: string | undefined;
  existing: boolean;
  node: Node;
  /** The object body, looked up through `[for ...: ...]` and `if (...)`. */
  body: Node | undefined;
  /** Set for `[for x in list: {...}]`: the loop variable's name and the iterated expression. */
  loop: { variable: string; over: Node } | undefined;
  /** The `if (...)` condition, if any. */
  condition: Node | undefined;
}

export interface ModuleCall {
  symbol: string;
  path: string;
  node: Node;
  body: Node | undefined;
}

export interface Output {
  name: string;
  node: Node;
  value: Node | undefined;
}

export class BicepFile {
  readonly params = new Map<string, Param>();
  readonly vars = new Map<string, Node>();
  readonly resources: Resource[] = [];
  readonly modules: ModuleCall[] = [];
  readonly outputs: Output[] = [];
  readonly lines: string[];

  constructor(
    readonly file: string,
    readonly text: string,
    readonly root: Node,
  ) {
    this.lines = text.split(/\r?\n/);
    let decorators: Node[] = [];
    for (const node of root.namedChildren) {
      if (node.type === 'decorators') {
        decorators = node.namedChildren;
        continue;
      }
      const named = node.namedChildren.filter((c) => c.type !== 'comment');
      const name = named[0]?.text ?? '';
      if (node.type === 'parameter_declaration') {
        const type = named.find((c) => c.type === 'type');
        const rest = named.slice(1).filter((c) => c.type !== 'type');
        this.params.set(name, { name, node, type: type?.text ?? '', default: rest[0], decorators });
      } else if (node.type === 'variable_declaration') {
        const value = named[1];
        if (value) this.vars.set(name, value);
      } else if (node.type === 'module_declaration') {
        this.modules.push({
          symbol: name,
          path: stringValue(named[1]) ?? '',
          node,
          body: named[2] && unwrapBody(named[2]).body,
        });
      } else if (node.type === 'output_declaration') {
        this.outputs.push({ name, node, value: named.filter((c) => c.type !== 'type')[1] });
      }
      decorators = [];
    }
    for (const node of descendants(root, 'resource_declaration')) this.resources.push(resourceOf(node));
  }

  static async load(relative: string): Promise<BicepFile> {
    const text = readFileSync(path.join(ROOT, relative), 'utf8');
    return new BicepFile(relative, text, await parseBicep(text));
  }

  resourcesOfType(type: string, options: { existing?: boolean } = {}): Resource[] {
    return this.resources.filter(
      (r) =>
        r.type.toLowerCase() === type.toLowerCase() &&
        (options.existing === undefined || r.existing === options.existing),
    );
  }

  resourceBySymbol(symbol: string): Resource | undefined {
    return this.resources.find((r) => r.symbol === symbol);
  }

  module(modulePath: string): ModuleCall | undefined {
    return this.modules.find((m) => m.path === modulePath);
  }

  /** The argument expressions of `@name(...)` decorators on a param. */
  decorator(param: Param, name: string): Node[] | undefined {
    for (const d of param.decorators) {
      const call = d.namedChildren.find((c) => c.type === 'call_expression');
      const fn = call?.childForFieldName('function');
      const fnName = fn?.type === 'member_expression' ? fn.childForFieldName('property')?.text : fn?.text;
      if (call && fnName === name) return call.childForFieldName('arguments')?.namedChildren ?? [];
    }
    return undefined;
  }

  /** The text after `//` on the line where `node` starts. */
  trailingComment(node: Node): string | undefined {
    const line = this.lines[node.startPosition.row] ?? '';
    const m = /\/\/\s*(.*?)\s*$/.exec(line.slice(node.endPosition.column));
    return m?.[1];
  }
}

function unwrapBody(value: Node): { body: Node | undefined; loop: Resource['loop']; condition: Node | undefined } {
  let node: Node | undefined = value;
  let loop: Resource['loop'];
  let condition: Node | undefined;
  if (node.type === 'for_statement') {
    const params = node.namedChildren.find((c) => c.type === 'for_loop_parameters');
    const variable = params
      ? (params.namedChildren[0]?.text ?? '')
      : (node.childForFieldName('initializer')?.text ?? '');
    const named = node.namedChildren.filter((c) => c.type !== 'comment');
    const bodyNode = node.childForFieldName('body');
    const over = named.find(
      (c) =>
        c.type !== 'for_loop_parameters' &&
        c.id !== node!.childForFieldName('initializer')?.id &&
        c.id !== bodyNode?.id,
    );
    if (over) loop = { variable, over };
    node = bodyNode ?? undefined;
  }
  if (node?.type === 'if_statement') {
    condition = node.namedChildren.find((c) => c.type === 'parenthesized_expression');
    node = node.namedChildren.find((c) => c.type === 'object');
  }
  return { body: node?.type === 'object' ? node : undefined, loop, condition };
}

function resourceOf(node: Node): Resource {
  const named = node.namedChildren.filter((c) => c.type !== 'comment');
  const typeString = stringValue(named[1]) ?? '';
  const [type = '', apiVersion] = typeString.split('@');
  const existing = node.children.some((c) => c.type === 'existing');
  const value = named[2];
  const unwrapped = value ? unwrapBody(value) : { body: undefined, loop: undefined, condition: undefined };
  return { symbol: named[0]?.text ?? '', typeString, type, apiVersion, existing, node, ...unwrapped };
}

export function descendants(node: Node, type: string): Node[] {
  const out: Node[] = [];
  const visit = (n: Node) => {
    if (n.type === type) out.push(n);
    for (const c of n.namedChildren) visit(c);
  };
  visit(node);
  return out;
}

// ---- Objects and strings -----------------------------------------------------------------------------

/** Properties of an object literal, by key (identifier or quoted). Nested resource declarations are skipped. */
export function props(object: Node | undefined): Map<string, Node> {
  const out = new Map<string, Node>();
  if (object?.type !== 'object') return out;
  for (const p of object.namedChildren) {
    if (p.type !== 'object_property') continue;
    const [key, value] = p.namedChildren.filter((c) => c.type !== 'comment');
    if (!key || !value || key.type === 'resource_declaration') continue;
    const name = key.type === 'string' ? stringValue(key) : key.text;
    if (name !== undefined) out.set(name, value);
  }
  return out;
}

/** `get(body, 'properties.filter.subjectBeginsWith')` */
export function get(object: Node | undefined, dotted: string): Node | undefined {
  let node = object;
  for (const key of dotted.split('.')) node = props(node).get(key);
  return node;
}

export type StringPart = { text: string } | { expr: Node };

/** A string literal's pieces: text (escapes decoded) and `${...}` interpolations. */
export function stringParts(node: Node): StringPart[] {
  const parts: StringPart[] = [];
  for (const c of node.namedChildren) {
    if (c.type === 'string_content') parts.push({ text: c.text });
    else if (c.type === 'escape_sequence') parts.push({ text: decodeEscape(c.text) });
    else if (c.type === 'interpolation') {
      const expr = c.namedChildren[0];
      if (expr) parts.push({ expr });
    }
  }
  const merged: StringPart[] = [];
  for (const p of parts) {
    const last = merged[merged.length - 1];
    if ('text' in p && last && 'text' in last) last.text += p.text;
    else merged.push(p);
  }
  return merged;
}

function decodeEscape(text: string): string {
  const map: Record<string, string> = { "\\'": "'", '\\\\': '\\', '\\n': '\n', '\\r': '\r', '\\t': '\t', '\\$': '$' };
  return map[text] ?? text;
}

/** The value of a string literal without interpolation, else undefined. */
export function stringValue(node: Node | undefined): string | undefined {
  if (node?.type !== 'string') return undefined;
  const parts = stringParts(node);
  if (parts.some((p) => 'expr' in p)) return undefined;
  return parts.map((p) => ('text' in p ? p.text : '')).join('');
}

// ---- Evaluating the constant parts ---------------------------------------------------------------------

export class Unknown {
  constructor(readonly reason: string) {}
}

export type Value = string | number | boolean | null | Value[] | { [key: string]: Value } | Unknown;

export interface Scope {
  file: BicepFile;
  /** Loop variables, and params overridden (e.g. with the arguments a module is called with). */
  locals?: Map<string, Value>;
}

export function isUnknown(v: Value): v is Unknown {
  return v instanceof Unknown;
}

export function evaluate(node: Node | undefined, scope: Scope, depth = 0): Value {
  if (!node) return new Unknown('no expression');
  if (depth > 50) return new Unknown('too deep');
  const ev = (n: Node | undefined | null) => evaluate(n ?? undefined, scope, depth + 1);
  switch (node.type) {
    case 'string': {
      let out = '';
      for (const part of stringParts(node)) {
        if ('text' in part) out += part.text;
        else {
          const v = ev(part.expr);
          if (isUnknown(v)) return v;
          out += typeof v === 'object' ? JSON.stringify(v) : String(v);
        }
      }
      return out;
    }
    case 'number':
      return Number(node.text);
    case 'boolean':
    case 'true':
    case 'false':
      return node.text === 'true';
    case 'null':
      return null;
    case 'array':
      return node.namedChildren.filter((c) => c.type !== 'comment').map((c) => ev(c));
    case 'object': {
      const out: { [key: string]: Value } = {};
      for (const [k, v] of props(node)) out[k] = ev(v);
      return out;
    }
    case 'parenthesized_expression':
      return ev(node.namedChildren[0]);
    case 'identifier': {
      const name = node.text;
      const local = scope.locals?.get(name);
      if (local !== undefined) return local;
      const v = scope.file.vars.get(name);
      if (v) return ev(v);
      const p = scope.file.params.get(name);
      if (p) return p.default ? ev(p.default) : new Unknown(`param ${name} has no default`);
      return new Unknown(`${name} is not a constant`);
    }
    case 'member_expression': {
      const object = ev(node.childForFieldName('object'));
      const property = node.childForFieldName('property')?.text ?? '';
      if (isUnknown(object)) return new Unknown(`${node.text}: ${object.reason}`);
      if (object && typeof object === 'object' && !Array.isArray(object) && property in object)
        return object[property] ?? null;
      return new Unknown(`${node.text} is not a constant`);
    }
    case 'subscript_expression': {
      const object = ev(node.childForFieldName('object'));
      const index = ev(node.childForFieldName('index'));
      if (isUnknown(object)) return object;
      if (isUnknown(index)) return index;
      if (Array.isArray(object) && typeof index === 'number') return object[index] ?? new Unknown('index out of range');
      if (object && typeof object === 'object' && !Array.isArray(object) && typeof index === 'string') {
        return index in object ? (object[index] ?? null) : new Unknown(`no key ${index}`);
      }
      return new Unknown(`cannot index ${node.text}`);
    }
    case 'unary_expression': {
      const op = node.children[0]?.text;
      const v = ev(node.namedChildren[0]);
      if (isUnknown(v)) return v;
      if (op === '!') return !v;
      if (op === '-' && typeof v === 'number') return -v;
      return new Unknown(`unary ${op}`);
    }
    case 'binary_expression': {
      const left = ev(node.childForFieldName('left'));
      const right = ev(node.childForFieldName('right'));
      const op = node.children.find((c) => !c.isNamed)?.text;
      if (op === '&&' && left === false) return false;
      if (op === '||' && left === true) return true;
      if (isUnknown(left)) return left;
      if (isUnknown(right)) return right;
      switch (op) {
        case '*':
          return Number(left) * Number(right);
        case '+':
          return Number(left) + Number(right);
        case '-':
          return Number(left) - Number(right);
        case '==':
          return JSON.stringify(left) === JSON.stringify(right);
        case '!=':
          return JSON.stringify(left) !== JSON.stringify(right);
        case '&&':
          return Boolean(left) && Boolean(right);
        case '||':
          return Boolean(left) || Boolean(right);
        default:
          return new Unknown(`operator ${op}`);
      }
    }
    case 'ternary_expression': {
      const condition = ev(node.childForFieldName('condition'));
      if (isUnknown(condition)) return condition;
      return ev(node.childForFieldName(condition ? 'consequence' : 'alternative'));
    }
    case 'call_expression': {
      const fn = node.childForFieldName('function')?.text ?? '';
      const args = (node.childForFieldName('arguments')?.namedChildren ?? []).map((a) => ev(a));
      const unknown = args.find(isUnknown);
      switch (fn) {
        case 'string':
          if (unknown) return unknown;
          return typeof args[0] === 'object' ? JSON.stringify(args[0]) : String(args[0]);
        case 'int':
          if (unknown) return unknown;
          return Number.parseInt(String(args[0]), 10);
        case 'bool':
          if (unknown) return unknown;
          return String(args[0]).toLowerCase() === 'true';
        case 'empty':
          if (unknown) return unknown;
          return (
            args[0] === '' ||
            args[0] === null ||
            (Array.isArray(args[0]) && args[0].length === 0) ||
            (typeof args[0] === 'object' && args[0] !== null && Object.keys(args[0]).length === 0)
          );
        case 'toLower':
          if (unknown) return unknown;
          return String(args[0]).toLowerCase();
        case 'concat':
          if (unknown) return unknown;
          return args.every(Array.isArray) ? (args as Value[][]).flat() : args.map(String).join('');
        case 'union': {
          if (unknown) return unknown;
          return Object.assign({}, ...args.map((a) => (a && typeof a === 'object' && !Array.isArray(a) ? a : {})));
        }
        case 'items': {
          if (unknown) return unknown;
          const o = args[0];
          if (!o || typeof o !== 'object' || Array.isArray(o) || isUnknown(o))
            return new Unknown('items() of a non-object');
          return Object.keys(o)
            .sort((a, b) => a.localeCompare(b))
            .map((key) => ({ key, value: o[key] ?? null }));
        }
        case 'subscriptionResourceId': {
          if (unknown) return unknown;
          return `/subscriptions/{subscriptionId}/providers/${args.map(String).join('/')}`;
        }
        default:
          return new Unknown(`${fn}() is not evaluated here`);
      }
    }
    default:
      return new Unknown(`${node.type} is not evaluated here`);
  }
}

/** Evaluates the `params: {...}` a file passes to one of its modules, as locals for that module's scope. */
export function moduleArguments(
  caller: BicepFile,
  modulePath: string,
  locals?: Map<string, Value>,
): Map<string, Value> {
  const call = caller.module(modulePath);
  if (!call) throw new Error(`${caller.file} does not call ${modulePath}`);
  const out = new Map<string, Value>();
  for (const [name, expr] of props(get(call.body, 'params')))
    out.set(name, evaluate(expr, { file: caller, ...(locals ? { locals } : {}) }));
  return out;
}
