/**
 * The file-system adapter for Node.js, Deno and Bun (all three provide `node:fs`).
 * @module
 */
import * as fsp from "node:fs/promises";
import * as nodePath from "node:path";
import { DirectFileWriter } from "./node_direct_writer.ts";
import type { AppendHandle, FileContent, FileInfo, FileSystem, StagedFile } from "./types.ts";

let tmpCounter = 0;

/**
 * Files on the local disk.
 *
 * @example
 * ```ts
 * const fs = new NodeFileSystem();
 * await fs.mkdirp("logs/run1");
 * ```
 */
export class NodeFileSystem implements FileSystem {
  join(...parts: string[]): string {
    return nodePath.join(...parts);
  }

  async readFile(path: string): Promise<Uint8Array> {
    try {
      const buf = await fsp.readFile(path);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      throw describeError(err, `Cannot read ${path}`);
    }
  }

  async readInto(path: string, position: number, target: Uint8Array): Promise<void> {
    let handle: fsp.FileHandle | undefined;
    try {
      handle = await fsp.open(path, "r");
      for (let done = 0; done < target.length;) {
        const { bytesRead } = await handle.read(target, done, target.length - done, position + done);
        if (bytesRead === 0) throw new Error(`the file ends at byte ${position + done}, before byte ${position + target.length}`);
        done += bytesRead;
      }
    } catch (err) {
      throw describeError(err, `Cannot read ${path}`);
    } finally {
      await handle?.close().catch(() => {});
    }
  }

  async writeFileAtomic(path: string, content: FileContent): Promise<void> {
    await (await stage(path, content)).commit();
  }

  /**
   * Writes the temporary file and leaves the flush and rename to `commit`.
   * Streamed content goes through `DirectFileWriter` (past the page cache where
   * the platform allows), so little is left for the flush to do.
   */
  stageFileAtomic(path: string, content: FileContent): Promise<StagedFile> {
    return stage(path, content);
  }

  async openAppend(path: string): Promise<AppendHandle> {
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(path, "a");
    } catch (err) {
      throw describeError(err, `Cannot open ${path} for appending`);
    }
    return {
      write: async (data) => {
        try {
          await handle.write(data);
        } catch (err) {
          throw describeError(err, `Cannot append to ${path}`);
        }
      },
      sync: async () => {
        try {
          await handle.sync();
        } catch (err) {
          throw describeError(err, `Cannot sync ${path}`);
        }
      },
      close: async () => {
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
      },
    };
  }

  async stat(path: string): Promise<FileInfo | null> {
    try {
      const s = await fsp.stat(path);
      return { size: s.size, isFile: s.isFile(), isDirectory: s.isDirectory(), mtimeMs: s.mtimeMs };
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") return null;
      throw describeError(err, `Cannot stat ${path}`);
    }
  }

  async mkdirp(path: string): Promise<void> {
    try {
      await fsp.mkdir(path, { recursive: true });
    } catch (err) {
      throw describeError(err, `Cannot create directory ${path}`);
    }
  }

  async readDir(path: string): Promise<string[]> {
    try {
      return (await fsp.readdir(path)).sort();
    } catch (err) {
      throw describeError(err, `Cannot list directory ${path}`);
    }
  }

  async remove(path: string): Promise<void> {
    try {
      await fsp.rm(path, { force: true });
    } catch (err) {
      throw describeError(err, `Cannot remove ${path}`);
    }
  }

  async createExclusive(path: string, data: Uint8Array): Promise<boolean> {
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(path, "wx");
    } catch (err) {
      if ((err as { code?: string }).code === "EEXIST") return false;
      throw describeError(err, `Cannot create ${path}`);
    }
    try {
      await handle.writeFile(data);
      await handle.sync();
    } catch (err) {
      await handle.close().catch(() => {});
      // Ours by the exclusive create; left half-written it would block the name (a lock file) for good.
      await fsp.rm(path, { force: true }).catch(() => {});
      throw describeError(err, `Cannot write ${path}`);
    }
    await handle.close();
    return true;
  }
}

/** `stageFileAtomic`, kept apart so `writeFileAtomic` does not go through an override of it. */
async function stage(path: string, content: FileContent): Promise<StagedFile> {
  const tmp = `${path}.tmp-${processId()}-${Date.now()}-${tmpCounter++}`;
  let handle: fsp.FileHandle | undefined;
  const abandon = async (err: unknown): Promise<never> => {
    if (handle) await handle.close().catch(() => {});
    handle = undefined;
    await fsp.rm(tmp, { force: true }).catch(() => {});
    throw describeError(err, `Cannot write ${path}`);
  };
  let writer: DirectFileWriter | undefined;
  try {
    handle = await fsp.open(tmp, "wx");
    if (typeof content === "function") {
      writer = new DirectFileWriter(tmp, handle);
      await content(writer);
      await writer.finish();
    } else await handle.writeFile(content);
  } catch (err) {
    await writer?.abandon();
    return await abandon(err);
  }
  let settled = false;
  const once = () => {
    if (settled) throw new Error(`Cannot write ${path}: the staged file was already committed or discarded`);
    settled = true;
  };
  return {
    commit: async () => {
      once();
      try {
        await handle!.sync();
        await handle!.close();
        handle = undefined;
        await fsp.rename(tmp, path);
        await syncDirectory(nodePath.dirname(path));
      } catch (err) {
        await abandon(err);
      }
    },
    discard: async () => {
      once();
      await handle?.close().catch(() => {});
      handle = undefined;
      await fsp.rm(tmp, { force: true }).catch(() => {});
    },
  };
}

function processId(): number {
  return (globalThis as { process?: { pid?: number } }).process?.pid ?? 0;
}

/** Makes a rename durable; some platforms refuse to open directories, which is harmless. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, "r");
    await handle.sync();
  } catch {
    // Directory fsync is best effort (not available on every platform).
  } finally {
    await handle?.close().catch(() => {});
  }
}

function describeError(err: unknown, what: string): Error {
  const e = err as { code?: string; message?: string };
  const reason = e.code === "ENOSPC"
    ? "no space left on device"
    : e.code === "EDQUOT"
    ? "disk quota exceeded"
    : e.code === "EROFS"
    ? "read-only file system"
    : e.code === "EACCES" || e.code === "EPERM"
    ? "permission denied"
    : e.code === "ENOENT"
    ? "no such file or directory"
    : e.code === "ENOTDIR"
    ? "a path component is not a directory"
    : e.code === "EISDIR"
    ? "is a directory"
    : e.message ?? String(err);
  const out = new Error(`${what}: ${reason}`, { cause: err });
  (out as { code?: string }).code = e.code;
  return out;
}
