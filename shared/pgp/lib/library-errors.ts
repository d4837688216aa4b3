/**
 * OpenPGP.js throws plain `Error`s (its `UnsupportedError` class is not exported) and wraps them
 * with `cause`. These helpers look through that chain. They are only used to pick between codes
 * that are safe to tell apart (never between two crypto failures).
 */

function* causeChain(err: unknown): Generator<Error> {
  let current: unknown = err;
  for (let depth = 0; current instanceof Error && depth < 16; depth++) {
    yield current;
    current = current.cause;
  }
}

/** True when the library refused a packet version or algorithm rather than bad bytes. */
export function isUnsupported(err: unknown): boolean {
  for (const e of causeChain(err)) {
    if (e.name === 'UnsupportedError' || e.name === 'UnknownPacketError') return true;
  }
  return false;
}

/** The library's own decompression counter (`maxDecompressedMessageSize`) fired. */
export function isDecompressionLimit(err: unknown): boolean {
  for (const e of causeChain(err)) {
    // zlib/zip: "Maximum decompressed message size exceeded"; bzip2: "Maximum decompressed size exceeded".
    if (/Maximum decompressed (message )?size exceeded/.test(e.message)) return true;
  }
  return false;
}

/** The ratio limit of our openpgp patch (`maxDecompressionRatio`) fired. */
export function isDecompressionRatioLimit(err: unknown): boolean {
  for (const e of causeChain(err)) {
    if (e.message === 'Maximum decompression ratio exceeded') return true;
  }
  return false;
}
