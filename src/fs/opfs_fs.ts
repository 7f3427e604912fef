/**
 * The file-system adapter for browsers: the Origin Private File System
 * (`navigator.storage.getDirectory()`), a per-origin sandbox that persists across
 * reloads. Paths are "/"-separated and relative to the OPFS root (or to the
 * directory handle passed in); nested directories are real OPFS directories.
 * @module
 */
import type { AppendHandle, FileContent, FileInfo, FileSystem } from "./types.ts";

// The File System API is typed here, only as far as this adapter uses it, rather than
// taken from lib.dom: the package's types then compile for Node.js users without the DOM
// library, lib.dom's variants (TypeScript's, Deno's) cannot clash with it, and it can
// name `move()` (Chromium 110+, Safari 16.4+, Firefox 111+ on OPFS), which lib.dom
// lacks. A browser's own handles fit these shapes as they are.

/**
 * The part of a browser's `FileSystemDirectoryHandle` that {@link OpfsFileSystem} uses.
 *
 * @example
 * ```ts
 * const root: OpfsDirectoryHandle = await navigator.storage.getDirectory();
 * const fs = new OpfsFileSystem(await root.getDirectoryHandle("experiments", { create: true }));
 * ```
 */
export interface OpfsDirectoryHandle {
  getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<OpfsDirectoryHandle>;
  getFileHandle(name: string, options?: { create?: boolean }): Promise<OpfsFileHandle>;
  removeEntry(name: string): Promise<void>;
}

/**
 * The part of a browser's `FileSystemFileHandle` that {@link OpfsFileSystem} uses;
 * `move()` is optional because not every browser has it.
 *
 * @example
 * ```ts
 * const file: OpfsFileHandle = await root.getFileHandle("notes.txt", { create: true });
 * console.log((await file.getFile()).size);
 * ```
 */
export interface OpfsFileHandle {
  getFile(): Promise<OpfsFile>;
  createWritable(options?: { keepExistingData?: boolean }): Promise<OpfsWritableStream>;
  move?(newName: string): Promise<void>;
}

