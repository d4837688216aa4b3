import { ReadableStream } from 'node:stream/web';
import { AEADEncryptedDataPacket, SymEncryptedIntegrityProtectedDataPacket } from 'openpgp';

/**
 * Re-chunks a byte stream into chunks of at least `minBytes` (the last one may be shorter): the
 * same bytes in the same order, only fewer and larger pieces. Every stage of OpenPGP.js's chain
 * of web streams costs several promise hops per chunk, whatever its size, and gpg writes its
 * packets in 8 KiB partial-length pieces, which the library forwards one by one.
 *
 * The first chunk is passed on as it comes, so whoever parses the headers at the start of the stream
 * does not wait for a whole chunk's worth of input (nor see an input failure earlier than before).
 * Cancelling the result cancels `source`; an error of `source` errors the result.
 */
export function rechunk(source: ReadableStream<Uint8Array>, minBytes: number): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let first = true;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const parts: Uint8Array[] = [];
      let length = 0;
      const wanted = first ? 1 : minBytes;
      first = false;
      while (length < wanted) {
        const { done, value } = await reader.read();
        if (done) {
          if (length > 0) controller.enqueue(join(parts, length));
          controller.close();
          return;
        }
        if (value.length === 0) continue;
        parts.push(value);
        length += value.length;
      }
      controller.enqueue(join(parts, length));
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/** One chunk of `parts` (no copy when there is only one). */
export function join(parts: readonly Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1 && parts[0] !== undefined) return parts[0];
  // Not zero-filled: every byte is written below. A zero-filled `new Uint8Array` costs a second
  // pass over every byte of the file and, measured, more of V8's old-generation marking.
  const out = Buffer.allocUnsafe(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Re-chunks the ciphertext of the message's encrypted data packets (SEIPD v1/v2, AEAD) into
 * pieces of at least `minBytes`, before `decrypt()` reads them. The library's packet reader
 * forwards a partial-length body piece by piece (8 KiB each from gpg), and every piece then travels
 * alone through the decryption chain (CFB, the MDC's SHA-1 and slices, the inner packet reader);
 * a 256 MiB file is 32,768 trips through each stage. Rechunked, the same bytes make 256 trips:
 * decryption of a gpg file took about half the CPU time with this (see bench/). Integrity checks
 * are untouched: the library still hashes and authenticates every byte, in larger calls.
 *
 * This reaches into a field the library's typings do not declare (`encrypted`, set by
 * `read()` as `reader.remainder()` in openpgp 6.3.2), guarded at run time: a packet whose
 * `encrypted` is not a web stream is left alone.
 *
 * @returns how many packets were rechunked (tests assert that the hook still engages).
 */
export function rechunkEncryptedData(message: { readonly packets: Iterable<unknown> }, minBytes: number): number {
  let rechunked = 0;
  for (const packet of message.packets) {
    if (!(packet instanceof SymEncryptedIntegrityProtectedDataPacket || packet instanceof AEADEncryptedDataPacket))
      continue;
    const holder = packet as unknown as { encrypted?: unknown };
    if (holder.encrypted instanceof ReadableStream) {
      holder.encrypted = rechunk(holder.encrypted as ReadableStream<Uint8Array>, minBytes);
      rechunked++;
    }
  }
  return rechunked;
}
