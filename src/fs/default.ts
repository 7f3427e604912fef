/**
 * Picks the file system for the runtime at hand, loading only the adapter it needs.
 * @module
 */
import type { FileSystem } from "./types.ts";

let cached: Promise<FileSystem> | undefined;

/** True under Node.js, Deno and Bun, which all provide `node:fs`. */
export function hasNodeFs(): boolean {
  const g = globalThis as { process?: { versions?: { node?: string } }; Deno?: unknown; Bun?: unknown };
  return Boolean(g.process?.versions?.node || g.Deno || g.Bun);
}

/**
 * The default file system: local files on Node.js, Deno and Bun; in a browser,
 * callers pass their own (for example an Origin Private File System adapter).
 *
 * @example
 * ```ts
 * const fs = await defaultFileSystem();
 * await fs.mkdirp("logs");
 * ```
 */
export function defaultFileSystem(): Promise<FileSystem> {
  if (!cached) {
    cached = hasNodeFs()
      ? import("./node_fs.ts").then((m) => new m.NodeFileSystem())
      : Promise.reject(new Error("No default file system in this runtime: pass { fs } (for example an OPFS adapter)"));
  }
  return cached;
}
