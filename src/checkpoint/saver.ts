/**
 * Saving and restoring checkpoints with the guarantees TensorFlow's Saver gives:
 * atomic writes, a `checkpoint` state file naming the latest, rotation that
 * survives restarts, and detection of damaged files.
 * @module
 */
import type { FileSystem, StagedFile } from "../fs/types.ts";
import { type CheckpointTensor, type RestoredCheckpoint, restoreCheckpoint, stageCheckpoint, SUFFIX } from "./checkpoint_file.ts";
import { CheckpointError } from "./safetensors.ts";
import { type CheckpointState, formatState, readState, resolveStatePath, STATE_FILE } from "./state.ts";

const CKPT_FILE = /^model\.ckpt-(\d+)\.safetensors$/;
const LEFTOVER = /^(?:model\.ckpt-\d+\.safetensors|checkpoint)\.tmp-/;

/**
 * What `restoreLatest` returns: the checkpoint loaded and the damaged ones passed over.
 *
 * @example
 * ```ts
 * const r = await restoreLatest(fs, "logs", { fallbackToPrevious: true });
 * for (const s of r?.skipped ?? []) console.warn(`Skipped ${s.path}: ${s.error.message}`);
 * ```
 */
export interface RestoredLatest extends RestoredCheckpoint {
  skipped: { path: string; error: CheckpointError }[];
}

/**
 * Options of `new Saver()`.
 *
 * @example
 * ```ts
 * const options: SaverOptions = { fs, maxToKeep: 10, keepCheckpointEveryNHours: 2 };
 * ```
 */
export interface SaverOptions {
  fs: FileSystem;
  /** How many recent checkpoints to keep (default 5; `Infinity` keeps all). */
  maxToKeep?: number;
  /** Additionally keep one checkpoint per this many hours (default 10000, as in TensorFlow). */
  keepCheckpointEveryNHours?: number;
  /** Milliseconds since the epoch; injectable so tests can pass hours instantly. */
  now?: () => number;
}

interface DirState {
  kept: { path: string; time: number }[];
  lastPreserved: number;
}

/**
 * Writes `<logdir>/model.ckpt-<step>.safetensors` files and the `checkpoint`
 * state file, deleting old checkpoints as TensorFlow's Saver does.
 *
 * @example
 * ```ts
 * const saver = new Saver({ fs: new MemoryFileSystem(), maxToKeep: 3 });
 * const prefix = await saver.save("logs", { w: hostTensor("float32", [1], new Float32Array([2])) }, { globalStep: 100 });
 * const { tensors, globalStep } = await saver.restore(prefix);
 * ```
 */
export class Saver {
  readonly fs: FileSystem;
  readonly maxToKeep: number;
  readonly keepCheckpointEveryNHours: number;
  private readonly now: () => number;
  private readonly dirs = new Map<string, DirState>();
  /** Saves up to the point their files are staged, one at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  /** The last save's commit (flush, rename, state file, rotation); the next save starts after it. */
  private commits: Promise<unknown> = Promise.resolve();
  /** The first background commit that failed and has not been reported yet. */
  private failure: Error | undefined;

  constructor({ fs, maxToKeep = 5, keepCheckpointEveryNHours = 10000, now = Date.now }: SaverOptions) {
    if (!(maxToKeep === Infinity || (Number.isInteger(maxToKeep) && maxToKeep >= 1))) {
      throw new Error(`Saver: maxToKeep must be a positive integer or Infinity, got ${maxToKeep}`);
    }
    if (!(keepCheckpointEveryNHours > 0)) {
      throw new Error(`Saver: keepCheckpointEveryNHours must be positive, got ${keepCheckpointEveryNHours}`);
    }
    this.fs = fs;
    this.maxToKeep = maxToKeep;
    this.keepCheckpointEveryNHours = keepCheckpointEveryNHours;
    this.now = now;
  }

  /**
   * Writes a checkpoint atomically, records it in the state file and rotates
   * old ones out. Overlapping calls run one after another. The file is streamed a
   * tensor at a time; lazy tensors (see `CheckpointTensor`) are read as they are
   * written, so a large state need not be copied to the host all at once.
   *
   * With `syncInBackground`, the call resolves once every byte is handed to the
   * file system and the tensors are no longer read; flushing the file to disk,
   * renaming it into place, recording it in the state file and deleting old
   * checkpoints then finish in the background. Until that is done the file
   * exists only under a temporary name and the state file still names the
   * previous checkpoint, so a crash at any moment leaves a durable checkpoint as
   * the latest. The next `save` first waits for it (one checkpoint at most is on
   * its way to the disk) and throws its failure; so does `flush`. `onDurable`
   * is called with the prefix once the checkpoint is durable and recorded (with or
   * without `syncInBackground`), to report it only then.
   *
   * @returns the checkpoint prefix `<logdir>/model.ckpt-<globalStep>`.
   * @example
   * ```ts
   * await saver.save("logs", tensors, { globalStep: 200, metadata: { model: "lenet" } });
   * await saver.save("logs", session.checkpointTensors(), { globalStep: 300, syncInBackground: true, onDurable: (p) => console.log(`Saved ${p}`) });
   * await saver.flush(); // model.ckpt-300 is durable and the latest
   * ```
   */
  save(
    logdir: string,
    tensors: Map<string, CheckpointTensor> | Record<string, CheckpointTensor>,
    { globalStep, metadata = {}, syncInBackground = false, onDurable }: {
      globalStep: number;
      metadata?: Record<string, string>;
      syncInBackground?: boolean;
      onDurable?: (prefix: string) => void;
    },
  ): Promise<string> {
    const run = this.queue.then(() => this.saveNow(logdir, tensors, globalStep, metadata, syncInBackground, onDurable));
    this.queue = run.catch(() => {});
    return run;
  }

