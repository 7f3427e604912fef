// Seeded byte mutations for the fuzz tests: start from a valid file and damage it
// the ways storage and transfers do (bit flips, torn tails, lost or repeated
// spans) plus the ways parsers are weakest (extreme values in length fields, pure noise).

/** Values that sit on parser boundaries: zero, sign bits, all ones. */
const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];

/** One mutated copy of `src`, chosen and shaped by `r` (a seeded uniform [0, 1) source). */
export function mutate(src: Uint8Array, r: () => number): { bytes: Uint8Array; how: string } {
  const int = (n: number) => Math.floor(r() * n);
  const n = src.length;
  const kind = int(9);
  // A copy even when src is a Node Buffer, whose slice() is a view onto the original.
  const b = new Uint8Array(src);
  switch (kind) {
    case 0: {
      const flips = 1 + int(8);
      for (let i = 0; i < flips; i++) b[int(n)] ^= 1 << int(8);
      return { bytes: b, how: `${flips} bit flips` };
    }
    case 1: {
      const k = 1 + int(4);
      for (let i = 0; i < k; i++) b[int(n)] = r() < 0.5 ? INTERESTING[int(INTERESTING.length)] : int(256);
      return { bytes: b, how: `${k} bytes overwritten` };
    }
    case 2: {
      const at = int(n);
      return { bytes: b.subarray(0, at), how: `truncated to ${at} bytes` };
    }
    case 3: {
      const at = int(n + 1), len = 1 + int(64);
      const out = new Uint8Array(n + len);
      out.set(src.subarray(0, at));
      for (let i = 0; i < len; i++) out[at + i] = int(256);
      out.set(src.subarray(at), at + len);
      return { bytes: out, how: `${len} random bytes inserted at ${at}` };
    }
    case 4: {
      const at = int(n), len = 1 + int(Math.min(256, n - at));
      const out = new Uint8Array(n - len);
      out.set(src.subarray(0, at));
      out.set(src.subarray(at + len), at);
      return { bytes: out, how: `${len} bytes deleted at ${at}` };
    }
    case 5: {
      const from = int(n), len = 1 + int(Math.min(128, n - from)), at = int(n + 1);
      const out = new Uint8Array(n + len);
      out.set(src.subarray(0, at));
      out.set(src.subarray(from, from + len), at);
      out.set(src.subarray(at), at + len);
      return { bytes: out, how: `${len} bytes from ${from} repeated at ${at}` };
    }
    case 6: {
      // A maximal varint (protobuf lengths and tags) or a huge little-endian length.
      const at = int(Math.max(1, n - 10));
      const varint = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
      const len = 1 + int(10);
      for (let i = 0; i < len && at + i < n; i++) b[at + i] = varint[10 - len + i];
      return { bytes: b, how: `${len}-byte varint tail written at ${at}` };
    }
    case 7: {
      const at = int(Math.max(1, n - 8));
      const v = [0, 1, 0x7fffffff, 0xffffffff, 2 ** 53 - 1, n * 2][int(6)];
      const view = new DataView(b.buffer);
      if (at + 8 <= n) {
        view.setUint32(at, v % 2 ** 32, true);
        view.setUint32(at + 4, Math.floor(v / 2 ** 32), true);
      }
      return { bytes: b, how: `uint64 ${v} written at ${at}` };
    }
    default: {
      const len = int(2 * n + 1);
      const out = new Uint8Array(len);
      for (let i = 0; i < len; i++) out[i] = int(256);
      return { bytes: out, how: `${len} random bytes` };
    }
  }
}
