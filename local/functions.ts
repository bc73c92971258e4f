/**
 * Loads the function modules the way the Functions host does: every module in `functions/` (the same
 * files `package.json` `main` names once compiled), each exporting its `definition`.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AnyFunction } from './host/host.js';

export const FUNCTIONS_DIR = new URL('../functions/', import.meta.url);

export function functionModuleFiles(): string[] {
  return readdirSync(fileURLToPath(FUNCTIONS_DIR))
    .filter((f) => /\.(js|ts)$/.test(f) && !f.endsWith('.d.ts'))
    .sort();
}

export async function loadFunctionDefinitions(): Promise<AnyFunction[]> {
  // Outside the Functions host, @azure/functions runs in "test mode" and warns once per registration;
  // the local host runs the definitions itself, so those warnings are noise here.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (
      typeof args[0] === 'string' &&
      args[0].startsWith('WARNING: ') &&
      /test mode|Skipping call to register/.test(args[0])
    )
      return;
    warn(...args);
  };
  try {
    const modules = await Promise.all(
      functionModuleFiles().map((f) => import(new URL(f, FUNCTIONS_DIR).href) as Promise<{ definition?: AnyFunction }>),
    );
    return modules.map((m, i) => {
      if (!m.definition) throw new Error(`functions/${functionModuleFiles()[i]} exports no definition`);
      return m.definition;
    });
  } finally {
    console.warn = warn;
  }
}
