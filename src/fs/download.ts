/**
 * Offers a file from a `FileSystem` (checkpoints, event files in OPFS) to the user
 * as a browser download. Browser-only: it needs `document` and object URLs.
 * @module
 */
import type { FileSystem } from "./types.ts";

/**
 * Reads `path` from `fs` and starts a download of it, named `suggestedName` (default:
 * the path's last component). Resolves with the name offered once the browser has
 * been asked; where the file lands is up to the browser and the user.
 *
 * @example
 * ```ts
 * import { OpfsFileSystem } from "./opfs_fs.ts";
 * const fs = new OpfsFileSystem();
 * button.onclick = () => downloadFile(fs, "runs/1/model.ckpt-100.safetensors");
 * ```
 */
export async function downloadFile(fs: FileSystem, path: string, suggestedName?: string): Promise<string> {
  const doc = (globalThis as { document?: Document }).document;
  if (!doc || typeof URL.createObjectURL !== "function") {
    throw new Error(`downloadFile(${path}): this runtime has no document to download into (browsers only)`);
  }
  const name = suggestedName ?? path.split("/").filter(Boolean).pop() ?? "download";
  const bytes = await fs.readFile(path);
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: "application/octet-stream" }));
  const a = doc.createElement("a");
  a.href = url;
  a.download = name;
  a.style.display = "none";
  doc.body.append(a);
  try {
    a.click();
  } finally {
    a.remove();
    // Revoking at once can cancel the download in some browsers; it has started by the next tasks.
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
  return name;
}
