import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configPath } from '../../cli/config.js';
import { ApiProblemError, CliError, describeError } from '../../cli/errors.js';
import { EXIT } from '../../cli/exit-codes.js';
import { createProgress, formatBytes, formatDuration } from '../../cli/progress.js';
import { landingBlobName } from '../../cli/upload.js';

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

describe('landingBlobName', () => {
  const base = { org: 'ACME@AdobeOrg', sandbox: 'prod' };

  it("puts the file in the flow's folder under {org}/{sandbox}/", () => {
    expect(landingBlobName({ ...base, sourcePath: '/incoming/*.csv.gpg', file: '/tmp/x/a.csv.gpg' })).toEqual({
      blobName: 'ACME@AdobeOrg/prod/incoming/a.csv.gpg',
      relativePath: 'incoming/a.csv.gpg',
    });
  });

  it('takes the name of a path that names one file', () => {
    expect(landingBlobName({ ...base, sourcePath: '/drop/customers.csv.gpg', file: 'export.gpg' }).relativePath).toBe(
      'drop/customers.csv.gpg',
    );
  });

  it('refuses a name the pattern does not select, with exit 2', () => {
    const attempt = () => landingBlobName({ ...base, sourcePath: '/incoming/*.csv.gpg', file: 'a.json.gpg' });
    expect(attempt).toThrow(CliError);
    expect(attempt).toThrow(/does not match the flow's source path/);
    try {
      attempt();
    } catch (err) {
      expect((err as CliError).exitCode).toBe(EXIT.USAGE);
    }
  });

  it('refuses --as names that climb out of the folder', () => {
    expect(() =>
      landingBlobName({ ...base, sourcePath: '/incoming/*.gpg', file: 'a.gpg', preferred: '../x.gpg' }),
    ).toThrow(CliError);
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
