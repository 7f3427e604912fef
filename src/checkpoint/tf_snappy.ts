/**
 * Snappy decompression for the table blocks of TensorFlow checkpoints. TensorFlow
 * writes its tables uncompressed, except for a few 1.x releases whose `.index`
 * files could be Snappy-compressed, so only the raw block format is needed
 * (no framing). Written here rather than taken from npm because a reader of
 * untrusted files must bound its output before allocating it and refuse any
 * copy that reaches outside what it has produced, and the small pure-JavaScript
 * package checks neither.
 * @module
 */

/** The densest Snappy op (a 3-byte copy of 64 bytes) expands 64/3 ≈ 21.3×: more than this is a lie. */
const MAX_EXPANSION = 22;

/**
 * Decompresses one raw Snappy block. Throws an Error saying what is wrong and at
 * which byte of `input` for anything malformed: a declared length larger than
 * the input could expand to, a literal or copy that runs past either end, a
 * back-reference to before the start, or output that does not match the
 * declared length.
 *
 * @example
 * ```ts
 * // Length 3, then one literal tag (length 3) and its bytes.
 * snappyUncompress(new Uint8Array([3, 0x08, 0x61, 0x62, 0x63])); // "abc"
 * ```
 */
export function snappyUncompress(input: Uint8Array): Uint8Array {
  let pos = 0;
  let declared = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= input.length || shift > 28) throw new Error(`Snappy: bad uncompressed-length varint at byte ${pos}`);
    const b = input[pos++];
    declared += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  if (declared > input.length * MAX_EXPANSION) {
    throw new Error(`Snappy: declared length ${declared} is more than ${input.length} compressed bytes can hold`);
  }
  const out = new Uint8Array(declared);
  let outPos = 0;
  while (pos < input.length) {
    const tagAt = pos;
    const tag = input[pos++];
    let len: number;
    let offset: number;
    if ((tag & 3) === 0) {
      len = (tag >>> 2) + 1;
      if (len > 60) {
        const extra = len - 60;
        if (pos + extra > input.length) throw new Error(`Snappy: literal length at byte ${tagAt} runs past the end`);
        len = 0;
        for (let i = 0; i < extra; i++) len += input[pos + i] * 2 ** (8 * i);
        len += 1;
        pos += extra;
      }
      if (pos + len > input.length) throw new Error(`Snappy: literal at byte ${tagAt} runs past the end of the input`);
      if (outPos + len > declared) throw new Error(`Snappy: literal at byte ${tagAt} overflows the declared length ${declared}`);
      out.set(input.subarray(pos, pos + len), outPos);
      pos += len;
      outPos += len;
      continue;
    }
    const kind = tag & 3;
    const width = kind === 1 ? 1 : kind === 2 ? 2 : 4;
    if (pos + width > input.length) throw new Error(`Snappy: copy at byte ${tagAt} runs past the end of the input`);
    if (kind === 1) {
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | input[pos];
    } else {
      len = (tag >>> 2) + 1;
      offset = 0;
      for (let i = 0; i < width; i++) offset += input[pos + i] * 2 ** (8 * i);
    }
    pos += width;
    if (offset === 0 || offset > outPos) throw new Error(`Snappy: copy at byte ${tagAt} reaches back ${offset} bytes with ${outPos} written`);
    if (outPos + len > declared) throw new Error(`Snappy: copy at byte ${tagAt} overflows the declared length ${declared}`);
    // Byte by byte: an offset shorter than the length repeats the pattern, as the format intends.
    for (let i = 0; i < len; i++, outPos++) out[outPos] = out[outPos - offset];
  }
  if (outPos !== declared) throw new Error(`Snappy: produced ${outPos} bytes, but the block declares ${declared}`);
  return out;
}
