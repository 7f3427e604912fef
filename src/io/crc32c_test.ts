import { assertEquals, rng, test } from "../../test/harness.ts";
import { crc32c, maskCrc, maskedCrc32c } from "./crc32c.ts";

const ascii = (s: string) => new TextEncoder().encode(s);

test("crc32c() matches the standard check value and RFC 3720 vectors", () => {
  assertEquals(crc32c(ascii("123456789")), 0xe3069283);
  assertEquals(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assertEquals(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assertEquals(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assertEquals(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  assertEquals(crc32c(new Uint8Array(0)), 0);
  assertEquals(crc32c(ascii("a")), 0xc1d04330);
});

test("crc32c() reads only the view it is given, not the whole buffer", () => {
  const r = rng(11);
  const big = Uint8Array.from({ length: 64 }, () => Math.floor(r() * 256));
  big.set(ascii("123456789"), 20);
  assertEquals(crc32c(big.subarray(20, 29)), 0xe3069283);
});

test("maskedCrc32c() rotates and offsets the CRC as TFRecord stores it", () => {
  assertEquals(maskedCrc32c(ascii("123456789")), 0xc78ab0e5);
  assertEquals(maskedCrc32c(new Uint8Array(0)), 0xa282ead8);
  // The 8-byte little-endian length header of a 5-byte record.
  assertEquals(maskedCrc32c(new Uint8Array([5, 0, 0, 0, 0, 0, 0, 0])), 0x3e04b2ea);
  assertEquals(maskedCrc32c(ascii("hello")), 0x191c1fbb);
});

test("maskCrc() stays an unsigned 32-bit integer for random CRCs", () => {
  const r = rng(12);
  for (let i = 0; i < 200; i++) {
    const c = Math.floor(r() * 0x100000000);
    const m = maskCrc(c);
    const expected = Number((((BigInt(c) >> 15n) | (BigInt(c) << 17n)) + 0xa282ead8n) & 0xffffffffn);
    assertEquals(m, expected, `crc ${c}`);
  }
});
