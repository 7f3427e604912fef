/**
 * Argument and data checks of `evaluateOnce` and `evaluationLoop`: a logdir
 * where a checkpoint is expected (and the reverse), and evaluation data that does
 * not divide into the model's batches, each refused with the call that works.
 * @module
 */
import { SUFFIX } from "../checkpoint/checkpoint_file.ts";
import { latestCheckpoint } from "../checkpoint/saver.ts";
import type { SizedInputPipeline } from "../data/inputs.ts";
import { describeValue, isOptionsObject } from "../graph/arg_checks.ts";
import type { FileSystem } from "../fs/types.ts";
import type { Graph } from "../graph/graph.ts";
import type { Tensor } from "../graph/tensor.ts";
import type { Metric } from "../metrics/metrics.ts";
import type { EvalData } from "./eval_session.ts";
import { type Feeds, INPUT_PIPELINES } from "./train_data.ts";

/**
 * Checks the shape of an `evaluateOnce`/`evaluationLoop` call: a path, a logdir
 * or null, and options with metrics.
 *
 * @example
 * ```ts
 * checkEvalArgs("evaluateOnce", "checkpointPath", path, null, options);
 * ```
 */
export function checkEvalArgs(fn: string, pathRole: string, path: unknown, logdir: unknown, options: unknown): void {
  const signature = `${fn}(${pathRole}, logdir | null, { metrics, data?, numEvals?, ... })`;
  if (typeof path !== "string" || path === "") {
    throw new Error(`${fn}: ${pathRole} must be a non-empty string, got ${describeValue(path)}; the signature is ${signature}`);
  }
  if (logdir !== null && typeof logdir !== "string") {
    throw new Error(`${fn}: logdir must be a directory for the eval summaries, or null for none; got ${describeValue(logdir)}; the signature is ${signature}`);
  }
  const metrics = isOptionsObject(options) ? options.metrics : undefined;
  if (!isOptionsObject(metrics) || Object.keys(metrics).length === 0) {
    throw new Error(`${fn}: options.metrics must name at least one metric, e.g. { metrics: { accuracy: metrics.accuracy(logits, labels) } }; got ${describeValue(metrics)}`);
  }
}

/**
 * Refuses a directory given as a checkpoint path, naming its latest checkpoint.
 *
 * @example
 * ```ts
 * await checkIsCheckpoint(fs, "logs/train"); // throws: ... is a directory ...
 * ```
 */
export async function checkIsCheckpoint(fs: FileSystem, path: string): Promise<void> {
  if (path.endsWith(SUFFIX) || !(await fs.stat(path))?.isDirectory) return;
  const latest = await latestCheckpoint(fs, path);
  const found = latest === null ? "it holds no checkpoint yet" : `its latest checkpoint is ${latest}`;
  throw new Error(
    `evaluateOnce: ${path} is a directory (a logdir?), not a checkpoint; ${found}. ` +
      `Pass a checkpoint path such as await latestCheckpoint(fs, "${path}"), ` +
      `or call evaluationLoop("${path}", ...) to evaluate each checkpoint the run writes`,
  );
}

/**
 * Refuses a checkpoint given where `evaluationLoop` expects the directory it watches.
 *
 * @example
 * ```ts
 * await checkIsDirectory(fs, "logs/train/model.ckpt-100"); // throws: ... is a checkpoint ...
 * ```
 */
export async function checkIsDirectory(fs: FileSystem, path: string): Promise<void> {
  const isCheckpoint = path.endsWith(SUFFIX) || (await fs.stat(path + SUFFIX)) !== null;
  if (!isCheckpoint || (await fs.stat(path))?.isDirectory) return;
  throw new Error(
    `evaluationLoop: ${path} is a checkpoint, not the directory to watch for checkpoints; ` +
      `pass its directory, or call evaluateOnce("${path}", ...) to evaluate this one checkpoint`,
  );
}

/**
 * Refuses `numEvals` batches that would read the graph's input pipeline past its
 * end (it repeats, so examples would count twice).
 *
 * @example
 * ```ts
 * checkPipelineCoverage("evaluateOnce", graph, 313); // throws when 313 batches exceed the data
 * ```
 */
export function checkPipelineCoverage(fn: string, graph: Graph, numEvals: number | undefined): void {
  const pipelines = graph.getCollection<Partial<SizedInputPipeline>>(INPUT_PIPELINES);
  if (pipelines.length !== 1 || numEvals === undefined) return;
  const { numExamples: n, batchSize: b } = pipelines[0];
  if (n === undefined || b === undefined || !Number.isFinite(n) || !(numEvals * b > n)) return;
  const full = Math.floor(n / b);
  const rest = n % b === 0 ? "" : `, leaving out ${n % b}; or a batch size that divides ${n}${divisorHint(n, b)} for every example`;
  throw new Error(
    `${fn}: numEvals ${numEvals} batches of ${b} read ${numEvals * b} examples, but the input pipeline has ${n}: ` +
      `the data would repeat and ${numEvals * b - n} examples count twice. Use numEvals ${full} (each full batch once${rest})`,
  );
}