/** The part of a browser's `File` that {@link OpfsFileSystem} reads (`slice` for a range). */
export interface OpfsFile {
  readonly size: number;
  readonly lastModified: number;
  arrayBuffer(): Promise<ArrayBuffer>;
  slice(start: number, end: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

/**
 * The part of a browser's `FileSystemWritableFileStream` that {@link OpfsFileSystem} uses.
 *
 * @example
 * ```ts
 * const stream: OpfsWritableStream = await file.createWritable();
 * await stream.write(new TextEncoder().encode("hi"));
 * await stream.close();
 * ```
 */
export interface OpfsWritableStream {
  write(data: Uint8Array<ArrayBuffer>): Promise<void>;
  seek(position: number): Promise<void>;
  close(): Promise<void>;
  abort(reason?: unknown): Promise<void>;
}

/** Directory handles are async-iterable in every browser with OPFS; lib.dom types it apart. */
interface ListableDirectoryHandle {
  keys(): AsyncIterable<string>;
}

interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

let tmpCounter = 0;

/**
 * Files in the Origin Private File System.
 *
 * @example
 * ```ts
 * const fs = new OpfsFileSystem();
 * await fs.mkdirp("runs/1");
 * await fs.writeFileAtomic(fs.join("runs/1", "notes.txt"), new TextEncoder().encode("hi"));
 * ```
 */
export class OpfsFileSystem implements FileSystem {
  private rootHandle: Promise<OpfsDirectoryHandle> | undefined;
  private canMove = true;

  /** `root` defaults to the origin's OPFS root; pass a subdirectory handle to confine the adapter to it. */
  constructor(private readonly root?: OpfsDirectoryHandle) {}

  join(...parts: string[]): string {
    return parts.filter((p) => p !== "").join("/").replace(/\/+/g, "/");
  }

  async readFile(path: string): Promise<Uint8Array> {
    try {
      const file = await (await this.fileHandle(path, false)).getFile();
      return new Uint8Array(await file.arrayBuffer());
    } catch (err) {
      throw describeError(err, `Cannot read ${path}`);
    }
  }

  /**
   * Writes `path.tmp-*` beside the target, then `move()`s it over the target.
   * The guarantee, honestly stated: OPFS has no fsync, so durability across a
   * browser crash is whatever the browser gives; what holds is that readers never
   * see a partial file, because a writable stream's data only lands when the stream
   * closes (the spec's rule; Chromium writes a `.crswap` file and renames it) and
   * `move()` replaces the target in one step (Chromium overwrites an existing
   * target). Where `move()` is missing, or will not replace an existing file, the
   * target is written through one writable stream directly: the same close-time
   * swap, under the target's own name.
   */
  async readInto(path: string, position: number, target: Uint8Array): Promise<void> {
    try {
      const file = await (await this.fileHandle(path, false)).getFile();
      if (position < 0 || position + target.length > file.size) {
        throw new Error(`Cannot read ${path}: the file ends at byte ${file.size}, before byte ${position + target.length}`);
      }
      target.set(new Uint8Array(await file.slice(position, position + target.length).arrayBuffer()));
    } catch (err) {
      throw describeError(err, `Cannot read ${path}`);
    }
  }

  async writeFileAtomic(path: string, data: FileContent): Promise<void> {
    const { dir, name } = await this.parent(path, `Cannot write ${path}`);
    if (this.canMove && typeof (globalThis as { FileSystemFileHandle?: { prototype: OpfsFileHandle } }).FileSystemFileHandle?.prototype.move === "function") {
      const tmpName = `${name}.tmp-${Date.now()}-${tmpCounter++}`;
      let written = false;
      try {
        const tmp = await dir.getFileHandle(tmpName, { create: true });
        await writeWhole(tmp, data);
        written = true;
        await tmp.move!(name);
        return;
      } catch (err) {
        await dir.removeEntry(tmpName).catch(() => {});
        if (!written) throw describeError(err, `Cannot write ${path}`);
        // A browser whose move() will not replace an existing file: use the direct form from now on.
        this.canMove = false;
      }
    }
    try {
      await writeWhole(await dir.getFileHandle(name, { create: true }), data);
    } catch (err) {
      throw describeError(err, `Cannot write ${path}`);
    }
  }

  /**
   * Appends through `createWritable({ keepExistingData: true })` seeked to the end.
   * Written bytes become visible only when that stream closes, so `sync()` closes it
   * and the next write opens a fresh one. (Each open copies the file into the
   * browser's swap file: fine for event files flushed every few seconds; a hot
   * append path would want `createSyncAccessHandle`, which only workers have.)
   */
  async openAppend(path: string): Promise<AppendHandle> {
    let handle: OpfsFileHandle;
    try {
      handle = await this.fileHandle(path, true);
    } catch (err) {
      throw describeError(err, `Cannot open ${path} for appending`);
    }
    let stream: OpfsWritableStream | undefined;
    // Chained so overlapping calls append in call order.
    let queue: Promise<void> = Promise.resolve();
    const enqueue = (what: string, fn: () => Promise<void>) => {
      const run = queue.then(fn).catch((err) => {
        throw describeError(err, `Cannot ${what} ${path}`);
      });
      queue = run.catch(() => {});
      return run;
    };
    const commit = async () => {
      const s = stream;
      stream = undefined;
      await s?.close();
    };
    return {
      write: (data) =>
        enqueue("append to", async () => {
          if (!stream) {
            const size = (await handle.getFile()).size;
            stream = await handle.createWritable({ keepExistingData: true });
            await stream.seek(size);
          }
          await stream.write(data as Uint8Array<ArrayBuffer>);
        }),
      sync: () => enqueue("sync", commit),
      close: () => enqueue("close", commit),
    };
  }

  async stat(path: string): Promise<FileInfo | null> {
    const parts = split(path);
    if (parts.length === 0) return { size: 0, isFile: false, isDirectory: true, mtimeMs: 0 };
    let dir: OpfsDirectoryHandle;
    try {
      dir = await this.dirHandle(parts.slice(0, -1), false);
    } catch (err) {
      if (isMissing(err)) return null;
      throw describeError(err, `Cannot stat ${path}`);
    }
    const name = parts[parts.length - 1];
    try {
      const file = await (await dir.getFileHandle(name)).getFile();
      return { size: file.size, isFile: true, isDirectory: false, mtimeMs: file.lastModified };
    } catch (err) {
      if (isMissing(err)) return null;
      if (!isTypeMismatch(err)) throw describeError(err, `Cannot stat ${path}`);
    }
    await dir.getDirectoryHandle(name);
    return { size: 0, isFile: false, isDirectory: true, mtimeMs: 0 };
  }

  async mkdirp(path: string): Promise<void> {
    let dir = await this.rootDir();
    const done: string[] = [];
    for (const part of split(path)) {
      done.push(part);
      try {
        dir = await dir.getDirectoryHandle(part, { create: true });
      } catch (err) {
        if (isTypeMismatch(err)) throw new Error(`Cannot create directory ${path}: ${done.join("/")} is a file`, { cause: err });
        throw describeError(err, `Cannot create directory ${path}`);
      }
    }
  }

  async readDir(path: string): Promise<string[]> {
    try {
      const dir = (await this.dirHandle(split(path), false)) as unknown as ListableDirectoryHandle;
      const names: string[] = [];
      for await (const name of dir.keys()) names.push(name);
      return names.sort();
    } catch (err) {
      throw describeError(err, `Cannot list directory ${path}`);
    }
  }

  async remove(path: string): Promise<void> {
    const parts = split(path);
    if (parts.length === 0) throw new Error(`Cannot remove ${path}: the path names the root directory`);
    try {
      const dir = await this.dirHandle(parts.slice(0, -1), false);
      await dir.removeEntry(parts[parts.length - 1]);
    } catch (err) {
      if (isMissing(err)) return;
      throw describeError(err, `Cannot remove ${path}`);
    }
  }

  /**
   * OPFS has no create-if-absent, so the check and the create run under a Web Lock
   * named after the path: exclusive among tabs and workers of this origin that use
   * this adapter (code writing the same OPFS files by other means is not covered).
   */
  async createExclusive(path: string, data: Uint8Array): Promise<boolean> {
    const attempt = async () => {
      if (await this.stat(path)) return false;
      await this.writeFileAtomic(path, data);
      return true;
    };
    const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
    return locks ? await locks.request(`slimtrain-opfs:${norm(path)}`, attempt) : await attempt();
  }

  private rootDir(): Promise<OpfsDirectoryHandle> {
    if (!this.rootHandle) {
      const storage = (globalThis as { navigator?: { storage?: { getDirectory?: () => Promise<OpfsDirectoryHandle> } } }).navigator?.storage;
      this.rootHandle = this.root
        ? Promise.resolve(this.root)
        : storage?.getDirectory
        ? storage.getDirectory()
        : Promise.reject(new Error("OpfsFileSystem: this runtime has no Origin Private File System (navigator.storage.getDirectory)"));
    }
    return this.rootHandle;
  }

  private async dirHandle(parts: string[], create: boolean): Promise<OpfsDirectoryHandle> {
    let dir = await this.rootDir();
    for (const part of parts) dir = await dir.getDirectoryHandle(part, { create });
    return dir;
  }

  /** The parent directory must already exist, as on a disk (`mkdirp` first). */
  private async parent(path: string, what: string): Promise<{ dir: OpfsDirectoryHandle; name: string }> {
    const parts = split(path);
    if (parts.length === 0) throw new Error(`${what}: the path names the root directory`);
    try {
      return { dir: await this.dirHandle(parts.slice(0, -1), false), name: parts[parts.length - 1] };
    } catch (err) {
      throw describeError(err, what);
    }
  }

  private async fileHandle(path: string, create: boolean): Promise<OpfsFileHandle> {
    const parts = split(path);
    if (parts.length === 0) throw new Error(`${path || "The root"} is a directory`);
    const dir = await this.dirHandle(parts.slice(0, -1), false);
    return await dir.getFileHandle(parts[parts.length - 1], { create });
  }
}

/** One writable stream: its data replaces the file's only when it closes. */
async function writeWhole(handle: OpfsFileHandle, content: FileContent): Promise<void> {
  const stream = await handle.createWritable();
  try {
    if (typeof content !== "function") await stream.write(content as Uint8Array<ArrayBuffer>);
    else {
      let end = 0;
      await content({
        write: async (data) => {
          // Counted at the call: a stream queues writes in call order, so the next may start before this resolves.
          end += data.length;
          await stream.write(data as Uint8Array<ArrayBuffer>);
        },
        writeAt: async (position, data) => {
          if (position < 0 || position + data.length > end) {
            throw new Error(`writeAt: bytes ${position}..${position + data.length} are not all written yet (the file has ${end})`);
          }
          await stream.seek(position);
          await stream.write(data as Uint8Array<ArrayBuffer>);
          await stream.seek(end);
        },
      });
    }
    await stream.close();
  } catch (err) {
    await stream.abort().catch(() => {});
    throw err;
  }
}

function norm(path: string): string {
  return split(path).join("/");
}

/** OPFS names cannot contain "/", and "." / ".." mean nothing there. */
function split(path: string): string[] {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new Error(`OpfsFileSystem: ".." is not supported in paths (got ${path})`);
  return parts;
}

function isMissing(err: unknown): boolean {
  return (err as { name?: string }).name === "NotFoundError";
}

function isTypeMismatch(err: unknown): boolean {
  return (err as { name?: string }).name === "TypeMismatchError";
}

function describeError(err: unknown, what: string): Error {
  if (err instanceof Error && err.message.startsWith(what)) return err;
  const name = (err as { name?: string }).name;
  const reason = name === "NotFoundError"
    ? "no such file or directory"
    : name === "TypeMismatchError"
    ? "a path component is a file where a directory is needed, or the reverse"
    : name === "QuotaExceededError"
    ? "the origin's storage quota is exceeded"
    : name === "NoModificationAllowedError"
    ? "the file is locked by another writer (a sync access handle or another tab)"
    : (err as Error).message ?? String(err);
  return new Error(`${what}: ${reason}`, { cause: err });
}
