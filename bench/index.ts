/**
 * `npm run bench [-- --only emulator,a,b,b-start,c,d,e,f,g,h,h-upgrade,h-lookups,i,j]`: every figure printed next to its baseline, measured in
 * the same run. Results are recorded in BENCHMARKS.md.
 */
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { coldStartSection } from './coldstart.js';
import { compositeSection } from './composite.js';
import { consoleDownloadsSection } from './console-downloads.js';
import { defaultPathSection } from './default-path.js';
import { emulatorSection } from './emulator.js';
import { gateSection } from './gate.js';
import { azuriteLookupsSection } from './azurite-lookups.js';
import { indexUpgradeSection } from './index-upgrade.js';
import { jobsIndexSection } from './jobs-index.js';
import type { Section } from './measure.js';
import { memorySection } from './memory.js';
import { pacerScaleSection } from './pacer-scale.js';
import { burstSection, overheadSection } from './pipeline.js';
import { poolSection } from './pool.js';

const SECTIONS: Section[] = [
  emulatorSection,
  burstSection,
  overheadSection,
  defaultPathSection,
  gateSection,
  memorySection,
  coldStartSection,
  poolSection,
  pacerScaleSection,
  jobsIndexSection,
  indexUpgradeSection,
  azuriteLookupsSection,
  compositeSection,
  consoleDownloadsSection,
];

const { values } = parseArgs({ options: { only: { type: 'string' } } });
const only = values.only?.split(',').map((s) => s.trim());
const unknown = only?.filter((id) => !SECTIONS.some((s) => s.id === id));
if (unknown?.length) {
  console.error(`unknown section(s) ${unknown.join(', ')}; known: ${SECTIONS.map((s) => s.id).join(', ')}`);
  process.exit(2);
}
console.log(`imagegen-pipeline benchmarks — ${new Date().toISOString()}`);
console.log(
  `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB\n`,
);
for (const section of SECTIONS.filter((s) => !only || only.includes(s.id))) {
  const started = performance.now();
  console.log(`${section.title}\n`);
  console.log(await section.run());
  console.log(`\n(${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
}
