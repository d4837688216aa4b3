import { TableClient } from '@azure/data-tables';
import { startAzurite } from '../../local/azurite.js';
import { createTableFactory } from '../../shared/storage/tenant-table.js';
import { tablesContract } from './tables.contract.js';

// The reference side of the contract: the SDK's own client against Azurite in memory.
tablesContract('Azurite', async () => {
  const azurite = await startAzurite();
  const client = (name: string) => TableClient.fromConnectionString(azurite.connectionString, name, { allowInsecureConnection: true });
  return { client, factory: () => createTableFactory(client), stop: () => azurite.stop() };
});
