import {
  RestError,
  type CreateTableEntityResponse,
  type DeleteTableEntityOptions,
  type GetTableEntityOptions,
  type ListTableEntitiesOptions,
  type TableClient,
  type TableEntity,
  type TableEntityResult,
  type TableEntityResultPage,
  type TableTransactionEntityResponse,
  type TableTransactionResponse,
  type TransactionAction,
  type UpdateMode,
  type UpdateTableEntityOptions,
} from '@azure/data-tables';
import { createTableFactory, type TableFactory } from '../../shared/storage/tenant-table.js';
import { EdmValueError, fromEdm, toEdm, type EdmValue } from './lib/edm.js';
import { compileFilter, FilterError, type EntityFilter } from './lib/odata-filter.js';

/**
 * An in-memory Azure Table service for unit tests, answering through objects typed as the SDK's
 * `TableClient` (@azure/data-tables 13) for the methods the app calls: createTable, deleteTable,
 * createEntity, getEntity, listEntities (filter, select, byPage), upsertEntity, updateEntity,
 * deleteEntity and submitTransaction. It answers as Azurite does where the app depends on it
 * (test/contracts/tables.contract.ts runs the same tests against both):
 *
 * - failures are the SDK's `RestError` with the service's `statusCode` and, as the SDK gives them,
 *   the error code in `details.errorCode` (a single operation; its `code` is undefined) or in
 *   `code` with `"{index}:"` before the message (a transaction);
 * - every write gives a new ETag and `timestamp`; If-Match ETags and `*` as the service checks them;
 * - rows are listed in PartitionKey, then RowKey order, at most 1,000 a page, with continuation;
 * - property types as stored and returned: string, number (Int32 when an integer in range, else
 *   Double), boolean, Date, Uint8Array (returned as Buffer), bigint (Int64), the SDK's typed
 *   `{ value, type }` objects (a Guid comes back as one);
 * - `$filter` in the subset lib/odata-filter.ts evaluates; anything else throws.
 *
 * Not modelled: `disableTypeConversion` (throws), access policies and SAS (throw), table listing,
 * the 252-property and 1 MiB entity limits, a continuation token on an empty or short page (Azure
 * may send one at a partition boundary or after 5 s; the fake never does), and latency: an
 * operation takes effect atomically after one microtask.
 */

/** What the fake counts and can fail: the service operations behind the client's methods. */
export type TableOperation =
  | 'createTable'
  | 'deleteTable'
  | 'createEntity'
  | 'getEntity'
  | 'queryEntities'
  | 'upsertEntity'
  | 'updateEntity'
  | 'deleteEntity'
  | 'submitTransaction';

/** An injected failure: the next `count` matching operations answer `status` (503 by default). */
export interface TableFault {
  readonly status?: number;
  readonly count?: number;
  readonly operations?: readonly TableOperation[];
}

export interface MemoryTableServiceOptions {
  /** Epoch milliseconds for timestamps and ETags (default `Date.now`). */
  readonly now?: () => number;
}

interface StoredEntity {
  readonly partitionKey: string;
  readonly rowKey: string;
  readonly properties: ReadonlyMap<string, EdmValue>;
  readonly etag: string;
  /** ISO 8601 with seven fraction digits, as the service writes it. */
  readonly timestamp: string;
}

interface TableState {
  readonly name: string;
  readonly rows: Map<string, StoredEntity>;
}

/** A service refusal before it becomes the SDK's error (single operation or transaction). */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

