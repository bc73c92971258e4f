/**
 * Verifies a file's Content Credentials with c2pa-rs and judges them with the gate policy.
 * Trust: Microsoft's C2PA roots by kind and the claim-signing EKU list by default, plus any extra
 * anchors from EXTRA_TRUST_ANCHORS (see trust-anchors.ts, trust-settings.ts). Remote manifests are
 * never fetched.
 */
import { X509Certificate } from 'node:crypto';
import type { PipelineConfig } from '../../core/config.js';
import { c2paErrorMessage, loadC2pa, type C2paModule } from './c2pa-wasm.js';
import type { StorageClients } from '../azure/storage.js';
import { FORMAT_NAMES, sniffFormat } from '../../core/image-header.js';
import { Semaphore } from '../../core/concurrency/semaphore.js';
import { fullSourceType } from '../../core/provenance/actions.js';
import { readByteEvidence } from '../../core/provenance/byte-evidence.js';
import { readContainer } from '../../core/provenance/container.js';
import { storeWithActive } from '../../core/provenance/jumbf.js';
import { MICROSOFT_C2PA_ROOTS_PEM } from '../../core/provenance/default-trust.js';
import { loadExtraAnchors } from './trust-anchors.js';
import { readerSettings, trustLists } from '../../core/provenance/trust-settings.js';
import {
  type C2paReading,
  evaluateGate,
  type GatePolicy,
  type IngredientReading,
  type ManifestStoreJson,
} from '../../core/provenance/gate.js';
import { type Verifier, type TrustOptions } from '../../ports/verifier.js';

/** Ingredient manifests validated on their own per file: an image from a model has one or two. */
const MAX_INGREDIENT_READS = 16;

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export function certificatesIn(pem: string): X509Certificate[] {
  return (pem.match(PEM_CERT) ?? []).map((block) => new X509Certificate(block));
}

export function commonName(cert: X509Certificate): string {
  return /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1] ?? cert.subject.replace(/\n/g, ', ');
}

export async function createVerifier(
  gate: PipelineConfig['gate'],
  storage?: StorageClients,
  options: TrustOptions = {},
): Promise<Verifier> {
  const extra = [await loadExtraAnchors(gate.extraTrustAnchors, storage), ...(options.extraPems ?? [])].filter(Boolean);
  const anchorsPem = [...(options.noDefaultTrust ? [] : [MICROSOFT_C2PA_ROOTS_PEM]), ...extra].join('\n');
  const anchors = certificatesIn(anchorsPem);
  const policy: GatePolicy = {
    trustAnchors: anchors.map(commonName),
    allowedAgents: gate.allowedAgents,
    allowedSourceTypes: gate.allowedSourceTypes.map(fullSourceType),
    agentScope: gate.agentScope,
    tolerated: gate.tolerated,
    signingTimeSkewMs: gate.signingTimeSkewMs,
  };
  const c2pa = await loadC2pa();
  const settings = readerSettings(trustLists(extra, options.noDefaultTrust));
  const reader = new C2paReader(c2pa, settings);
  const read = (input: Uint8Array | (() => Promise<Uint8Array>)) => reader.read(input);

  return {
    policy,
    read,
    async verify(input, context) {
      return evaluateGate(await read(input), policy, context);
    },
  };
}

/** Reads files' Content Credentials with c2pa-rs under one trust configuration (its reader settings). */
class C2paReader {
  // One read at a time: c2pa-rs is single-threaded CPU work, so concurrent reads only interleave, and
  // each holds its whole file inside the WebAssembly memory, which grows to the peak and never shrinks.
  private readonly oneAtATime = new Semaphore(1);

  constructor(
    private readonly c2pa: C2paModule,
    private readonly settings: string,
  ) {}

  async read(input: Uint8Array | (() => Promise<Uint8Array>)): Promise<C2paReading> {
    return this.oneAtATime.run(async () => this.readNow(typeof input === 'function' ? await input() : input));
  }

  private async readNow(bytes: Uint8Array): Promise<C2paReading> {
    if (bytes.length === 0) return { ok: false, error: 'the file is empty' };
    const format = sniffFormat(bytes);
    if (!format)
      return {
        ok: false,
        error: 'the file is not a PNG, JPEG or WebP image, so it cannot carry verifiable Content Credentials',
      };
    const container = readContainer(bytes, format);
    if (!container.ok) return container;
    let reader;
    try {
      reader = await this.c2pa.WasmReader.fromBytes(`image/${format}`, bytes, this.settings);
    } catch (thrown) {
      const message = c2paErrorMessage(thrown);
      if (/JumbfNotFound|ProvenanceMissing/i.test(message))
        return { ok: false, error: `no Content Credentials: the ${FORMAT_NAMES[format]} carries no C2PA manifest` };
      if (/Remote/i.test(message))
        return {
          ok: false,
          error: `the file points at a remote manifest, and remote manifests are never fetched (${message})`,
        };
      return { ok: false, error: `the Content Credentials could not be read: ${message}` };
    }
    try {
      const store = reader.manifestStore() as ManifestStoreJson;
      // c2pa-rs found a manifest store the container walk did not (an unusual embedding): nothing to cross-check, so no proof.
      const evidence = container.jumbf
        ? readByteEvidence(container.jumbf)
        : {
            ok: false as const,
            error: `the ${FORMAT_NAMES[format]}'s manifest store is not where the container keeps it`,
          };
      return {
        ok: true,
        store,
        evidence,
        ingredientReads: container.jumbf ? await this.readIngredientsAlone(store, container.jumbf) : new Map(),
        storeRanges: container.storeRanges,
      };
    } finally {
      reader.free();
    }
  }

  /**
   * Each ingredient manifest of the active manifest, validated again as the active manifest of a store
   * of its own. In the whole file c2pa-rs (0.91, still 0.92: upstream #2686) leaves out any ingredient
   * status that an ingredient assertion recorded at signing time (even a failure, even one the attacker
   * recorded), so only a manifest's own, active validation says whether its signature and signer are good.
   */
  private async readIngredientsAlone(
    store: ManifestStoreJson,
    jumbf: Uint8Array,
  ): Promise<Map<string, IngredientReading>> {
    const active = store.active_manifest;
    const reads = new Map<string, IngredientReading>();
    const labels = (
      active && store.manifests && Object.hasOwn(store.manifests, active)
        ? (store.manifests[active]!.ingredients ?? [])
        : []
    )
      .map((i) => i.active_manifest)
      .filter((l): l is string => typeof l === 'string' && l !== active);
    for (const label of new Set(labels)) {
      if (reads.size >= MAX_INGREDIENT_READS) break;
      let alone;
      try {
        alone = await this.c2pa.WasmReader.fromBytes(
          'application/c2pa',
          storeWithActive(jumbf, label, [active!]),
          this.settings,
        );
      } catch (thrown) {
        reads.set(label, { ok: false, error: c2paErrorMessage(thrown) });
        continue;
      }
      try {
        const own = alone.manifestStore() as ManifestStoreJson;
        const info =
          own.manifests && Object.hasOwn(own.manifests, label) ? own.manifests[label]!.signature_info : undefined;
        reads.set(label, {
          ok: true,
          results: own.validation_results?.activeManifest ?? {},
          signedAt: info?.time ?? null,
          signer: info,
        });
      } finally {
        alone.free();
      }
    }
    return reads;
  }
}
