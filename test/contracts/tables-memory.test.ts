import { odata } from '@azure/data-tables';
import { describe, expect, it } from 'vitest';
import { isStorageOutage } from '../../shared/core/azure-errors.js';
import { MemoryTableService } from '../fakes/memory-tables.js';
import { tablesContract } from './tables.contract.js';

tablesContract('in-memory fake', () => {
  const service = new MemoryTableService();
  return Promise.resolve({ client: (name: string) => service.client(name), factory: () => service.factory(), stop: () => Promise.resolve() });
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (err: unknown) => err,
  );
}

async function listed(service: MemoryTableService, filter: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of service.client('notes').listEntities({ queryOptions: { filter } })) out.push(String(e.rowKey));
  return out;
}

async function seeded(): Promise<MemoryTableService> {
  const service = new MemoryTableService();
  const table = service.client('notes');
  await table.createTable();
  await table.createEntity({ partitionKey: 'p', rowKey: '1', n: 5, big: 1767225600000, flag: true, bytes: new Uint8Array([1]) });
  return service;
}

// Where Azurite accepts what Azure refuses, the fake refuses too; what it does not evaluate, it
// throws for. Neither can run against Azurite, so these are the fake's own tests.
describe('in-memory table fake, beyond the contract', () => {
  it('refuses an unsuffixed integer literal beyond Int32 with 400, as Azure does (Azurite compares it)', async () => {
    const service = await seeded();
    expect(await rejection(listed(service, odata`big lt ${1767225650000}`))).toMatchObject({ statusCode: 400, details: { errorCode: 'InvalidInput' } });
    expect(await listed(service, 'big lt 1767225650000.0')).toEqual(['1']);
  });

  it('refuses an unterminated string or a malformed datetime or guid literal with 400 (Azurite matches nothing)', async () => {
    const service = await seeded();
    for (const filter of ["PartitionKey eq 'p", "n eq datetime'soon'", "n eq guid'nope'", "PartitionKey eq 'p' 'q'"]) {
      expect(await rejection(listed(service, filter))).toMatchObject({ statusCode: 400 });
    }
  });

  it('throws for OData it does not evaluate instead of matching every row', async () => {
    const service = await seeded();
    for (const filter of ['flag', 'PartitionKey eq RowKey', "bytes eq X'01'", 'n lt 1e3', 'n eq 5.0d', "'p' eq 'p'"]) {
      const err = await rejection(listed(service, filter));
      expect(err).toBeInstanceOf(Error);
      expect(err).toMatchObject({ message: expect.stringMatching(/in-memory table fake does not evaluate/) as unknown });
    }
    expect(await rejection(service.client('notes').getEntity('p', '1', { disableTypeConversion: true }))).toMatchObject({
      message: expect.stringMatching(/does not support disableTypeConversion/) as unknown,
    });
  });

  it('answers an injected fault as a storage outage, then works again', async () => {
    const service = await seeded();
    const table = service.client('notes');
    service.injectFault({ status: 503, count: 2, operations: ['getEntity'] });
    for (let i = 0; i < 2; i++) {
      const err = await rejection(table.getEntity('p', '1'));
      expect(err).toMatchObject({ statusCode: 503, details: { errorCode: 'ServerBusy' } });
      expect(isStorageOutage(err)).toBe(true);
    }
    expect((await table.getEntity('p', '1')).n).toBe(5);
  });

  it('counts the operations asked of it, a page of a listing as one', async () => {
    const service = await seeded();
    service.resetRequestCounts();
    const table = service.client('notes');
    await table.createEntity({ partitionKey: 'p', rowKey: '2' });
    for await (const page of table.listEntities().byPage({ maxPageSize: 1 })) expect(page).toHaveLength(1);
    await table.submitTransaction([['delete', { partitionKey: 'p', rowKey: '2' }]]);
    expect(service.requestCounts()).toEqual({ createEntity: 1, queryEntities: 2, submitTransaction: 1 });
  });

  it('stamps writes from its clock, 100 ns apart within one millisecond', async () => {
    const service = new MemoryTableService({ now: () => Date.parse('2030-01-01T00:00:00Z') });
    const table = service.client('notes');
    await table.createTable();
    await table.createEntity({ partitionKey: 'p', rowKey: '1' });
    await table.createEntity({ partitionKey: 'p', rowKey: '2' });
    const [a, b] = [await table.getEntity('p', '1'), await table.getEntity('p', '2')];
    expect([a.timestamp, b.timestamp]).toEqual(['2030-01-01T00:00:00.0000000Z', '2030-01-01T00:00:00.0000001Z']);
    expect(b.etag).toBe(`W/"datetime'2030-01-01T00%3A00%3A00.0000001Z'"`);
  });
});
