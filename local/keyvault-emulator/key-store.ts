import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Key types the emulator creates; both are software keys here (no HSM). */
export type RsaKeyType = 'RSA' | 'RSA-HSM';

/** One version of a key, including its private key (never sent to clients, never logged). */
export interface StoredKeyVersion {
  version: string;
  kty: RsaKeyType;
  keySize: number;
  keyOps: string[];
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  /** Public modulus and exponent, base64url, as the JWK carries them. */
  n: string;
  e: string;
  enabled: boolean;
  /** Seconds since the epoch, as Key Vault's attributes use. */
  nbf?: number | undefined;
  exp?: number | undefined;
  created: number;
  updated: number;
  tags: Record<string, string>;
}

/** A key and all its versions, oldest first; the last one is "latest". */
export interface StoredKey {
  name: string;
  versions: StoredKeyVersion[];
}

/** A soft-deleted key awaiting recovery or purge. */
export interface DeletedKeyEntry {
  key: StoredKey;
  deletedDate: number;
  scheduledPurgeDate: number;
}

/** One identity barred from one key name (by the admin API), as an RBAC deny would. */
export interface AccessRevocation {
  identity: string;
  keyName: string;
}

/** Emulator-side identity material that must survive restarts so issued tokens stay valid. */
export interface PersistedIdentity {
  tenantId: string;
  systemClientId: string;
  systemPrincipalId: string;
  identityHeader: string;
  /** ES256 private JWK signing the emulator's tokens. */
  signingJwk: Record<string, unknown>;
}

/** Everything the emulator persists. */
export interface EmulatorState {
  formatVersion: 1;
  purgeProtection: boolean;
  keys: Record<string, StoredKey>;
  deletedKeys: Record<string, DeletedKeyEntry>;
  revocations: AccessRevocation[];
  identity?: PersistedIdentity | undefined;
}

/** Soft-delete retention, Key Vault's default. */
export const RECOVERABLE_DAYS = 90;

/** Key Vault key names are case-insensitive; the store indexes by this form. */
export function keyIndex(name: string): string {
  return name.toLowerCase();
}

/** A new key version id: 32 lowercase hex characters, as Key Vault issues. */
export function newKeyVersion(): string {
  return randomBytes(16).toString('hex');
}

/**
 * Holds the emulator's state in memory and, when given a file, saves it after every mutation
 * (write to a temporary file, then rename, so a crash never leaves half a file).
 */
export class KeyStore {
  readonly state: EmulatorState;
  readonly #dataFile: string | undefined;
  #saving: Promise<void> = Promise.resolve();

  private constructor(state: EmulatorState, dataFile: string | undefined) {
    this.state = state;
    this.#dataFile = dataFile;
  }

  /** Loads `dataFile` if it exists, otherwise starts empty (purge protection on by default). */
  static async open(dataFile: string | undefined): Promise<KeyStore> {
    if (dataFile) {
      try {
        const parsed: unknown = JSON.parse(await readFile(dataFile, 'utf8'));
        if (isState(parsed)) return new KeyStore(parsed, dataFile);
        throw new Error(`KV_EMULATOR_BAD_DATA_FILE: ${dataFile} is not an emulator state file`);
      } catch (err) {
        if (!(typeof err === 'object' && err !== null && 'code' in err && err.code === 'ENOENT')) throw err;
      }
    }
    const empty: EmulatorState = { formatVersion: 1, purgeProtection: true, keys: {}, deletedKeys: {}, revocations: [] };
    return new KeyStore(empty, dataFile);
  }

  /** Finds a live key by name (case-insensitive). */
  get(name: string): StoredKey | undefined {
    return this.state.keys[keyIndex(name)];
  }

  /** Saves the state if persistence is on; calls are serialized so the last write wins. */
  async save(): Promise<void> {
    const file = this.#dataFile;
    if (!file) return;
    const snapshot = JSON.stringify(this.state);
    const write = async (): Promise<void> => {
      await mkdir(dirname(file), { recursive: true });
      const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
      try {
        // 0600: the file holds private keys.
        await writeFile(tmp, snapshot, { mode: 0o600 });
        await rename(tmp, file);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
    };
    const next = this.#saving.then(write, write);
    this.#saving = next.catch(() => undefined);
    return next;
  }

  /** Waits for pending saves. */
  async flush(): Promise<void> {
    await this.#saving;
  }
}

function isState(value: unknown): value is EmulatorState {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    v.formatVersion === 1 &&
    typeof v.purgeProtection === 'boolean' &&
    typeof v.keys === 'object' &&
    v.keys !== null &&
    typeof v.deletedKeys === 'object' &&
    v.deletedKeys !== null &&
    Array.isArray(v.revocations)
  );
}
