import { app, type InvocationContext, type Timer } from '@azure/functions';
import './lib/app-setup.js';
import { triggerSettings } from '../shared/trigger-settings.js';
import { appServices } from '../shared/azure/app-services.js';
import { ownershipPolicy } from '../shared/cmk/key-ownership.js';
import { reconcileByokConfigs } from '../shared/cmk/reconcile.js';
import { resumeWaitingFiles } from '../shared/cmk/resume-waiting-files.js';
import { keyReader } from '../shared/cmk/validate-customer-key.js';
import { WAITING_FILES_TABLE } from '../shared/cmk/waiting-files.js';
import { ingestLandedBlob } from '../shared/ingestion/ingest-landed-file.js';
import { landedVersion, landingIngestionDeps } from '../shared/ingestion/landing-ingestion.js';
import { systemClock } from '../shared/core/clock.js';
import { systemRandom } from '../shared/core/random.js';

/**
 * Advances every BYOK config one durable step at a time and watches the orgs that use a customer
 * key (`CMK_RECONCILE_SCHEDULE`, every minute by default). The host runs one listener at a time;
 * the reconciler's conditional writes make a second one harmless anyway.
 */
export async function reconcileCmk(_timer: Timer, ctx: InvocationContext): Promise<void> {
  const services = await appServices();
  const log = (event: string, fields: Record<string, unknown>): void => ctx.log(JSON.stringify({ event, ...fields }));
  const waiting = await services.tables(WAITING_FILES_TABLE);
  const ingestion = await landingIngestionDeps(services, log);
  const summary = await reconcileByokConfigs({
    tables: services.tables,
    rootKeys: services.cmk.rootKeys,
    vault: services.cmk.vault,
    // Through the app's clients with the abort signal passed on, so a vault that never answers times out.
    readKey: keyReader((vaultUrl) => services.clients.keys(vaultUrl)),
    clock: systemClock,
    random: systemRandom,
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
}

app.timer('cmk-reconcile', { schedule: triggerSettings().cmkReconcileSchedule, handler: reconcileCmk });