const ACCOUNT_URL = 'https://memorytables.table.core.windows.net';
const MAX_PAGE_SIZE = 1000;
const MAX_TRANSACTION_ACTIONS = 100;
/** 1 KiB of UTF-16: Azure's key limit (Azurite refuses 513 characters too). */
const MAX_KEY_CHARS = 512;
const TABLE_NAME = /^[A-Za-z][A-Za-z0-9]{2,62}$/;
// '/', '\', '#', '?' and control characters are not allowed in PartitionKey or RowKey.
// eslint-disable-next-line no-control-regex
const FORBIDDEN_KEY_CHARACTERS = /[/\\#?\u0000-\u001f\u007f-\u009f]/;
// Entity members the service never stores as properties: the keys, the ETag (the SDK sends `etag`
// as odata.etag) and the timestamp (`timestamp` → Timestamp, a system property). Azurite stores
// every other name, `odata.metadata` of a read entity spread into a write included (so the fake
// does too); Azure reads names starting with `odata.` as annotations, not columns.
const NOT_PROPERTIES: ReadonlySet<string> = new Set(['partitionKey', 'rowKey', 'PartitionKey', 'RowKey', 'etag', 'odata.etag', 'timestamp', 'Timestamp']);
const SDK_TO_SERVICE_NAME: Readonly<Record<string, string>> = { partitionKey: 'PartitionKey', rowKey: 'RowKey', timestamp: 'Timestamp' };

const NOT_FOUND = (): Refusal => new Refusal(404, 'ResourceNotFound', 'The specified resource does not exist.');
const TABLE_NOT_FOUND = (): Refusal => new Refusal(404, 'TableNotFound', 'The table specified does not exist.');
const ALREADY_EXISTS = (): Refusal => new Refusal(409, 'EntityAlreadyExists', 'The specified entity already exists.');
const CONDITION_NOT_MET = (): Refusal => new Refusal(412, 'UpdateConditionNotSatisfied', 'The update condition specified in the request was not satisfied.');

/**
 * One storage account's Table service, in memory. Clients made from it (or from its factory)
 * share its tables, as clients of one account do.
 */
export class MemoryTableService {
  readonly url = ACCOUNT_URL;
  readonly #tables = new Map<string, TableState>();
  readonly #now: () => number;
  readonly #faults: { status: number; remaining: number; operations: readonly TableOperation[] | undefined }[] = [];
  readonly #counts = new Map<TableOperation, number>();
  #lastTicks = 0n;

  constructor(options: MemoryTableServiceOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** A client of table `name` (the table need not exist yet), like `TableClient.fromConnectionString`. */
  client(name: string): TableClient {
    // The SDK's class has private members, so no other object has its type: the fake implements
    // the methods the app calls (checked by `implements` below) and is handed out as the class.
    return new MemoryTableClient(this, name) as unknown as TableClient;
  }

  /** A factory like the app's (`createTableFactory`): each table created on first use. */
  factory(): TableFactory {
    return createTableFactory((name) => this.client(name));
  }

  /** Makes the next matching operations fail with `status` (503 by default), e.g. an outage. */
  injectFault(fault: TableFault = {}): void {
    this.#faults.push({ status: fault.status ?? 503, remaining: fault.count ?? 1, operations: fault.operations });
  }

  clearFaults(): void {
    this.#faults.length = 0;
  }

  /** How many of each operation were requested (listing: one per page), failed ones included. */
  requestCounts(): Partial<Record<TableOperation, number>> {
    return Object.fromEntries(this.#counts);
  }

  resetRequestCounts(): void {
    this.#counts.clear();
  }

  /** @internal Counts an operation and answers an injected fault. */
  request(operation: TableOperation): void {
    this.#counts.set(operation, (this.#counts.get(operation) ?? 0) + 1);
    const index = this.#faults.findIndex((f) => f.operations === undefined || f.operations.includes(operation));
    const fault = this.#faults[index];
    if (fault === undefined) return;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.#faults.splice(index, 1);
    throw new Refusal(fault.status, fault.status === 503 ? 'ServerBusy' : 'InternalError', `Injected fault: ${operation} answers ${fault.status}.`);
  }

  /** @internal */
  table(name: string): TableState | undefined {
    return this.#tables.get(name.toLowerCase());
  }

  /** @internal */
  createTable(name: string): void {
    if (!TABLE_NAME.test(name) || name.toLowerCase() === 'tables') {
      throw new Refusal(400, 'InvalidResourceName', 'The specified resource name contains invalid characters.');
    }
    if (!this.#tables.has(name.toLowerCase())) this.#tables.set(name.toLowerCase(), { name, rows: new Map() });
  }

  /** @internal */
  deleteTable(name: string): void {
    this.#tables.delete(name.toLowerCase());
  }

  /** @internal A new ETag and timestamp, later than every one given before. */
  stamp(): { etag: string; timestamp: string; date: Date } {
    // 100 ns ticks, as the service's timestamps have; strictly increasing, so every write differs.
    const ticks = BigInt(this.#now()) * 10_000n;
    this.#lastTicks = ticks > this.#lastTicks ? ticks : this.#lastTicks + 1n;
    const ms = this.#lastTicks / 10_000n;
    const date = new Date(Number(ms));
    const timestamp = `${date.toISOString().slice(0, 23)}${String(this.#lastTicks % 10_000n).padStart(4, '0')}Z`;
    return { etag: `W/"datetime'${encodeURIComponent(timestamp)}'"`, timestamp, date };
  }
}

/** The `TableClient` members the fake implements. */
type ImplementedMembers =
  | 'tableName'
  | 'url'
  | 'createTable'
  | 'deleteTable'
  | 'createEntity'
  | 'getEntity'
  | 'listEntities'
  | 'upsertEntity'
  | 'updateEntity'
  | 'deleteEntity'
  | 'submitTransaction';

type UpdateResponse = Awaited<ReturnType<TableClient['updateEntity']>>;
type UpsertResponse = Awaited<ReturnType<TableClient['upsertEntity']>>;
type DeleteResponse = Awaited<ReturnType<TableClient['deleteEntity']>>;
type PageSettings = { readonly continuationToken?: string; readonly maxPageSize?: number };

/** A planned write, checked against the table before anything is applied. */
type Write =
  | ({ readonly kind: 'create'; readonly partitionKey: string; readonly rowKey: string } & Properties)
  | ({ readonly kind: 'update'; readonly partitionKey: string; readonly rowKey: string; readonly mode: UpdateMode; readonly etag: string } & Properties)
  | ({ readonly kind: 'upsert'; readonly partitionKey: string; readonly rowKey: string; readonly mode: UpdateMode } & Properties)
  | { readonly kind: 'delete'; readonly partitionKey: string; readonly rowKey: string; readonly etag: string };

/** The properties to store, or the service's refusal of one of them (answered when the write is). */
interface Properties {
  readonly properties: ReadonlyMap<string, EdmValue>;
  readonly refused?: Refusal;
}

class MemoryTableClient implements Pick<TableClient, ImplementedMembers> {
  readonly url: string;

  constructor(
    private readonly service: MemoryTableService,
    readonly tableName: string,
  ) {
    this.url = service.url;
  }

  async createTable(): Promise<void> {
    await settle();
    this.#single('createTable', () => this.service.createTable(this.tableName));
  }

  async deleteTable(): Promise<void> {
    await settle();
    // The SDK answers success when the table does not exist.
    this.#single('deleteTable', () => this.service.deleteTable(this.tableName));
  }

  async createEntity<T extends object>(entity: TableEntity<T>): Promise<CreateTableEntityResponse> {
    await settle();
    const properties = propertiesOf(entity);
    return this.#single('createEntity', () => {
      const { etag, date } = this.#applyOne({ kind: 'create', ...keysOf(entity), ...properties });
      return { etag, date, preferenceApplied: 'return-no-content' };
    });
  }

  getEntity<T extends object = Record<string, unknown>>(partitionKey: string, rowKey: string, options: GetTableEntityOptions = {}): Promise<TableEntityResult<T>> {
    requireKey(partitionKey, 'partitionKey');
    requireKey(rowKey, 'rowKey');
    return this.#getEntity<T>(partitionKey, rowKey, options);
  }

  async #getEntity<T extends object>(partitionKey: string, rowKey: string, options: GetTableEntityOptions): Promise<TableEntityResult<T>> {
    await settle();
    if (options.disableTypeConversion === true) throw unsupported('disableTypeConversion');
    const select = selectedNames(options.queryOptions?.select);
    return this.#single('getEntity', () => {
      const stored = this.#existingTable().rows.get(rowId(partitionKey, rowKey));
      if (stored === undefined) throw NOT_FOUND();
      return asResult<T>({ 'odata.metadata': `${this.url}/$metadata#${this.tableName}/@Element`, ...entityView(stored, select) });
    });
  }

  listEntities<T extends object = Record<string, unknown>>(options: ListTableEntitiesOptions = {}) {
    const pages = (settings: PageSettings = {}) => this.#pages<T>(options, settings);
    const all = (async function* () {
      for await (const page of pages()) yield* page;
    })();
    return {
      next: () => all.next(),
      [Symbol.asyncIterator]() {
        return this;
      },
      byPage: (settings?: PageSettings) => pages(settings),
    };
  }

  async *#pages<T extends object>(options: ListTableEntitiesOptions, settings: PageSettings): AsyncGenerator<TableEntityResultPage<T>> {
    await settle();
    if (options.disableTypeConversion === true) throw unsupported('disableTypeConversion');
    const select = selectedNames(options.queryOptions?.select);
    const top = settings.maxPageSize ?? MAX_PAGE_SIZE;
    let filter: EntityFilter | undefined;
    let from = settings.continuationToken === undefined ? undefined : decodeToken(settings.continuationToken);
    for (;;) {
      const page = this.#single('queryEntities', () => {
        if (!Number.isInteger(top) || top < 1) throw new Refusal(400, 'InvalidInput', 'The $top value must be a positive integer.');
        const table = this.#existingTable();
        filter ??= compiledFilter(options.queryOptions?.filter);
        const matching: StoredEntity[] = [];
        let next: StoredEntity | undefined;
        for (const stored of sortedRows(table)) {
          if (from !== undefined && compareKeys(stored, from) < 0) continue;
          if (!matches(filter, stored)) continue;
          if (matching.length === Math.min(top, MAX_PAGE_SIZE)) {
            next = stored;
            break;
          }
          matching.push(stored);
        }
        const entities = matching.map((stored) => asResult<T>(entityView(stored, select)));
        return { entities, next };
      });
      const result: TableEntityResultPage<T> = page.next === undefined ? page.entities : Object.assign(page.entities, { continuationToken: encodeToken(page.next) });
      yield result;
      if (page.next === undefined) return;
      from = page.next;
      await settle();
    }
  }

  async upsertEntity<T extends object>(entity: TableEntity<T>, mode: UpdateMode = 'Merge'): Promise<UpsertResponse> {
    await settle();
    requireKey(entity.partitionKey, 'partitionKey');
    requireKey(entity.rowKey, 'rowKey');
    checkMode(mode);
    const properties = propertiesOf(entity);
    return this.#single('upsertEntity', () => {
      const { etag, date } = this.#applyOne({ kind: 'upsert', ...keysOf(entity), ...properties, mode });
      return { etag, date };
    });
  }

  updateEntity<T extends object>(entity: TableEntity<T>, mode: UpdateMode = 'Merge', options: UpdateTableEntityOptions = {}): Promise<UpdateResponse> {
    requireKey(entity.partitionKey, 'partitionKey');
    requireKey(entity.rowKey, 'rowKey');
    return this.#updateEntity(entity, mode, options.etag ?? '*');
  }

  async #updateEntity<T extends object>(entity: TableEntity<T>, mode: UpdateMode, etag: string): Promise<UpdateResponse> {
    await settle();
    checkMode(mode);
    const properties = propertiesOf(entity);
    return this.#single('updateEntity', () => {
      const stamp = this.#applyOne({ kind: 'update', ...keysOf(entity), ...properties, mode, etag });
      return { etag: stamp.etag, date: stamp.date };
    });
  }

  deleteEntity(partitionKey: string, rowKey: string, options: DeleteTableEntityOptions = {}): Promise<DeleteResponse> {
    requireKey(partitionKey, 'partitionKey');
    requireKey(rowKey, 'rowKey');
    return this.#deleteEntity(partitionKey, rowKey, options.etag ?? '*');
  }

  async #deleteEntity(partitionKey: string, rowKey: string, etag: string): Promise<DeleteResponse> {
    await settle();
    return this.#single('deleteEntity', () => {
      return { date: this.#applyOne({ kind: 'delete', partitionKey, rowKey, etag }).date };
    });
  }

  async submitTransaction(actions: TransactionAction[]): Promise<TableTransactionResponse> {
    await settle();
    const first = actions[0];
    // What the SDK throws for an empty list (it reads actions[0][1]).
    if (first === undefined) throw new TypeError("Cannot read properties of undefined (reading '1')");
    const partitionKey = first[1].partitionKey;
    // Checked by the SDK before anything is sent.
    const writes = actions.map((action): Write => {
      const entity = action[1];
      if (entity.partitionKey !== partitionKey) throw new Error('All operations in a transaction must target the same partitionKey');
      switch (action[0]) {
        case 'create':
          return { kind: 'create', ...keysOf(entity), ...propertiesOf(entity) };
        case 'delete':
          // The SDK sends a transaction's delete without If-Match: it is unconditional.
          return { kind: 'delete', ...keysOf(entity), etag: '*' };
        case 'update':
        case 'upsert': {
          const mode = action[2] ?? 'Merge';
          checkMode(mode);
          const properties = propertiesOf(entity);
          return action[0] === 'update'
            ? { kind: 'update', ...keysOf(entity), ...properties, mode, etag: action[3]?.etag ?? '*' }
            : { kind: 'upsert', ...keysOf(entity), ...properties, mode };
        }
      }
    });
    let stamps: { etag: string }[];
    try {
      this.service.request('submitTransaction');
      if (writes.length > MAX_TRANSACTION_ACTIONS) {
        throw Object.assign(new Refusal(400, 'InvalidInput', 'The batch request operation exceeds the maximum 100 changes per change set.'), { index: 0 });
      }
      stamps = this.#apply(writes);
    } catch (err) {
      throw transactionError(err);
    }
    const subResponses = writes.map((write, i): TableTransactionEntityResponse => {
      const etag = stamps[i]?.etag;
      if (write.kind === 'delete' || etag === undefined) return { status: 204 };
      return write.kind === 'create' ? { status: 204, rowKey: write.rowKey, etag } : { status: 204, etag };
    });
    return { status: 202, subResponses, getResponseForEntity: (rowKey) => subResponses.find((r) => r.rowKey === rowKey) };
  }

  getAccessPolicy(): never {
    throw unsupported('getAccessPolicy');
  }

  setAccessPolicy(): never {
    throw unsupported('setAccessPolicy');
  }

  /** Runs one service operation, turning a refusal into the SDK's error for a single operation. */
  #single<R>(operation: TableOperation, run: () => R): R {
    try {
      this.service.request(operation);
      return run();
    } catch (err) {
      throw err instanceof Refusal ? serviceError(err) : err;
    }
  }

  #existingTable(): TableState {
    const table = this.service.table(this.tableName);
    if (table === undefined) throw TABLE_NOT_FOUND();
    return table;
  }

  #applyOne(write: Write): { etag: string; date: Date } {
    const [stamp] = this.#apply([write]);
    if (stamp === undefined) throw new Error('A write without a result');
    return stamp;
  }

  /**
   * Checks every write against the table as it is, then applies them all (a transaction is all or
   * nothing; a single write is a transaction of one). @returns each write's new ETag and time, in
   * order (a delete's ETag is unused).
   * @throws Refusal, with the failing write's `index`.
   */
  #apply(writes: readonly Write[]): { etag: string; date: Date }[] {
    const table = this.#existingTable();
    const seen = new Set<string>();
    writes.forEach((write, index) => {
      try {
        checkKey(write.partitionKey);
        checkKey(write.rowKey);
        const id = rowId(write.partitionKey, write.rowKey);
        if (seen.has(id)) {
          throw new Refusal(400, 'InvalidDuplicateRow', `A command with RowKey '${write.rowKey}' is already present in the batch. An entity can appear only once in a batch. `);
        }
        seen.add(id);
        if (write.kind !== 'delete' && write.refused !== undefined) throw write.refused;
        const stored = table.rows.get(id);
        if (write.kind === 'create' && stored !== undefined) throw ALREADY_EXISTS();
        if (write.kind === 'update' || write.kind === 'delete') {
          if (stored === undefined) throw NOT_FOUND();
          if (write.etag !== '*' && write.etag !== stored.etag) throw CONDITION_NOT_MET();
        }
      } catch (err) {
        throw Object.assign(err instanceof Error ? err : new Error(String(err)), { index });
      }
    });
    return writes.map((write) => {
      const id = rowId(write.partitionKey, write.rowKey);
      const { etag, timestamp, date } = this.service.stamp();
      if (write.kind === 'delete') {
        table.rows.delete(id);
      } else {
        const stored = table.rows.get(id);
        const merged = write.kind !== 'create' && write.mode === 'Merge' && stored !== undefined ? new Map([...stored.properties, ...write.properties]) : write.properties;
        table.rows.set(id, { partitionKey: write.partitionKey, rowKey: write.rowKey, properties: merged, etag, timestamp });
      }
      return { etag, date };
    });
  }
}

