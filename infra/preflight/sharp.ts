/**
 * The predeploy check (infra/hooks/predeploy.{sh,ps1}): azd builds the package on the machine that deploys
 * (azure.yaml, `remoteBuild: false`) and zips its node_modules, but Flex Consumption runs it on Linux x64
 * (glibc). npm installs only the current platform's build of sharp, so a package made on macOS or Windows
 * would fail at the first composite with "Could not load the sharp module". This refuses to deploy such a
 * package, naming the fix, before anything is uploaded.
 *
 *   node dist/preflight/infra/preflight/sharp.js [project root]
 *
 * Exit 0: the Linux build matching sharp's own version is installed; 1: it is not (the reason and fix on stderr).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** What Flex Consumption runs: Linux, x64, glibc. */
export const TARGET = 'linux-x64';
/** The packages sharp loads on that target: its binding and the libvips it links. */
const PACKAGES = [`@img/sharp-${TARGET}`, `@img/sharp-libvips-${TARGET}`];

export interface SharpCheck {
  ok: boolean;
  message: string;
  fix?: string;
}

/** sharp's cross-platform install, which puts the Linux build beside the local one. */
export const FIX =
  'npm install --os=linux --cpu=x64 --libc=glibc --include=optional sharp (https://sharp.pixelplumbing.com/install#cross-platform), then azd deploy again; or deploy from Linux x64 (the dev container, or the CI workflow .github/workflows/azure-dev.yml)';

export function checkSharp(root: string): SharpCheck {
  const sharp = version(root, 'sharp');
  if (!sharp) return { ok: false, message: 'sharp is not installed in node_modules', fix: 'npm ci' };
  const wanted = optionalDependencies(root);
  for (const name of PACKAGES) {
    const want = wanted[name];
    const have = version(root, name);
    if (!want)
      return { ok: false, message: `sharp ${sharp} does not list ${name}; this check knows sharp 0.33 and later` };
    if (have !== want)
      return {
        ok: false,
        message: `the package would lack sharp's Linux x64 build: ${name} ${want} is ${have ? `at ${have}` : 'not installed'} (this machine: ${process.platform}-${process.arch})`,
        fix: FIX,
      };
  }
  return { ok: true, message: `sharp ${sharp} for ${TARGET} (glibc) is in the package` };
}

function version(root: string, name: string): string | undefined {
  try {
    const json = JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')) as {
      version?: string;
    };
    return json.version;
  } catch {
    return undefined;
  }
}

function optionalDependencies(root: string): Record<string, string> {
  const json = JSON.parse(readFileSync(path.join(root, 'node_modules/sharp/package.json'), 'utf8')) as {
    optionalDependencies?: Record<string, string>;
  };
  return json.optionalDependencies ?? {};
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = checkSharp(path.resolve(process.argv[2] ?? '.'));
  if (result.ok) console.log(`predeploy: ${result.message}`);
  else console.error(`predeploy: ${result.message}${result.fix ? `\n  fix: ${result.fix}` : ''}`);
  process.exitCode = result.ok ? 0 : 1;
}
