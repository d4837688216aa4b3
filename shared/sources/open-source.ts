import { createOutboundPolicy } from '../outbound/pinned-agent.js';
import type { OutboundGuard } from '../outbound/outbound-guard.js';
import { parseAzureBlobCredential } from './azure-blob-credential.js';
import { createAzureBlobReader } from './azure-blob-reader.js';
import type { SourceOpener } from './source-opener.js';
import { createSftpReader } from './sftp-reader.js';

/**
 * The app's {@link SourceOpener}: Azure Blob through the storage SDK and SFTP through ssh2, every
 * connection checked and pinned by `guard` (in local mode the guard allows loopback, and Blob
 * endpoints may then be plain http).
 */
export function createSourceOpener(options: { readonly guard: OutboundGuard; readonly local: boolean; readonly timeoutMs?: number }): SourceOpener {
  const { guard } = options;
  const policy = createOutboundPolicy(guard);
  return async (auth, hostKey) => {
    if (auth.kind === 'azureBlob') {
      const source = parseAzureBlobCredential({ specName: auth.specName, ...auth.params } as Parameters<typeof parseAzureBlobCredential>[0], { allowLoopbackHttp: options.local });
      await guard.check(source.host);
      return createAzureBlobReader(source, { guard, pipelinePolicies: [policy] });
    }
    const p = auth.params;
    await guard.check(p.host);
    return createSftpReader(
      {
        host: p.host,
        port: p.port ?? 22,
        userName: p.userName,
        folderPath: p.folderPath ?? '',
        auth: 'password' in p ? { kind: 'password', password: p.password } : { kind: 'privateKey', privateKey: p.privateKeyContent, ...(p.passPhrase === undefined ? {} : { passPhrase: p.passPhrase }) },
      },
      { guard, hostKey, ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) },
    );
  };
}
