/**
 * The deployment bundle: every `functions/*.ts` entry point bundled by esbuild into `dist/app/` (package.json
 * "main": "dist/app/*.js"), with the code they share in `dist/app/chunks/`. What the functions import lazily
 * stays lazy (a chunk loaded on first use), and the one copy of `@azure/functions` keeps one app registry.
 *
 *   node dist/build/bundle.js      (run by `npm run build`, after tsc)
 *
 * Kept as files (EXTERNALS): sharp, a native addon with per-platform binaries, and the c2pa-rs WebAssembly,
 * which is read from its package at run time. `@azure/functions-core` is not a package: the Functions
 * worker provides it to `require`.
 */
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

/** npm packages the bundle loads from node_modules at run time; .funcignore ships them and their dependencies. */
export const EXTERNALS = ['sharp', '@contentauth/c2pa-wasm'];
/** Provided by the Functions worker, never installed. */
const WORKER_PROVIDED = ['@azure/functions-core'];

export const APP_DIR = 'dist/app';

// esbuild's ESM output turns a CommonJS `require` of a Node built-in or an external into a call that
// throws unless a real `require` is in scope.
const BANNER =
  "import { createRequire as __bundleRequire } from 'node:module';\nconst require = __bundleRequire(import.meta.url);";

export async function bundle(root: string): Promise<void> {
  const entryPoints = readdirSync(path.join(root, 'functions'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => path.join(root, 'functions', f));
  // Chunk names carry a hash: without this, chunks of earlier builds would pile up in the package.
  rmSync(path.join(root, APP_DIR), { recursive: true, force: true });
  await build({
    absWorkingDir: root,
    entryPoints,
    outdir: path.join(root, APP_DIR),
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: [...EXTERNALS, ...WORKER_PROVIDED],
    banner: { js: BANNER },
    // Readable stack traces in Application Insights: no renaming, only whitespace and syntax minified.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    // For debugging under `func start`; .funcignore leaves *.map out of the package.
    sourcemap: true,
    logLevel: 'warning',
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await bundle(path.resolve(fileURLToPath(new URL('../..', import.meta.url))));
}
