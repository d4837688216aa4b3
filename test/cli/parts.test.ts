import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configPath } from '../../cli/config.js';
import {
  describeConnection,
  MAX_PRIVATE_KEY_FILE_BYTES,
  planConnection,
  readPrivateKeyFile,
  type CreateConnectionOptions,
} from '../../cli/connections.js';
import { ApiProblemError, CliError, describeError } from '../../cli/errors.js';
import { EXIT } from '../../cli/exit-codes.js';
import { createProgress, formatBytes, formatDuration } from '../../cli/progress.js';
import { credentialLines, credentialView } from '../../cli/landing-zone.js';
import { describeSchedule, flowSchedule, parseSchedule, parseStartTime } from '../../cli/schedule.js';
import { MAX_STDIN_SECRET_BYTES, readStdinSecret, type SecretInput } from '../../cli/stdin-secret.js';
import { flowBlobPath, retryForbidden, zoneBlobPath, zoneContainer } from '../../cli/upload.js';
import { AZURE_BLOB_CONNECTION_SPEC, SFTP_CONNECTION_SPEC } from '../../shared/sources/connection-auth.js';

/** The exit code of the CliError `attempt` throws. */
function exitCodeOf(attempt: () => unknown): number | undefined {
  try {
    attempt();
  } catch (err) {
    return err instanceof CliError ? err.exitCode : undefined;
  }
  return undefined;
}

/** The exit code of the CliError `attempt` rejects with. */
async function exitCodeOfAsync(attempt: () => Promise<unknown>): Promise<number | undefined> {
  try {
    await attempt();
  } catch (err) {
    return err instanceof CliError ? err.exitCode : undefined;
  }
  return undefined;
}

/** A stand-in stderr that records what is written. */
function sink(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const stream = {
    isTTY,
    text: '',
    write(chunk: string) {
      stream.text += chunk;
      return true;
    },
  };
  return stream as unknown as NodeJS.WriteStream & { text: string };
}

