/**
 * `npm start`: the whole system on this machine, with nothing installed globally.
 *  1. a development TLS CA (for the Key Vault emulator's HTTPS), created once under .local/;
 *  2. Azurite (blob, queue, table) from node_modules, persisted under .local/azurite, with the
 *     internal account and the landing account, whose blob endpoint is a local Event Grid
 *     (local/landing-events.ts) on 127.0.0.1:10010 that queues BlobCreated events;
 *  3. the Key Vault emulator, persisted under .local/keyvault, and the development token issuer
 *     (its JWKS on 127.0.0.1:7072; `npm run token` mints tokens for it);
 *  4. the local Functions runtime running the compiled app (dist/), as a child process whose
 *     environment points the app's unmodified production code at 2 and 3.
 * `npm start -- --services-only` starts 1-3 (and the development token issuer) and prints the settings to use with `func start`.
 * Ctrl-C stops everything.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startAzurite, stopChild } from './azurite.js';
import { DEV_ISSUER_PORT } from '../shared/config/defaults.js';
import { startDevIssuer } from './dev-issuer.js';
import { APP_PROCESS_ENV } from './runtime-process.js';
import { ensureDevTls } from './dev-tls.js';
import { startKeyVaultEmulator } from './keyvault-emulator/index.js';
import { DEFAULT_LANDING_CONTAINER_PREFIX, LANDING_EVENTS_QUEUE, landingAppSettings, startLandingEvents } from './landing-events.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'services-only': { type: 'boolean', default: false },
      port: { type: 'string', default: process.env.PORT ?? '7071' },
      'vault-port': { type: 'string', default: process.env.KEYVAULT_EMULATOR_PORT ?? '8443' },
      'identity-port': { type: 'string', default: process.env.IDENTITY_EMULATOR_PORT ?? '8444' },
      'issuer-port': { type: 'string', default: String(DEV_ISSUER_PORT) },
      'blob-port': { type: 'string', default: '10000' },
      'queue-port': { type: 'string', default: '10001' },
      'table-port': { type: 'string', default: '10002' },
      // The landing account's blob endpoint (the local Event Grid in front of Azurite).
      'landing-port': { type: 'string', default: '10010' },
      // Where Azurite's data and the emulator's keys persist (default .local/ in the repository).
      'state-dir': { type: 'string', default: path.join(repoRoot, '.local') },
    },
  });
  const local = path.resolve(values['state-dir']);
  await mkdir(path.join(local, 'azurite'), { recursive: true });
  await mkdir(path.join(local, 'keyvault'), { recursive: true });

  const tls = await ensureDevTls();
  const azurite = await startAzurite({
    location: path.join(local, 'azurite'),
    blobPort: Number(values['blob-port']),
    queuePort: Number(values['queue-port']),
    tablePort: Number(values['table-port']),
  });
  const landing = await startLandingEvents({
    upstream: azurite.landing,
    queue: { connectionString: azurite.connectionString, queueName: LANDING_EVENTS_QUEUE },
    port: Number(values['landing-port']),
  });
  const vault = await startKeyVaultEmulator({
    port: Number(values['vault-port']),
    identityPort: Number(values['identity-port']),
    dataFile: path.join(local, 'keyvault', 'state.json'),
    tls,
  });

  const issuer = await startDevIssuer({ port: Number(values['issuer-port']), env: { CIPHERFLOW_ENV: 'local' } });

  const env: Record<string, string> = {
    CIPHERFLOW_ENV: 'local',
    AUTH_JWKS_URL: issuer.jwksUrl,
    AzureWebJobsStorage: azurite.connectionString,
    SYSTEM_KEY_VAULT_URL: vault.url,
    NODE_EXTRA_CA_CERTS: tls.caPath,
    ...vault.env(),
    ...landingAppSettings(landing),
  };
  const print = (line: string): boolean => process.stdout.write(`${line}\n`);
  print('cipherflow local services');
  print(`  Azurite blob   ${azurite.blobEndpoint}`);
  print(`  Azurite queue  ${azurite.queueEndpoint}`);
  print(`  Azurite table  ${azurite.tableEndpoint}`);
  print(`  Landing blob   ${landing.blobEndpoint}  (BlobCreated for ${DEFAULT_LANDING_CONTAINER_PREFIX}* containers -> queue ${landing.queueName})`);
  print(`  Key Vault      ${vault.url}  (emulator; identity endpoint ${vault.identityEndpoint})`);
  print(`  Dev issuer     ${issuer.jwksUrl}  (tokens: npm run --silent token -- --org ORG)`);

  const stops: (() => Promise<void>)[] = [() => issuer.close(), () => vault.close(), () => landing.close(), () => azurite.stop()];
  if (values['services-only']) {
    print('\nFor `func start`, export (or put in local.settings.json Values):');
    for (const [key, value] of Object.entries(env)) print(`  ${key}=${value}`);
  } else {
    const runtime = spawn(process.execPath, [path.join(repoRoot, 'dist', 'local', 'runtime', 'main.js')], {
      env: { ...process.env, ...APP_PROCESS_ENV, ...env, PORT: values.port },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    runtime.stdout?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (line.includes('"event":"host-started"')) {
          const started = JSON.parse(line) as { url?: string; routes?: { methods: string[]; route: string }[] };
          print(`  API            ${started.url ?? '(no HTTP functions)'}`);
          for (const r of started.routes ?? []) print(`    ${r.methods.join(',').padEnd(12)} /${r.route}`);
          print('Ctrl-C stops everything.');
        }
      }
      process.stdout.write(chunk);
    });
    runtime.once('exit', (code, signal) => {
      if (!stopping) {
        process.stderr.write(`The runtime exited (${signal ?? code}); stopping.\n`);
        void shutdown(1);
      }
    });
    stops.unshift(() => stopChild(runtime));
  }

  let stopping = false;
  const shutdown = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    for (const stop of stops) await stop().catch(() => undefined);
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
}

main().catch((err: unknown) => {
  process.stderr.write(`npm start failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
