/**
 * Writes TensorBoard event files: TFRecord-framed `Event` protos in a file named
 * so TensorBoard finds it (`events.out.tfevents.*`). Scalars and histograms use
 * the plugins' tensor forms, the ones current TensorBoard reads natively.
 * @module
 */
import type { AppendHandle, FileSystem } from "../fs/types.ts";
import { encodeRecord, encodeRecords } from "../io/tfrecord.ts";
import { defaultHostname } from "./hostname.ts";
import { DataClass, DataType, encodeEvent, type EventMessage, type SummaryValueMessage } from "./proto.ts";

/** Options for {@link EventFileWriter.create}. */
export interface EventFileWriterOptions {
  /** Goes into the file name; defaults to {@link defaultHostname}. */
  hostname?: string;
  /** Buffered records are written at most this long after being added (Infinity: only on flush/close). */
  flushSecs?: number;
  /** Appended to the file name, e.g. ".v2" or "-eval". */
  filenameSuffix?: string;
}

/** One histogram bucket: left edge, right edge, count. */
export type Bucket = [left: number, right: number, count: number];

// Distinguishes writers opened by this module instance within one second.
let fileCounter = 0;

/**
 * Appends summaries to one event file. Records are buffered in memory and
 * appended as whole records on `flush()`, every `flushSecs`, and on `close()`,
 * so a crash loses at most the unflushed tail and leaves a readable file.
 *
 * @example
 * ```ts
 * const writer = await EventFileWriter.create(fs, "logs/run1");
 * writer.addScalar("loss", 0.25, 100);
 * writer.addHistogram("conv1/weights", weights, 100);
 * await writer.close();
 * ```
 */
