import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DelimitedRecordCounter } from '../../shared/ingestion/delimited-record-counter.js';
import { JsonRecordCounter } from '../../shared/ingestion/json-record-counter.js';
import type { RecordCounter } from '../../shared/ingestion/record-counter.js';
import { recordCounterFor } from '../../shared/ingestion/record-counters.js';

/** Feeds `text` in pieces cut at `cuts` (byte offsets), as a stream would deliver it. */
function count(counter: RecordCounter, text: string | Buffer, cuts: readonly number[] = []): number {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  let start = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    counter.update(bytes.subarray(start, Math.max(start, Math.min(cut, bytes.length))));
    start = Math.max(start, Math.min(cut, bytes.length));
  }
  counter.update(bytes.subarray(start));
  return counter.records;
}

const json = (text: string | Buffer, cuts?: readonly number[]) => count(new JsonRecordCounter(), text, cuts);
const everyByte = (text: string) => Array.from({ length: Buffer.byteLength(text) }, (_, i) => i);

describe('JSON record count', () => {
  it('counts the elements of a file that is one JSON array, however it is laid out', () => {
    const pretty = '[\n  {"id": 1, "tags": ["a", "b"]},\n  {"id": 2, "nested": {"list": [1, 2, 3]}},\n  {"id": 3}\n]\n';
    expect(json(pretty)).toBe(3);
    expect(json('[{"id":1},{"id":2},{"id":3}]')).toBe(3);
    expect(json('[1, "two", null, true, [5, 6], {"seven": 7}]')).toBe(6);
    expect(json('[]')).toBe(0);
    expect(json('  [ ]  \n')).toBe(0);
  });

  it('counts one record per top-level value: JSON Lines, blank lines skipped', () => {
    expect(json('{"id":1}\n{"id":2}\n{"id":3}\n')).toBe(3);
    expect(json('{"id":1}\n\n{"id":2}\r\n\r\n{"id":3}')).toBe(3);
    expect(json('{\n  "id": 1\n}\n{\n  "id": 2\n}\n')).toBe(2);
    expect(json('[1,2]\n[3,4]\n')).toBe(2);
    expect(json('1 2.5e3 "three" null\n')).toBe(4);
    expect(json('')).toBe(0);
    expect(json('\n \t\n')).toBe(0);
  });

  it('is not misled by brackets, braces, quotes, commas or newlines inside strings', () => {
    const tricky = String.raw`[{"a":"[{,}]\"\n"},{"b":"\\"},{"c":"\\\"]}"},{"d\"[":"]"}]`;
    expect(JSON.parse(tricky)).toHaveLength(4);
    expect(json(tricky)).toBe(4);
    expect(json(tricky, everyByte(tricky))).toBe(4);
    const lines = '{"text":"line one\\nline two {"}\n{"text":"} ]"}\n';
    expect(json(lines)).toBe(2);
  });

  it('skips a UTF-8 byte order mark and reads multi-byte text split across chunks', () => {
    const text = '\uFEFF[{"name":"Zoë"},{"name":"日本"},{"name":"😀"}]';
    expect(json(text)).toBe(3);
    expect(json(text, everyByte(text))).toBe(3);
  });

  it('counts a JSON array of any values as its length, cut into any chunks', () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue(), { maxLength: 30 }),
        fc.array(fc.nat({ max: 4000 })),
        fc.boolean(),
        (values, cuts, pretty) => {
          expect(json(JSON.stringify(values, null, pretty ? 2 : undefined), cuts)).toBe(values.length);
        },
      ),
    );
  });

  it('counts JSON Lines of objects as their number, cut into any chunks', () => {
    fc.assert(
      fc.property(
        fc.array(fc.dictionary(fc.string(), fc.jsonValue()), { maxLength: 30 }),
        fc.array(fc.nat({ max: 4000 })),
        (objects, cuts) => {
          expect(json(objects.map((o) => JSON.stringify(o)).join('\n'), cuts)).toBe(objects.length);
        },
      ),
    );
  });
});

describe('delimited record count', () => {
  const delimited = (text: string, cuts?: readonly number[]) => count(new DelimitedRecordCounter(), text, cuts);

  it('counts lines after the header, with or without a final newline', () => {
    expect(delimited('id,name\n1,Ada\n2,Grace\n')).toBe(2);
    expect(delimited('id,name\n1,Ada\n2,Grace')).toBe(2);
    expect(delimited('id,name\r\n1,Ada\r\n', everyByte('id,name\r\n1,Ada\r\n'))).toBe(1);
    expect(delimited('id,name\n')).toBe(0);
    expect(delimited('')).toBe(0);
  });
});

describe('record counter per format', () => {
  it('counts JSON files as JSON, delimited files by line, and Parquet not at all', () => {
    const array = '[\n{"a":1},\n{"a":2}\n]\n';
    expect(count(recordCounterFor('json') ?? new JsonRecordCounter(), array)).toBe(2);
    expect(count(recordCounterFor('delimited') ?? new JsonRecordCounter(), 'h\n1\n2\n3\n')).toBe(3);
    expect(recordCounterFor('parquet')).toBeUndefined();
  });
});
