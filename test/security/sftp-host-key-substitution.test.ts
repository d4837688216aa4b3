import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceError } from '../../shared/errors.js';
import { createSftpReader } from '../../shared/sources/sftp-reader.js';
import type { SftpSource } from '../../shared/sources/sftp-reader.js';
import { loopbackGuard } from '../support/loopback-guard.js';
import { sftpSource, startSftpServer, type SftpServer } from '../support/sftp-server.js';

/**
 * Attack: someone on the path (a hijacked DNS name, a moved address) puts another SSH server
 * where the customer's was, to collect the password or a signature made with the private key.
 * With the real server's fingerprint pinned, the reader refuses the impostor during key exchange
 * with SOURCE_HOST_KEY_MISMATCH, before asking to log in: the impostor's own log (sshd, DEBUG1)
 * shows the connection and no login attempt at all.
 */
describe('attack: another SSH server with another host key', () => {
  let real: SftpServer;
  let impostor: SftpServer;

  beforeAll(async () => {
    [real, impostor] = await Promise.all([startSftpServer(), startSftpServer()]);
  });
  afterAll(async () => {
    await Promise.all([real?.stop(), impostor?.stop()]);
  });

  /** Tries to list through the impostor's port with the real server's pin; answers what the impostor logged meanwhile. */
  async function attempt(auth: SftpSource['auth']): Promise<{ err: unknown; logged: string }> {
    const before = impostor.log().length;
    const reader = createSftpReader(
      { ...sftpSource(real, '/upload', auth), port: impostor.port },
      { guard: loopbackGuard(), hostKey: { fingerprint: real.hostKeyFingerprint } },
    );
    const err = await reader.listFolder('', { limit: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await reader.close();
    // sshd logs the end of the connection last: wait for it, so nothing it did is still unlogged.
    const deadline = Date.now() + 5_000;
    while (
      !/Connection closed by|Disconnected from|Connection reset by/.test(impostor.log().slice(before)) &&
      Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { err, logged: impostor.log().slice(before) };
  }

  it('refuses the impostor before the password is sent', async () => {
    expect(impostor.hostKeyFingerprint).not.toBe(real.hostKeyFingerprint);
    const { err, logged } = await attempt({ kind: 'password', password: real.password });
    expect(err).toMatchObject({ code: 'SOURCE_HOST_KEY_MISMATCH' });
    expect((err as SourceError).detail).toContain(impostor.hostKeyFingerprint);
    expect((err as SourceError).detail).not.toContain(real.password);
    // The log saw the connection: it would have seen a login attempt too.
    expect(logged).toContain('Connection from 127.0.0.1');
    expect(logged).not.toMatch(/userauth-request|password|Accepted|Failed/i);
  });

  it('refuses the impostor before the private key signs anything', async () => {
    const { err, logged } = await attempt({ kind: 'privateKey', privateKey: real.privateKey });
    expect(err).toMatchObject({ code: 'SOURCE_HOST_KEY_MISMATCH' });
    expect(logged).toContain('Connection from 127.0.0.1');
    expect(logged).not.toMatch(/userauth-request|publickey|Accepted|Failed/i);
  });

  it('the same log shows a login attempt when one is made (control)', async () => {
    const before = real.log().length;
    const reader = createSftpReader(sftpSource(real, '/upload'), {
      guard: loopbackGuard(),
      hostKey: { fingerprint: real.hostKeyFingerprint },
    });
    await reader.listFolder('', { limit: 1 });
    await reader.close();
    expect(real.log().slice(before)).toMatch(/userauth-request for user cfsftp service ssh-connection method password/);
  });
});
