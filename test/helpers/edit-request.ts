import type { EditRequest } from '../../shared/core/validation.js';

/** A valid edit request, for tests that need a queued job and do not care what it asks for. */
export const editRequest: EditRequest = {
  prompt: 'p',
  promptSource: 'default',
  size: 'auto',
  quality: 'medium',
  outputFormat: 'png',
};
