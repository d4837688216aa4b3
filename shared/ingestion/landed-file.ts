import type { SandboxScope } from '../core/scope.js';

/** A file a customer wrote into their landing zone: the zone's owner and the blob's name in it. */
export interface LandedFile extends SandboxScope {
  /** The blob's name in the zone's container, e.g. `incoming/customers.csv.gpg`. */
  readonly relativePath: string;
}

/** What a landed file's name says it is (Adobe's accepted extensions). */
export interface FileType {
  /** The data format its extension names, if any (`.gpg`/`.pgp` alone leave the flow's format). */
  readonly format?: 'delimited' | 'json' | 'parquet';
  /** The name the decrypted file keeps (`customers.csv.gpg` → `customers.csv`). */
  readonly plainName: string;
}

const DATA_EXTENSIONS: Readonly<Record<string, FileType['format']>> = {
  csv: 'delimited',
  tsv: 'delimited',
  json: 'json',
  parquet: 'parquet',
};

/**
 * Classifies a file name: `.csv .tsv .json .parquet`, each optionally followed by `.gpg` or
 * `.pgp`, and bare `.gpg` / `.pgp`. Anything else is `undefined` (UNSUPPORTED_FILE_TYPE).
 * Whether the content really is encrypted is decided from its bytes, not from the name.
 */
export function classifyFileName(relativePath: string): FileType | undefined {
  const name = relativePath.slice(relativePath.lastIndexOf('/') + 1);
  const parts = name.toLowerCase().split('.');
  if (parts.length < 2) return undefined;
  let last = parts.at(-1) ?? '';
  let plainName = name;
  if (last === 'gpg' || last === 'pgp') {
    plainName = name.slice(0, -4);
    parts.pop();
    if (parts.length < 2) return { plainName };
    last = parts.at(-1) ?? '';
  }
  const format = DATA_EXTENSIONS[last];
  return format === undefined ? undefined : { format, plainName };
}
