import type { ConnectionAuth } from './connection-auth.js';
import type { SourceReader } from './source-reader.js';

/** How a connection's SSH host key is checked: against the pinned fingerprint, or recorded when first seen. */
export interface HostKeyCheck {
  /** The pinned fingerprint (`SHA256:...`); absent: any key is accepted and reported to `onSeen`. */
  readonly fingerprint?: string;
  readonly onSeen?: (fingerprint: string) => void;
}

/**
 * Opens a reader on a customer's storage from a connection's auth: checks what the schema cannot
 * (a SAS's rights and expiry, a connection string's endpoints), checks the destination address
 * (SSRF) and pins the connection to it. The reader must be closed.
 *
 * @throws INVALID_REQUEST naming `body.auth.params.*` for a credential that cannot work.
 * @throws ADDRESS_NOT_ALLOWED, SOURCE_UNREACHABLE (the name does not resolve).
 */
export type SourceOpener = (auth: ConnectionAuth, hostKey: HostKeyCheck) => Promise<SourceReader>;
