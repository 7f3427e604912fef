/**
 * What every `slimtrain` command shares: flag checks, `--fresh`'s checkpoint
 * removal and the closing summary table.
 * @module
 */
import type { FileSystem } from "../fs/types.ts";

/**
 * A flag that must be a positive integer, with an error naming it.
 *
 * @example
 * ```ts
 * positiveInteger({ "batch-size": 32 }, "batch-size"); // 32
 * ```
 */
export function positiveInteger(flags: Record<string, unknown>, name: string): number {
  const n = Number(flags[name]);
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`--${name} must be a positive integer, got ${flags[name]}`);
  return n;
}

/**
 * Deletes a logdir's checkpoints and its `checkpoint` state file (`--fresh`), leaving events alone.
 *
 * @example
 * ```ts
 * await removeCheckpoints(fs, "logs/vgg16_digits");
 * ```
 */
export async function removeCheckpoints(fs: FileSystem, logdir: string): Promise<void> {
  if (!(await fs.stat(logdir))) return;
  for (const name of await fs.readDir(logdir)) {
    if (name === "checkpoint" || name.startsWith("model.ckpt-")) await fs.remove(fs.join(logdir, name));
  }
}

/**
 * Prints rows as an aligned two-column table after a blank line.
 *
 * @example
 * ```ts
 * printTable([["steps", "850"], ["final loss", "1.5541"]]);
 * ```
 */
export function printTable(rows: readonly [string, string][]): void {
  const w = Math.max(...rows.map(([k]) => k.length));
  console.log("\n" + rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join("\n"));
}
