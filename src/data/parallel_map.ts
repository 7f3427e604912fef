/**
 * An order-preserving parallel `map` over a {@link Dataset}: up to `concurrency`
 * calls run at once (on worker threads, when `fn` hands its work to a pool) and
 * results come out in the input's order, as tf.data's `map(num_parallel_calls)`
 * with `deterministic=True`.
 * @module
 */
import { Dataset } from "./dataset.ts";

/**
 * Maps `fn` over `source` with up to `concurrency` calls in flight; `fn` also
 * receives the element's position in the stream.
 *
 * @example
 * ```ts
 * const decoded = parallelMap(records, (r) => pool.run(taskFor(r)), 4);
 * ```
 */
export function parallelMap<T, U>(source: Dataset<T>, fn: (element: T, index: number) => Promise<U>, concurrency: number): Dataset<U> {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`parallelMap: concurrency must be a positive integer, got ${concurrency}`);
  return Dataset.fromGenerator(async function* () {
    const queue: Promise<U>[] = [];
    let index = 0, exhausted = false;
    const iterator = source[Symbol.asyncIterator]();
    try {
      for (;;) {
        while (!exhausted && queue.length < concurrency) {
          const next = await iterator.next();
          if (next.done) {
            exhausted = true;
            break;
          }
          const p = fn(next.value, index++);
          // Errors surface in order when their result is due; meanwhile keep them from being reported as unhandled.
          p.catch(() => {});
          queue.push(p);
        }
        if (queue.length === 0) return;
        yield await queue.shift()!;
      }
    } finally {
      await iterator.return?.();
    }
  });
}
