import { request } from 'node:https';
import type { TokenCredential } from '@azure/identity';

const ARM = 'https://management.azure.com';
const API_VERSION = '2023-05-01';
/** A rotated key is picked up this long after rotation at the latest. */
const KEY_CACHE_MS = 5 * 60_000;
const MAX_BODY_BYTES = 64 * 1024;

/**
 * The landing account's `key1`, read at run time through the managed identity with ARM's
 * `listKeys` (role: Storage Account Key Operator Service Role on that account only), cached for
 * five minutes. No key is ever in an app setting; rotating `key1` revokes every zone's SAS at once,
 * and the API signs with the new key within the cache period.
 */
export function armAccountKey(
  credential: TokenCredential,
  accountResourceId: string,
  options: { readonly endpoint?: string; readonly now?: () => number } = {},
): () => Promise<string> {
  const now = options.now ?? Date.now;
  const endpoint = options.endpoint ?? ARM;
  let cached: { key: string; until: number } | undefined;
  let pending: Promise<string> | undefined;
  return async () => {
    if (cached !== undefined && cached.until > now()) return cached.key;
    pending ??= listKey(credential, endpoint, accountResourceId)
      .then((key) => {
        cached = { key, until: now() + KEY_CACHE_MS };
        return key;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}

async function listKey(credential: TokenCredential, endpoint: string, accountResourceId: string): Promise<string> {
  const token = await credential.getToken(`${ARM}/.default`);
  if (token === null) throw new Error('No management token for the landing account');
  const url = new URL(`${endpoint}${accountResourceId}/listKeys?api-version=${API_VERSION}`);
  const body = await new Promise<string>((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { authorization: `Bearer ${token.token}`, 'content-length': '0' }, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) req.destroy(new Error('listKeys answer too large'));
        else chunks.push(chunk);
      });
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`listKeys answered ${res.statusCode ?? 'no status'}`));
        else resolve(Buffer.concat(chunks).toString('utf8'));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('listKeys timed out')));
    req.on('error', reject);
    req.end();
  });
  const keys = (JSON.parse(body) as { keys?: { keyName?: unknown; value?: unknown }[] }).keys ?? [];
  const key = keys.find((k) => k.keyName === 'key1')?.value;
  if (typeof key !== 'string') throw new Error('listKeys answered no key1');
  return key;
}
