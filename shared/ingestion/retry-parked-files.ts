import type { TableClient } from '@azure/data-tables';
import type { IngestOutcome } from './ingest-landed-file.js';
import { dueParkedFiles, parkFile, unparkFile, type ParkedFile } from './parked-files.js';
import type { Clock } from '../core/clock.js';

/** Most parked files one cycle tries. */
export const MAX_RETRIED_PER_CYCLE = 200;
/** Files tried at once. */
const CONCURRENCY = 4;
/** After this many attempts in a row find the vault still unavailable, the cycle stops early. */
const UNAVAILABLE_IN_A_ROW = 3;

export interface RetryParkedFilesDeps {
  /** The `ingestparked` table. */
  readonly table: TableClient;
  /**
   * Runs the ingestion of one landed blob again (idempotent per blob version); when the vault is
   * still unavailable it parks the blob again itself (one more attempt, a longer wait).
   */
  readonly ingest: (file: ParkedFile) => Promise<IngestOutcome>;
  readonly clock: Clock;
  readonly random?: () => number;
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
}

export interface RetryCycleSummary {
  readonly tried: number;
  /** Ingested, failed for good, or no longer parked here (gone, or now waiting for a CMK). */
  readonly settled: number;
  readonly stillWaiting: number;
  /** The cycle stopped early because the vault still does not answer. */
  readonly stoppedEarly: boolean;
}

/**
 * One cycle of the ingestion retry timer: tries the parked files whose next attempt is due. While
 * the vault is still down, a few attempts in a row say so and the cycle stops, so an outage with
 * thousands of parked files costs a few vault calls per cycle, not thousands. A file whose attempt
 * fails some other way is parked again with a longer wait (its run counts the failed attempt and
 * fails for good after the limit), so nothing is retried in a tight loop and nothing is dropped.
 */
export async function retryParkedFiles(deps: RetryParkedFilesDeps): Promise<RetryCycleSummary> {
  const due = await dueParkedFiles(deps.table, new Date(deps.clock.now()), MAX_RETRIED_PER_CYCLE);
  let next = 0;
  let tried = 0;
  let settled = 0;
  let stillWaiting = 0;
  let unavailableInARow = 0;
  const stopped = (): boolean => unavailableInARow >= UNAVAILABLE_IN_A_ROW;

  const worker = async (): Promise<void> => {
    while (next < due.length && !stopped()) {
      const file = due[next++] as ParkedFile;
      tried += 1;
      let outcome: IngestOutcome;
      try {
        outcome = await deps.ingest(file);
      } catch (err) {
        stillWaiting += 1;
        deps.log?.('ingestion-retry-failed', { orgId: file.orgId, blob: file.blobName, error: err instanceof Error ? err.name : 'unknown' });
        await parkFile(deps.table, file, new Date(deps.clock.now()), deps.random);
        continue;
      }
      if (outcome.kind === 'waiting' && outcome.reason === 'key-vault-unavailable') {
        stillWaiting += 1;
        unavailableInARow += 1;
        continue;
      }
      unavailableInARow = 0;
      settled += 1;
      await unparkFile(deps.table, file);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, due.length) }, worker));
  const summary = { tried, settled, stillWaiting, stoppedEarly: stopped() && tried < due.length };
  if (tried > 0) deps.log?.('ingestion-retry-cycle', { due: due.length, ...summary });
  return summary;
}
