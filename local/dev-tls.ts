// @peculiar/x509 resolves its ASN.1 formatters through tsyringe, which refuses to load without a
// Reflect metadata polyfill; it must be evaluated before the x509 import below.
import 'reflect-metadata';
import { X509Certificate as NodeX509Certificate, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as x509 from '@peculiar/x509';

/** PEM material of the local development CA and of the server certificate it signed. */
export interface DevTls {
  /** Path of the CA certificate, for `NODE_EXTRA_CA_CERTS`. */
  caPath: string;
  certPem: string;
  keyPem: string;
  caPem: string;
}

const CA_FILE = 'ca.pem';
const CERT_FILE = 'server-cert.pem';
const KEY_FILE = 'server-key.pem';
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;
const CA_LIFETIME_MS = 825 * 24 * 3600 * 1000;
const SERVER_LIFETIME_MS = 397 * 24 * 3600 * 1000;
const SERVER_NAMES = { dns: ['localhost'], ip: ['127.0.0.1', '::1'] } as const;
const EC_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const EC_SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

/**
 * Finds the repository root by walking up from this module to the first directory holding a
 * package.json, so the same code works from `local/` (vitest) and from `dist/local/` (tsc output).
 */
function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('DEV_TLS_NO_REPO_ROOT: no package.json above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/**
 * Returns the local development CA and a `localhost`/`127.0.0.1`/`::1` server certificate signed
 * by it, creating them in `dir` on first use and again when any is missing, unreadable, not
 * matching, or expiring within 30 days. The CA is trusted by our processes only through
 * `NODE_EXTRA_CA_CERTS`; TLS verification is never turned off.
 *
 * @param dir - where ca.pem, server-cert.pem and server-key.pem live (default `<repo>/.local/dev-tls`).
 */
export async function ensureDevTls(dir: string = join(findRepoRoot(), '.local', 'dev-tls')): Promise<DevTls> {
  const target = resolve(dir);
  const existing = await readValid(target);
  if (existing) return existing;
  await mkdir(dirname(target), { recursive: true });
  // The whole set is built in a private directory and swapped in with one rename, so a second
  // process racing us never sees a CA from one run next to a server certificate from another.
  const staging = `${target}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  await mkdir(staging, { recursive: true, mode: 0o700 });
  try {
    const generated = await generate();
    await writeFile(join(staging, CA_FILE), generated.caPem, { mode: 0o644 });
    await writeFile(join(staging, CERT_FILE), generated.certPem, { mode: 0o644 });
    await writeFile(join(staging, KEY_FILE), generated.keyPem, { mode: 0o600 });
    await swapIn(staging, target);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  // Whoever won the race, the directory now holds one consistent set: return that one.
  const written = await readValid(target);
  if (!written) throw new Error('DEV_TLS_WRITE_FAILED: could not read back ' + target);
  return written;
}

/**
 * Moves the staged set into place unless another process already put a valid set there first:
 * the first writer wins, so every caller ends up with the same CA and server pair.
 */
async function swapIn(staging: string, target: string): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await rename(staging, target);
      return;
    } catch (err) {
      if (!isErrno(err, 'ENOTEMPTY') && !isErrno(err, 'EEXIST')) throw err;
    }
    if (await readValid(target)) return;
    // What is there is stale or broken: move it aside (someone else may do so at the same time).
    const old = `${target}.old-${process.pid}-${randomBytes(6).toString('hex')}`;
    try {
      await rename(target, old);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    await rm(old, { recursive: true, force: true });
  }
  throw new Error('DEV_TLS_SWAP_FAILED: could not install a certificate set in ' + target);
}

async function readValid(dir: string): Promise<DevTls | undefined> {
  try {
    const caPath = join(dir, CA_FILE);
    const [caPem, certPem, keyPem] = await Promise.all([
      readFile(caPath, 'utf8'),
      readFile(join(dir, CERT_FILE), 'utf8'),
      readFile(join(dir, KEY_FILE), 'utf8'),
    ]);
    const ca = new NodeX509Certificate(caPem);
    const cert = new NodeX509Certificate(certPem);
    const renewAt = Date.now() + RENEW_BEFORE_MS;
    if (Date.parse(ca.validTo) < renewAt || Date.parse(cert.validTo) < renewAt) return undefined;
    if (!ca.ca || !cert.verify(ca.publicKey) || !cert.checkPrivateKey(createPrivateKey(keyPem))) return undefined;
    return { caPath, caPem, certPem, keyPem };
  } catch {
    return undefined;
  }
}

async function generate(): Promise<Omit<DevTls, 'caPath'>> {
  const crypto = webcrypto;
  x509.cryptoProvider.set(crypto);
  const now = Date.now();
  // Backdated a little so a clock slightly behind ours still accepts the certificates.
  const notBefore = new Date(now - 3600 * 1000);

  const caKeys = await crypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
  const caName = `CN=cipherflow local development CA ${randomBytes(4).toString('hex')}, O=cipherflow (dev only)`;
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: caName,
    notBefore,
    notAfter: new Date(now + CA_LIFETIME_MS),
    signingAlgorithm: EC_SIGN,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  const serverKeys = await crypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
  const serverCert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=localhost',
    issuer: caCert.subject,
    notBefore,
    notAfter: new Date(now + SERVER_LIFETIME_MS),
    signingAlgorithm: EC_SIGN,
    publicKey: serverKeys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...SERVER_NAMES.dns.map((value) => ({ type: 'dns' as const, value })),
        ...SERVER_NAMES.ip.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(serverKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', serverKeys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
  return { caPem: caCert.toString('pem') + '\n', certPem: serverCert.toString('pem') + '\n', keyPem };
}

/** A positive 128-bit serial (high bit cleared so DER does not read it as negative). */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && (err).code === code;
}
