/**
 * What a model call cost, from the token counts its answer reports (`usage`) and the model's list price
 * in the catalog. An estimate: Azure bills by the same tokens, at its own prices for the SKU and region.
 */
import { findModel } from './model-catalog.js';

/** The answer's `usage`, as images/edits reports it. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  /** Of the input: prompt text and input images (with the mask). */
  textTokens?: number;
  imageTokens?: number;
}

/** The image-token fields of an images/edits answer (snake case); undefined when they are not there. */
export function usageFromAnswer(value: unknown): TokenUsage | undefined {
  const u = value as {
    input_tokens?: unknown;
    output_tokens?: unknown;
    input_tokens_details?: { text_tokens?: unknown; image_tokens?: unknown };
  };
  if (!u || typeof u.input_tokens !== 'number' || typeof u.output_tokens !== 'number') return undefined;
  const details = u.input_tokens_details;
  return {
    inputTokens: u.input_tokens,
    outputTokens: u.output_tokens,
    ...(typeof details?.text_tokens === 'number' ? { textTokens: details.text_tokens } : {}),
    ...(typeof details?.image_tokens === 'number' ? { imageTokens: details.image_tokens } : {}),
  };
}

/** The `usage` object in the text that follows an answer's image; undefined when there is none. */
export function usageInTail(tail: string): TokenUsage | undefined {
  const key = tail.indexOf('"usage"');
  const start = key < 0 ? -1 : tail.indexOf('{', key);
  if (start < 0) return undefined;
  let depth = 0;
  for (let i = start; i < tail.length; i++) {
    if (tail[i] === '{') depth++;
    else if (tail[i] === '}' && --depth === 0) {
      try {
        return usageFromAnswer(JSON.parse(tail.slice(start, i + 1)));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export function addUsage(a: TokenUsage | undefined, b: TokenUsage): TokenUsage {
  if (!a) return b;
  const sum = (x: number | undefined, y: number | undefined) =>
    x === undefined && y === undefined ? undefined : (x ?? 0) + (y ?? 0);
  const text = sum(a.textTokens, b.textTokens);
  const image = sum(a.imageTokens, b.imageTokens);
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    ...(text !== undefined ? { textTokens: text } : {}),
    ...(image !== undefined ? { imageTokens: image } : {}),
  };
}

/**
 * US dollars for `usage` on `model`; undefined when the catalog has no price for it. Input tokens the
 * answer does not split are priced as text (the lower rate), so the estimate never overstates.
 */
export function costUsd(model: string, usage: TokenUsage): number | undefined {
  const price = findModel(model)?.price;
  if (!price) return undefined;
  const image = usage.imageTokens ?? 0;
  const text = usage.textTokens ?? usage.inputTokens - image;
  const perMillion = text * price.textInput + image * price.imageInput + usage.outputTokens * price.imageOutput;
  return perMillion / 1_000_000;
}

/** `$0.0421`: four decimals below a dollar, two above. */
export function formatUsd(usd: number): string {
  return `$${usd.toFixed(usd < 1 ? 4 : 2)}`;
}
