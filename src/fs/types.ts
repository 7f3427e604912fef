/**
 * The file-system seam. Everything that touches a logdir (checkpoints, event files,
 * locks, exported models) goes through this interface so the core imports anywhere:
 * `node_fs.ts` serves Node.js, Deno and Bun; `memory_fs.ts` serves tests and
 * throwaway runs; a browser adapter can back it with the Origin Private File System.
 * @module
 */

/** What `stat` reports about a path. */
export interface FileInfo {
  /** Size in bytes (0 for directories). */
  size: number;
  isFile: boolean;
  isDirectory: boolean;
  /** Last modification time, milliseconds since the epoch. */
  mtimeMs: number;
}

/** A file opened for appending, as an event writer uses it. */
export interface AppendHandle {
  /** Appends bytes at the end of the file. */
  write(data: Uint8Array): Promise<void>;
  /** Makes everything written so far durable (fsync where the platform has it). */
  sync(): Promise<void>;
  /** Syncs and closes the file. */
  close(): Promise<void>;
}

/**
 * Where a streamed `writeFileAtomic` writes: the file being built, before it
 * replaces the target.
 */
export interface FileWriter {
  /**
   * Appends bytes after everything passed to earlier `write` calls. A write may be
   * started before the previous one has resolved (to overlap computing the next
   * piece with writing this one); the pieces land in call order. `data` must stay
   * unchanged until the returned promise resolves.
   */
  write(data: Uint8Array): Promise<void>;
  /** Overwrites bytes already written, `position` bytes from the start (to patch in a checksum). */
  writeAt(position: number, data: Uint8Array): Promise<void>;
}

/**
 * What `writeFileAtomic` writes: the whole content, or a function that writes it
 * piece by piece, so a large file (a checkpoint) never exists as one buffer.
 *
 * @example
 * ```ts
 * const content: FileContent = async (out) => {
 *   for (const chunk of chunks) await out.write(chunk);
 * };
 * await fs.writeFileAtomic("big.bin", content);
 * ```
 */
export type FileContent = Uint8Array | ((out: FileWriter) => Promise<void>);

/**
 * A file written in full under a temporary name beside its target, not yet
 * durable and not yet in place (see `FileSystem.stageFileAtomic`). Exactly one of
 * `commit` or `discard` should follow; until then readers of the target still see
 * its old content, or nothing.
 *
 * @example
 * ```ts
 * const staged = await fs.stageFileAtomic!("logs/model.ckpt-5.safetensors", bytes);
 * await staged.commit(); // now durable, under its name
 * ```
 */
export interface StagedFile {
  /**
   * Makes the file durable and moves it to its name: flush to disk, rename over
   * the target, flush the directory. On failure the temporary file is removed,
   * the target is untouched, and the error names the target.
   */
  commit(): Promise<void>;
  /** Removes the temporary file; the target is untouched. */
  discard(): Promise<void>;
}

/**
 * A minimal asynchronous file system.
 *
 * @example
 * ```ts
 * import { MemoryFileSystem } from "./memory_fs.ts";
 * const fs = new MemoryFileSystem();
 * await fs.mkdirp("logs");
 * await fs.writeFileAtomic(fs.join("logs", "a.txt"), new TextEncoder().encode("hi"));
 * ```
 */
export interface FileSystem {
  /** Joins path segments with the platform's separator. */
  join(...parts: string[]): string;
  /** Reads a whole file; rejects with a message naming the path when it is missing. */
  readFile(path: string): Promise<Uint8Array>;
  /**
   * Fills `target` with the file's bytes from byte `position` on, for reading a
   * large file a part at a time; rejects naming the path when the file is missing
   * or ends before `target` is full.
   */
  readInto(path: string, position: number, target: Uint8Array): Promise<void>;
  /**
   * Writes a whole file so that readers see either the old content or the new,
   * never a mixture: a temporary file beside it, flushed to disk, then renamed.
   * When `content` is a function, it writes the temporary file piece by piece; if
   * it throws, the temporary file is removed and the target is untouched.
   */
  writeFileAtomic(path: string, content: FileContent): Promise<void>;
  /**
   * The first half of `writeFileAtomic`, for a caller that need not wait for the
   * disk: writes `content` to the temporary file and resolves once every byte is
   * handed to the platform (for a large file, long before it is on disk); the
   * returned `commit` does the flush and rename. Optional: where it is missing,
   * callers use `writeFileAtomic`.
   */
  stageFileAtomic?(path: string, content: FileContent): Promise<StagedFile>;
  /** Opens (creating if needed) a file for appending. */
  openAppend(path: string): Promise<AppendHandle>;
  /** Returns the file's info, or null when nothing is at `path`. */
  stat(path: string): Promise<FileInfo | null>;
  /** Creates a directory and its parents; succeeds when it already exists. */
  mkdirp(path: string): Promise<void>;
  /** Lists the names (not paths) in a directory. */
  readDir(path: string): Promise<string[]>;
  /** Removes a file; succeeds when it is already gone. */
  remove(path: string): Promise<void>;
  /** Creates a file only if nothing is there; resolves false when something is. */
  createExclusive(path: string, data: Uint8Array): Promise<boolean>;
}
