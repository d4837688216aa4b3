import type { ConnectionAuth } from './connection-auth.js';
import type { SourceReader } from './source-reader.js';

/** How a connection's SSH host key is checked: against the pinned fingerprint, or recorded when first seen. */
export interface HostKeyCheck {
  /** The pinned fingerprint (`SHA256:...`); absent: any key is accepted and reported to `onSeen`. */
  readonly fingerprint?: string;
  readonly onSeen?: (fingerprint: string) => void;
}

/**
 * A reader on a customer's storage from a connection's auth, after checking what the schema
 * cannot (a SAS's rights and expiry, a connection string's endpoints). It connects on first use,
 * to the destination address checked then (SSRF) and pinned; its calls throw ADDRESS_NOT_ALLOWED
 * and the other `SourceError`s. It must be closed.
 *
 * @throws INVALID_REQUEST naming `body.auth.params.*` for a credential that cannot work.
 */
export type SourceOpener = (auth: ConnectionAuth, hostKey: HostKeyCheck) => SourceReader;
