// Starting a TypeScript script in a child process of the runtime running the suite,
// so a Deno run tests Deno's behaviour under SIGKILL and a Bun run Bun's.
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, where module resolution (tsx, node_modules, deno.json) works. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * The command that runs `script` under this runtime. Node runs `node --import tsx`
 * rather than the `tsx` CLI: the CLI starts the script in a grandchild process, so
 * a SIGKILL sent to the pid we hold would kill the wrapper and leave the trainer running.
 */
export function scriptCommand(script: string, args: string[]): { cmd: string; argv: string[] } {
  const g = globalThis as { Deno?: { execPath(): string }; Bun?: unknown };
  const path = join(ROOT, script);
  if (g.Deno) return { cmd: g.Deno.execPath(), argv: ["run", "-A", path, ...args] };
  if (g.Bun) return { cmd: process.execPath, argv: [path, ...args] };
  return { cmd: process.execPath, argv: ["--import", "tsx", path, ...args] };
}

/** A running script whose stdout arrives line by line. */
export interface LineChild {
  proc: ChildProcess;
  /** Resolves once the process has exited and been reaped (so its pid is free). */
  exited: Promise<{ code: number | null; signal: string | null }>;
  stderr(): string;
}

/**
 * Starts `script` and calls `onLine` for each stdout line as it arrives, with the
 * time since the spawn.
 */
export function startScript(script: string, args: string[], onLine: (line: string, ms: number) => void): LineChild {
  const { cmd, argv } = scriptCommand(script, args);
  const start = performance.now();
  const proc = spawn(cmd, argv, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let pending = "", err = "";
  proc.stdout!.setEncoding("utf8");
  proc.stdout!.on("data", (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      onLine(line, performance.now() - start);
    }
  });
  proc.stderr!.setEncoding("utf8");
  proc.stderr!.on("data", (chunk: string) => {
    // Only the tail matters for a diagnosis; an endless warning stream must not grow memory.
    err = (err + chunk).slice(-20_000);
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((res, rej) => {
    proc.on("error", rej);
    proc.on("close", (code, signal) => res({ code, signal }));
  });
  return { proc, exited, stderr: () => err };
}
