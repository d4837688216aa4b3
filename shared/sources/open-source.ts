import { outboundPolicy } from '../outbound/pinned-agent.js';
import type { OutboundGuard } from '../outbound/outbound-guard.js';
import { parseAzureBlobCredential } from './azure-blob-credential.js';
import { createAzureBlobReader } from './azure-blob-reader.js';
import type { SourceOpener } from './source-opener.js';
import { createSftpReader } from './sftp-reader.js';
import { DEFAULT_MAX_CONCURRENT_CONNECTIONS } from './connection-auth.js';
import { createConnectionSlots } from './connection-slots.js';
import { createSftpKeyCache } from './sftp-key-cache.js';

/**
 * The app's {@link SourceOpener}: Azure Blob through the storage SDK and SFTP through ssh2, every
 * connection checked and pinned by `guard` (in local mode the guard allows loopback, and Blob
 * endpoints may then be plain http). The SFTP reader connects to the address the guard checked;
 * the Blob reader's requests go through the guard's agent. An SFTP server gets at most its
 * connection's `maxConcurrentConnections` sessions at once from this process (default
 * {@link DEFAULT_MAX_CONCURRENT_CONNECTIONS}).
 */
export function createSourceOpener(options: { readonly guard: OutboundGuard; readonly local: boolean }): SourceOpener {
  const { guard } = options;
  const slots = createConnectionSlots();
  const keys = createSftpKeyCache();
  return (auth, hostKey) => {
    if (auth.kind === 'azureBlob') {
      const { container, folderPath } = auth.params;
      const location = { ...(container === undefined ? {} : { container }), ...(folderPath === undefined ? {} : { folderPath }) };
      const source = parseAzureBlobCredential(
        auth.specName === 'ConnectionString'
          ? { specName: 'ConnectionString', connectionString: auth.params.connectionString, ...location }
          : { specName: 'SAS URI Authentication', sasUri: auth.params.sasUri, ...location },
        { allowLoopbackHttp: options.local },
      );
      return createAzureBlobReader(source, { guard, pipelinePolicies: [outboundPolicy(guard)] });
    }
    const p = auth.params;
    const server = JSON.stringify([p.host.toLowerCase(), p.port ?? 22, p.userName]);
    const reader = createSftpReader(
      {
        host: p.host,
        port: p.port ?? 22,
        userName: p.userName,
        folderPath: p.folderPath ?? '',
        auth:
          'password' in p
            ? { kind: 'password', password: p.password }
            : { kind: 'privateKey', privateKey: p.privateKeyContent, ...(p.passPhrase === undefined ? {} : { passPhrase: p.passPhrase }) },
      },
      { guard, hostKey, keys },
    );
    return slots.limit(server, p.maxConcurrentConnections ?? DEFAULT_MAX_CONCURRENT_CONNECTIONS, reader);
  };
}
