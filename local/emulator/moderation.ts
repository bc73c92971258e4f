/**
 * The emulator's content filter: a request is refused when its prompt contains a block word, or when an
 * input image carries one as a marker in its bytes (a PNG text chunk, an EXIF or XMP field, a JPEG
 * comment: `exiftool -Comment=forbidden photo.jpg`). Refusals have Azure's content_policy_violation shape.
 */
import { ApiError, type ImageRequest } from './requests.js';

export interface BlockList {
  /** The first block word found in the request, and where. */
  match(request: ImageRequest): { word: string; where: 'prompt' | 'image' } | undefined;
}

const escape = (word: string) => word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function createBlockList(words: readonly string[]): BlockList {
  const entries = words.map((word) => ({
    word,
    inPrompt: new RegExp(`\\b${escape(word)}\\b`, 'i'),
    // Markers are ASCII in metadata; latin1 maps each byte to one character, so the search is byte-exact.
    inBytes: new RegExp(escape(word), 'i'),
  }));
  return {
    match(request) {
      for (const e of entries) if (e.inPrompt.test(request.prompt)) return { word: e.word, where: 'prompt' };
      if (entries.length === 0) return undefined;
      for (const image of request.images) {
        const text = image.bytes.toString('latin1');
        for (const e of entries) if (e.inBytes.test(text)) return { word: e.word, where: 'image' };
      }
      return undefined;
    },
  };
}

export function contentFilterError(found: { word: string; where: 'prompt' | 'image' }): ApiError {
  const safe = { filtered: false, severity: 'safe' };
  return new ApiError(
    400,
    'content_policy_violation',
    `Your request was rejected as a result of our safety system. Your ${found.where} may contain content that is not allowed by our safety system.`,
    found.where,
    {
      inner_error: {
        code: 'ResponsibleAIPolicyViolation',
        content_filter_results: {
          hate: safe,
          jailbreak: { filtered: false, detected: false },
          self_harm: safe,
          sexual: safe,
          violence: { filtered: true, severity: 'medium' },
          custom_blocklists: { filtered: true, details: [{ filtered: true, id: `emulator-block-word:${found.word}` }] },
        },
      },
    },
  );
}
