import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT, calculateJwkThumbprint, exportJWK, type JWK } from 'jose';
import { DEV_AUDIENCE, DEV_CLIENT_ID, DEV_ISSUER, DEV_JWKS_PATH } from '../shared/config/defaults.js';

/** The development issuer's signing algorithm (P-256). */
export const DEV_ISSUER_ALGORITHM = 'ES256';
/** Default and longest lifetime of a development token. */
export const DEV_TOKEN_TTL_SECONDS = 3600;
export const MAX_DEV_TOKEN_TTL_SECONDS = 24 * 3600;

const KEY_FILE = 'private-key.pem';

interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicJwk: JWK;
  readonly kid: string;
}

/** Finds the repository root by walking up to a package.json: works from `local/` and `dist/local/`. */
export function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('DEV_ISSUER_NO_REPO_ROOT: no package.json above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** Where the development key pair lives by default: `<repo>/.local/dev-issuer` (git-ignored). */
export function defaultDevIssuerDir(): string {
  return join(findRepoRoot(), '.local', 'dev-issuer');
}

/**
 * Loads the development signing key from `dir`, creating it on first use. Creation writes a
 * private temp file and hard-links it into place, which fails if another process got there first,
 * so concurrent first runs (launcher and `npm run token`) end up with the same key.
 */
async function loadSigningKey(dir: string): Promise<SigningKey> {
  const path = join(dir, KEY_FILE);
  if (!existsSync(path)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
    const temp = `${path}.${process.pid}-${randomBytes(6).toString('hex')}`;
    await writeFile(temp, pem, { mode: 0o600 });
    try {
      await link(temp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      await rm(temp, { force: true });
    }
  }
  const privateKey = createPrivateKey(await readFile(path));
  const publicJwk = await exportJWK(createPublicKey(privateKey));
  const kid = await calculateJwkThumbprint(publicJwk);
  return { privateKey, publicJwk: { ...publicJwk, kid, alg: DEV_ISSUER_ALGORITHM, use: 'sig' }, kid };
}

export interface DevTokenOptions {
  /** Organization(s) granted; a list is emitted as a JSON array claim. */
  readonly org: string | readonly string[];
  /** Sandboxes the token is confined to, as claim `sandboxes` (honoured with `AUTH_SANDBOX_CLAIM=sandboxes`). */
  readonly sandboxes?: readonly string[];
  readonly clientId?: string;
  readonly subject?: string;
  readonly ttlSeconds?: number;
  readonly audience?: string;
  readonly issuer?: string;
  /** Key directory (default {@link defaultDevIssuerDir}). */
  readonly dir?: string;
}

/**
 * Mints a development access token signed by the development issuer's key, with the default
 * claim names (`org`, `client_id`). Needs no running server: the key file is shared.
 *
 * @throws RangeError when `ttlSeconds` is not 1..{@link MAX_DEV_TOKEN_TTL_SECONDS} or no org is given.
 */
export async function issueDevToken(options: DevTokenOptions): Promise<string> {
  const ttl = options.ttlSeconds ?? DEV_TOKEN_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_DEV_TOKEN_TTL_SECONDS) {
    throw new RangeError(`ttlSeconds must be an integer from 1 to ${MAX_DEV_TOKEN_TTL_SECONDS}`);
  }
  const orgs = typeof options.org === 'string' ? [options.org] : [...options.org];
  if (orgs.length === 0 || orgs.some((o) => o === '')) throw new RangeError('at least one non-empty org is required');
  const key = await loadSigningKey(options.dir ?? defaultDevIssuerDir());
  const clientId = options.clientId ?? DEV_CLIENT_ID;
  const claims = {
    org: orgs.length === 1 ? orgs[0] : orgs,
    client_id: clientId,
    ...(options.sandboxes === undefined ? {} : { sandboxes: [...options.sandboxes] }),
  };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: DEV_ISSUER_ALGORITHM, kid: key.kid, typ: 'JWT' })
    .setIssuer(options.issuer ?? DEV_ISSUER)
    .setAudience(options.audience ?? DEV_AUDIENCE)
    .setSubject(options.subject ?? clientId)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime(`${ttl}s`)
    .sign(key.privateKey);
}

export interface DevIssuerOptions {
  /** Port on 127.0.0.1; 0 for a free one. */
  readonly port: number;
  readonly dir?: string;
  /** Settings checked for `CIPHERFLOW_ENV=local` (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface DevIssuer {
  readonly issuer: string;
  readonly jwksUrl: string;
  close(): Promise<void>;
}

/**
 * Serves the development issuer's JWKS at `GET /.well-known/jwks.json` on loopback only. No
 * OpenID discovery document: its `issuer` would have to be this URL, and our issuer is the fixed
 * `cipherflow-dev-issuer` string (see `DEV_ISSUER`).
 *
 * @throws Error DEV_ISSUER_NOT_LOCAL unless `CIPHERFLOW_ENV=local`: a development issuer has no place
 * next to a production app.
 */
export async function startDevIssuer(options: DevIssuerOptions): Promise<DevIssuer> {
  const env = options.env ?? process.env;
  if (env.CIPHERFLOW_ENV !== 'local') {
    throw new Error('DEV_ISSUER_NOT_LOCAL: the development issuer runs only with CIPHERFLOW_ENV=local');
  }
  const key = await loadSigningKey(options.dir ?? defaultDevIssuerDir());
  const jwks = JSON.stringify({ keys: [key.publicJwk] });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (path !== DEV_JWKS_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else {
      res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'max-age=60' }).end(req.method === 'GET' ? jwks : undefined);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('DEV_ISSUER_NO_PORT: the server has no TCP address');
  const { port } = address;
  return {
    issuer: DEV_ISSUER,
    jwksUrl: `http://127.0.0.1:${port}${DEV_JWKS_PATH}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