export class EventFileWriter {
  /** Path of the event file. */
  readonly path: string;
  private readonly handle: AppendHandle;
  private readonly flushMs: number;
  private pending: Uint8Array[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private writing: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private closed = false;

  private constructor(path: string, handle: AppendHandle, flushSecs: number) {
    this.path = path;
    this.handle = handle;
    this.flushMs = flushSecs * 1000;
  }

  /**
   * Creates `logdir` and a new event file in it whose first record is the
   * file-version event. The name is claimed with an exclusive create, so two
   * writers never share a file even if their names would otherwise coincide.
   *
   * @example
   * ```ts
   * const writer = await EventFileWriter.create(new MemoryFileSystem(), "logs", { hostname: "box", flushSecs: 30 });
   * writer.path; // "logs/events.out.tfevents.1700000000.box.4242.0"
   * ```
   */
  static async create(fs: FileSystem, logdir: string, options: EventFileWriterOptions = {}): Promise<EventFileWriter> {
    const { flushSecs = 120, filenameSuffix = "" } = options;
    if (!(flushSecs > 0)) throw new Error(`EventFileWriter.create(${logdir}): flushSecs must be positive, got ${flushSecs}`);
    const hostname = options.hostname ?? await defaultHostname();
    await fs.mkdirp(logdir);
    const wallTime = Date.now() / 1000;
    const first = encodeRecord(encodeEvent({ wallTime, fileVersion: "brain.Event:2" }));
    const seconds = String(Math.floor(wallTime)).padStart(10, "0");
    const owner = processTag();
    for (let attempt = 0; attempt < 100; attempt++) {
      const name = `events.out.tfevents.${seconds}.${hostname}.${owner}.${fileCounter++}${filenameSuffix}`;
      const path = fs.join(logdir, name);
      if (await fs.createExclusive(path, first)) {
        return new EventFileWriter(path, await fs.openAppend(path), flushSecs);
      }
    }
    throw new Error(`Cannot create an event file in ${logdir}: 100 candidate names were all taken`);
  }

  /**
   * Adds a scalar in the scalars plugin's form: a float32 scalar tensor.
   * `wallTime` is in seconds since the epoch and defaults to now.
   *
   * @example
   * ```ts
   * writer.addScalar("train/loss", loss, step);
   * ```
   */
  addScalar(tag: string, value: number, step: number, wallTime?: number): void {
    this.check("addScalar", tag, step);
    this.addValue(step, wallTime, {
      tag,
      metadata: { pluginData: { pluginName: "scalars" }, dataClass: DataClass.DATA_CLASS_SCALAR },
      tensor: { dtype: DataType.DT_FLOAT, tensorShape: {}, floatVal: [value] },
    });
  }

  /**
   * Adds a histogram in the histograms plugin's form: a float64 tensor of shape
   * [k, 3] holding (left edge, right edge, count) for k equal-width buckets.
   *
   * @example
   * ```ts
   * writer.addHistogram("fc/weights", weights, step, { bins: 50 });
   * ```
   */
  addHistogram(
    tag: string,
    values: ArrayLike<number>,
    step: number,
    { bins = 30, wallTime }: { bins?: number; wallTime?: number } = {},
  ): void {
    this.check("addHistogram", tag, step);
    let buckets: Bucket[];
    try {
      buckets = histogramBuckets(values, bins);
    } catch (err) {
      throw new Error(`addHistogram(${tag}) at step ${step}: ${(err as Error).message}`);
    }
    this.addValue(step, wallTime, {
      tag,
      metadata: { pluginData: { pluginName: "histograms" }, dataClass: DataClass.DATA_CLASS_TENSOR },
      tensor: {
        dtype: DataType.DT_DOUBLE,
        tensorShape: { dim: [{ size: buckets.length }, { size: 3 }] },
        doubleVal: buckets.flat(),
      },
    });
  }

  /**
   * Buffers an arbitrary event, for summary kinds this class has no helper for.
   *
   * @example
   * ```ts
   * writer.addEvent({ wallTime: Date.now() / 1000, step: 5, summary: { value: [{ tag: "old", simpleValue: 1 }] } });
   * ```
   */
  addEvent(event: EventMessage): void {
    this.check("addEvent", "", event.step ?? 0);
    this.pending.push(encodeEvent(event));
    if (this.timer === undefined && Number.isFinite(this.flushMs)) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        // A timer has no caller to reject to; the error surfaces on the next call instead.
        this.flush().catch((err) => this.failure ??= err as Error);
      }, this.flushMs);
      // Node.js and Bun: a pending flush alone should not keep the process alive.
      (this.timer as { unref?: () => void }).unref?.();
    }
  }

  /** Number of records added but not yet written. */
  get pendingRecords(): number {
    return this.pending.length;
  }

  /**
   * Appends every buffered record in one write and syncs the file.
   *
   * @example
   * ```ts
   * writer.addScalar("loss", 1.5, 0);
   * await writer.flush(); // now on disk
   * ```
   */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.pending;
    this.pending = [];
    // Chained so concurrent flushes append in order and never interleave.
    const run = this.writing.then(async () => {
      if (this.failure) throw this.failure;
      if (batch.length === 0) return;
      try {
        await this.handle.write(encodeRecords(batch));
        await this.handle.sync();
      } catch (err) {
        // A failed append may have left a partial record; appending after it would bury good records behind garbage.
        this.failure = new Error(`Event file ${this.path} can no longer be written: ${(err as Error).message}`, { cause: err });
        throw this.failure;
      }
    });
    this.writing = run.catch(() => {});
    return run;
  }

  /**
   * Flushes and closes the file. Later calls resolve at once; adding after
   * closing throws.
   *
   * @example
   * ```ts
   * await writer.close();
   * ```
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.flush();
    } finally {
      await this.handle.close();
    }
  }

  private addValue(step: number, wallTime: number | undefined, value: SummaryValueMessage): void {
    this.addEvent({ wallTime: wallTime ?? Date.now() / 1000, step, summary: { value: [value] } });
  }

  private check(method: string, tag: string, step: number): void {
    const what = tag === "" ? method : `${method}(${tag})`;
    if (this.closed) throw new Error(`${what}: event file ${this.path} is closed`);
    if (this.failure) throw this.failure;
    if (!Number.isSafeInteger(step)) throw new Error(`${what}: step must be an integer, got ${step}`);
  }
}

/**
 * Splits values into `bins` equal-width buckets over [min, max]. Every value is
 * counted exactly once (the maximum goes into the last bucket); equal values give
 * one bucket [v, v, n]; no values give no buckets.
 *
 * @example
 * ```ts
 * histogramBuckets([0, 1, 2, 4], 2); // [[0, 2, 2], [2, 4, 2]]
 * ```
 */
export function histogramBuckets(values: ArrayLike<number>, bins: number): Bucket[] {
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`bins must be a positive integer, got ${bins}`);
  const n = values.length;
  if (n === 0) return [];
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) throw new Error(`values[${i}] is ${v}; histograms need finite values`);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === max) return [[min, max, n]];
  // Dividing before subtracting keeps the width finite for ranges near ±Number.MAX_VALUE.
  const width = max / bins - min / bins;
  const overflows = !Number.isFinite(max - min);
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    const k = Math.floor(overflows ? v / width - min / width : (v - min) / width);
    counts[Math.min(Math.max(k, 0), bins - 1)]++;
  }
  return counts.map((c, k): Bucket => [min + k * width, k === bins - 1 ? max : min + (k + 1) * width, c]);
}

/** The pid where the runtime has one; otherwise random, so browser tabs differ. */
function processTag(): string {
  const pid = (globalThis as { process?: { pid?: number } }).process?.pid;
  if (typeof pid === "number" && pid > 0) return String(pid);
  const bytes = new Uint8Array(4);
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (c?.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < 4; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
