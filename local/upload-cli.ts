/**
 * `npm run upload -- FILE BLOB_PATH --org ORG [--sandbox prod] [--base-url http://127.0.0.1:7071]`:
 * uploads a file into the org and sandbox's landing zone of the local API (`npm start`) as a
 * customer does (azcopy, Storage Explorer, the Storage SDK): with a development token minted here,
 * it asks the API for the zone's SAS credential, then streams the file up in blocks. `BLOB_PATH` is
 * the path in the zone (`incoming/customers.csv.gpg`; ending in `/` keeps the file's name).
 * The upload itself is `cipherflow upload`'s, 403 retries after a refresh included.
 */
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ApiClient } from '../cli/api-client.js';
import { DEFAULT_BASE_URL } from '../cli/config.js';
import { CliError, describeError } from '../cli/errors.js';
import { EXIT } from '../cli/exit-codes.js';
import { getZoneCredential } from '../cli/landing-zone.js';
import { createProgress } from '../cli/progress.js';
import { uploadToZone, zoneBlobPath } from '../cli/upload.js';
import { DEV_CLIENT_ID } from '../shared/config/defaults.js';

const USAGE = 'usage: npm run upload -- FILE BLOB_PATH --org ORG [--sandbox prod] [--base-url URL]';

function commandLine() {
  try {
    return parseArgs({
      allowPositionals: true,
      strict: true,
      options: {
        org: { type: 'string' },
        sandbox: { type: 'string', default: 'prod' },
        'base-url': { type: 'string', default: DEFAULT_BASE_URL },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new CliError(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`, EXIT.USAGE);
  }
}

async function main(): Promise<void> {
  const { positionals, values } = commandLine();
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const [file, blobPath, ...rest] = positionals;
  if (file === undefined || blobPath === undefined || rest.length > 0 || values.org === undefined)
    throw new CliError(USAGE, EXIT.USAGE);
  const path = zoneBlobPath(blobPath, file);
  if (!URL.canParse(values['base-url'])) throw new CliError(`--base-url is not a URL\n${USAGE}`, EXIT.USAGE);
  const api = new ApiClient({
    baseUrl: values['base-url'],
    org: values.org,
    sandbox: values.sandbox,
    apiKey: DEV_CLIENT_ID,
    mode: 'local',
  });
  // A bar on a terminal only: `npm run --silent upload` in a script prints just the result.
  const total = await stat(file).then(
    (s) => s.size,
    () => undefined,
  );
  const progress = process.stderr.isTTY ? createProgress({ label: 'upload', total }) : undefined;
  const result = await uploadToZone({
    sasUrl: async () => (await getZoneCredential(api)).SASUri,
    file,
    blobPath: path,
    onProgress: (n) => progress?.update(n),
    onRetry: ({ delayMs }) =>
      process.stderr.write(`storage refused the credential (HTTP 403); retrying in ${Math.ceil(delayMs / 1000)}s\n`),
  });
  progress?.finish();
  process.stdout.write(
    `uploaded ${result.bytes} bytes to ${result.containerName}/${result.blobPath} (etag ${result.etag})\n`,
  );
}

main().catch((err: unknown) => {
  for (const line of describeError(err)) process.stderr.write(`${line}\n`);
  process.exitCode = err instanceof CliError ? err.exitCode : EXIT.ERROR;
});
