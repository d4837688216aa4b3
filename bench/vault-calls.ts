import { readFile } from 'node:fs/promises';
import { ApiClient, type Run } from '../local/api-client.js';
import { GpgHome, ensureGpg } from '../local/gpg.js';
import { startRuntime } from '../local/runtime-process.js';
import { startLocalStack } from '../local/stack.js';
import { encryptCsvFile } from './gpg-files.js';
import { rounded } from './measure.js';
import { figure, type Figure } from './report.js';
import { createIngestionFlow } from './ingestion-flow.js';

export interface VaultCallsOptions {
  readonly files: number;
  readonly log: (line: string) => void;
}

const ORG = 'BENCHVAULT@AdobeOrg';
const FILE_BYTES = 64 * 1024;
/** Lets the runtime's startup timers (key rotation, CMK reconciler) finish before counting. */
const SETTLE_MS = 3000;
/** `CIPHERFLOW_QUEUE_MAX_POLL_MS`: the runtime finds the files' BlobCreated events without idling. */
const QUEUE_MAX_POLL_MS = 200;

/**
 * Figure 5: Key Vault requests per ingested file, counted by the emulator. The flow is set up on
 * one runtime; the files are ingested by a freshly started one (cold key caches, as after a
 * deployment or a scale-out), so the count includes the SDK's first (challenge) request and the
 * first unwrap of the sandbox root key; after that, the root key cache serves every file. The
 * files land in the org's landing zone with the SAS the setup runtime issued, so issuing it is not
 * counted either.
 */
export async function vaultCallsFigure(options: VaultCallsOptions): Promise<Figure> {
  ensureGpg();
  const stack = await startLocalStack();
  const home = await GpgHome.create();
  try {
    const setup = await startRuntime(stack.env);
    const flow = await createIngestionFlow(setup.url, ORG, home, 'vault');
    const file = await readFile(await encryptCsvFile(home, flow.recipient, FILE_BYTES, 'none', 'vault.csv.gpg'));
    await setup.stop();

    const runtime = await startRuntime({ ...stack.env, CIPHERFLOW_QUEUE_MAX_POLL_MS: String(QUEUE_MAX_POLL_MS) });
    try {
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const api = new ApiClient(runtime.url, ORG);
      stack.vault.requestCounts({ reset: true });
      const names = Array.from(
        { length: options.files },
        (_, i) => `${flow.folder}/file-${String(i).padStart(4, '0')}.csv.gpg`,
      );
      const t0 = performance.now();
      for (let i = 0; i < names.length; i += 10) {
        await Promise.all(names.slice(i, i + 10).map((n) => flow.zone.getBlockBlobClient(n).uploadData(file)));
      }
      let runs: Run[] = [];
      const deadline = Date.now() + 300_000;
      for (;;) {
        ({ items: runs } = await api.json<{ items: Run[] }>(
          'GET',
          `/data/foundation/flowservice/runs?property=flowId==${flow.flowId}`,
        ));
        if (runs.filter((r) => r.status !== 'inProgress').length >= options.files) break;
        if (Date.now() > deadline) throw new Error(`only ${runs.length} of ${options.files} runs finished`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const seconds = (performance.now() - t0) / 1000;
      const counts = stack.vault.requestCounts();
      const failed = runs.filter((r) => r.status !== 'success');
      if (failed.length > 0) throw new Error(`${failed.length} runs failed: ${JSON.stringify(failed[0])}`);
      // `token` counts the managed identity endpoint the emulator also serves: not a Key Vault call.
      const total = Object.entries(counts).reduce((a, [op, n]) => (op === 'token' ? a : a + n), 0);
      options.log(
        `  ${total} vault requests for ${options.files} files (${JSON.stringify(counts)}), ${seconds.toFixed(1)} s`,
      );
      return figure({
        id: '5',
        name: `Key Vault requests per ingested file, ${options.files} files, cold runtime`,
        value: total / options.files,
        unit: 'calls/file',
        target: { compare: 'value', op: '<=', bound: 0.01 },
        note: `${total} vault requests (managed identity token requests not counted): ${
          Object.entries(counts)
            .filter(([, n]) => n > 0)
            .map(([op, n]) => `${op} ${n}`)
            .join(', ') || 'none'
        }`,
        details: rounded({ files: options.files, fileBytes: FILE_BYTES, requestsByOperation: counts, seconds }),
      });
    } finally {
      await runtime.stop();
    }
  } finally {
    await home.dispose();
    await stack.stop();
  }
}
