/**
 * The composite's Content Credentials: a new active manifest by the pipeline, built and embedded with
 * c2pa-rs. C2PA 2.1, "Ingredients" and "Actions": the original photo is the `parentOf` ingredient (the
 * asset this one was made from, opened by `c2pa.opened`), the Azure-signed edit a `componentOf`
 * ingredient (a part composited in) whose manifest store is carried whole, and `c2pa.edited` says who
 * composited it and that trained algorithmic media is part of it
 * (https://spec.c2pa.org/specifications/specifications/2.1/specs/C2PA_Specification.html).
 */
import { BytesBlob, installFileReaderSync, loadC2pa } from './c2pa-wasm.js';
import { BINDING_LABEL, type CompositeBinding } from '../../core/provenance/composite-binding.js';
import { COMPOSITE_SOURCE_TYPE, PIPELINE_AGENT } from './composite-gate.js';
import { coseSign1 } from '../signing/cose.js';
import type { PublisherSigner } from '../../ports/publisher.js';
import { type CompositePart } from '../../ports/publisher.js';

export { COMPOSITE_SOURCE_TYPE, PIPELINE_AGENT };

const PARENT = 'original-photo';
const COMPONENT = 'azure-openai-edit';

export function compositeManifest(title: string, mime: string, when: Date, binding?: CompositeBinding) {
  return {
    claim_generator_info: [{ name: PIPELINE_AGENT, version: '1.0' }],
    title,
    format: mime,
    assertions: [
      {
        label: 'c2pa.actions.v2',
        data: {
          actions: [
            { action: 'c2pa.opened', when: when.toISOString(), parameters: { ingredientIds: [PARENT] } },
            {
              action: 'c2pa.edited',
              when: when.toISOString(),
              softwareAgent: { name: PIPELINE_AGENT },
              digitalSourceType: COMPOSITE_SOURCE_TYPE,
              description:
                "Azure OpenAI's edit composited into the masked area of the original photo, at its full size",
              parameters: { ingredientIds: [COMPONENT] },
            },
          ],
        },
      },
      // What ties the composite to the edit it credits (shared/core/provenance/composite-binding.ts).
      ...(binding ? [{ label: BINDING_LABEL, data: binding }] : []),
    ],
  };
}

/** Room for the signature, the certificate chain and the COSE headers, with margin. */
const reserveFor = (signer: PublisherSigner) => signer.chain.reduce((n, c) => n + c.length, 0) + 2048;

/**
 * Embeds the publisher's manifest into `composite` and signs it; returns the signed file's bytes. The
 * pipeline always passes the binding; a test leaves it out to make a composite that records none.
 */
export async function signComposite(
  signer: PublisherSigner,
  composite: CompositePart,
  original: CompositePart,
  edit: CompositePart,
  when: Date,
  binding?: CompositeBinding,
): Promise<Uint8Array> {
  const c2pa = await loadC2pa();
  installFileReaderSync();
  const definition = compositeManifest(composite.title, composite.mime, when, binding);
  // The verdict is the gate's (with the publisher's pinned chain), not c2pa-rs's own check after signing.
  const settings = JSON.stringify({ verify: { verify_after_sign: false } });
  const builder = c2pa.WasmBuilder.fromJson(JSON.stringify(definition), settings);
  try {
    const parent = { title: original.title, relationship: 'parentOf', label: PARENT };
    await builder.addIngredientFromBlob(JSON.stringify(parent), original.mime, new BytesBlob(original.bytes));
    const component = { title: edit.title, relationship: 'componentOf', label: COMPONENT };
    await builder.addIngredientFromBlob(JSON.stringify(component), edit.mime, new BytesBlob(edit.bytes));
    const reserveSize = reserveFor(signer);
    const wasmSigner = {
      alg: signer.alg,
      reserveSize,
      sign: async (claim: Uint8Array) => (await coseSign1(signer, claim, reserveSize)) as Uint8Array<ArrayBuffer>,
    };
    return await builder.sign(wasmSigner, [], composite.mime, new BytesBlob(composite.bytes));
  } finally {
    builder.free();
  }
}
