/**
 * The predeploy check: a package built on a machine without sharp's Linux x64 build (macOS, Windows, Arm)
 * is refused before azd uploads it, with the fix; the package built here (Linux x64) passes, end to end
 * through the sh hook azure.yaml runs.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { checkSharp, FIX } from '../../infra/preflight/sharp.js';
import { ROOT } from './bicep.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A project root whose node_modules holds sharp 0.35.5 and the given @img packages (name → version). */
function project(img: Record<string, string>, sharp = true): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'predeploy-'));
  dirs.push(root);
  const put = (name: string, json: object) => {
    mkdirSync(path.join(root, 'node_modules', name), { recursive: true });
    writeFileSync(path.join(root, 'node_modules', name, 'package.json'), JSON.stringify(json));
  };
  if (sharp)
    put('sharp', {
      version: '0.35.5',
      optionalDependencies: {
        '@img/sharp-darwin-arm64': '0.35.5',
        '@img/sharp-libvips-darwin-arm64': '1.3.4',
        '@img/sharp-linux-x64': '0.35.5',
        '@img/sharp-libvips-linux-x64': '1.3.4',
      },
    });
  for (const [name, version] of Object.entries(img)) put(name, { name, version });
  return root;
}

describe('predeploy: sharp for Linux x64 in the package', () => {
  it('passes when the Linux x64 build and its libvips match sharp', () => {
    const root = project({ '@img/sharp-linux-x64': '0.35.5', '@img/sharp-libvips-linux-x64': '1.3.4' });
    expect(checkSharp(root)).toEqual({ ok: true, message: 'sharp 0.35.5 for linux-x64 (glibc) is in the package' });
  });

  it("refuses a package built on macOS (only darwin's build installed), with sharp's cross-platform install as the fix", () => {
    const root = project({ '@img/sharp-darwin-arm64': '0.35.5', '@img/sharp-libvips-darwin-arm64': '1.3.4' });
    const result = checkSharp(root);
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(
      /^the package would lack sharp's Linux x64 build: @img\/sharp-linux-x64 0\.35\.5 is not installed/,
    );
    expect(result.fix).toBe(FIX);
    expect(FIX).toMatch(/npm install --os=linux --cpu=x64 --libc=glibc --include=optional sharp/);
  });

  it('refuses a Linux build left from another sharp version, and a project without sharp', () => {
    const stale = project({ '@img/sharp-linux-x64': '0.34.1', '@img/sharp-libvips-linux-x64': '1.3.4' });
    expect(checkSharp(stale).message).toMatch(/@img\/sharp-linux-x64 0\.35\.5 is at 0\.34\.1/);
    expect(checkSharp(project({}, false))).toEqual({
      ok: false,
      message: 'sharp is not installed in node_modules',
      fix: 'npm ci',
    });
  });

  it('azure.yaml runs the hook before deploying; the hook reports what the check finds here', async () => {
    const yaml = readFileSync(path.join(ROOT, 'azure.yaml'), 'utf8');
    expect(yaml).toMatch(/predeploy:\n {4}posix:\n {6}shell: sh\n {6}run: infra\/hooks\/predeploy\.sh/);
    expect(yaml).toMatch(/ {4}windows:\n {6}shell: pwsh\n {6}run: infra\/hooks\/predeploy\.ps1/);
    // The hook says what the check says about this checkout (on Linux x64, where CI runs: it passes).
    const here = checkSharp(ROOT);
    const run = await promisify(execFile)('sh', [path.join(ROOT, 'infra/hooks/predeploy.sh')]).then(
      ({ stdout }) => ({ code: 0, out: stdout }),
      (e: { code: number; stderr: string }) => ({ code: e.code, out: e.stderr }),
    );
    expect(run).toEqual({ code: here.ok ? 0 : 1, out: expect.stringContaining(here.message) });
    if (process.platform === 'linux' && process.arch === 'x64') expect(here.ok).toBe(true);
  }, 120_000);
});
