import type { TableClient } from '@azure/data-tables';
import { listWaitingFiles, removeWaitingFile, type WaitingFile } from './waiting-files.js';

export interface ResumeWaitingFilesDeps {
  /** The `cmkwaiting` table. */
  readonly table: TableClient;
  /**
   * Runs the ingestion of one landed blob again (idempotent per blob version): `waiting` when the
   * org's key still refuses, `settled` when the file was ingested, failed for good or is gone.
   */
  readonly ingest: (file: WaitingFile) => Promise<'waiting' | 'settled'>;
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
}

/**
 * Ingests an org's waiting files once its key is usable again. A file that still waits, or whose
 * ingestion fails transiently, keeps its record for the next cycle: nothing is lost and nothing is
 * ever sent to the poison queue for a revoked key.
 * @returns how many files were settled.
 */
export async function resumeWaitingFiles(deps: ResumeWaitingFilesDeps, orgId: string): Promise<number> {
  let settled = 0;
  for (const file of await listWaitingFiles(deps.table, orgId)) {
    let outcome: 'waiting' | 'settled';
    try {
      outcome = await deps.ingest(file);
    } catch (err) {
      deps.log?.('cmk-waiting-file-retry-failed', { orgId, blob: file.blobName, error: err instanceof Error ? err.message : String(err) });
      continue;
    }
    if (outcome === 'settled') {
      await removeWaitingFile(deps.table, file);
      settled += 1;
    }
  }
  if (settled > 0) deps.log?.('cmk-waiting-files-resumed', { orgId, settled });
  return settled;
}
