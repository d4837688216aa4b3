import net from 'node:net';

/** An HTTP/1.1 response as it came off a raw socket. */
export interface RawResponse {
  readonly status: number;
  /** Header names lower-cased; a repeated header keeps its last value. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body, de-chunked. */
  readonly body: string;
}

/** A raw TCP connection to an HTTP server, for request lines and pacing no HTTP client will send. */
export interface RawConnection {
  readonly socket: net.Socket;
  /** Writes bytes as they are; resolves once handed to the kernel. */
  write(data: string | Uint8Array): Promise<void>;
  /** The first response on the connection, once its body is complete; `undefined` if the server closed without one. */
  readonly response: Promise<RawResponse | undefined>;
  /** Resolves when the server has closed its side (FIN or reset). */
  readonly closed: Promise<void>;
}

/** Opens a connection to the `http://host:port` of `baseUrl`. */
export async function connectRaw(baseUrl: string): Promise<RawConnection> {
  const url = new URL(baseUrl);
  const socket = net.connect(Number(url.port), url.hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let received = Buffer.alloc(0);
  let settle: (r: RawResponse | undefined) => void = () => undefined;
  const response = new Promise<RawResponse | undefined>((resolve) => (settle = resolve));
  const closed = new Promise<void>((resolve) => {
    socket.once('end', resolve);
    socket.once('close', () => {
      settle(undefined);
      resolve();
    });
  });
  // A reset after the response (the client was still sending) is expected here, not a test failure.
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    const parsed = parseResponse(received);
    if (parsed !== undefined) settle(parsed);
  });
  return {
    socket,
    write: (data) =>
      new Promise<void>((resolve, reject) => {
        socket.write(data, (err) => (err === undefined || err === null ? resolve() : reject(err)));
      }),
    response,
    closed,
  };
}

/** Sends one request text on a fresh connection and resolves with the response (or `undefined` if none came). */
export async function exchangeRaw(baseUrl: string, requestText: string): Promise<RawResponse | undefined> {
  const conn = await connectRaw(baseUrl);
  await conn.write(requestText);
  const response = await conn.response;
  conn.socket.destroy();
  return response;
}

/** A complete response in `bytes`, or `undefined` while more is needed. */
function parseResponse(bytes: Buffer): RawResponse | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine = '', ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let rest = bytes.subarray(end + 4);
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = rest.indexOf('\r\n');
      if (lineEnd < 0) return undefined;
      const size = parseInt(rest.subarray(0, lineEnd).toString('latin1'), 16);
      if (rest.length < lineEnd + 2 + size + 2) return undefined;
      if (size === 0) return { status, headers, body: Buffer.concat(parts).toString('utf8') };
      parts.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      rest = rest.subarray(lineEnd + 2 + size + 2);
    }
  }
  const length = Number(headers['content-length'] ?? '0');
  if (rest.length < length) return undefined;
  return { status, headers, body: rest.subarray(0, length).toString('utf8') };
}
