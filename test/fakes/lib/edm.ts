/**
 * Entity property values as the Table service stores them (an EDM type and a value), converted
 * from what `@azure/data-tables` sends and back to what it returns with type conversion on
 * (serialization.js of @azure/data-tables 13), so the in-memory fake stores and answers the same
 * types Azurite does.
 */

/** A stored property: its EDM type and value. */
export type EdmValue =
  | { readonly type: 'String'; readonly value: string }
  | { readonly type: 'Int32'; readonly value: number }
  | { readonly type: 'Double'; readonly value: number }
  | { readonly type: 'Int64'; readonly value: bigint }
  | { readonly type: 'Boolean'; readonly value: boolean }
  /** ISO 8601, millisecond precision (a JavaScript Date is what the SDK sends). */
  | { readonly type: 'DateTime'; readonly value: string }
  /** Lower case. */
  | { readonly type: 'Guid'; readonly value: string }
  | { readonly type: 'Binary'; readonly value: Buffer };

export type EdmType = EdmValue['type'];

/** A value the service refuses (HTTP 400, the service's error code). */
export class EdmValueError extends Error {
  constructor(
    readonly errorCode: 'InvalidInput' | 'PropertyValueTooLarge',
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
/** 64 KiB per property: a string counts two bytes a character (UTF-16). */
const MAX_STRING_CHARS = 32 * 1024;
const MAX_BINARY_BYTES = 64 * 1024;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EDM_TYPES: ReadonlySet<string> = new Set(['Binary', 'Boolean', 'DateTime', 'Double', 'Guid', 'Int32', 'Int64', 'String']);

/** Whether `n` fits Edm.Int32 (what the service infers for a JSON integer without a type). */
export function isInt32(n: number): boolean {
  return Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX;
}

/**
 * The stored value of one property as the SDK serializes it and the service stores it;
 * `undefined` when nothing is stored (`undefined`, `null`, `NaN`, ±Infinity and an invalid Date
 * all travel as JSON `null` or not at all).
 *
 * An untyped JavaScript number is Int32 when it is an integer in range and Double otherwise: an
 * untyped JSON integer beyond Int32 is stored by Azure as Edm.Double (Azurite keeps it untyped;
 * both answer it as a number).
 *
 * @throws Error `Unknown EDM type …` where the SDK throws it (an object that is not a typed value).
 * @throws EdmValueError where the service answers 400.
 */
export function toEdm(value: unknown): EdmValue | undefined {
  if (typeof value === 'object' && value !== null && 'value' in value && 'type' in value && value.value !== undefined && value.type !== undefined) {
    return typed(value.type, value.value);
  }
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return checkedString(value);
  if (typeof value === 'boolean') return { type: 'Boolean', value };
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    return isInt32(value) ? { type: 'Int32', value: value === 0 ? 0 : value } : { type: 'Double', value };
  }
  if (typeof value === 'bigint') return { type: 'Int64', value };
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : { type: 'DateTime', value: value.toISOString() };
  if (value instanceof Uint8Array) return checkedBinary(Buffer.from(value));
  throw new Error(`Unknown EDM type ${typeof value}`);
}

/** What the SDK returns for a stored value with type conversion on (its `deserialize`). */
export function fromEdm(stored: EdmValue): unknown {
  switch (stored.type) {
    case 'String':
    case 'Int32':
    case 'Double':
    case 'Int64':
    case 'Boolean':
      return stored.value;
    case 'DateTime':
      return new Date(stored.value);
    case 'Guid':
      // The SDK answers a Guid as its typed object even with type conversion on.
      return { value: stored.value, type: 'Guid' };
    case 'Binary':
      return Buffer.from(stored.value);
  }
}

function typed(type: unknown, value: unknown): EdmValue {
  if (typeof type !== 'string' || !EDM_TYPES.has(type)) throw new Error(`Unknown EDM type ${typeof value}`);
  const text = typeof value === 'string' ? value : String(value);
  switch (type as EdmType) {
    case 'String':
      return checkedString(text);
    case 'Int32': {
      const n = Number(text);
      if (!/^-?\d+$/.test(text.trim()) || !isInt32(n)) throw invalid(`'${text}' is not an Edm.Int32`);
      return { type: 'Int32', value: n };
    }
    case 'Double': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) throw invalid(`'${text}' is not an Edm.Double`);
      return { type: 'Double', value: n };
    }
    case 'Int64':
      if (!/^-?\d+$/.test(text)) throw invalid(`'${text}' is not an Edm.Int64`);
      return { type: 'Int64', value: BigInt(text) };
    case 'Boolean':
      if (text !== 'true' && text !== 'false') throw invalid(`'${text}' is not an Edm.Boolean`);
      return { type: 'Boolean', value: text === 'true' };
    case 'DateTime': {
      const ms = Date.parse(text);
      if (Number.isNaN(ms)) throw invalid(`'${text}' is not an Edm.DateTime`);
      return { type: 'DateTime', value: new Date(ms).toISOString() };
    }
    case 'Guid':
      if (!GUID.test(text)) throw invalid(`'${text}' is not an Edm.Guid`);
      return { type: 'Guid', value: text.toLowerCase() };
    case 'Binary':
      return checkedBinary(Buffer.from(text, 'base64'));
  }
}

function checkedString(value: string): EdmValue {
  if (value.length > MAX_STRING_CHARS) throw tooLarge();
  return { type: 'String', value };
}

function checkedBinary(value: Buffer): EdmValue {
  if (value.length > MAX_BINARY_BYTES) throw tooLarge();
  return { type: 'Binary', value };
}

function invalid(message: string): EdmValueError {
  return new EdmValueError('InvalidInput', message);
}

function tooLarge(): EdmValueError {
  return new EdmValueError(
    'PropertyValueTooLarge',
    'The property value exceeds the maximum allowed size (64KB). If the property value is a string, it is UTF-16 encoded and the maximum number of characters should be 32K or less.',
  );
}
