/** The local host's 500s and failure logs name a storage error Azurite answered without a message. */
import { RestError } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';
import { describeError } from '../../local/host/host.js';

describe('describeError', () => {
  it('gives a message-less SDK error its name, status and code', () => {
    const err = new RestError('', { statusCode: 500, code: 'InternalError' });
    expect(describeError(err)).toBe('RestError 500 InternalError (no message)');
    expect(describeError(new RestError(''))).toBe('RestError (no message)');
  });

  it('keeps a message as it is', () => {
    expect(describeError(new RestError('The table specified does not exist.', { statusCode: 404 }))).toBe(
      'The table specified does not exist.',
    );
    expect(describeError('plain')).toBe('plain');
  });
});
