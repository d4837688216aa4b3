/**
 * The local Functions runtime process: loads the compiled app the way the Node.js worker does
 * and serves its HTTP, queue and timer triggers. `npm start` runs it (with Azurite and the
 * Key Vault emulator); tests run it as a child process. It has no code path of its own for any
 * function: every invocation goes through @azure/functions' programming model.
 *
 * Settings: local.settings.json `Values`, overridden by the environment. `CIPHERFLOW_APP_ROOT`
 * (default: this repository) names the app; `PORT` (default 7071) the HTTP port, 0 for a free one;
 * `REQUEST_BODY_TIMEOUT_SECONDS` (default 60), read by the app too, how long a request body may take;
 * `CIPHERFLOW_KILL_AT=<event>:<n>` (crash tests) kills the process at the app's n-th `<event>` log line.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigPart } from '../../shared/config/app-config.js';
import { bodyTimeouts } from '../../shared/http/read-body.js';
import { CoreApi } from './core-api.js';
import type { TriggerListener } from './host.js';
import { startHttpHost, type HttpHost } from './http-host.js';
import { installCoreModule, loadApp } from './load-app.js';
import { killSwitch, parseKillAt } from './kill-switch.js';
import { createRuntimeLogger } from './logger.js';
import { startQueueTriggers } from './queue-trigger.js';
import { loadSettings } from './settings.js';
import { startTimerTriggers } from './timer-trigger.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

async function main(): Promise<void> {
  const appRoot = path.resolve(process.env.CIPHERFLOW_APP_ROOT ?? repoRoot);
  const settings = await loadSettings(appRoot);
  const killAt = parseKillAt(settings.CIPHERFLOW_KILL_AT);
  const watch = killAt === undefined ? undefined : killSwitch(killAt);
  const logger = createRuntimeLogger('information', (line) => {
    process.stdout.write(`${line}\n`);
    watch?.(line);
  });
  const core = new CoreApi((level, category, message) => logger.write(level, category, message));
  installCoreModule(core);
  await loadApp(appRoot, core);

  const model = core.programmingModel;
  if (model === undefined) {
    throw new Error('The app did not load @azure/functions: no programming model was registered.');
  }
  await core.runHooks('appStart', { hookData: {}, appHookData: {} });
  const capabilities = (await model.getCapabilities?.({})) ?? {};

  const port = Number(settings.PORT ?? 7071);
  const host = settings.HOST ?? '127.0.0.1';
  let http: HttpHost | undefined;
  const hasHttp = [...core.registrations.values()].some((r) =>
    Object.values(r.metadata.bindings).some((b) => b.type?.toLowerCase() === 'httptrigger'),
  );
  if (hasHttp) {
    const proxyUri = capabilities.HttpUri;
    if (proxyUri === undefined) {
      throw new Error('HTTP functions need HTTP streaming: call app.setup({ enableHttpStream: true }) in the app.');
    }
    http = await startHttpHost(core, proxyUri, { port, host, logger, bodyTimeouts: bodyTimeouts(loadConfigPart('http', settings).requestBodyTimeoutSeconds) });
  }
  const hostId = settings.AzureFunctionsJobHost__id ?? 'cipherflow-local';
  const context = { core, settings, logger, hostId };
  const listeners: TriggerListener[] = [await startQueueTriggers(context), await startTimerTriggers(context)];

  logger.event('host-started', {
    url: http?.url,
    functions: [...core.registrations.keys()],
    routes: http?.routes ?? [],
  });

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.write('information', 'system', `Received ${signal}: stopping.`);
    await http?.close();
    await Promise.all(listeners.map((l) => l.close()));
    await core.runHooks('appTerminate', { hookData: {}, appHookData: {} });
    logger.event('host-stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`The local runtime could not start: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
