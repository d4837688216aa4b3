import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** Largest key set read; an issuer's JWKS is a few KiB. */
export const MAX_JWKS_BYTES = 256 * 1024;

/**
 * The fetch jose's remote JWKS uses (its `customFetch` option), over `node:http(s)`: one GET,
 * no redirects followed (jose asks for `redirect: 'manual'` and wants a 200), the body bounded by
 * {@link MAX_JWKS_BYTES}, aborted by jose's timeout signal with the signal's reason.
 *
 * Why not the global fetch: its first request compiles undici's WebAssembly HTTP parser, 6-11 MiB
 * of RSS the runtime then keeps for a request made once every ten minutes, in a process whose
 * peak memory while ingesting is a target (README, figure 2a). The Azure SDK clients use
 * `node:http` already.
 */
export function jwksFetch(url: string, init: { readonly signal?: AbortSignal | null; readonly headers?: Headers }): Promise<Response> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const headers = Object.fromEntries(init.headers?.entries() ?? []);
    const send = target.protocol === 'https:' ? httpsRequest : target.protocol === 'http:' ? httpRequest : undefined;
    if (send === undefined) {
      reject(new TypeError(`unsupported JWKS URL scheme ${target.protocol}`));
      return;
    }
    // Aborted (jose's timeout signal), node:http fails with an AbortError whose cause is the
    // signal's reason; jose recognises its timeout by the reason's name (TimeoutError).
    const fail = (err: unknown): void => {
      const reason: unknown = init.signal?.aborted ? init.signal.reason : err;
      reject(reason instanceof Error ? reason : new Error(String(reason)));
    };
    const req = send(target, { method: 'GET', headers, ...(init.signal ? { signal: init.signal } : {}) }, (res) => {
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        // jose refuses anything but 200 by its status alone; the body is not read.
        res.resume();
        resolve(new Response(null, { status: status >= 200 && status <= 599 ? status : 502 }));
        return;
      }
      readBounded(res).then(
        (body) => resolve(new Response(body, { status })),
        (err: unknown) => {
          req.destroy();
          fail(err);
        },
      );
    });
    req.on('error', fail);
    req.end();
  });
}

async function readBounded(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of res) {
    length += (chunk as Buffer).length;
    if (length > MAX_JWKS_BYTES) throw new Error(`the JWKS response is larger than ${MAX_JWKS_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