/** One microtask: callers that started together interleave, as they would over the network. */
function settle(): Promise<void> {
  return Promise.resolve();
}

function rowId(partitionKey: string, rowKey: string): string {
  return JSON.stringify([partitionKey, rowKey]);
}

/** The SDK's own check, thrown before anything is sent. */
function requireKey(value: unknown, which: 'partitionKey' | 'rowKey'): void {
  if (value === undefined || value === null) throw new Error(`The entity's ${which} cannot be undefined or null.`);
}

function keysOf(entity: TableEntity<object>): { partitionKey: string; rowKey: string } {
  return { partitionKey: entity.partitionKey, rowKey: entity.rowKey };
}

function checkKey(key: unknown): void {
  if (typeof key !== 'string' || key.length > MAX_KEY_CHARS || FORBIDDEN_KEY_CHARACTERS.test(key)) {
    throw new Refusal(400, 'InvalidInput', 'An error occurred while processing this request.');
  }
}

function checkMode(mode: string): void {
  if (mode !== 'Merge' && mode !== 'Replace') throw new Error(`Unexpected value for update mode: ${mode}`);
}

/**
 * The properties the service stores for an entity the SDK sends, or its refusal of a value (400).
 * @throws Error `Unknown EDM type …` (the SDK's, before anything is sent).
 */
