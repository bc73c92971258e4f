/**
 * The import rules of shared/ (ARCHITECTURE.md), as a pure check over a map of file → imports, so the test
 * can run it on the repository and on planted violations alike.
 */
import path from 'node:path';
import ts from 'typescript';

export type Layer = 'core' | 'ports' | 'app' | 'adapters' | 'composition' | 'functions' | 'unplaced' | 'outside';

/** What each layer may import from the project (external packages are checked separately). */
const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  core: ['core'],
  ports: ['core', 'ports'],
  app: ['core', 'ports', 'app'],
  adapters: ['core', 'ports', 'app', 'adapters'],
  composition: ['core', 'ports', 'app', 'adapters', 'composition'],
  // The Functions entry points bind triggers: the composition root, use cases, and the driving adapters.
  functions: ['core', 'ports', 'app', 'composition', 'adapters'],
  unplaced: [],
  outside: ['core', 'ports', 'app', 'adapters', 'composition', 'functions', 'outside'],
};

/** Driving adapters a Functions entry point may name: its trigger binding and the console's HTTP handlers. */
const FUNCTION_ADAPTERS = [/^shared\/adapters\/azure\/functions-app\.ts$/, /^shared\/adapters\/http\//];

/**
 * Packages the pure layers may use: Node's pure modules, and for app the OpenTelemetry API (the
 * instrumentation interface; it does nothing until an adapter installs an SDK).
 */
const PURE_PACKAGES = ['node:crypto', 'node:zlib', 'node:util'];
/** Types a port may name from a package: a stream is what a download is, whoever serves it. */
const PORT_TYPES = ['node:stream'];
const PACKAGES: Partial<Record<Layer, readonly string[]>> = {
  core: PURE_PACKAGES,
  ports: PURE_PACKAGES,
  app: [...PURE_PACKAGES, 'node:timers/promises', '@opentelemetry/api'],
};

export function layerOf(file: string): Layer {
  if (file === 'shared/composition.ts') return 'composition';
  const m = /^shared\/(core|ports|app|adapters)\//.exec(file);
  if (m) return m[1] as Layer;
  if (file.startsWith('shared/')) return 'unplaced';
  if (file.startsWith('functions/')) return 'functions';
  return 'outside';
}

export interface Import {
  /** A repository-relative .ts path, or a package name. */
  target: string;
  typeOnly: boolean;
}

/** Every import of a file: static, re-exports, dynamic `import()`, type-only included. */
export function importsOf(file: string, text: string): Import[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const found: Import[] = [];
  const add = (spec: string, typeOnly: boolean) => {
    const target = spec.startsWith('.')
      ? path.posix.join(path.posix.dirname(file), spec).replace(/\.js$/, '.ts')
      : spec.startsWith('node:')
        ? spec
        : spec.startsWith('@')
          ? spec.split('/').slice(0, 2).join('/')
          : spec.split('/')[0]!;
    found.push({ target, typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      const typeOnly = ts.isImportDeclaration(node) ? !!node.importClause?.isTypeOnly : node.isTypeOnly;
      add((node.moduleSpecifier as ts.StringLiteral).text, typeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteral(arg)) add(arg.text, false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add((node.argument.literal as ts.StringLiteral).text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function projectRuleBroken(file: string, layer: Layer, target: string): string | undefined {
  const to = layerOf(target);
  if (!MAY_IMPORT[layer].includes(to)) return `${file} (${layer}) imports ${target} (${to})`;
  if (layer === 'functions' && to === 'adapters' && !FUNCTION_ADAPTERS.some((r) => r.test(target)))
    return `${file} (functions) imports ${target}, an adapter only the composition root may name`;
  return undefined;
}

/** Every broken rule: a layer importing what it may not, a package a pure layer may not use, a file in no layer. */
export function layerViolations(graph: ReadonlyMap<string, readonly Import[]>): string[] {
  const broken: string[] = [];
  for (const [file, imports] of graph) {
    const layer = layerOf(file);
    if (layer === 'unplaced') broken.push(`${file} is in no layer (shared/core, ports, app, adapters)`);
    for (const { target, typeOnly } of imports) {
      const isPackage = !target.endsWith('.ts');
      const allowed = layer === 'ports' && typeOnly ? [...PORT_TYPES, ...PACKAGES.ports!] : PACKAGES[layer];
      if (isPackage && allowed && !allowed.includes(target)) broken.push(`${file} (${layer}) uses package ${target}`);
      if (isPackage) continue;
      const why = projectRuleBroken(file, layer, target);
      if (why) broken.push(why);
    }
  }
  return broken;
}

/** Import cycles among the given files (type-only imports count), each as the files around it. */
export function importCycles(graph: ReadonlyMap<string, readonly Import[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const { target } of graph.get(file) ?? []) {
      if (!graph.has(target)) continue;
      if (state.get(target) === 'open') cycles.push([...stack.slice(stack.indexOf(target)), target]);
      else if (!state.has(target)) visit(target);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}
