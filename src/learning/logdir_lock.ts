/**
 * One trainer per logdir: a lock file naming its owner. A second trainer refuses
 * with an error naming the lock and its owner; a lock left by a killed process on
 * this host is recognised as stale and taken over.
 * @module
 */
import type { FileSystem } from "../fs/types.ts";
import { currentPid, isProcessAlive } from "../runtime/process.ts";
import { defaultHostname } from "../summary/hostname.ts";

/** The lock file's name inside a logdir. */
export const LOCK_FILE = "slimtrain.lock";

interface LockOwner {
  pid: number;
  hostname: string;
  startedAt: string;
}

/**
 * Takes the logdir's lock or throws an error naming its owner.
 *
 * @example
 * ```ts
 * const lock = await acquireLogdirLock(fs, "logs/run1");
 * try { ... } finally { await lock.release(); }
 * ```
 */
export async function acquireLogdirLock(fs: FileSystem, logdir: string): Promise<{ path: string; release(): Promise<void> }> {
  const path = fs.join(logdir, LOCK_FILE);
  const me: LockOwner = { pid: currentPid(), hostname: await defaultHostname(), startedAt: new Date().toISOString() };
  const bytes = new TextEncoder().encode(JSON.stringify(me) + "\n");
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await fs.createExclusive(path, bytes)) {
      return { path, release: () => fs.remove(path) };
    }
    let owner: LockOwner | null = null;
    try {
      owner = JSON.parse(new TextDecoder().decode(await fs.readFile(path)));
    } catch {
      // Unreadable: a writer died between creating and filling it; treat as stale.
    }
    const stale = !owner || (owner.hostname === me.hostname && owner.pid !== me.pid && !isProcessAlive(owner.pid));
    if (!stale) {
      throw new Error(
        `Logdir ${logdir} is locked by process ${owner!.pid} on ${owner!.hostname} since ${owner!.startedAt} (lock file ${path}). ` +
          "Stop that trainer or use another logdir; if it is gone, delete the lock file.",
      );
    }
    await fs.remove(path);
  }
  throw new Error(`Cannot take the lock ${path}: another trainer keeps taking it`);
}
