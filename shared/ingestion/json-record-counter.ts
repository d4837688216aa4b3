import type { RecordCounter } from './record-counter.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;
const COLON = 0x3a;
const SPACE = 0x20;

/**
 * Records of a JSON file, both shapes Adobe's JSON ingestion takes: a file that is one JSON array
 * holds a record per element; otherwise each top-level value is a record, so JSON Lines (one
 * object per line; blank lines are not records) and concatenated or pretty-printed objects count
 * one per value.
 *
 * A single pass over the bytes that tracks nesting depth and strings only: constant memory
 * whatever the file's size or shape. It counts and does not validate; malformed JSON gives a
 * count, not an error. A top-level array among several top-level values is one record.
 */
export class JsonRecordCounter implements RecordCounter {
  #depth = 0;
  #inString = false;
  #escaped = false;
  /** Inside a bare literal (number, `true`, `false`, `null`), whose later bytes start nothing. */
  #inLiteral = false;
  /** Whether the top-level value being read is an array. */
  #topIsArray = false;
  #topLevelValues = 0;
  #firstTopLevelIsArray = false;
  /** Values directly inside top-level arrays. */
  #arrayElements = 0;

  update(chunk: Uint8Array): void {
    // Locals, written back at the end: this loop sees every byte of the file.
    let depth = this.#depth;
    let inString = this.#inString;
    let escaped = this.#escaped;
    let inLiteral = this.#inLiteral;
    let topIsArray = this.#topIsArray;
    let topLevelValues = this.#topLevelValues;
    let firstTopLevelIsArray = this.#firstTopLevelIsArray;
    let arrayElements = this.#arrayElements;

    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] ?? 0;
      if (inString) {
        if (escaped) escaped = false;
        else if (b === BACKSLASH) escaped = true;
        else if (b === QUOTE) inString = false;
        continue;
      }
      // Whitespace, separators, and bytes that start no JSON value outside a string (a UTF-8 BOM).
      if (b <= SPACE || b === COMMA || b === COLON || b >= 0x80) {
        inLiteral = false;
        continue;
      }
      if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
        if (depth > 0) depth--;
        inLiteral = false;
        continue;
      }
      const opens = b === OPEN_OBJECT || b === OPEN_ARRAY;
      if (!opens && b !== QUOTE && inLiteral) continue;
      // A value starts here. An object's keys are strings too, but never directly inside an
      // array or at the top level, where values are counted.
      if (depth === 0) topLevelValues++;
      else if (depth === 1 && topIsArray) arrayElements++;
      inLiteral = false;
      if (b === QUOTE) {
        inString = true;
      } else if (opens) {
        if (depth === 0) {
          topIsArray = b === OPEN_ARRAY;
          if (topLevelValues === 1) firstTopLevelIsArray = topIsArray;
        }
        depth++;
      } else {
        inLiteral = true;
      }
    }

    this.#depth = depth;
    this.#inString = inString;
    this.#escaped = escaped;
    this.#inLiteral = inLiteral;
    this.#topIsArray = topIsArray;
    this.#topLevelValues = topLevelValues;
    this.#firstTopLevelIsArray = firstTopLevelIsArray;
    this.#arrayElements = arrayElements;
  }

  get records(): number {
    return this.#topLevelValues === 1 && this.#firstTopLevelIsArray ? this.#arrayElements : this.#topLevelValues;
  }
}
