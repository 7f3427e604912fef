/**
 * The table key under which a V2 checkpoint stores one slice of a partitioned
 * variable: TensorFlow's "ordered code" of 0, the tensor name, the rank, then a
 * start and a length per dimension (length -1 for a whole dimension). Ordered
 * code makes byte order match value order: a string has its 0x00 and 0xff bytes
 * escaped and ends in 0x00 0x01; an unsigned number is a length byte then its
 * big-endian bytes; a signed number carries its length in the leading bits of
 * its first bytes (one byte for -64..63).
 * @module
 */

/**
 * The key of slice `extents` of tensor `name`, as a string with one character
 * per byte (so it can key a Map).
 *
 * @example
 * ```ts
 * tensorSliceKey("a", []); // "\x00a\x00\x01\x00"
 * ```
 */
export function tensorSliceKey(name: string, extents: readonly { start: number; length: number }[]): string {
  const out: number[] = [...unsignedCode(0)];
  for (const b of new TextEncoder().encode(name)) {
    if (b === 0x00) out.push(0x00, 0xff);
    else if (b === 0xff) out.push(0xff, 0x00);
    else out.push(b);
  }
  out.push(0x00, 0x01, ...unsignedCode(extents.length));
  for (const e of extents) out.push(...signedCode(e.start), ...signedCode(e.length));
  return String.fromCharCode(...out);
}

/**
 * The same key form for bytes read from a table.
 *
 * @example
 * ```ts
 * keyString(entry.key) === tensorSliceKey("w", [{ start: 0, length: 2 }]);
 * ```
 */
export function keyString(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

function unsignedCode(n: number): number[] {
  const bytes: number[] = [];
  for (let v = BigInt(n); v > 0n; v >>= 8n) bytes.unshift(Number(v & 0xffn));
  return [bytes.length, ...bytes];
}

/** Header bits of the first two bytes for each encoded length (1 to 10 bytes). */
const HEADER: [number, number][] = [
  [0, 0], [0x80, 0], [0xc0, 0], [0xe0, 0], [0xf0, 0], [0xf8, 0], [0xfc, 0], [0xfe, 0], [0xff, 0], [0xff, 0x80], [0xff, 0xc0],
];

function signedCode(n: number): number[] {
  const v = BigInt(n);
  const magnitude = v < 0n ? ~v : v;
  if (magnitude < 64n) return [(HEADER[1][0] ^ Number(BigInt.asUintN(8, v)))];
  // n bytes hold 7n - 1 bits of magnitude plus the sign.
  const bits = magnitude.toString(2).length;
  const length = Math.min(10, Math.floor(bits / 7) + 1);
  const bytes: number[] = [];
  const wrapped = BigInt.asUintN(80, v); // sign-extended to 10 bytes
  for (let i = length - 1; i >= 0; i--) bytes.push(Number((wrapped >> BigInt(8 * i)) & 0xffn));
  bytes[0] ^= HEADER[length][0];
  bytes[1] ^= HEADER[length][1];
  return bytes;
}
