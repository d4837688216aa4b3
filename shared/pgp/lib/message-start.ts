/**
 * The first octet of the body (a version, algorithm or format octet) each packet that may begin
 * an OpenPGP message can have, by packet tag (RFC 9580 §5, §10.3; tag 20 and the version-5
 * entities are LibrePGP's); `undefined`: any octet.
 */
const MESSAGE_STARTS: ReadonlyMap<number, ReadonlySet<number> | undefined> = new Map([
  [1, new Set([3, 6])], // Public-Key Encrypted Session Key
  [3, new Set([4, 5, 6])], // Symmetric-Key Encrypted Session Key
  [9, undefined], // Symmetrically Encrypted Data (no version octet)
  [10, new Set([0x50])], // Marker: "PGP"
  [18, new Set([1, 2])], // Symmetrically Encrypted Integrity Protected Data
  [20, new Set([1])], // OCB Encrypted Data
  [8, new Set([0, 1, 2, 3])], // Compressed Data: algorithm
  [11, new Set([0x62, 0x74, 0x75, 0x6c, 0x31, 0x6d])], // Literal Data: format b t u l 1 m
  [2, new Set([3, 4, 5, 6])], // Signature
  [4, new Set([3, 6])], // One-Pass Signature
  [21, undefined], // Padding
]);

/**
 * True when `head` (the first bytes of a binary input) begins with a packet header of a type that
 * may start an OpenPGP message, whose body starts with an octet some OpenPGP standard defines for
 * it. Every real message passes, however new its other packets' versions and algorithms. Random
 * bytes pass 2.5 % of the time, almost all as a legacy Symmetrically Encrypted Data or a Padding
 * packet (no version octet to check); 0.17 % otherwise.
 */
export function startsLikeOpenPgpMessage(head: Uint8Array): boolean {
  const first = head[0];
  if (first === undefined || (first & 0x80) === 0) return false;
  let tag: number;
  let headerLength: number;
  if ((first & 0x40) !== 0) {
    tag = first & 0x3f;
    const length = head[1];
    if (length === undefined) return false;
    if (length < 192) {
      if (length === 0) return false;
      headerLength = 2;
    } else if (length < 224) headerLength = 3;
    else if (length < 255) headerLength = 2; // a partial body length
    else headerLength = 6;
  } else {
    // Legacy format: 0, 1, 2 or 3 length octets (3: indeterminate length, none).
    tag = (first >> 2) & 0x0f;
    headerLength = 1 + ([1, 2, 4, 0][first & 0x03] ?? 0);
    if ((first & 0x03) === 0 && head[1] === 0) return false;
  }
  if (!MESSAGE_STARTS.has(tag)) return false;
  const bodyStart = head[headerLength];
  if (bodyStart === undefined) return false;
  const allowed = MESSAGE_STARTS.get(tag);
  return allowed === undefined || allowed.has(bodyStart);
}
