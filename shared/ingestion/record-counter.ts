/** Counts a file's records as its bytes stream past, in constant memory, for `recordCount`. */
export interface RecordCounter {
  update(chunk: Uint8Array): void;
  /** Records in the bytes seen so far. */
  readonly records: number;
}
