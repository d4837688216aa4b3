import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { CliError } from './errors.js';
import { EXIT } from './exit-codes.js';

/** Where the API is when nothing else is said: the local runtime of `npm start`. */
export const DEFAULT_BASE_URL = 'http://127.0.0.1:7071';

const HpkeClientKeyConfig = z.strictObject({
  keyId: z.int().min(0).max(255),
  kemId: z.int(),
  publicKey: z.string(),
  privateKey: z.string(),
});

/**
 * What `cipherflow login` keeps. Tokens are never written: local mode mints a development token
 * for each call, otherwise `CIPHERFLOW_TOKEN` is read from the environment each time. The HPKE
 * client private key (for `call --hpke`) is, hence the file's 0600 mode.
 */
export const CliConfig = z.strictObject({
  baseUrl: z.url(),
  org: z.string().min(1),
  sandbox: z.string().min(1),
  apiKey: z.string().min(1),
  mode: z.enum(['local', 'token']),
  hpke: HpkeClientKeyConfig.optional(),
});
export type CliConfig = z.output<typeof CliConfig>;
export type HpkeClientKeyConfig = z.output<typeof HpkeClientKeyConfig>;

/** `--config`, else `CIPHERFLOW_CONFIG`, else `$XDG_CONFIG_HOME/cipherflow/config.json` (default `~/.config`). */
export function configPath(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit !== undefined && explicit !== '') return explicit;
  if (env.CIPHERFLOW_CONFIG !== undefined && env.CIPHERFLOW_CONFIG !== '') return env.CIPHERFLOW_CONFIG;
  const base =
    env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'cipherflow', 'config.json');
}

/** @throws CliError (exit 3) when there is no config: `cipherflow login` first. */
export async function loadConfig(path: string): Promise<CliConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new CliError(`not logged in (no ${path}); run: cipherflow login --org ORG`, EXIT.AUTH);
    throw new CliError(`cannot read ${path}: ${(err as Error).message}`, EXIT.ERROR);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError(`${path} is not JSON; run cipherflow login again`, EXIT.ERROR);
  }
  const parsed = CliConfig.safeParse(json);
  if (!parsed.success)
    throw new CliError(`${path} is not a cipherflow configuration; run cipherflow login again`, EXIT.ERROR);
  return parsed.data;
}

/** Writes the config with mode 0600 (directory 0700), through a temp file and a rename. */
export async function saveConfig(path: string, config: CliConfig): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(temp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
    await rename(temp, path);
  } finally {
    await rm(temp, { force: true });
  }
}
