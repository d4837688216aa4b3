import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DEV_ACCOUNT, DEV_ACCOUNT_KEY } from '../azurite.js';

export type Settings = Readonly<Record<string, string | undefined>>;

/**
 * App settings as Core Tools builds them: `local.settings.json` `Values`, overridden by the
 * process environment. They are also copied into `process.env`, where the app reads them, as the
 * host does with app settings.
 */
export async function loadSettings(appRoot: string, env: NodeJS.ProcessEnv = process.env): Promise<Settings> {
  let values: Record<string, unknown> = {};
  try {
    const file = JSON.parse(await readFile(path.join(appRoot, 'local.settings.json'), 'utf8')) as { Values?: Record<string, unknown> };
    values = file.Values ?? {};
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const settings: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(values)) {
    if (typeof value === 'string') settings[key] = value;
  }
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined) settings[key] = value;
  }
  for (const [key, value] of Object.entries(settings)) {
    if (env[key] === undefined && value !== undefined) env[key] = value;
  }
  return settings;
}

/**
 * The storage connection string a binding's `connection` names, as the host resolves it: the
 * setting itself, else `AzureWebJobs<name>`; `UseDevelopmentStorage=true` means Azurite on its
 * default ports.
 */
export function storageConnectionString(settings: Settings, connection: string | undefined): string {
  const name = connection === undefined || connection === '' ? 'AzureWebJobsStorage' : connection;
  const value = settings[name] ?? settings[`AzureWebJobs${name}`];
  if (value === undefined || value === '') {
    throw new Error(`Storage connection "${name}" is not configured (app setting ${name} is missing).`);
  }
  if (value.trim().toLowerCase() === 'usedevelopmentstorage=true') {
    return (
      `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_ACCOUNT_KEY};` +
      `BlobEndpoint=http://127.0.0.1:10000/${DEV_ACCOUNT};QueueEndpoint=http://127.0.0.1:10001/${DEV_ACCOUNT};` +
      `TableEndpoint=http://127.0.0.1:10002/${DEV_ACCOUNT};`
    );
  }
  return value;
}
