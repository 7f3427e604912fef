/**
 * `slimtrain eval --model-name <net> --dataset-dir <dir>`: eval_image_classifier
 * for TypeScript. Streams a split through the net in inference mode, counting a
 * last partial batch (padded, its padding weighted 0), and reports accuracy and
 * recall@5 of the latest checkpoint in `--logdir` (or a given checkpoint), once
 * or every `--eval-interval-secs` while a training run goes on. Results go to
 * the console and to TensorBoard under `--eval-dir`.
 * @module
 */
import { latestCheckpoint } from "../../checkpoint/saver.ts";
import type { HostTensor } from "../../graph/host_tensor.ts";
import { imagePipeline } from "../../data/image_pipeline.ts";
import { getPreprocessing } from "../../data/preprocessing/factory.ts";
import { defaultFileSystem } from "../../fs/default.ts";
import { evaluateOnce, evaluationLoop } from "../../learning/evaluation.ts";
import { ExponentialMovingAverage } from "../../learning/moving_averages.ts";
import { getNetworkFn, networkNames } from "../../nets/nets_factory.ts";
import type { ExecutionProvider } from "../../runtime/types.ts";
import { inputChannels, loadSplit } from "./dataset.ts";
import { buildClassifierEvalGraph } from "./graph.ts";
import { positiveInteger, printTable } from "../command_utils.ts";

/**
 * Evaluates and prints the results table; returns the metrics of the last evaluation.
 *
 * @example
 * ```ts
 * const { Accuracy } = await evalClassifierCommand({ "model-name": "lenet", "dataset-dir": "digits", logdir: "logs/b", ... });
 * ```
 */
export async function evalClassifierCommand(flags: Record<string, unknown>): Promise<Record<string, number>> {
  const modelName = String(flags["model-name"] ?? "");
  if (!networkNames().includes(modelName)) throw new Error(`--model-name ${modelName || "(missing)"} is not a known net; known: ${networkNames().join(", ")}`);
  if (typeof flags["dataset-dir"] !== "string") throw new Error("--dataset-dir is required in image-classifier mode");
  const fs = await defaultFileSystem();
  const logdir = String(flags.logdir);
  const batchSize = positiveInteger(flags, "batch-size");
  const split = await loadSplit(fs, flags["dataset-dir"], String(flags["dataset-split-name"]));
  const labelsOffset = Number(flags["labels-offset"] ?? 0);
  const numClasses = split.classNames.length - labelsOffset;
  const preprocessing = String(flags["preprocessing-name"] ?? modelName);
  getPreprocessing(preprocessing);
  const imageSize = flags["eval-image-size"] === undefined
    ? getNetworkFn(modelName, { numClasses }).defaultImageSize
    : positiveInteger(flags, "eval-image-size");
  const channels = await inputChannels(split.records, preprocessing);
  const { metrics, modelVariables } = buildClassifierEvalGraph({ modelName, batchSize, imageSize, channels, numClasses, labelsOffset });
  const maxBatches = flags["max-num-batches"] === undefined ? undefined : positiveInteger(flags, "max-num-batches");
  const workers = Number(flags["input-workers"] ?? 2);
  const data = async function* () {
    const pipeline = await imagePipeline(split.records, { height: imageSize, width: imageSize, channels, preprocessing, batchSize, workers });
    try {
      let n = 0;
      for await (const batch of pipeline.batches) {
        if (maxBatches !== undefined && n++ >= maxBatches) break;
        yield padBatch(batch, batchSize);
      }
    } finally {
      await pipeline.close();
    }
  };
  const evalDir = String(flags["eval-dir"] ?? fs.join(logdir, "eval"));
  // As eval_image_classifier: with --moving-average-decay, every model variable takes its average's value.
  const variablesToRestore = flags["moving-average-decay"] === undefined
    ? undefined
    : new ExponentialMovingAverage(Number(flags["moving-average-decay"])).variablesToRestore(modelVariables);
  const common = {
    metrics, data, fs, variablesToRestore, executionProvider: flags.ep as ExecutionProvider, intraOpNumThreads: flags.threads as number | undefined,
    log: () => {},
  };
  console.log(`slimtrain: evaluating ${modelName} on ${split.records.length} images of ${numClasses} classes (${split.layout}), batch ${batchSize}`);
  let results: Record<string, number> | null;
  let checkpoint = "";
  if (flags["eval-interval-secs"] !== undefined) {
    results = await evaluationLoop(logdir, evalDir, {
      ...common,
      evalIntervalSecs: Number(flags["eval-interval-secs"]),
      onEvaluation: ({ checkpointPath, globalStep, results: r }) => {
        checkpoint = checkpointPath;
        console.log(`  step ${globalStep}: ${formatMetrics(r)}`);
      },
    });
  } else {
    const path = (await fs.stat(logdir))?.isDirectory ? await latestCheckpoint(fs, logdir) : logdir;
    if (!path) throw new Error(`No checkpoint in ${logdir} (train first, or pass --logdir <checkpoint prefix>)`);
    checkpoint = path;
    results = await evaluateOnce(path, evalDir, common);
  }
  if (!results) throw new Error(`No evaluation ran (no checkpoint appeared in ${logdir})`);
  const rows: [string, string][] = [
    ["checkpoint", checkpoint],
    ["images", String(split.records.length)],
    ...Object.entries(results).map(([k, v]): [string, string] => [`eval/${k}`, `${(100 * v).toFixed(2)}%`]),
    ["TensorBoard", `tensorboard --logdir ${evalDir}`],
  ];
  printTable(rows);
  return results;
}

function formatMetrics(r: Record<string, number>): string {
  return Object.entries(r).map(([k, v]) => `${k} ${(100 * v).toFixed(2)}%`).join(", ");
}

/** Pads a last partial batch to the graph's batch size; the padding gets weight 0. */
function padBatch({ images, labels }: { images: HostTensor; labels: HostTensor }, batchSize: number): Record<string, HostTensor> {
  const n = images.shape[0];
  const weights = new Float32Array(batchSize);
  weights.fill(1, 0, n);
  if (n === batchSize) return { images, labels, weights: { dtype: "float32", shape: [batchSize], data: weights } };
  const per = images.data.length / n;
  const paddedImages = new Float32Array(batchSize * per);
  paddedImages.set(images.data as Float32Array);
  const paddedLabels = new BigInt64Array(batchSize);
  paddedLabels.set(labels.data as BigInt64Array);
  return {
    images: { dtype: "float32", shape: [batchSize, ...images.shape.slice(1)], data: paddedImages },
    labels: { dtype: "int64", shape: [batchSize], data: paddedLabels },
    weights: { dtype: "float32", shape: [batchSize], data: weights },
  };
}