function propertiesOf(entity: object): Properties {
  const properties = new Map<string, EdmValue>();
  for (const [name, value] of Object.entries(entity)) {
    if (NOT_PROPERTIES.has(name)) continue;
    let stored: EdmValue | undefined;
    try {
      stored = toEdm(value);
    } catch (err) {
      if (err instanceof EdmValueError) return { properties, refused: new Refusal(400, err.errorCode, err.message) };
      throw err;
    }
    if (stored !== undefined) properties.set(name, stored);
  }
  return { properties };
}

/** The service names a `select` asks for, as the SDK sends it (`etag` dropped, keys renamed); none: everything. */
function selectedNames(select: readonly string[] | undefined): ReadonlySet<string> | undefined {
  if (select === undefined) return undefined;
  const names = select.filter((p) => p !== 'etag' && p !== 'odata.etag').map((p) => SDK_TO_SERVICE_NAME[p] ?? p);
  return names.length === 0 ? undefined : new Set(names);
}

/** An entity as the SDK returns it: ETag always, then what is selected (everything when nothing is). */
function entityView(stored: StoredEntity, select: ReadonlySet<string> | undefined): Record<string, unknown> {
  const wanted = (name: string) => select === undefined || select.has(name);
  const view: Record<string, unknown> = { etag: stored.etag };
  if (wanted('PartitionKey')) view.partitionKey = stored.partitionKey;
  if (wanted('RowKey')) view.rowKey = stored.rowKey;
  for (const [name, value] of stored.properties) if (wanted(name)) view[name] = fromEdm(value);
  if (wanted('Timestamp')) view.timestamp = stored.timestamp;
  return view;
}

