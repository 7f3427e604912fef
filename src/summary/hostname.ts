/**
 * The host name that goes into event file names, found by feature detection so
 * this module imports in a browser too.
 * @module
 */

/**
 * Node.js and Bun expose `os.hostname()`, Deno `Deno.hostname()`; a browser has
 * neither and gets "browser" ("localhost" where a server runtime will not say,
 * as Deno without `--allow-sys` does). Never rejects: a host name is a label, not worth
 * failing a training run over.
 *
 * @example
 * ```ts
 * const host = await defaultHostname(); // "gpu-box-3", or "browser"
 * ```
 */
export async function defaultHostname(): Promise<string> {
  const g = globalThis as {
    Deno?: { hostname?: () => string };
    process?: { versions?: { node?: string } };
  };
  const server = Boolean(g.Deno || g.process?.versions?.node);
  try {
    if (typeof g.Deno?.hostname === "function") return clean(g.Deno.hostname());
    if (g.process?.versions?.node) {
      // A computed specifier keeps browser bundlers from trying to resolve node:os.
      const specifier = "node:os";
      const os = (await import(/* @vite-ignore */ specifier)) as { hostname(): string };
      return clean(os.hostname());
    }
  } catch {
    // Fall through to a generic label.
  }
  return server ? "localhost" : "browser";
}

/** Keeps the name usable as one path component. */
function clean(name: string): string {
  const safe = name.trim().replace(/[^A-Za-z0-9._-]/g, "_");
  return safe === "" ? "localhost" : safe;
}
