/**
 * SIGINT/SIGTERM where the runtime has signals (Node.js, Bun: `process`; Deno:
 * `Deno.addSignalListener`); a no-op in browsers.
 * @module
 */

/**
 * Calls `handler` on SIGINT or SIGTERM until the returned function unsubscribes.
 * While subscribed, the signal no longer kills the process: the handler decides.
 *
 * @example
 * ```ts
 * const off = onTerminationSignal((sig) => controller.abort(new Error(`Stopped by ${sig}`)));
 * // ... later
 * off();
 * ```
 */
export function onTerminationSignal(handler: (signal: "SIGINT" | "SIGTERM") => void): () => void {
  const g = globalThis as {
    Deno?: { addSignalListener(s: string, f: () => void): void; removeSignalListener(s: string, f: () => void): void; build: { os: string } };
    process?: { on(s: string, f: () => void): void; off(s: string, f: () => void): void };
  };
  const signals = ["SIGINT", "SIGTERM"] as const;
  const listeners = signals.map((s) => () => handler(s));
  if (g.Deno) {
    const usable = g.Deno.build.os === "windows" ? signals.slice(0, 1) : signals;
    usable.forEach((s, i) => g.Deno!.addSignalListener(s, listeners[i]));
    return () => usable.forEach((s, i) => g.Deno!.removeSignalListener(s, listeners[i]));
  }
  if (g.process?.on) {
    signals.forEach((s, i) => g.process!.on(s, listeners[i]));
    return () => signals.forEach((s, i) => g.process!.off(s, listeners[i]));
  }
  return () => {};
}
