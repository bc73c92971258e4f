/**
 * The layers of shared/ hold (ARCHITECTURE.md): core imports nothing outside core, ports only core, app
 * only core and ports, adapters any of the three; only the composition root names adapters (and the
 * Functions entry points their own trigger binding and HTTP handlers); no import cycle, type-only included.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importCycles, importsOf, layerViolations, type Import } from './layer-rules.js';
import { repoRoot, sourceFiles } from './source-files.js';

const files = sourceFiles(['shared', 'functions']);
const graph = new Map<string, Import[]>(
  files.map((f) => [f, importsOf(f, readFileSync(path.join(repoRoot, f), 'utf8'))]),
);

describe('the layers of shared/', () => {
  it('has core, ports, app and adapters, and every file of shared/ is in one of them', () => {
    for (const layer of ['core', 'ports', 'app', 'adapters/azure', 'adapters/memory'])
      expect(
        files.some((f) => f.startsWith(`shared/${layer}/`)),
        layer,
      ).toBe(true);
    expect(files.filter((f) => f.startsWith('shared/') && !/^shared\/(core|ports|app|adapters)\//.test(f))).toEqual([
      'shared/composition.ts',
    ]);
  });

  it('no file imports what its layer may not', () => {
    expect(layerViolations(graph)).toEqual([]);
  });

  it('no import cycle among shared/ and functions/', () => {
    expect(importCycles(graph)).toEqual([]);
  });

  it('catches a planted violation of each rule', () => {
    const planted = (file: string, text: string) =>
      layerViolations(new Map([[file, importsOf(file, text)]] as [string, Import[]][]));
    expect(planted('shared/core/job.ts', "import type { X } from '../adapters/azure/storage.js';")).toHaveLength(1);
    expect(planted('shared/core/job.ts', "import { BlobServiceClient } from '@azure/storage-blob';")).toHaveLength(1);
    expect(planted('shared/ports/blob-store.ts', "import { Ledger } from '../app/ledger.js';")).toHaveLength(1);
    expect(planted('shared/app/edit.ts', "const m = await import('../adapters/azure/openai-model.js');")).toHaveLength(
      1,
    );
    expect(planted('shared/app/edit.ts', "import type { R } from '../composition.js';")).toHaveLength(1);
    expect(planted('shared/app/edit.ts', "import sharp from 'sharp';")).toHaveLength(1);
    expect(planted('shared/ports/blob-store.ts', "import { Readable } from 'node:stream';")).toHaveLength(1);
    expect(planted('shared/adapters/azure/storage.ts', "import { x } from '../../composition.js';")).toHaveLength(1);
    expect(planted('functions/edit.ts', "import { x } from '../shared/adapters/azure/storage.js';")).toHaveLength(1);
    expect(planted('shared/stray.ts', '')).toHaveLength(1);
    // Controls: what the rules allow.
    expect(planted('shared/app/edit.ts', "import type { BlobStore } from '../ports/blob-store.js';")).toEqual([]);
    expect(planted('shared/ports/blob-store.ts', "import type { Readable } from 'node:stream';")).toEqual([]);
    expect(planted('shared/adapters/azure/storage.ts', "import { Ledger } from '../../app/ledger.js';")).toEqual([]);
    expect(planted('shared/composition.ts', "import { x } from './adapters/azure/storage.js';")).toEqual([]);
  });

  it('catches a planted cycle, type-only imports included', () => {
    const a = 'shared/core/a.ts';
    const b = 'shared/core/b.ts';
    const cyclic = new Map([
      [a, importsOf(a, "import type { B } from './b.js';")],
      [b, importsOf(b, "import { A } from './a.js';")],
    ]);
    expect(importCycles(cyclic)).toEqual([[a, b, a]]);
  });
});
