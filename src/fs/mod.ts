/**
 * File-system adapters for logdirs: local files (Node.js, Deno, Bun), the
 * browser's Origin Private File System, memory; plus offering a file for download.
 *
 * @example
 * ```ts
 * import { fs } from "slimtrain";
 * await learning.train(trainOp, "runs/1", { numberOfSteps: 100, fs: new fs.MemoryFileSystem() });
 * ```
 * @module
 */
export { defaultFileSystem } from "./default.ts";
export { MemoryFileSystem } from "./memory_fs.ts";
export { OpfsFileSystem, type OpfsDirectoryHandle, type OpfsFile, type OpfsFileHandle, type OpfsWritableStream } from "./opfs_fs.ts";
export { downloadFile } from "./download.ts";
export type { AppendHandle, FileContent, FileInfo, FileSystem, FileWriter, StagedFile } from "./types.ts";
