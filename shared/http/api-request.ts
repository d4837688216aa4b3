import type { ReadableStream } from 'node:stream/web';
import type { HeaderReader } from '../auth/authenticate.js';

/**
 * The part of an HTTP request the pipeline reads. Structural, so `@azure/functions`' `HttpRequest`
 * and the global `Request` both fit without `shared/` importing the Functions library.
 */
export interface ApiRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: HeaderReader;
  /** The body as a byte stream; read by the pipeline with a byte limit, never buffered unbounded. */
  readonly body: ReadableStream<Uint8Array> | null;
  /** Route parameters (`{keyId}`), when the host supplies them. */
  readonly params?: Readonly<Record<string, string>>;
}
