/**
 * An input pipeline in the spirit of tf.data: sources, then chained stages
 * (shuffle, map, batch, repeat, prefetch, take, skip), consumed with `for await`.
 * Plain TypeScript with no runtime-specific imports, so it runs in browsers too.
 * @module
 */
import type { HostTensor } from "../graph/host_tensor.ts";
import { seededRandom } from "../graph/random.ts";
import { isHostTensor, sliceRow, stackStructs, type TensorStruct } from "./tensor_struct.ts";

export type { TensorStruct };

/** Options for {@link Dataset.shuffle}. */
export interface ShuffleOptions {
  /**
   * Integer seed. Pass one to make the order reproducible (needed to resume a run
   * with `skip`); when omitted a random seed is drawn once, when `shuffle` is called.
   */
  seed?: number;
}

/**
 * Makes the iterable for one pass. `epoch` tells stages that reshuffle which pass
 * this is, so every pass has its own order yet the same seed replays it exactly.
 */
type Source<T> = (epoch: number) => AsyncIterable<T>;

/**
 * A lazily evaluated, re-iterable sequence of elements. Every stage returns a new
 * dataset; nothing runs until it is iterated. Each `for await` over the same
 * dataset object is a new pass (numbered 0, 1, ...), and `shuffle` stages upstream
 * draw a fresh order per pass and per repetition, derived from seed and pass, like
 * tf.data's `reshuffle_each_iteration`.
 *
 * @example
 * ```ts
 * const ds = Dataset.fromTensorSlices({ images, labels })
 *   .shuffle(1000, { seed: 1 })
 *   .repeat()
 *   .batch(32, { dropRemainder: true })
 *   .prefetch(2);
 * for await (const { images, labels } of ds.take(100)) await trainStep(images, labels);
 * ```
 */
export class Dataset<T> implements AsyncIterable<T> {
  readonly #source: Source<T>;
  #passes = 0;

  private constructor(source: Source<T>) {
    this.#source = source;
  }

  /**
   * A dataset of the array's items, in order.
   *
   * @example
   * ```ts
   * const ds = Dataset.fromArray([1, 2, 3]);
   * ```
   */
  static fromArray<T>(items: readonly T[]): Dataset<T> {
    const copy = [...items];
    return new Dataset(async function* () {
      yield* copy;
    });
  }

  /**
   * A dataset drawn from a (sync or async) iterable that `make` builds anew for
   * every pass, as tf.data's `from_generator` does.
   *
   * @example
   * ```ts
   * const ds = Dataset.fromGenerator(async function* () {
   *   for (const path of files) yield await fs.readFile(path);
   * });
   * ```
   */
  static fromGenerator<T>(make: () => AsyncIterable<T> | Iterable<T>): Dataset<T> {
    return new Dataset(async function* () {
      yield* make();
    });
  }

  /**
   * Slices tensors along their first axis: element `i` holds row `i` of each tensor
   * (shape without the leading dimension). All tensors must agree on that dimension.
   * Slices are copies, so changing one leaves the source intact.
   *
   * @example
   * ```ts
   * const ds = Dataset.fromTensorSlices({ images, labels }); // images [N,32,32,1], labels [N]
   * for await (const { images: image, labels: label } of ds) console.log(image.shape, label.shape);
   * ```
   */
  static fromTensorSlices(tensor: HostTensor): Dataset<HostTensor>;
  static fromTensorSlices<K extends string>(tensors: Record<K, HostTensor>): Dataset<Record<K, HostTensor>>;
  static fromTensorSlices(input: HostTensor | Record<string, HostTensor>): Dataset<TensorStruct> {
    if (isHostTensor(input)) {
      const single = Dataset.fromTensorSlices({ t: input });
      return single.map((x) => x.t);
    }
    const entries = Object.entries(input);
    if (entries.length === 0) throw new Error("Dataset.fromTensorSlices needs at least one tensor");
    let count = -1;
    for (const [key, t] of entries) {
      if (t.shape.length === 0) throw new Error(`Tensor ${key} is a scalar; Dataset.fromTensorSlices needs rank >= 1`);
      if (count >= 0 && t.shape[0] !== count) {
        throw new Error(
          `Tensor ${key} has ${t.shape[0]} rows but ${entries[0][0]} has ${count} (Dataset.fromTensorSlices)`,
        );
      }
      count = t.shape[0];
    }
    const n = count;
    return new Dataset(async function* () {
      for (let i = 0; i < n; i++) {
        const element: Record<string, HostTensor> = {};
        for (const [key, t] of entries) element[key] = sliceRow(t, i);
        yield element;
      }
    });
  }

