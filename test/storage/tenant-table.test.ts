import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type AzuriteInstance } from '../../local/azurite.js';
import type { SandboxScope } from '../../shared/core/scope.js';
import { AppError, ConflictError } from '../../shared/errors.js';
import {
  bySandbox,
  createTableFactory,
  tenantTable,
  where,
  type TableCodec,
  type TableFactory,
} from '../../shared/storage/tenant-table.js';

interface Note {
  readonly id: string;
  readonly text: string;
  readonly owner: string;
  readonly etag: string;
}

interface NoteEntity {
  rowKey: string;
  text: string;
}

const codec: TableCodec<Note, SandboxScope, NoteEntity, Omit<Note, 'owner' | 'etag'>> = {
  toEntity: (n) => ({ rowKey: n.id, text: n.text }),
  fromEntity: (e, scope) => ({ id: e.rowKey, text: e.text, owner: `${scope.orgId}/${scope.sandbox}`, etag: e.etag }),
};

const ORG = 'CF0418AAAA@AdobeOrg';
const A: SandboxScope = { orgId: ORG, sandbox: 'prod' };
const B: SandboxScope = { orgId: ORG, sandbox: 'dev' };

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('the tenant-table repository against Azurite', () => {
  let azurite: AzuriteInstance;
  let tables: TableFactory;
  let name = 0;
  const notes = () => tenantTable(tables, `notes${++name}`, codec);

  beforeAll(async () => {
    azurite = await startAzurite();
    tables = createTableFactory((table) =>
      TableClient.fromConnectionString(azurite.connectionString, table, { allowInsecureConnection: true }),
    );
  });
  afterAll(async () => {
    await azurite.stop();
  });

  it('keys rows {org}|{sandbox} and never reads another partition', async () => {
    const table = notes();
    const written = await table.in(A).insert({ id: 'n1', text: 'hello' });
    expect(written).toMatchObject({ id: 'n1', text: 'hello', owner: `${ORG}/prod` });
    expect(written.etag).not.toBe('');
    expect(table.in(A).partitionKey).toBe(`${ORG}|prod`);
    expect(await table.in(B).find('n1')).toBeUndefined();
    expect(await table.in(B).exists('n1')).toBe(false);
    expect(await table.in(B).hasRows()).toBe(false);
    expect(await table.in(A).hasRows()).toBe(true);
  });

  it("turns an insert over an existing row into the domain's error, or undefined", async () => {
    const table = notes().in(A);
    await table.insert({ id: 'n1', text: 'first' });
    expect(await code(table.insert({ id: 'n1', text: 'second' }, (cause) => new ConflictError('taken', { cause })))).toBe('CONFLICT');
    expect(await table.insertIfAbsent({ id: 'n1', text: 'third' })).toBeUndefined();
    expect((await table.find('n1'))?.text).toBe('first');
  });

  it('replaces, merges and deletes only the version read (If-Match)', async () => {
    const table = notes().in(A);
    const first = await table.insert({ id: 'n1', text: 'v1' });
    const second = await table.replace({ id: 'n1', text: 'v2' }, first.etag);
    expect(second?.text).toBe('v2');
    expect(await table.replace({ id: 'n1', text: 'stale' }, first.etag)).toBeUndefined();
    expect(await table.merge('n1', { text: 'stale' }, first.etag)).toBe(false);
    expect(await table.delete('n1', first.etag)).toBe(false);
    expect((await table.find('n1'))?.text).toBe('v2');
    expect(await table.delete('n1', second?.etag)).toBe(true);
    expect(await table.delete('n1')).toBe(false);
    expect(await table.replace({ id: 'n1', text: 'gone' })).toBeUndefined();
  });

  it('lists within the partition with filters whose values cannot break out of their literal', async () => {
    const table = notes();
    await table.in(A).insert({ id: 'n1', text: "it's" });
    await table.in(A).insert({ id: 'n2', text: 'other' });
    await table.in(B).insert({ id: 'n3', text: "it's" });
    const texts = async (filter: ReturnType<typeof where>) => {
      const out: string[] = [];
      for await (const note of table.in(A).list(filter)) out.push(note.id);
      return out;
    };
    expect(await texts(where`text eq ${"it's"}`)).toEqual(['n1']);
    // A value that would end the literal and widen the query stays one literal.
    expect(await texts(where`text eq ${"x' or text ne 'x"}`)).toEqual([]);
    const keys: string[] = [];
    for await (const key of table.in(A).rowKeys()) keys.push(key);
    expect(keys).toEqual(['n1', 'n2']);
    const everywhere: string[] = [];
    for await (const note of table.scan(where`text eq ${"it's"}`)) everywhere.push(note.owner);
    expect(everywhere.sort()).toEqual([`${ORG}/dev`, `${ORG}/prod`]);
  });

  it('refuses a malformed scope with INVALID_REQUEST before any storage call', async () => {
    expect(await code((async () => notes().in({ orgId: 'x|y', sandbox: 'prod' }).find('n1'))())).toBe('INVALID_REQUEST');
    expect(await code((async () => notes().in({ orgId: ORG, sandbox: 'Prod' }).find('n1'))())).toBe('INVALID_REQUEST');
  });

  it('reads a partition key back as its scope, and skips keys of another layout', () => {
    expect(bySandbox.parse(`${ORG}|dev`)).toEqual({ scope: { orgId: ORG, sandbox: 'dev' } });
    expect(bySandbox.parse('!migrations')).toBeUndefined();
    expect(bySandbox.parse(`${ORG}|dev|x`)).toBeUndefined();
  });
});
