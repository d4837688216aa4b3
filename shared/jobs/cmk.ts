/** Customer-managed keys: the reconciler, and following the system KEK's rotation. */
import type { AppServices } from '../app/services.js';
import { ownershipPolicy } from '../cmk/key-ownership.js';
import { reconcileByokConfigs } from '../cmk/reconcile.js';
import { resumeWaitingFiles } from '../cmk/resume-waiting-files.js';
import { keyReader } from '../cmk/validate-cmk-key.js';
import { WAITING_FILES_TABLE } from '../cmk/waiting-files.js';
import { ingestLandedBlob } from '../ingestion/ingest-landed-file.js';
import { landedVersion, landingIngestionDeps } from '../app/ingestion-deps.js';
import { followSystemKekRotation } from '../vault/follow-system-kek.js';
import type { TimerJob } from './job.js';

/** Registered and described by `functions/cmk-reconcile.ts`. */
export const reconcileCmkJob: TimerJob<AppServices> = {
  name: 'cmk-reconcile',
  schedule: (t) => t.cmkReconcileSchedule,
  async run(services, log) {
    const waiting = await services.tables(WAITING_FILES_TABLE);
    const ingestion = await landingIngestionDeps(services, log);
    const summary = await reconcileByokConfigs({
      tables: services.tables,
      rootKeys: services.cmk.rootKeys,
      vault: services.cmk.vault,
      // Through the app's clients with the abort signal passed on, so a vault that never answers times out.
      readKey: keyReader((vaultUrl) => services.clients.keys(vaultUrl)),
      clock: services.clock,
      random: services.random,
      ownership: ownershipPolicy(services.cmk.settings, services.config.systemKeyVaultUrl),
      unreachableGiveUpMinutes: services.cmk.settings.unreachableGiveUpMinutes,
      log,
      resumeWaitingFiles: async (orgId) => {
        await resumeWaitingFiles(
          {
            table: waiting,
            log,
            ingest: async (file) => {
              const outcome = await ingestLandedBlob(ingestion, landedVersion(services, file));
              // A vault outage moved it to the retry timer's parked files: no longer waiting here.
              return outcome.kind === 'waiting' && outcome.reason === 'cmk-access-revoked' ? 'waiting' : 'settled';
            },
          },
          orgId,
        );
      },
    });
    if (summary.transitions > 0) log('cmk-reconcile-cycle', { ...summary });
  },
};

/** Registered and described by `functions/system-kek-rotate.ts`. */
export const rotateSystemKekJob: TimerJob<AppServices> = {
  name: 'system-kek-rotate',
  schedule: (t) => t.systemKekRotateSchedule,
  async run(services, log) {
    // The hierarchy's own resolution: created when absent in local mode (once per process), only named in production.
    const systemKek = await services.systemKek();
    const result = await followSystemKekRotation({
      rootKeys: services.cmk.rootKeys,
      vault: services.cmk.vault,
      readKey: services.cmk.readKey,
      clock: services.clock,
      systemKek,
    });
    log('system-kek-followed', { ...result });
  },
};
