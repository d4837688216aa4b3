import type { SourceFormat } from '../flows/source-connections.js';
import { DelimitedRecordCounter } from './delimited-record-counter.js';
import { JsonRecordCounter } from './json-record-counter.js';

/** Counts a file's records as its bytes stream past, in constant memory, for `recordCount`. */
export interface RecordCounter {
  update(chunk: Uint8Array): void;
  /** Records in the bytes seen so far. */
  readonly records: number;
}

/**
 * The record counter of a data format: lines after the header row for delimited files, JSON
 * values for JSON ({@link JsonRecordCounter}); none for Parquet, whose rows are not counted.
 */
export function recordCounterFor(format: SourceFormat): RecordCounter | undefined {
  switch (format) {
    case 'delimited':
      return new DelimitedRecordCounter();
    case 'json':
      return new JsonRecordCounter();
    case 'parquet':
      return undefined;
  }
}
