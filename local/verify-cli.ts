/**
 * `imagegen-pipeline verify FILE…`: the publish gate on local files. Exit 0 when every file would be
 * published, 1 when any would be quarantined, 2 on a usage or I/O error (including a file that is not
 * a regular file, or is larger than MAX_IMAGE_BYTES). Gate settings (ALLOWED_SOFTWARE_AGENTS,
 * TOLERATED_FAILURES, …) come from the environment like the app's.
 */
import { constants } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { parse, UsageError } from './cli.js';
import { ConfigError, loadGateConfig } from '../shared/core/config.js';
import { renderChecklist } from '../shared/core/provenance/checklist.js';
import type { ProvenanceReport } from '../shared/core/provenance/gate.js';
import { terminalSafe } from '../shared/core/provenance/terminal-text.js';
import { createCompositeVerifier } from '../shared/adapters/c2pa/composite-gate.js';
import { certificatesIn, createVerifier } from '../shared/adapters/c2pa/verifier.js';

function parseVerifyArgs(args: string[]) {
  return parse(
    args,
    {
      trust: { type: 'string', multiple: true },
      'no-default-trust': { type: 'boolean' },
      'agent-scope': { type: 'string' },
      json: { type: 'boolean' },
      publisher: { type: 'string' },
      edit: { type: 'string' },
    },
    true,
  );
}

type VerifyValues = ReturnType<typeof parseVerifyArgs>['values'];
type Verifier = Awaited<ReturnType<typeof createVerifier>>;
type GateConfig = ReturnType<typeof loadGateConfig>;
type CompositeVerifier = Awaited<ReturnType<typeof createCompositeVerifier>>;