/**
 * Wraps evaluation data so a batch smaller than the model's batch size (a last
 * partial batch) is refused with the example count and the fix, instead of the
 * generic feed-shape error. Placeholders of unknown batch (-1) take any batch,
 * a last partial one included (metric sums and counts are per batch, so it
 * weighs by its examples); data feeding only those passes unchecked.
 *
 * @example
 * ```ts
 * const data = requireFullBatches("evaluateOnce", options.data, session.model.inputs);
 * ```
 */
export function requireFullBatches(
  fn: string,
  data: EvalData | undefined,
  inputs: readonly { name: string; tensor: Tensor }[],
): EvalData | undefined {
  if (data === undefined) return undefined;
  const sizes = new Map<string, Tensor>();
  for (const { name, tensor } of inputs) if (tensor.rank > 0 && tensor.shape[0] > 0) sizes.set(name, tensor);
  if (sizes.size === 0) return data;
  return () => checkedBatches(fn, typeof data === "function" ? data() : data, sizes);
}

async function* checkedBatches(fn: string, source: Iterable<Feeds> | AsyncIterable<Feeds>, sizes: Map<string, Tensor>): AsyncGenerator<Feeds> {
  if (typeof source !== "object" || source === null || !(Symbol.asyncIterator in source || Symbol.iterator in source)) {
    throw new Error(`${fn}: data must be an iterable or async iterable of feeds, or a function returning one; got ${describeValue(source)}`);
  }
  const it = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : (source as Iterable<Feeds>)[Symbol.iterator]();
  let index = 0, examples = 0;
  try {
    for (let next = await it.next(); !next.done; next = await it.next(), index++) {
      const batch = next.value;
      const short = shortFeed(batch, sizes);
      if (short) {
        const last = (await it.next()).done === true;
        throw new Error(partialBatchMessage(fn, short, index, examples, last));
      }
      examples += batchExamples(batch, sizes);
      yield batch;
    }
  } finally {
    await it.return?.();
  }
}

interface ShortFeed {
  tensor: Tensor;
  got: number;
}

function shortFeed(batch: Feeds, sizes: Map<string, Tensor>): ShortFeed | null {
  if (typeof batch !== "object" || batch === null) return null;
  for (const [name, tensor] of sizes) {
    const got = (batch[name] as { shape?: unknown } | undefined)?.shape;
    if (Array.isArray(got) && got.length === tensor.rank && got[0] > 0 && got[0] < tensor.shape[0]) return { tensor, got: got[0] };
  }
  return null;
}

function batchExamples(batch: Feeds, sizes: Map<string, Tensor>): number {
  for (const [name, tensor] of sizes) if (batch?.[name]) return tensor.shape[0];
  return 0;
}

function partialBatchMessage(fn: string, { tensor, got }: ShortFeed, index: number, before: number, last: boolean): string {
  const b = tensor.shape[0];
  const head = `${fn}: batch ${index} has ${got} examples, but placeholder ${tensor.describe()} takes batches of ${b}`;
  if (!last) return `${head}; every batch must be full`;
  const n = before + got;
  return `${head}: the data's ${n} examples do not divide into batches of ${b}. ` +
    `Leave the partial batch out (Dataset.batch(${b}, { dropRemainder: true }) evaluates ${before} examples), ` +
    `or use a batch size that divides ${n}${divisorHint(n, b)}`;
}

/** " (e.g. 25 or 40)": the divisors of `n` nearest `b` on each side, if any. */
function divisorHint(n: number, b: number): string {
  let below = 0, above = 0;
  for (let d = b - 1; d > 1 && below === 0; d--) if (n % d === 0) below = d;
  for (let d = b + 1; d <= Math.min(n - 1, 4 * b) && above === 0; d++) if (n % d === 0) above = d;
  const picks = [below, above].filter((d) => d > 0);
  return picks.length ? ` (e.g. ${picks.join(" or ")})` : "";
}

/**
 * The graph the metrics are built in.
 *
 * @example
 * ```ts
 * checkPipelineCoverage("evaluateOnce", metricsGraph(options.metrics), options.numEvals);
 * ```
 */
export function metricsGraph(metrics: Readonly<Record<string, Metric>>): Graph {
  return Object.values(metrics)[0].sum.graph;
}
