/**
 * Runs in the browser (bundled by test/browser/run.mjs): exercises OpfsFileSystem
 * and defaultFileSystem against the real Origin Private File System and writes the
 * failures (an empty list when all is well) into `<pre id="result">` as JSON.
 * @module
 */
import { defaultFileSystem } from "../../src/fs/default.ts";
import { OpfsFileSystem } from "../../src/fs/opfs_fs.ts";

const failures: string[] = [];
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function expect(cond: boolean, what: string): void {
  if (!cond) failures.push(what);
}

async function rejects(p: Promise<unknown>, pattern: RegExp, what: string): Promise<void> {
  try {
    await p;
    failures.push(`${what}: did not reject`);
  } catch (err) {
    const msg = (err as Error).message;
    if (!pattern.test(msg)) failures.push(`${what}: message ${JSON.stringify(msg)} does not match ${pattern}`);
  }
}

try {
  const def = await defaultFileSystem();
  expect(def instanceof OpfsFileSystem, `defaultFileSystem() in a browser is ${def.constructor.name}, not OpfsFileSystem`);
  const root = await navigator.storage.getDirectory();
  await root.removeEntry("fs-test", { recursive: true }).catch(() => {});
  const fs = new OpfsFileSystem();
  const dir = fs.join("fs-test", "a", "b");
  await fs.mkdirp(dir);
  await fs.mkdirp(dir);
  expect((await fs.stat(dir))?.isDirectory === true, "mkdirp made a directory");
  const file = fs.join(dir, "x.txt");
  expect((await fs.stat(file)) === null, "stat of a missing file is null");
  expect((await fs.stat("fs-test/nope/x")) === null, "stat under a missing directory is null");
  await rejects(fs.readFile(file), /^Cannot read fs-test\/a\/b\/x\.txt: no such file/, "readFile of a missing file");
  await rejects(fs.writeFileAtomic("fs-test/missing/x", enc("1")), /^Cannot write fs-test\/missing\/x: no such file/, "write into a missing dir");

  await fs.writeFileAtomic(file, enc("first"));
  await fs.writeFileAtomic(file, enc("second!"));
  expect(dec(await fs.readFile(file)) === "second!", "writeFileAtomic replaces the content");
  const info = await fs.stat(file);
  expect(info?.isFile === true && info.size === 7 && info.mtimeMs > 0, `stat of a file: ${JSON.stringify(info)}`);
  expect(JSON.stringify(await fs.readDir(dir)) === '["x.txt"]', `no temporary files left: ${await fs.readDir(dir)}`);
  await rejects(fs.mkdirp(fs.join(file, "sub")), /is a file/, "mkdirp through a file");

  const log = fs.join(dir, "log.bin");
  const h = await fs.openAppend(log);
  await h.write(enc("ab"));
  await h.write(enc("cd"));
  await h.sync();
  expect(dec(await fs.readFile(log)) === "abcd", "sync makes appended bytes visible");
  await h.write(enc("ef"));
  await h.close();
  const h2 = await fs.openAppend(log);
  await h2.write(enc("gh"));
  await h2.close();
  expect(dec(await fs.readFile(log)) === "abcdefgh", `append after reopening: ${dec(await fs.readFile(log))}`);

  const lock = fs.join(dir, "lock");
  const both = await Promise.all([fs.createExclusive(lock, enc("me")), fs.createExclusive(lock, enc("you"))]);
  expect(both.filter(Boolean).length === 1, `exactly one of two racing createExclusive calls wins: ${both}`);
  expect(!(await fs.createExclusive(lock, enc("again"))), "createExclusive on an existing file is false");
  await fs.remove(lock);
  await fs.remove(lock);
  expect((await fs.stat(lock)) === null, "remove deletes, and removing again succeeds");
  expect(JSON.stringify(await fs.readDir("fs-test/a")) === '["b"]', "readDir lists directories");
  await rejects(fs.readDir("fs-test/none"), /^Cannot list directory fs-test\/none: no such file/, "readDir of a missing directory");
  await root.removeEntry("fs-test", { recursive: true });
} catch (err) {
  failures.push(`threw: ${(err as Error).stack ?? err}`);
}
document.getElementById("result")!.textContent = JSON.stringify(failures);
