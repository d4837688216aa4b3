import type { SourceFormat } from '../flows/source-connections.js';
import { DelimitedRecordCounter } from './delimited-record-counter.js';
import { JsonRecordCounter } from './json-record-counter.js';
import type { RecordCounter } from './record-counter.js';

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
