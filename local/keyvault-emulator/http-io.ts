import type { IncomingMessage, ServerResponse } from 'node:http';
import { badParameter } from './errors.js';

/** Largest request body the emulator reads; Key Vault's own limit is far below this for keys. */
export const MAX_BODY_BYTES = 256 * 1024;

/** Reads a request body, bounded by {@link MAX_BODY_BYTES}. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw badParameter('The request body is too large.');
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON object body; an empty body is `{}`. */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const raw = await readBody(req);
  if (raw.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch (cause) {
    throw Object.assign(badParameter('The request body is not valid JSON.'), { cause });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw badParameter('The request body must be a JSON object.');
  }
  return parsed as Record<string, unknown>;
}

/** Sends a JSON response the way Key Vault does (`application/json; charset=utf-8`, no caching). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-cache',
    'content-length': String(Buffer.byteLength(payload)),
    ...headers,
  });
  res.end(payload);
}

/** Sends an empty response. */
export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-length': '0', ...headers });
  res.end();
}
