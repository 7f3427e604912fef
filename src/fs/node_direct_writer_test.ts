import { assert, assertEquals, rng, test } from "../../test/harness.ts";
import { hasNodeFs } from "./default.ts";

/** Seeded bytes, never all zeros, so a misplaced piece shows. */
function randomBytes(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

/** Cuts `bytes` into pieces of seeded odd lengths, some longer than two buffers. */
function randomCuts(bytes: Uint8Array, seed: number, most: number): Uint8Array[] {
  const r = rng(seed);
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length;) {
    const n = Math.min(bytes.length - at, 1 + Math.floor(r() * most));
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

for (const direct of [true, false]) {
  const name = `DirectFileWriter (${direct ? "direct I/O where the disk takes it" : "ordinary writes"}) writes overlapping appends in call order and patches bytes on disk and in its buffer`;
  if (!hasNodeFs()) {
    test.skip(name, "no node:fs in this runtime");
    continue;
  }
  test(name, async () => {
    const fsp = await import("node:fs/promises");
    const { DirectFileWriter } = await import("./node_direct_writer.ts");
    const { NodeFileSystem } = await import("./node_fs.ts");
    const fs = new NodeFileSystem();
    const url = new URL("../../test-output/", import.meta.url);
    const dir = fs.join(decodeURIComponent(url.pathname).replace(/^\/([A-Za-z]:)/, "$1"), "direct_writer");
    await fs.mkdirp(dir);
    const path = fs.join(dir, `${Date.now()}-${Math.floor(Math.random() * 1e9)}-${direct}.bin`);
    const piece = 8192;
    // 5.3 pieces: full pieces go direct, the rest through the ordinary handle.
    const expected = randomBytes(5 * piece + 2501, direct ? 1 : 2);
    const handle = await fsp.open(path, "wx");
    try {
      const writer = new DirectFileWriter(path, handle, { piece, direct });
      // Not awaited one by one: the writer must keep call order itself.
      await Promise.all(randomCuts(expected, 3, 3 * piece).map((part) => writer.write(part.slice())));
      const early = randomBytes(8, 4), late = randomBytes(8, 5);
      await writer.writeAt(100, early);
      await writer.writeAt(expected.length - 9, late);
      expected.set(early, 100);
      expected.set(late, expected.length - 9);
      await writer.finish();
      await handle.sync();
      assert(direct || !writer.usedDirectIo, "direct: false must not use direct I/O");
    } finally {
      await handle.close();
    }
    const written = await fs.readFile(path);
    await fs.remove(path);
    assertEquals(written.length, expected.length, "file length");
    const firstDiff = written.findIndex((b, i) => b !== expected[i]);
    assertEquals(firstDiff, -1, "first byte that differs");
  });
}
