/**
 * An in-memory file system, for tests and for runs that keep nothing.
 * @module
 */
import type { AppendHandle, FileInfo, FileSystem } from "./types.ts";

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
  readonly files = new Map<string, { data: Uint8Array; mtimeMs: number }>();
  readonly dirs = new Set<string>([""]);

  join(...parts: string[]): string {
    return parts.filter((p) => p !== "").join("/").replace(/\/+/g, "/");
  }

  async readFile(path: string): Promise<Uint8Array> {
    const f = this.files.get(norm(path));
    if (!f) throw new Error(`Cannot read ${path}: no such file or directory`);
    return f.data.slice();
  }

  async writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
    this.requireParent(path);
    this.files.set(norm(path), { data: data.slice(), mtimeMs: Date.now() });
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

function norm(path: string): string {
  return path.replace(/\/+/g, "/").replace(/^\.\//, "").replace(/\/$/, "");
}
