import { describe, expect, it } from 'vitest';
import { batchFileId, batchIdForRun } from '../../shared/catalog/batches.js';
import { runIdFor } from '../../shared/flows/run-id.js';

const FLOW = '0b6f5c8e-2f0a-4d8e-9a37-4f6f3d1e2a10';
const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('run and batch ids', () => {
  it('derives the same RFC 9562 v8 run id from the same flow, blob and ETag', () => {
    const a = runIdFor({ flowId: FLOW, fileName: 'incoming/a.csv.gpg', blobETag: '"0x8DC1"' });
    expect(a).toMatch(UUID_V8);
    expect(runIdFor({ flowId: FLOW, fileName: 'incoming/a.csv.gpg', blobETag: '"0x8DC1"' })).toBe(a);
  });

  it('treats a quoted and an unquoted ETag as the same blob version', () => {
    expect(runIdFor({ flowId: FLOW, fileName: 'a', blobETag: '0x8DC1' })).toBe(
      runIdFor({ flowId: FLOW, fileName: 'a', blobETag: '"0x8DC1"' }),
    );
  });

  it('gives a new run id to a rewritten blob, another file or another flow', () => {
    const base = { flowId: FLOW, fileName: 'incoming/a.csv.gpg', blobETag: '"0x8DC1"' };
    const ids = new Set([
      runIdFor(base),
      runIdFor({ ...base, blobETag: '"0x8DC2"' }),
      runIdFor({ ...base, fileName: 'incoming/b.csv.gpg' }),
      runIdFor({ ...base, flowId: '1b6f5c8e-2f0a-4d8e-9a37-4f6f3d1e2a10' }),
    ]);
    expect(ids.size).toBe(4);
  });

  it('does not confuse fields whose concatenations collide', () => {
    expect(runIdFor({ flowId: FLOW, fileName: 'a', blobETag: 'bc' })).not.toBe(
      runIdFor({ flowId: FLOW, fileName: 'ab', blobETag: 'c' }),
    );
  });

  it('derives a stable 24-hex Catalog batch id and file ids from the run id', () => {
    const runId = runIdFor({ flowId: FLOW, fileName: 'a', blobETag: 'x' });
    const batchId = batchIdForRun(runId);
    expect(batchId).toMatch(/^[0-9a-f]{24}$/);
    expect(batchIdForRun(runId)).toBe(batchId);
    expect(batchIdForRun(runIdFor({ flowId: FLOW, fileName: 'a', blobETag: 'y' }))).not.toBe(batchId);
    expect(batchFileId(batchId, 0)).toBe(`${batchId}-1`);
  });
});