  /**
   * Waits until every checkpoint saved so far is durable, in place and recorded.
   *
   * @throws the first background failure not yet reported (see `save`'s `syncInBackground`).
   * @example
   * ```ts
   * await saver.flush();
   * ```
   */
  async flush(): Promise<void> {
    await this.queue;
    await this.commits;
    this.throwFailure();
  }

  /**
   * Loads a checkpoint by prefix or file name, verifying its checksums.
   *
   * @throws CheckpointError naming the file when it is missing or damaged.
   * @example
   * ```ts
   * const { tensors, globalStep } = await saver.restore("logs/model.ckpt-200");
   * ```
   */
  restore(prefixOrFile: string): Promise<RestoredCheckpoint> {
    return restoreCheckpoint(this.fs, prefixOrFile);
  }

  private async saveNow(
    logdir: string,
    tensors: Map<string, CheckpointTensor> | Record<string, CheckpointTensor>,
    globalStep: number,
    metadata: Record<string, string>,
    syncInBackground: boolean,
    onDurable: ((prefix: string) => void) | undefined,
  ): Promise<string> {
    // At most one checkpoint is on its way to the disk, and its failure is this save's error.
    await this.commits;
    this.throwFailure();
    const { fs } = this;
    const name = `model.ckpt-${globalStep}`;
    const prefix = fs.join(logdir, name);
    await fs.mkdirp(logdir);
    let staged: StagedFile;
    try {
      for (const entry of await fs.readDir(logdir)) {
        if (LEFTOVER.test(entry)) await fs.remove(fs.join(logdir, entry));
      }
      staged = await stageCheckpoint(fs, prefix + SUFFIX, tensors, globalStep, metadata);
    } catch (err) {
      this.dirs.delete(logdir);
      throw err;
    }
    const commit = this.commit(logdir, name, globalStep, staged).then(() => onDurable?.(prefix));
    this.commits = commit.catch((err) => {
      if (syncInBackground) this.failure ??= err;
    });
    if (!syncInBackground) await commit;
    return prefix;
  }