function gateConfig(scope: string | undefined): GateConfig {
  if (scope !== undefined && scope !== 'active' && scope !== 'chain')
    throw new UsageError(`--agent-scope must be active or chain, got "${scope}"`);
  try {
    return loadGateConfig({ ...process.env, ...(scope ? { AGENT_SCOPE: scope } : {}) });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

/** The PEM text of each --trust file, each holding at least one certificate. */
async function trustPems(files: string[]): Promise<string[]> {
  const extraPems: string[] = [];
  for (const file of files) {
    const pem = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`--trust ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    });
    if (certificatesIn(pem).length === 0) throw new UsageError(`--trust ${file}: no PEM certificate in it`);
    extraPems.push(pem);
  }
  return extraPems;
}

/**
 * The pipeline's own composites are judged against the publisher's pinned chain (--publisher FILE or
 * PUBLISHER_CERT_CHAIN as PEM text or a file), in two levels: the publisher, then the Azure ingredient.
 */
async function compositeVerifier(
  gate: GateConfig,
  values: VerifyValues,
  extraPems: string[],
): Promise<CompositeVerifier | undefined> {
  const publisherSetting = values.publisher ?? process.env.PUBLISHER_CERT_CHAIN?.trim();
  if (!publisherSetting) return undefined;
  const pem = publisherSetting.includes('-----BEGIN')
    ? publisherSetting
    : await readFile(publisherSetting, 'utf8').catch(() => {
        throw new UsageError(`--publisher ${publisherSetting}: no such file`);
      });
  try {
    return await createCompositeVerifier(gate, pem, undefined, {
      noDefaultTrust: values['no-default-trust'] === true,
      extraPems,
    });
  } catch (err) {
    throw new UsageError(`--publisher: ${(err as Error).message}`);
  }
}

interface Judges {
  verifier: Verifier;
  composites: CompositeVerifier | undefined;
  binding: { edit: Buffer; pixels: boolean } | undefined;
  maxBytes: number;
  json: boolean;
}

/** Prints one file's report; its exit code: 0 publish, 1 quarantine, 2 unreadable. */
async function verifyFile(file: string, { verifier, composites, binding, maxBytes, json }: Judges): Promise<number> {
  let bytes: Buffer;
  try {
    bytes = await readImageFile(file, maxBytes);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    process.stderr.write(`imagegen-pipeline verify: ${terminalSafe(file)}: ${terminalSafe(why)}\n`);
    return 2;
  }
  let report = await verifier.verify(bytes, { file });
  // Composite rules by signer (the pinned publisher's key), whatever the file calls itself; a manifest
  // that claims the pipeline's edit under another signer is refused by them too, naming that signer.
  // With --edit the file is claimed to be a composite, so it is judged as one.
  const rules = composites && report.manifest ? composites.rulesFor(bytes, report.manifest.activeLabel) : 'other';
  if (composites && (binding || rules !== 'other'))
    report = await composites.verify(bytes, { file, ...(binding ? { binding } : {}) });
  else if (composites) report = judgedAsModelOutput(report, composites.identity.name);
  process.stdout.write(json ? `${jsonLine(report)}\n` : `${renderChecklist(report)}\n`);
  return report.verdict === 'quarantine' ? 1 : 0;
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseVerifyArgs(args);
  if (positionals.length === 0) throw new UsageError('verify needs at least one FILE');
  const gate = gateConfig(values['agent-scope']);
  const extraPems = await trustPems(values.trust ?? []);
  const maxBytes = maxImageBytes(process.env.MAX_IMAGE_BYTES);
  const verifier = await createVerifier(gate, undefined, {
    noDefaultTrust: values['no-default-trust'] === true,
    extraPems,
  });
  const composites = await compositeVerifier(gate, values, extraPems);
  if (values.edit !== undefined && !composites)
    throw new UsageError('--edit needs --publisher (or PUBLISHER_CERT_CHAIN)');
  // --edit FILE: the model output the composites claim; each is judged as a composite and checked against it.
  const binding =
    values.edit === undefined ? undefined : { edit: await readEditFile(values.edit, maxBytes), pixels: true };
  const judges = { verifier, composites, binding, maxBytes, json: values.json === true };
  let exit = 0;
  for (const file of positionals) {
    const code = await verifyFile(file, judges);
    // An unreadable file makes it 2 from then on; a quarantine makes it 1 only while nothing failed.
    if (code === 2) exit = 2;
    else if (code === 1 && exit === 0) exit = 1;
  }
  return exit;
}

/** With --publisher, a file not signed by it is judged by the model-output rules; the checklist says so. */
function judgedAsModelOutput(report: ProvenanceReport, publisher: string): ProvenanceReport {
  const detail = `not signed by the configured publisher ${publisher}, so judged as a model output`;
  return { ...report, checks: [{ name: 'Rules', ok: true, detail }, ...report.checks] };
}

async function readEditFile(file: string, max: number): Promise<Buffer> {
  try {
    return await readImageFile(file, max);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new UsageError(`--edit ${file}: ${why}`);
  }
}

/**
 * One JSON line; JSON.stringify already escapes control characters, and line separators, bidi controls
 * and other invisible characters are escaped too, so a report printed raw on a terminal cannot mislead.
 */
const INVISIBLE = /[\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;

function jsonLine(report: unknown): string {
  return JSON.stringify(report).replace(INVISIBLE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** MAX_IMAGE_BYTES as the app reads it (1 byte to the service's 50 MB). */
function maxImageBytes(value: string | undefined): number {
  const limit = 52_428_800;
  if (value === undefined || value.trim() === '') return limit;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > limit) {
    throw new UsageError(`MAX_IMAGE_BYTES must be a whole number from 1 to ${limit}, got "${value}"`);
  }
  return n;
}

/**
 * A regular file of at most `max` bytes, never reading more than that: a FIFO, a device such as
 * /dev/zero or a directory is refused before any read (opened non-blocking, so a FIFO without a
 * writer cannot hang), and a file that grows while being read is refused too.
 */
async function readImageFile(file: string, max: number): Promise<Buffer> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) {
      const kind = stat.isDirectory()
        ? 'a directory'
        : stat.isFIFO()
          ? 'a FIFO'
          : stat.isCharacterDevice() || stat.isBlockDevice()
            ? 'a device'
            : 'a special file';
      throw new Error(`not a regular file (${kind})`);
    }
    if (stat.size > max) throw new Error(`${stat.size} bytes is larger than MAX_IMAGE_BYTES (${max})`);
    // One byte more than the size it reported: filling it means the file grew while being read.
    const buffer = Buffer.alloc(stat.size + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buffer.length) throw new Error('the file grew while being read');
    }
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}
