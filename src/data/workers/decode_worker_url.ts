/**
 * Where the decode worker's module lives: beside this file in the sources
 * (`.ts`), and as its own entry in the built package (`dist/decode_worker.js`,
 * next to the chunk this file is bundled into).
 * @module
 */

/**
 * The URL to start a decode worker from.
 *
 * @example
 * ```ts
 * const worker = new Worker(decodeWorkerUrl(), { type: "module" });
 * ```
 */
export function decodeWorkerUrl(): URL {
  return import.meta.url.endsWith(".ts") ? new URL("./decode_worker.ts", import.meta.url) : new URL("./decode_worker.js", import.meta.url);
}