  /** Makes a staged checkpoint durable and in place, then records it and rotates. */
  private async commit(logdir: string, name: string, globalStep: number, staged: StagedFile): Promise<void> {
    const { fs } = this;
    const prefix = fs.join(logdir, name);
    try {
      const dir = await this.stateFor(logdir);
      await staged.commit();
      // Re-saving a step moves it to the back of the queue, as in TensorFlow.
      dir.kept = dir.kept.filter((k) => resolveStatePath(fs, logdir, k.path) !== prefix);
      dir.kept.push({ path: name, time: this.now() / 1000 });
      // Recorded before deleting, so a crash mid-sweep leaves extra files, never missing ones.
      await this.writeState(logdir, dir);
      if (await this.sweep(logdir, dir)) await this.writeState(logdir, dir);
    } catch (err) {
      await staged.discard().catch(() => {});
      // Memory may now disagree with the disk; the next save re-reads the disk.
      this.dirs.delete(logdir);
      throw new Error(
        `Saver: checkpoint ${prefix + SUFFIX} (global step ${globalStep}) was written but could not be made durable and recorded: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  private throwFailure(): void {
    const failure = this.failure;
    this.failure = undefined;
    if (failure) throw failure;
  }

  /** TensorFlow's rule: an old checkpoint survives if it is N hours newer than the last survivor. */
  private async sweep(logdir: string, dir: DirState): Promise<boolean> {
    let changed = false;
    while (dir.kept.length > this.maxToKeep) {
      const old = dir.kept.shift()!;
      changed = true;
      if (old.time - this.keepCheckpointEveryNHours * 3600 >= dir.lastPreserved) {
        dir.lastPreserved = old.time;
        continue;
      }
      await this.fs.remove(resolveStatePath(this.fs, logdir, old.path) + SUFFIX);
    }
    return changed;
  }

  private async stateFor(logdir: string): Promise<DirState> {
    const cached = this.dirs.get(logdir);
    if (cached) return cached;
    const state = await readState(this.fs, logdir);
    const now = this.now() / 1000;
    const kept = (state?.paths ?? []).map((path, i) => ({ path, time: state!.timestamps[i] ?? now }));
    // Checkpoints newer than everything recorded were written by a save that died
    // before updating the state file; adopting them keeps them in the rotation.
    const listed = kept.map((k) => stepOf(k.path)).filter((s): s is number => s !== null);
    const newest = listed.length > 0 ? Math.max(...listed) : -1;
    for (const { step, name } of await scanCheckpoints(this.fs, logdir)) {
      if (step <= newest) continue;
      const info = await this.fs.stat(this.fs.join(logdir, name));
      kept.push({ path: name.slice(0, -SUFFIX.length), time: (info?.mtimeMs ?? this.now()) / 1000 });
    }
    const dir = { kept, lastPreserved: state?.lastPreservedTimestamp ?? now };
    this.dirs.set(logdir, dir);
    return dir;
  }

  private async writeState(logdir: string, dir: DirState): Promise<void> {
    const state: CheckpointState = {
      latest: dir.kept[dir.kept.length - 1].path,
      paths: dir.kept.map((k) => k.path),
      timestamps: dir.kept.map((k) => k.time),
      lastPreservedTimestamp: dir.lastPreserved,
    };
    await this.fs.writeFileAtomic(this.fs.join(logdir, STATE_FILE), new TextEncoder().encode(formatState(state)));
  }
}

/**
 * The newest checkpoint prefix in `logdir`: the one the state file names, or,
 * when the state file is missing or names a missing file, the highest-step
 * `model.ckpt-<step>.safetensors` present. Temporary files are never returned.
 *
 * @example
 * ```ts
 * const prefix = await latestCheckpoint(fs, "logs"); // "logs/model.ckpt-200" or null
 * ```
 */
export async function latestCheckpoint(fs: FileSystem, logdir: string): Promise<string | null> {
  const state = await readState(fs, logdir);
  if (state) {
    const prefix = resolveStatePath(fs, logdir, state.latest);
    if ((await fs.stat(prefix + SUFFIX))?.isFile) return prefix;
  }
  const found = await scanCheckpoints(fs, logdir);
  return found.length > 0 ? fs.join(logdir, found[found.length - 1].name.slice(0, -SUFFIX.length)) : null;
}

/**
 * Restores the latest checkpoint in `logdir`; null when there is none. A
 * damaged latest checkpoint throws, unless `fallbackToPrevious` is set: then
 * older ones are tried newest first and the damaged ones listed in `skipped`.
 * `names` keeps only those tensors (an evaluation needs the weights, not
 * Adam's slots); every byte is still checksummed.
 *
 * @throws CheckpointError when the latest (or, with fallback, every) checkpoint is damaged.
 * @example
 * ```ts
 * const restored = await restoreLatest(fs, "logs", { fallbackToPrevious: true });
 * if (restored) console.log(restored.globalStep, restored.skipped.length);
 * ```
 */
export async function restoreLatest(
  fs: FileSystem,
  logdir: string,
  { fallbackToPrevious = false, names }: { fallbackToPrevious?: boolean; names?: readonly string[] } = {},
): Promise<RestoredLatest | null> {
  const latest = await latestCheckpoint(fs, logdir);
  if (latest === null) return null;
  const skipped: RestoredLatest["skipped"] = [];
  const candidates = [latest];
  if (fallbackToPrevious) {
    const state = await readState(fs, logdir);
    const recorded = (state?.paths ?? []).map((p) => resolveStatePath(fs, logdir, p)).reverse();
    const onDisk = (await scanCheckpoints(fs, logdir)).reverse().map((c) => fs.join(logdir, c.name.slice(0, -SUFFIX.length)));
    for (const p of [...recorded, ...onDisk]) {
      if (!candidates.includes(p) && (await fs.stat(p + SUFFIX))?.isFile) candidates.push(p);
    }
  }
  for (const path of candidates) {
    try {
      return { ...(await restoreCheckpoint(fs, path, { names })), skipped };
    } catch (err) {
      if (!(err instanceof CheckpointError) || !fallbackToPrevious) throw err;
      skipped.push({ path, error: err });
    }
  }
  throw new CheckpointError(
    `no intact checkpoint in ${logdir}; damaged: ${skipped.map((s) => s.error.message).join("; ")}`,
    { file: latest + SUFFIX, cause: skipped[0].error },
  );
}

async function scanCheckpoints(fs: FileSystem, logdir: string): Promise<{ step: number; name: string }[]> {
  if (!(await fs.stat(logdir))?.isDirectory) return [];
  const found: { step: number; name: string }[] = [];
  for (const name of await fs.readDir(logdir)) {
    const m = CKPT_FILE.exec(name);
    if (m && Number.isSafeInteger(Number(m[1]))) found.push({ step: Number(m[1]), name });
  }
  return found.sort((a, b) => a.step - b.step);
}

function stepOf(path: string): number | null {
  const m = /model\.ckpt-(\d+)$/.exec(path);
  return m ? Number(m[1]) : null;
}
