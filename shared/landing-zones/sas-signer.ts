import { generateBlobSASQueryParameters, StorageSharedKeyCredential } from '@azure/storage-blob';

/**
 * Signs container SAS tokens for the landing account. The token names only the container and a
 * stored access policy (`si`): permissions and expiry live in the policy alone, so replacing the
 * policy revokes every token that names it, and nothing else is needed to revoke a zone.
 */
export interface LandingSasSigner {
  readonly accountName: string;
  /** The query string (no `?`) of a SAS for `container` bound to the policy `identifier`. */
  sign(container: string, identifier: string): Promise<string>;
}

/** Where the signing key comes from: a fixed key (Azurite) or one read at run time (ARM listKeys). */
export type AccountKeySource = () => Promise<string>;

/**
 * A signer over the account's shared key. The key is asked for on every signature (the source
 * caches it), so after the key is rotated the API answers tokens signed with the new one.
 */
export function createSasSigner(accountName: string, key: AccountKeySource): LandingSasSigner {
  return {
    accountName,
    async sign(container, identifier) {
      const credential = new StorageSharedKeyCredential(accountName, await key());
      return generateBlobSASQueryParameters({ containerName: container, identifier }, credential).toString();
    },
  };
}