// The SDK's results are typed by the caller's `T`; what the service stored is whatever was written.
function asResult<T extends object>(view: Record<string, unknown>): TableEntityResult<T> {
  return view as unknown as TableEntityResult<T>;
}

function sortedRows(table: TableState): StoredEntity[] {
  return [...table.rows.values()].sort(compareKeys);
}

/** PartitionKey, then RowKey, ordinal (UTF-16 code units), as the service sorts. */
function compareKeys(a: { partitionKey: string; rowKey: string }, b: { partitionKey: string; rowKey: string }): number {
  if (a.partitionKey !== b.partitionKey) return a.partitionKey < b.partitionKey ? -1 : 1;
  if (a.rowKey !== b.rowKey) return a.rowKey < b.rowKey ? -1 : 1;
  return 0;
}

function compiledFilter(text: string | undefined): EntityFilter {
  if (text === undefined) return () => true;
  try {
    return compileFilter(text);
  } catch (err) {
    throw filterFailure(err);
  }
}

function matches(filter: EntityFilter, stored: StoredEntity): boolean {
  try {
    return filter((name) => {
      if (name === 'PartitionKey') return { type: 'String', value: stored.partitionKey };
      if (name === 'RowKey') return { type: 'String', value: stored.rowKey };
      if (name === 'Timestamp') return { type: 'DateTime', value: new Date(Date.parse(stored.timestamp)).toISOString() };
      return stored.properties.get(name);
    });
  } catch (err) {
    throw filterFailure(err);
  }
}

