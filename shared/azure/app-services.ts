import type { AppConfig } from '../config.js';
import { appConfig } from '../config.js';
import { createTableFactory, type TableFactory } from '../storage/tenant-table.js';
import { azureClients, type AzureClients } from './clients.js';

/** What the functions hand to the domain: the process's configuration, clients and tables. */
export interface AppServices {
  readonly config: AppConfig;
  readonly clients: AzureClients;
  readonly tables: TableFactory;
}

let cached: AppServices | undefined;

/** Built once per process on first use; a bad configuration throws a ConfigError naming it. */
export function appServices(): AppServices {
  if (cached === undefined) {
    const config = appConfig();
    const clients = azureClients(config);
    cached = { config, clients, tables: createTableFactory((name) => clients.table(name)) };
  }
  return cached;
}