  /** Starts a new pass; each call gets the next pass number. */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.#source(this.#passes++)[Symbol.asyncIterator]();
  }

  /**
   * Collects every element of one pass (only for finite datasets).
   *
   * @example
   * ```ts
   * const xs = await Dataset.fromArray([1, 2, 3]).map((x) => x * 2).toArray(); // [2, 4, 6]
   * ```
   */
  async toArray(): Promise<T[]> {
    const out: T[] = [];
    for await (const x of this) out.push(x);
    return out;
  }

  /**
   * Applies `fn` (sync or async) to every element, one at a time.
   *
   * @example
   * ```ts
   * const scaled = ds.map(({ image, label }) => ({ image: augment(image), label }));
   * ```
   */
  map<U>(fn: (element: T) => U | Promise<U>): Dataset<U> {
    const source = this.#source;
    return new Dataset(async function* (epoch) {
      for await (const x of source(epoch)) yield await fn(x);
    });
  }

  /**
   * Shuffles with tf.data's buffer semantics: keeps `bufferSize` elements, emits a
   * uniformly chosen one and refills its slot from upstream. A buffer at least as
   * large as the dataset gives a uniform permutation; smaller buffers shuffle locally.
   *
   * @example
   * ```ts
   * const shuffled = Dataset.fromArray(files).shuffle(files.length, { seed: 42 });
   * ```
   */
  shuffle(bufferSize: number, { seed }: ShuffleOptions = {}): Dataset<T> {
    checkCount("Dataset.shuffle", "buffer size", bufferSize, 1);
    if (seed !== undefined && !Number.isInteger(seed)) {
      throw new Error(`Dataset.shuffle needs an integer seed, got ${seed}`);
    }
    const base = seed === undefined ? Math.floor(Math.random() * 0x100000000) : seed >>> 0;
    const source = this.#source;
    return new Dataset(async function* (epoch) {
      const random = seededRandom(base, epoch);
      const buffer: T[] = [];
      for await (const x of source(epoch)) {
        if (buffer.length < bufferSize) {
          buffer.push(x);
          continue;
        }
        const i = Math.floor(random() * bufferSize);
        const out = buffer[i];
        buffer[i] = x;
        yield out;
      }
      while (buffer.length > 0) {
        const i = Math.floor(random() * buffer.length);
        const out = buffer[i];
        buffer[i] = buffer[buffer.length - 1];
        buffer.pop();
        yield out;
      }
    });
  }

  /**
   * Stacks `batchSize` consecutive elements into one: each tensor (or each key of
   * an object of tensors) gains a leading batch dimension. The last, smaller batch
   * is kept unless `dropRemainder` is set (which keeps batch shapes static).
   *
   * @example
   * ```ts
   * const batches = Dataset.fromTensorSlices({ images, labels }).batch(32, { dropRemainder: true });
   * ```
   */
  batch<U extends TensorStruct<U>>(
    this: Dataset<U>,
    batchSize: number,
    { dropRemainder = false }: { dropRemainder?: boolean } = {},
  ): Dataset<U> {
    checkCount("Dataset.batch", "batch size", batchSize, 1);
    const source = this.#source;
    return new Dataset(async function* (epoch) {
      let pending: U[] = [];
      for await (const x of source(epoch)) {
        pending.push(x);
        if (pending.length === batchSize) {
          yield stackStructs(pending);
          pending = [];
        }
      }
      if (pending.length > 0 && !dropRemainder) yield stackStructs(pending);
    });
  }

  /**
   * Replays the dataset `count` times, or forever when `count` is omitted. Each
   * repetition is its own pass, so an upstream `shuffle` reorders every epoch.
   * Repeating an empty dataset forever ends instead of spinning.
   *
   * @example
   * ```ts
   * const epochs = ds.shuffle(1000, { seed: 7 }).repeat(10);
   * ```
   */
  repeat(count?: number): Dataset<T> {
    if (count !== undefined) checkCount("Dataset.repeat", "count", count, 0);
    const source = this.#source;
    return new Dataset(async function* (epoch) {
      for (let i = 0; count === undefined || i < count; i++) {
        let any = false;
        // A multiplicative mix keeps epoch i of pass 0 equal to i and separates passes.
        for await (const x of source((Math.imul(epoch, 0x9e3779b1) + i) >>> 0)) {
          any = true;
          yield x;
        }
        if (!any) return;
      }
    });
  }

  /**
   * Keeps up to `n` elements in preparation: as soon as one is handed out, work on
   * the following ones starts, so a consumer awaiting a training step overlaps with
   * producing the next batch.
   *
   * @example
   * ```ts
   * for await (const batch of ds.batch(64).prefetch(2)) await session.run(batch);
   * ```
   */
  prefetch(n: number): Dataset<T> {
    checkCount("Dataset.prefetch", "buffer size", n, 0);
    if (n === 0) return this;
    const source = this.#source;
    return new Dataset(async function* (epoch) {
      // Async generators queue concurrent next() calls and run them in order, so
      // requests made ahead are served one after another, never interleaved.
      const it = source(epoch)[Symbol.asyncIterator]();
      const ahead: Promise<IteratorResult<T>>[] = [];
      const request = () => {
        const p = it.next();
        // Silences "unhandled rejection" for requests abandoned by an early exit;
        // the awaited copy below still throws.
        p.catch(() => {});
        ahead.push(p);
      };
      let finished = false;
      try {
        for (;;) {
          while (ahead.length < n + 1) request();
          const r = await ahead.shift()!;
          if (r.done) {
            finished = true;
            return;
          }
          yield r.value;
        }
      } finally {
        if (!finished) await it.return?.();
      }
    });
  }

  /**
   * The first `n` elements.
   *
   * @example
   * ```ts
   * const steps = ds.repeat().batch(32).take(1000);
   * ```
   */
  take(n: number): Dataset<T> {
    checkCount("Dataset.take", "count", n, 0);
    const source = this.#source;
    return new Dataset(async function* (epoch) {
      if (n === 0) return;
      let i = 0;
      for await (const x of source(epoch)) {
        yield x;
        if (++i >= n) return;
      }
    });
  }

  /**
   * Drops the first `n` elements; with a seeded pipeline, `skip(step)` resumes a
   * run exactly where a checkpoint left it.
   *
   * @example
   * ```ts
   * const resumed = ds.shuffle(1000, { seed: 1 }).repeat().batch(32).skip(globalStep);
   * ```
   */
  skip(n: number): Dataset<T> {
    checkCount("Dataset.skip", "count", n, 0);
    const source = this.#source;
    return new Dataset(async function* (epoch) {
      let i = 0;
      for await (const x of source(epoch)) {
        if (i++ >= n) yield x;
      }
    });
  }
}

function checkCount(where: string, what: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${where} needs an integer ${what} >= ${min}, got ${value}`);
  }
}
