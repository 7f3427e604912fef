import { assert, assertEquals, test } from "../../test/harness.ts";
import { MemoryFileSystem } from "./memory_fs.ts";

test("MemoryFileSystem lists, appends and refuses a missing parent", async () => {
  const fs = new MemoryFileSystem();
  await fs.mkdirp("a/b");
  await fs.writeFileAtomic("a/b/x", new Uint8Array([1, 2, 3]));
  const h = await fs.openAppend("a/b/y");
  await h.write(new Uint8Array([4]));
  await h.write(new Uint8Array([5, 6]));
  assertEquals(await fs.readDir("a/b"), ["x", "y"]);
  assertEquals(Array.from(await fs.readFile("a/b/y")), [4, 5, 6]);
  assert(!(await fs.createExclusive("a/b/x", new Uint8Array())), "exclusive create over an existing file");
  let threw = false;
  try {
    await fs.writeFileAtomic("nope/z", new Uint8Array());
  } catch {
    threw = true;
  }
  assert(threw, "writing under a missing directory should fail");
});