function filterFailure(err: unknown): unknown {
  if (!(err instanceof FilterError)) return err;
  switch (err.kind) {
    case 'invalid':
      return new Refusal(400, 'InvalidInput', `The query condition specified in the request is invalid. (${err.message})`);
    case 'int64-literal':
      return new Refusal(500, 'InternalError', err.message);
    case 'unsupported':
      return err;
  }
}

function encodeToken(next: StoredEntity): string {
  return Buffer.from(JSON.stringify({ nextPartitionKey: next.partitionKey, nextRowKey: next.rowKey })).toString('base64');
}

function decodeToken(token: string): { partitionKey: string; rowKey: string } {
  const parsed: unknown = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
  if (typeof parsed === 'object' && parsed !== null && 'nextPartitionKey' in parsed && 'nextRowKey' in parsed) {
    const { nextPartitionKey, nextRowKey } = parsed;
    if (typeof nextPartitionKey === 'string' && typeof nextRowKey === 'string') return { partitionKey: nextPartitionKey, rowKey: nextRowKey };
  }
  throw new Error('Not a continuation token of the in-memory table fake');
}

/** A single operation's failure as the SDK reports it: the code in `details.errorCode`, `code` unset. */
function serviceError(refusal: Refusal): RestError {
  const body = { 'odata.error': { code: refusal.errorCode, message: { lang: 'en-US', value: refusal.message } } };
  return Object.assign(new RestError(JSON.stringify(body), { statusCode: refusal.status }), { details: { errorCode: refusal.errorCode } });
}

/** A transaction's failure as the SDK reports it: `code` set and the failing action's index before the message. */
function transactionError(err: unknown): unknown {
  if (!(err instanceof Refusal)) return err;
  const index = 'index' in err && typeof err.index === 'number' ? err.index : 0;
  return new RestError(`${index}:${err.message}`, { statusCode: err.status, code: err.errorCode });
}

function unsupported(what: string): Error {
  return new Error(`The in-memory table fake does not support ${what}`);
}
