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
export function defaultHostname(): Promise<string> {
  return Promise.resolve(hostnameNow());
}

function hostnameNow(): string {
  const g = globalThis as {
    Deno?: { hostname?: () => string };
    process?: {
      versions?: { node?: string };
      getBuiltinModule?: (id: string) => { hostname?: () => string } | undefined;
    };
  };
  const server = Boolean(g.Deno || g.process?.versions?.node);
  try {
    if (typeof g.Deno?.hostname === "function") return clean(g.Deno.hostname());
    // process.getBuiltinModule (Node.js 20.16+, Bun) needs no import statement, so
    // browser bundlers have no node:os to resolve and JSR nothing to rewrite.
    const os = g.process?.getBuiltinModule?.("node:os");
    if (typeof os?.hostname === "function") return clean(os.hostname());
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
