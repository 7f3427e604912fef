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
 * True where the Origin Private File System is available (browsers, on https:// or localhost pages).
 *
 * @example
 * ```ts
 * if (!hasOpfs()) console.warn("Checkpoints will not persist: no OPFS here");
 * ```
 */
export function hasOpfs(): boolean {
  const g = globalThis as { navigator?: { storage?: { getDirectory?: unknown } } };
  return typeof g.navigator?.storage?.getDirectory === "function";
}

/**
 * The default file system: local files on Node.js, Deno and Bun; the Origin
 * Private File System in a browser. The `node:fs` check comes first so a server
 * runtime that grows `navigator.storage` keeps writing real files.
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
      : hasOpfs()
      ? import("./opfs_fs.ts").then((m) => new m.OpfsFileSystem())
      : Promise.reject(
        new Error("No default file system in this runtime: no node:fs and no Origin Private File System (an insecure http:// page?); pass { fs }"),
      );
  }
  return cached;
}
