/**
 * Storage failures reach the use cases as the ports' error classes: the Azure SDKs' RestError is
 * translated in one place (shared/adapters/azure/storage-errors.ts), and the in-memory adapters throw the
 * same classes, so a test against memory sees what a run against Azure would.
 */
import { RestError } from '@azure/storage-blob';
import { RestError as TableRestError } from '@azure/data-tables';
import { describe, expect, it } from 'vitest';
import { toPortError } from '../../shared/adapters/azure/storage-errors.js';
import { MemoryRecords } from '../../shared/adapters/memory/record-store.js';
import { memoryIndexTable } from '../../shared/adapters/memory/index-table.js';
import {
  AlreadyExists,
  ConditionFailed,
  isConflict,
  isNotFound,
  NotFound,
  StoreError,
} from '../../shared/ports/errors.js';

const sdkError = (statusCode: number, code: string) => new RestError(`status ${statusCode}`, { statusCode, code });

describe('the Azure storage error translation', () => {
  it.each([
    [404, 'BlobNotFound', NotFound],
    [412, 'ConditionNotMet', ConditionFailed],
    [409, 'BlobAlreadyExists', AlreadyExists],
  ] as const)('maps a blob %i (%s) to its port class', (status, code, PortError) => {
    const sdk = sdkError(status, code);
    const err = toPortError(sdk, 'write jobs/a.json');
    expect(err).toBeInstanceOf(PortError);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toBe(`write jobs/a.json: ${status} ${code}`);
    expect((err as Error).cause).toBe(sdk);
  });

  it.each([
    [404, 'ResourceNotFound', NotFound],
    [412, 'UpdateConditionNotSatisfied', ConditionFailed],
    [409, 'EntityAlreadyExists', AlreadyExists],
  ] as const)('maps a table %i (%s) to its port class', (status, code, PortError) => {
    const err = toPortError(new TableRestError('table', { statusCode: status, code }), 'commit index rows');
    expect(err).toBeInstanceOf(PortError);
  });

  it('treats AlreadyExists as a lost conditional write and NotFound as neither', () => {
    expect(isConflict(toPortError(sdkError(409, 'BlobAlreadyExists'), 'w'))).toBe(true);
    expect(isConflict(toPortError(sdkError(412, 'ConditionNotMet'), 'w'))).toBe(true);
    expect(isNotFound(toPortError(sdkError(412, 'ConditionNotMet'), 'w'))).toBe(false);
    expect(isConflict(toPortError(sdkError(404, 'BlobNotFound'), 'r'))).toBe(false);
    expect(isNotFound(toPortError(sdkError(404, 'BlobNotFound'), 'r'))).toBe(true);
  });

  it('passes every other failure on untouched, and no longer recognises raw SDK errors elsewhere', () => {
    for (const sdk of [sdkError(400, 'InvalidBlockList'), sdkError(500, 'InternalError'), new Error('socket hang up')])
      expect(toPortError(sdk, 'w')).toBe(sdk);
    expect(isConflict(sdkError(412, 'ConditionNotMet'))).toBe(false);
    expect(isNotFound(sdkError(404, 'BlobNotFound'))).toBe(false);
  });
});

describe('the in-memory adapters', () => {
  it('fail a lost conditional record write with the port classes', async () => {
    const records = new MemoryRecords();
    const etag = await records.write('a.json', '{}', { ifNoneMatch: '*' });
    await expect(records.write('a.json', '{}', { ifNoneMatch: '*' })).rejects.toBeInstanceOf(AlreadyExists);
    await records.write('a.json', '{"b":1}', { ifMatch: etag });
    const stale = records.write('a.json', '{}', { ifMatch: etag });
    await expect(stale).rejects.toBeInstanceOf(ConditionFailed);
    await expect(stale).rejects.not.toBeInstanceOf(AlreadyExists);
  });

  it('fail index rows created twice, changed since read or already gone with the port classes', async () => {
    const table = memoryIndexTable();
    await table.commit([{ kind: 'create', row: { rowKey: 'r' } }]);
    await expect(table.commit([{ kind: 'create', row: { rowKey: 'r' } }])).rejects.toBeInstanceOf(AlreadyExists);
    await expect(table.commit([{ kind: 'update', row: { rowKey: 'r' }, etag: '"0"' }])).rejects.toBeInstanceOf(
      ConditionFailed,
    );
    await expect(table.commit([{ kind: 'delete', rowKey: 'gone' }])).rejects.toBeInstanceOf(NotFound);
  });
});
