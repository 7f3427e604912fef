import { assert, assertEquals, assertThrows, rng, test } from "../../test/harness.ts";
import { hasNodeFs } from "./default.ts";

const NAME_STAGED = "NodeFileSystem.stageFileAtomic() keeps the target untouched until commit(), and discard() leaves nothing";
const NAME_FAILED = "NodeFileSystem.stageFileAtomic(): a commit() that cannot rename names the target and removes the temporary file";

async function scratch() {
  const { NodeFileSystem } = await import("./node_fs.ts");
  const fs = new NodeFileSystem();
  const url = new URL("../../test-output/", import.meta.url);
  const dir = fs.join(decodeURIComponent(url.pathname).replace(/^\/([A-Za-z]:)/, "$1"), "node_fs", `${Date.now()}-${Math.floor(Math.random() * 1e9)}`);
  await fs.mkdirp(dir);
  return { fs, dir };
}

function seeded(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

if (!hasNodeFs()) {
  test.skip(NAME_STAGED, "no node:fs in this runtime");
  test.skip(NAME_FAILED, "no node:fs in this runtime");
} else {
  test(NAME_STAGED, async () => {
    const { fs, dir } = await scratch();
    const target = fs.join(dir, "a.bin");
    const old = seeded(100, 1), next = seeded(5000, 2);
    await fs.writeFileAtomic(target, old);
    const staged = await fs.stageFileAtomic(target, async (out) => {
      await out.write(next.subarray(0, 3000));
      await out.write(next.subarray(3000));
    });
    assertEquals(await fs.readFile(target), old, "the target before commit()");
    assertEquals((await fs.readDir(dir)).length, 2, "the target and one temporary file");
    await staged.commit();
    assertEquals(await fs.readFile(target), next, "the target after commit()");
    assertEquals(await fs.readDir(dir), ["a.bin"]);
    const dropped = await fs.stageFileAtomic(target, seeded(10, 3));
    await dropped.discard();
    assertEquals(await fs.readDir(dir), ["a.bin"]);
    assertEquals(await fs.readFile(target), next, "the target after discard()");
    await (await import("node:fs/promises")).rm(dir, { recursive: true, force: true });
  });

  test(NAME_FAILED, async () => {
    const { fs, dir } = await scratch();
    // A directory in the target's place makes the rename fail after every byte is written.
    const target = fs.join(dir, "taken");
    await fs.mkdirp(fs.join(target, "inside"));
    const staged = await fs.stageFileAtomic(target, seeded(4096, 4));
    const err = await assertThrows(() => staged.commit(), `Cannot write ${target}:`);
    assert((err as { code?: string }).code !== undefined, `an error code: ${err.message}`);
    assertEquals(await fs.readDir(dir), ["taken"], "the temporary file is removed");
    await (await import("node:fs/promises")).rm(dir, { recursive: true, force: true });
  });
}