describe('flowBlobPath', () => {
  it("puts the file in the flow's folder of the zone, without any org or sandbox prefix", () => {
    expect(flowBlobPath({ sourcePath: '/incoming/*.csv.gpg', file: '/tmp/x/a.csv.gpg' })).toBe('incoming/a.csv.gpg');
  });

  it('takes the name of a path that names one file', () => {
    expect(flowBlobPath({ sourcePath: '/drop/customers.csv.gpg', file: 'export.gpg' })).toBe('drop/customers.csv.gpg');
  });

  it('refuses a name the pattern does not select, with exit 2', () => {
    const attempt = () => flowBlobPath({ sourcePath: '/incoming/*.csv.gpg', file: 'a.json.gpg' });
    expect(attempt).toThrow(/does not match the flow's source path/);
    expect(exitCodeOf(attempt)).toBe(EXIT.USAGE);
  });

  it('refuses --as names that climb out of the folder', () => {
    expect(
      exitCodeOf(() => flowBlobPath({ sourcePath: '/incoming/*.gpg', file: 'a.gpg', preferred: '../x.gpg' })),
    ).toBe(EXIT.USAGE);
  });
});

describe('zoneBlobPath', () => {
  it('takes BLOB_PATH as the path in the zone, a leading / dropped', () => {
    expect(zoneBlobPath('incoming/a.csv.gpg', 'x.gpg')).toBe('incoming/a.csv.gpg');
    expect(zoneBlobPath('/incoming/a.csv.gpg', 'x.gpg')).toBe('incoming/a.csv.gpg');
  });

  it("keeps the file's name for a folder (trailing /) and at the root without BLOB_PATH", () => {
    expect(zoneBlobPath('incoming/', '/tmp/x/a.csv.gpg')).toBe('incoming/a.csv.gpg');
    expect(zoneBlobPath(undefined, '/tmp/x/a.csv.gpg')).toBe('a.csv.gpg');
  });

  it('refuses paths the SDK would send as another name, with exit 2', () => {
    for (const bad of [
      'incoming/../a.gpg',
      'a//b.gpg',
      './a.gpg',
      'a\\b.gpg',
      'a/\u0000.gpg',
      `${'x/'.repeat(300)}a`,
    ]) {
      expect(
        exitCodeOf(() => zoneBlobPath(bad, 'f.gpg')),
        bad,
      ).toBe(EXIT.USAGE);
    }
  });
});

describe('zoneContainer', () => {
  it('takes a container SAS URL and nothing else, never quoting it', () => {
    const client = zoneContainer(
      'http://127.0.0.1:10010/devlandingstore1/dlz-abc?sv=2024-08-04&si=p&sr=c&sig=c2VjcmV0',
    );
    expect(client.containerName).toBe('dlz-abc');
    for (const bad of ['not a url', 'http://127.0.0.1/devlandingstore1/dlz-abc', 'ftp://h/c?sig=x']) {
      expect(
        exitCodeOf(() => zoneContainer(bad)),
        bad,
      ).toBe(EXIT.USAGE);
    }
    expect(() => zoneContainer('http://h/c?sv=1&si=TOPSECRET')).toThrow(/must be a container SAS URL \(https/);
    expect(() => zoneContainer('http://h/c?sv=1&si=TOPSECRET')).not.toThrow(/TOPSECRET/);
  });
});

describe('retryForbidden', () => {
  const forbidden = () => Object.assign(new Error('This request is not authorized'), { statusCode: 403 });
  /** A fake clock that the fake sleep advances. */
  function clock() {
    let t = 0;
    const slept: number[] = [];
    return {
      now: () => t,
      sleep: (ms: number) => {
        slept.push(ms);
        t += ms;
        return Promise.resolve();
      },
      slept,
    };
  }

  it('retries 403 with 1, 2, 4, 8 s delays until storage accepts the credential', async () => {
    const c = clock();
    const retries: number[] = [];
    const result = await retryForbidden(
      (n) => (n < 5 ? Promise.reject(forbidden()) : Promise.resolve(`attempt ${n}`)),
      { waitMs: 35_000, now: c.now, sleep: c.sleep, onRetry: (r) => retries.push(r.attempt) },
    );
    expect(result).toBe('attempt 5');
    expect(c.slept).toEqual([1000, 2000, 4000, 8000]);
    expect(retries).toEqual([1, 2, 3, 4]);
  });

  it('gives up with the 403 once the wait is over, its last delay shortened to end it', async () => {
    const c = clock();
    let attempts = 0;
    const attempt = () => {
      attempts++;
      return Promise.reject(forbidden());
    };
    await expect(retryForbidden(attempt, { waitMs: 35_000, now: c.now, sleep: c.sleep })).rejects.toMatchObject({
      statusCode: 403,
    });
    expect(c.slept).toEqual([1000, 2000, 4000, 8000, 8000, 8000, 4000]);
    expect(c.slept.reduce((a, b) => a + b)).toBe(35_000);
    expect(attempts).toBe(8);
  });

  it('does not retry a 403 that comes after the wait (a credential revoked mid-upload), nor with a wait of 0', async () => {
    const c = clock();
    // The upload ran for 40 s before storage refused it.
    const late = () => c.sleep(40_000).then(() => Promise.reject(forbidden()));
    await expect(
      retryForbidden(late, { waitMs: 35_000, now: c.now, sleep: () => Promise.resolve() }),
    ).rejects.toMatchObject({
      statusCode: 403,
    });
    const none = clock();
    await expect(
      retryForbidden(() => Promise.reject(forbidden()), { waitMs: 0, now: none.now, sleep: none.sleep }),
    ).rejects.toMatchObject({ statusCode: 403 });
    expect(none.slept).toEqual([]);
  });

  it('never retries other failures', async () => {
    const c = clock();
    const notFound = Object.assign(new Error('ContainerNotFound'), { statusCode: 404 });
    await expect(
      retryForbidden(() => Promise.reject(notFound), { waitMs: 35_000, now: c.now, sleep: c.sleep }),
    ).rejects.toBe(notFound);
    expect(c.slept).toEqual([]);
  });
});

describe('credentialView', () => {
  const credential = {
    containerName: 'dlz-abc',
    SASToken: 'sv=2024-08-04&si=dlz-p&sr=c&sig=c2VjcmV0',
    storageAccountName: 'devlandingstore1',
    SASUri: 'http://127.0.0.1:10010/devlandingstore1/dlz-abc?sv=2024-08-04&si=dlz-p&sr=c&sig=c2VjcmV0',
    expiryDate: '2031-01-01',
  };

  it('leaves the SAS token and URI out unless asked for, in the lines and in the JSON', () => {
    const hidden = credentialView(credential, false);
    expect(hidden).toEqual({
      containerName: 'dlz-abc',
      storageAccountName: 'devlandingstore1',
      containerUrl: 'http://127.0.0.1:10010/devlandingstore1/dlz-abc',
      expiryDate: '2031-01-01',
    });
    expect(JSON.stringify(hidden) + credentialLines(hidden).join('\n')).not.toContain('sig=');
    expect(credentialLines(hidden)).toContain('SAS:       hidden (--show-secret prints it)');
    const shown = credentialView(credential, true);
    expect(shown).toMatchObject({ SASToken: credential.SASToken, SASUri: credential.SASUri });
    expect(credentialLines(shown)).toContain(`SAS URI:   ${credential.SASUri}`);
  });
});

describe('progress', () => {
  it('writes plain lines (first, then at most one a second, then the last) when not a TTY', () => {
    let t = 0;
    const out = sink(false);
    const progress = createProgress({ label: 'upload', total: 4096, stream: out, now: () => t });
    progress.update(0);
    t = 500;
    progress.update(1024);
    t = 1000;
    progress.update(2048);
    t = 2000;
    progress.finish();
    const lines = out.text.trimEnd().split('\n');
    expect(lines).toEqual([
      'upload: 0 B / 4.0 KiB 0% 0 B/s',
      'upload: 2.0 KiB / 4.0 KiB 50% 2.0 KiB/s ETA 1.0s',
      'upload: 4.0 KiB / 4.0 KiB 100% 2.0 KiB/s done in 2.0s',
    ]);
  });

  it('redraws one bar line on a TTY', () => {
    let t = 0;
    const out = sink(true);
    const progress = createProgress({ label: 'encrypt', total: 100, stream: out, now: () => t });
    t = 1000;
    progress.update(50);
    t = 2000;
    progress.finish();
    expect(out.text).toContain('\r\x1b[2Kencrypt: [############------------] 50 B / 100 B 50%');
    expect(out.text.endsWith('done in 2.0s\n')).toBe(true);
  });

  it('formats sizes and durations', () => {
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GiB');
    expect(formatDuration(75)).toBe('1m15s');
    expect(formatDuration(Infinity)).toBe('?');
  });
});

describe('configPath', () => {
  it('prefers --config, then CIPHERFLOW_CONFIG, then XDG_CONFIG_HOME', () => {
    expect(configPath('/a.json', { CIPHERFLOW_CONFIG: '/b.json' })).toBe('/a.json');
    expect(configPath(undefined, { CIPHERFLOW_CONFIG: '/b.json' })).toBe('/b.json');
    expect(configPath(undefined, { XDG_CONFIG_HOME: '/xdg' })).toBe(join('/xdg', 'cipherflow', 'config.json'));
  });
});

describe('describeError', () => {
  it('prints the title, code, status, field errors and request id of a problem; auth codes exit 3', () => {
    const err = new ApiProblemError(400, {
      type: 'https://cipherflow.dev/problems/invalid-request',
      title: 'The request is invalid',
      status: 400,
      detail: 'The request body is invalid',
      code: 'INVALID_REQUEST',
      requestId: 'r-1',
      errors: [{ field: 'body.name', message: 'Required' }],
    });
    expect(describeError(err)).toEqual([
      'error: The request is invalid (INVALID_REQUEST, HTTP 400)',
      '  The request body is invalid',
      '  body.name: Required',
      '  request id: r-1',
    ]);
    expect(err.exitCode).toBe(EXIT.ERROR);
    const auth = new ApiProblemError(403, { ...err.problem, code: 'FORBIDDEN_ORG', status: 403 });
    expect(auth.exitCode).toBe(EXIT.AUTH);
  });
});

describe('planConnection', () => {
  const sftp: CreateConnectionOptions = { sftp: true, host: 'sftp.example.com', user: 'acme' };

  it('builds an SFTP password connection whose password comes from stdin only', () => {
    const plan = planConnection({ ...sftp, passwordStdin: true, port: 2222, folder: '/outgoing' });
    expect(plan.stdinOption).toBe('--password-stdin');
    expect(plan.keyFile).toBeUndefined();
    expect(plan.request({ stdin: 's3cret' })).toEqual({
      name: 'sftp acme@sftp.example.com',
      auth: {
        specName: 'Basic Authentication for sftp',
        params: { host: 'sftp.example.com', port: 2222, userName: 'acme', folderPath: '/outgoing', password: 's3cret' },
      },
      connectionSpec: { id: SFTP_CONNECTION_SPEC, version: '1.0' },
    });
  });

  it('builds an SFTP key connection: the key file Base64-encoded, the passphrase from stdin, the host key pinned', () => {
    const fingerprint = `SHA256:${'A'.repeat(43)}`;
    const plan = planConnection({
      ...sftp,
      key: 'id_ed25519',
      passphraseStdin: true,
      hostKeyFingerprint: fingerprint,
      name: 'acme',
    });
    expect(plan).toMatchObject({ stdinOption: '--passphrase-stdin', keyFile: 'id_ed25519' });
    const key = Buffer.from('-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----\n');
    expect(plan.request({ stdin: 'phrase', privateKey: key })).toEqual({
      name: 'acme',
      auth: {
        specName: 'SSH PublicKey Authentication for sftp',
        params: {
          host: 'sftp.example.com',
          userName: 'acme',
          hostKeyFingerprint: fingerprint,
          privateKeyContent: key.toString('base64'),
          passPhrase: 'phrase',
        },
      },
      connectionSpec: { id: SFTP_CONNECTION_SPEC, version: '1.0' },
    });
    // No --passphrase-stdin: nothing is read from stdin and no passPhrase is sent.
    const bare = planConnection({ ...sftp, key: 'id_ed25519' });
    expect(bare.stdinOption).toBeUndefined();
    expect(bare.request({ privateKey: key }).auth.params).not.toHaveProperty('passPhrase');
  });

  it('builds Azure Blob connections from a SAS URI flag or a connection string on stdin', () => {
    const sasUri = 'https://acme.blob.core.windows.net/exports?sv=2024-08-04&sp=rl&sig=x';
    const sas = planConnection({ azureBlob: true, sasUri, folder: 'daily' });
    expect(sas.stdinOption).toBeUndefined();
    expect(sas.request({})).toEqual({
      name: 'azure blob',
      auth: { specName: 'SAS URI Authentication', params: { sasUri, folderPath: 'daily' } },
      connectionSpec: { id: AZURE_BLOB_CONNECTION_SPEC, version: '1.0' },
    });
    const cs = planConnection({ azureBlob: true, connectionStringStdin: true, container: 'exports' });
    expect(cs.stdinOption).toBe('--connection-string-stdin');
    expect(cs.request({ stdin: 'AccountName=a;AccountKey=k' })).toMatchObject({
      name: 'azure blob exports',
      auth: {
        specName: 'ConnectionString',
        params: { connectionString: 'AccountName=a;AccountKey=k', container: 'exports' },
      },
    });
  });

  it('refuses flags that do not go together, or are missing, with exit 2 and what to do', () => {
    const cases: [CreateConnectionOptions, RegExp][] = [
      [{}, /--azure-blob or --sftp/],
      [{ azureBlob: true, sftp: true }, /--azure-blob or --sftp/],
      [{ azureBlob: true }, /--sas-uri URI or --connection-string-stdin/],
      [{ azureBlob: true, sasUri: 'https://x', connectionStringStdin: true }, /one of them/],
      [
        { azureBlob: true, sasUri: 'https://x', host: 'h', passwordStdin: true },
        /--host, --password-stdin go with --sftp/,
      ],
      [{ sftp: true, user: 'u', passwordStdin: true }, /--host H and --user U/],
      [{ ...sftp }, /--password-stdin or --key FILE/],
      [{ ...sftp, passwordStdin: true, key: 'k' }, /one of them/],
      [{ ...sftp, passwordStdin: true, passphraseStdin: true }, /--passphrase-stdin goes with --key/],
      [{ ...sftp, passwordStdin: true, sasUri: 'https://x' }, /--sas-uri goes with --azure-blob/],
      [{ ...sftp, passwordStdin: true, container: 'c' }, /--container goes with --azure-blob/],
    ];
    for (const [opts, message] of cases) {
      expect(() => planConnection(opts), JSON.stringify(opts)).toThrow(message);
      expect(exitCodeOf(() => planConnection(opts))).toBe(EXIT.USAGE);
    }
  });
});

describe('readStdinSecret', () => {
  const input = (chunks: string[], isTTY = false): SecretInput =>
    Object.assign(
      (async function* () {
        for (const c of chunks) yield Buffer.from(c);
        await Promise.resolve();
      })(),
      { isTTY },
    );

  it('reads everything up to the end of input, less one trailing newline', async () => {
    expect(await readStdinSecret('--password-stdin', input(['pass ', 'word\n']))).toBe('pass word');
    expect(await readStdinSecret('--password-stdin', input(['pw\r\n']))).toBe('pw');
    expect(await readStdinSecret('--password-stdin', input(['pw\n\n']))).toBe('pw\n');
  });

  it('refuses a terminal, an empty input and an oversized one with exit 2', async () => {
    await expect(readStdinSecret('--password-stdin', input(['pw'], true))).rejects.toThrow(
      /reads a pipe, not a terminal/,
    );
    expect(await exitCodeOfAsync(() => readStdinSecret('--password-stdin', input(['\n'])))).toBe(EXIT.USAGE);
    const big = input(['x'.repeat(MAX_STDIN_SECRET_BYTES), 'x']);
    expect(await exitCodeOfAsync(() => readStdinSecret('--connection-string-stdin', big))).toBe(EXIT.USAGE);
  });
});

describe('readPrivateKeyFile', () => {
  it('reads an OpenSSH or PEM private key file and refuses anything else with exit 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cipherflow-key-'));
    try {
      const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n';
      await writeFile(join(dir, 'id'), key);
      expect((await readPrivateKeyFile(join(dir, 'id'))).toString()).toBe(key);
      await writeFile(join(dir, 'id.pub'), 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI acme\n');
      await expect(readPrivateKeyFile(join(dir, 'id.pub'))).rejects.toThrow(/is not a private key file/);
      await writeFile(join(dir, 'id.ppk'), 'PuTTY-User-Key-File-3: ssh-ed25519\n');
      await expect(readPrivateKeyFile(join(dir, 'id.ppk'))).rejects.toThrow(/puttygen/);
      await writeFile(join(dir, 'big'), `-----BEGIN RSA PRIVATE KEY-----\n${'A'.repeat(MAX_PRIVATE_KEY_FILE_BYTES)}`);
      await expect(readPrivateKeyFile(join(dir, 'big'))).rejects.toThrow(/larger than a private key file/);
      expect(await exitCodeOfAsync(() => readPrivateKeyFile(join(dir, 'missing')))).toBe(EXIT.ERROR);
      expect(await exitCodeOfAsync(() => readPrivateKeyFile(dir))).toBe(EXIT.ERROR);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('describeConnection', () => {
  it('says where an SFTP or Azure Blob connection points', () => {
    const base = { id: 'c', name: 'n', state: 'enabled' };
    expect(
      describeConnection({
        ...base,
        connectionSpec: { id: SFTP_CONNECTION_SPEC, version: '1.0' },
        auth: {
          specName: 'Basic Authentication for sftp',
          params: { host: 'h', port: 22, userName: 'u', folderPath: 'up' },
        },
      }),
    ).toEqual({ kind: 'SFTP', where: 'u@h:22/~/up' });
    expect(
      describeConnection({
        ...base,
        connectionSpec: { id: SFTP_CONNECTION_SPEC, version: '1.0' },
        auth: { specName: 'Basic Authentication for sftp', params: { host: 'h', port: 22, userName: 'u', folderPath: '/data/up' } },
      }),
    ).toEqual({ kind: 'SFTP', where: 'u@h:22/data/up' });
    expect(
      describeConnection({
        ...base,
        connectionSpec: { id: AZURE_BLOB_CONNECTION_SPEC, version: '1.0' },
        auth: { specName: 'SAS URI Authentication', params: { folderPath: 'daily' } },
      }),
    ).toEqual({ kind: 'Azure Blob', where: '(SAS URI)/daily' });
    expect(
      describeConnection({
        ...base,
        connectionSpec: { id: AZURE_BLOB_CONNECTION_SPEC, version: '1.0' },
        auth: { specName: 'ConnectionString', params: { container: 'exports' } },
      }),
    ).toEqual({ kind: 'Azure Blob', where: 'exports' });
  });
});

describe('schedules', () => {
  it('parses --schedule FREQUENCY[:N] and refuses anything else with exit 2', () => {
    expect(parseSchedule('minute')).toEqual({ frequency: 'minute' });
    expect(parseSchedule('hour:6')).toEqual({ frequency: 'hour', interval: 6 });
    expect(parseSchedule('once')).toEqual({ frequency: 'once' });
    for (const bad of ['once:2', 'hourly', 'hour:0', 'hour:-1', 'day:1.5', '', 'HOUR']) {
      expect(
        exitCodeOf(() => parseSchedule(bad)),
        bad,
      ).toBe(EXIT.USAGE);
    }
  });

  it('parses --start as epoch seconds only', () => {
    expect(parseStartTime('1767225600')).toBe(1767225600);
    for (const bad of ['2026-01-01', '-5', '1.5', '999999999999']) {
      expect(
        exitCodeOf(() => parseStartTime(bad)),
        bad,
      ).toBe(EXIT.USAGE);
    }
  });

  it('schedules only flows that read a connection, and requires a schedule for them', () => {
    expect(flowSchedule({})).toBeUndefined();
    expect(flowSchedule({ connection: 'c', schedule: { frequency: 'hour', interval: 2 }, start: 1767225600 })).toEqual({
      frequency: 'hour',
      interval: 2,
      startTime: 1767225600,
    });
    expect(() => flowSchedule({ connection: 'c' })).toThrow(/--connection needs --schedule/);
    expect(() => flowSchedule({ schedule: { frequency: 'day' }, recursive: true })).toThrow(
      /--schedule, --recursive go with --connection/,
    );
    expect(exitCodeOf(() => flowSchedule({ start: 1 }))).toBe(EXIT.USAGE);
  });

  it('describes a schedule', () => {
    expect(describeSchedule({ frequency: 'minute' })).toBe('every minute, from now');
    expect(describeSchedule({ frequency: 'hour', interval: 6, startTime: 1767225600 })).toBe(
      'every 6 hours, from 2026-01-01T00:00:00.000Z',
    );
    expect(describeSchedule({ frequency: 'once' })).toBe('once, now');
  });
});
