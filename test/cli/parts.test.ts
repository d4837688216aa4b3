import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configPath } from '../../cli/config.js';
import { ApiProblemError, CliError, describeError } from '../../cli/errors.js';
import { EXIT } from '../../cli/exit-codes.js';
import { createProgress, formatBytes, formatDuration } from '../../cli/progress.js';
import { credentialLines, credentialView } from '../../cli/landing-zone.js';
import { flowBlobPath, retryForbidden, zoneBlobPath, zoneContainer } from '../../cli/upload.js';

/** The exit code of the CliError `attempt` throws. */
function exitCodeOf(attempt: () => unknown): number | undefined {
  try {
    attempt();
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
