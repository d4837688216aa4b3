/**
 * The load generator of figure 4c, run as a second process on loopback by `hpke-load.ts`:
 * POSTs to one endpoint from `concurrency` loops for `seconds`, plaintext JSON or HPKE-encrypted
 * (request and response). Encrypted bodies are built before the timed window, one per request
 * (each has its own `enc`: the server refuses replays), so the client's own encryption does not
 * compete with the server for the CPU while it is measured. Prints JSON lines: `start`, then `done`.
 */
import { HPKE_MEDIA_TYPE, encryptRequest, type ServerKeyInfo } from '../shared/hpke/client.js';

export interface LoadConfig {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly mode: 'plain' | 'hpke';
  readonly concurrency: number;
  readonly seconds: number;
  /** Encrypted requests to prepare (hpke mode). */
  readonly count: number;
  readonly serverKey: Pick<ServerKeyInfo, 'keyId' | 'kemId' | 'publicKey'>;
}

export interface LoadResult {
  readonly event: 'done';
  readonly ok: number;
  readonly failed: number;
  readonly seconds: number;
  readonly statuses: Record<string, number>;
  /** True when the prepared encrypted requests ran out before the time did. */
  readonly exhausted: boolean;
  /** This process's CPU seconds during the window. */
  readonly cpuSeconds: number;
}

/** A request without an answer by then counts as failed (and does not stall the window). */
const REQUEST_TIMEOUT_MS = 10_000;

interface Prepared {
  readonly body: Uint8Array | string;
  readonly headers: Record<string, string>;
}

async function main(config: LoadConfig): Promise<void> {
  const prepared: Prepared[] = [];
  const bodyOf = (i: number): string => JSON.stringify({ name: `load-${process.pid}-${i}` });
  if (config.mode === 'hpke') {
    for (let i = 0; i < config.count; i++) {
      const req = await encryptRequest({
        serverKey: config.serverKey,
        method: 'POST',
        url: config.url,
        body: Buffer.from(bodyOf(i)),
        org: config.headers['x-gw-ims-org-id'] ?? '',
        sandbox: config.headers['x-sandbox-name'] ?? 'prod',
      });
      prepared.push({ body: req.body, headers: { ...config.headers, ...req.headers, accept: HPKE_MEDIA_TYPE } });
    }
  }
  const plainHeaders = { ...config.headers, 'content-type': 'application/json' };
  const statuses: Record<string, number> = {};
  let next = 0;
  let ok = 0;
  let failed = 0;
  let exhausted = false;
  process.stdout.write(`${JSON.stringify({ event: 'start' })}\n`);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const until = t0 + config.seconds * 1000;
  const loop = async (): Promise<void> => {
    while (performance.now() < until) {
      const i = next++;
      let request: Prepared;
      if (config.mode === 'hpke') {
        const p = prepared[i];
        if (p === undefined) {
          exhausted = true;
          return;
        }
        request = p;
      } else {
        request = { body: bodyOf(i), headers: plainHeaders };
      }
      let status: string;
      try {
        const res = await fetch(config.url, {
          method: 'POST',
          headers: request.headers,
          body: request.body,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        await res.arrayBuffer();
        status = String(res.status);
        if (res.ok) ok++;
        else failed++;
      } catch (err) {
        status = err instanceof Error && err.name === 'TimeoutError' ? 'timeout' : 'error';
        failed++;
      }
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: config.concurrency }, loop));
  const cpu = process.cpuUsage(cpu0);
  const result: LoadResult = {
    event: 'done',
    ok,
    failed,
    seconds: (performance.now() - t0) / 1000,
    statuses,
    exhausted,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

const arg = process.argv[2];
if (arg === undefined) throw new Error('usage: load-generator <config JSON>');
await main(JSON.parse(arg) as LoadConfig);
