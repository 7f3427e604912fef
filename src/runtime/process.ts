/**
 * Process facts for the logdir lock: this process's id and whether another is alive.
 * @module
 */

/**
 * This process's id (0 in a browser).
 *
 * @example
 * ```ts
 * const pid = currentPid();
 * ```
 */
export function currentPid(): number {
  const g = globalThis as { Deno?: { pid: number }; process?: { pid?: number } };
  return g.Deno?.pid ?? g.process?.pid ?? 0;
}

/**
 * Whether a process with this id runs on this machine (signal 0 probes without
 * sending anything). Unknown platforms answer true, the safe side for a lock.
 *
 * @example
 * ```ts
 * if (!isProcessAlive(lock.pid)) await takeOver();
 * ```
 */
export function isProcessAlive(pid: number): boolean {
  const g = globalThis as { process?: { kill?: (pid: number, sig: number) => void } };
  if (!g.process?.kill || pid <= 0) return true;
  try {
    g.process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
}
