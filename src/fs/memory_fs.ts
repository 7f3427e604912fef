/**
 * An in-memory file system, for tests and for runs that keep nothing.
 * @module
 */
// The methods stay `async` without awaiting so a thrown error arrives as a rejection, as on disk.
// deno-lint-ignore-file require-await
import type { AppendHandle, FileContent, FileInfo, FileSystem, StagedFile } from "./types.ts";

/**
 * Files held in a Map; directories are implied by paths and by `mkdirp`.
 *
 * @example
 * ```ts
 * const fs = new MemoryFileSystem();
 * await fs.writeFileAtomic("a.bin", new Uint8Array([1, 2]));
 * (await fs.readFile("a.bin")).length; // 2
 * ```
 */
export class MemoryFileSystem implements FileSystem {
  readonly files: Map<string, { data: Uint8Array; mtimeMs: number }> = new Map();
  readonly dirs: Set<string> = new Set([""]);
  private tmpCounter = 0;

  join(...parts: string[]): string {
    return parts.filter((p) => p !== "").join("/").replace(/\/+/g, "/");
  }

  async readFile(path: string): Promise<Uint8Array> {
    const f = this.files.get(norm(path));
    if (!f) throw new Error(`Cannot read ${path}: no such file or directory`);
    return f.data.slice();
  }

  async readInto(path: string, position: number, target: Uint8Array): Promise<void> {
    const f = this.files.get(norm(path));
    if (!f) throw new Error(`Cannot read ${path}: no such file or directory`);
    if (position < 0 || position + target.length > f.data.length) {
      throw new Error(`Cannot read ${path}: the file ends at byte ${f.data.length}, before byte ${position + target.length}`);
    }
    target.set(f.data.subarray(position, position + target.length));
  }

  async writeFileAtomic(path: string, content: FileContent): Promise<void> {
    this.requireParent(path);
    // Built apart and only stored when complete, as a rename would publish it.
    const data = typeof content === "function" ? await collect(content) : content.slice();
    this.files.set(norm(path), { data, mtimeMs: Date.now() });
  }

  /**
   * Stores the content under a temporary name beside `path` (as a disk would show
   * it) until `commit` moves it into place; a test that never commits sees what a
   * crash before the flush leaves behind.
   */
  async stageFileAtomic(path: string, content: FileContent): Promise<StagedFile> {
    this.requireParent(path);
    const data = typeof content === "function" ? await collect(content) : content.slice();
    const tmp = `${norm(path)}.tmp-memory-${this.tmpCounter++}`;
    this.files.set(tmp, { data, mtimeMs: Date.now() });
    let settled = false;
    const take = (): { data: Uint8Array; mtimeMs: number } => {
      const staged = this.files.get(tmp);
      if (settled || !staged) throw new Error(`Cannot write ${path}: the staged file was already committed, discarded or removed`);
      settled = true;
      this.files.delete(tmp);
      return staged;
    };
    return {
      commit: async () => {
        const staged = take();
        this.requireParent(path);
        this.files.set(norm(path), { data: staged.data, mtimeMs: Date.now() });
      },
      discard: async () => {
        if (this.files.has(tmp) && !settled) take();
      },
    };
  }

  async openAppend(path: string): Promise<AppendHandle> {
    this.requireParent(path);
    const key = norm(path);
    if (!this.files.has(key)) this.files.set(key, { data: new Uint8Array(0), mtimeMs: Date.now() });
    return {
      write: async (data) => {
        const f = this.files.get(key)!;
        const next = new Uint8Array(f.data.length + data.length);
        next.set(f.data);
        next.set(data, f.data.length);
        this.files.set(key, { data: next, mtimeMs: Date.now() });
      },
      sync: async () => {},
      close: async () => {},
    };
  }

  async stat(path: string): Promise<FileInfo | null> {
    const key = norm(path);
    const f = this.files.get(key);
    if (f) return { size: f.data.length, isFile: true, isDirectory: false, mtimeMs: f.mtimeMs };
    if (this.dirs.has(key)) return { size: 0, isFile: false, isDirectory: true, mtimeMs: 0 };
    return null;
  }

  async mkdirp(path: string): Promise<void> {
    const parts = norm(path).split("/");
    for (let i = 1; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      if (this.files.has(dir)) throw new Error(`Cannot create directory ${path}: ${dir} is a file`);
      this.dirs.add(dir);
    }
  }

  async readDir(path: string): Promise<string[]> {
    const key = norm(path);
    if (!this.dirs.has(key)) throw new Error(`Cannot list directory ${path}: no such file or directory`);
    const prefix = key === "" ? "" : key + "/";
    const names = new Set<string>();
    for (const p of [...this.files.keys(), ...this.dirs]) {
      if (p.startsWith(prefix) && p.length > prefix.length) names.add(p.slice(prefix.length).split("/")[0]);
    }
    return [...names].sort();
  }

  async remove(path: string): Promise<void> {
    this.files.delete(norm(path));
  }

  async createExclusive(path: string, data: Uint8Array): Promise<boolean> {
    if (this.files.has(norm(path))) return false;
    await this.writeFileAtomic(path, data);
    return true;
  }

  private requireParent(path: string): void {
    const key = norm(path);
    const parent = key.includes("/") ? key.slice(0, key.lastIndexOf("/")) : "";
    if (!this.dirs.has(parent)) throw new Error(`Cannot write ${path}: no such file or directory`);
  }
}

async function collect(content: Exclude<FileContent, Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  const patches: { position: number; data: Uint8Array }[] = [];
  await content({
    write: async (data) => {
      chunks.push(data.slice());
      length += data.length;
    },
    writeAt: async (position, data) => {
      if (position < 0 || position + data.length > length) {
        throw new Error(`writeAt: bytes ${position}..${position + data.length} are not all written yet (the file has ${length})`);
      }
      patches.push({ position, data: data.slice() });
    },
  });
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  for (const p of patches) out.set(p.data, p.position);
  return out;
}

function norm(path: string): string {
  return path.replace(/\/+/g, "/").replace(/^\.\//, "").replace(/\/$/, "");
}
