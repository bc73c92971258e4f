/**
 * The composite's binding to its edit, as checks of the composite gate: the publisher's manifest must
 * record it (always), and given the model output's bytes (the pipeline holds them when it publishes;
 * `verify --edit FILE` reads them) the recorded hash must be theirs and, when asked, the composite's
 * pixels must show that edit inside the region and the same picture around it (./edit-pixels.ts).
 */
import type { Check, ManifestJson } from '../../core/provenance/gate.js';
import { readBinding, sha256Hex } from '../../core/provenance/composite-binding.js';
import { CORE_TOLERANCE, measureAgainstEdit, SURROUND_TOLERANCE } from '../imaging/edit-pixels.js';
import { type BindingExpectation } from '../../ports/verifier.js';

const short = (hex: string) => `${hex.slice(0, 12)}…`;

export async function bindingChecks(
  active: ManifestJson,
  composite: Uint8Array,
  expect: BindingExpectation | undefined,
): Promise<Check[]> {
  const binding = readBinding(active);
  if ('problem' in binding)
    return [{ name: 'Publisher: records the edit it is bound to', ok: false, detail: binding.problem }];
  const { region: r, modelOutput } = binding;
  const checks: Check[] = [
    {
      name: 'Publisher: records the edit it is bound to',
      ok: true,
      detail: `model output ${short(modelOutput.sha256)} (${modelOutput.width}x${modelOutput.height}), mask ${short(binding.mask.sha256)}, region ${r.width}x${r.height} at (${r.x}, ${r.y})`,
    },
  ];
  if (!expect) return checks;
  const hash = sha256Hex(expect.edit);
  const same = hash === modelOutput.sha256;
  checks.push({
    name: 'Bound to the edit: the recorded model output',
    ok: same,
    detail: same
      ? `the edit's SHA-256 ${short(hash)} is the one recorded`
      : `the composite records model output ${short(modelOutput.sha256)}, not this edit (${short(hash)})`,
  });
  if (same && expect.pixels) checks.push(...(await pixelChecks(composite, expect.edit, binding)));
  return checks;
}

async function pixelChecks(
  composite: Uint8Array,
  edit: Uint8Array,
  binding: Parameters<typeof measureAgainstEdit>[2],
): Promise<Check[]> {
  const m = await measureAgainstEdit(composite, edit, binding).catch((err: Error) => ({ problem: err.message }));
  if ('problem' in m)
    return [{ name: 'Bound to the edit: the masked area shows the edit', ok: false, detail: m.problem }];
  const inside = m.worstBlock !== null && m.worstBlock <= CORE_TOLERANCE;
  const around = m.surround === null || m.surround.error <= SURROUND_TOLERANCE;
  return [
    {
      name: 'Bound to the edit: the masked area shows the edit',
      ok: inside,
      detail:
        m.worstBlock === null
          ? 'the region has no block that is the edit alone, so nothing to compare'
          : `${m.coreBlocks} blocks of the masked area against the edit scaled to ${m.width}x${m.height}: worst mean difference ${m.worstBlock.toFixed(2)} per channel (at most ${CORE_TOLERANCE})`,
    },
    {
      name: 'Bound to the edit: the same picture around the mask',
      ok: around,
      detail:
        m.surround === null
          ? 'the region covers nearly the whole picture, so nothing around it to compare'
          : `around the region, the composite at the edit's size differs from the edit by ${m.surround.error.toFixed(2)} per channel on average (at most ${SURROUND_TOLERANCE}), after an overall shift of (${m.surround.shift.join(', ')})`,
    },
  ];
}
