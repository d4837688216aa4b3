import type { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';

/** Response bodies the pipeline passes through: text, bytes, or a stream for large downloads. */
export type ApiBody = string | Uint8Array | ReadableStream<Uint8Array> | Readable;

/**
 * What the pipeline returns. Assignable to `@azure/functions`' `HttpResponseInit`, so a function
 * returns it as is.
 */
export interface ApiResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body?: ApiBody;
}

/**
 * What a route handler returns: `json` (serialized as `application/json`), or a raw `body` with
 * its own `content-type` header, or neither (204). `status` defaults to 200, or 204 without a body.
 */
export type ApiResult =
  | { readonly status?: number; readonly headers?: Readonly<Record<string, string>>; readonly json: unknown }
  | { readonly status?: number; readonly headers: Readonly<Record<string, string>> & { readonly 'content-type': string }; readonly body: ApiBody }
  | { readonly status?: number; readonly headers?: Readonly<Record<string, string>> };
