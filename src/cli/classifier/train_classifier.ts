/**
 * `slimtrain train --model-name <net> --dataset-dir <dir>`: train_image_classifier
 * for TypeScript. Any net of the factory on the user's images (an image folder or
 * slim's TFRecord shards), slim's preprocessing decoded on worker threads, slim's
 * optimizers and learning-rate decay, fine-tuning from a checkpoint with excluded
 * scopes and only some scopes trained, resume from the logdir, TensorBoard
 * summaries and checkpoints on timers.
 * @module
 */
import { latestCheckpoint } from "../../checkpoint/saver.ts";
import { imagePipeline } from "../../data/image_pipeline.ts";
import { getPreprocessing } from "../../data/preprocessing/factory.ts";
import { defaultFileSystem } from "../../fs/default.ts";
import type { FileSystem } from "../../fs/types.ts";
import { GraphKeys } from "../../graph/graph.ts";
import type { Variable } from "../../graph/variable.ts";
import { assignFromCheckpointFn } from "../../learning/fine_tune.ts";
import { train } from "../../learning/train.ts";
import { getNetworkFn, networkNames } from "../../nets/nets_factory.ts";
import type { ExecutionProvider } from "../../runtime/types.ts";
import { stdout } from "../platform.ts";
import { positiveInteger, printTable, removeCheckpoints } from "../command_utils.ts";
import { formatDuration, Progress } from "../progress.ts";
import { configureLearningRate, configureOptimizer } from "./configure.ts";
import { inputChannels, loadSplit } from "./dataset.ts";
import { buildClassifierTrainGraph, type ClassifierShape } from "./graph.ts";
import { scopeList } from "./flags.ts";

/**
 * Trains the net named by `--model-name`; returns the last loss.
 *
 * @example
 * ```ts
 * await trainClassifierCommand({ "model-name": "lenet", "dataset-dir": "digits", "max-number-of-steps": 60, logdir: "logs/a", ... });
 * ```
 */
export async function trainClassifierCommand(flags: Record<string, unknown>): Promise<number> {
  const modelName = requireString(flags, "model-name");
  if (!networkNames().includes(modelName)) throw new Error(`--model-name ${modelName} is not a known net; known: ${networkNames().join(", ")}`);
  const datasetDir = requireString(flags, "dataset-dir");
  const logdir = String(flags.logdir);
  const batchSize = positiveInteger(flags, "batch-size");
  const maxSteps = flags["max-number-of-steps"] === undefined ? undefined : positiveInteger(flags, "max-number-of-steps");
  const seed = Number(flags.seed);
  const fs = await defaultFileSystem();
  if (flags.fresh) await removeCheckpoints(fs, logdir);

  const split = await loadSplit(fs, datasetDir, String(flags["dataset-split-name"]));
  const labelsOffset = Number(flags["labels-offset"] ?? 0);
  const numClasses = split.classNames.length - labelsOffset;
  const preprocessing = String(flags["preprocessing-name"] ?? modelName);
  getPreprocessing(preprocessing); // fails now, naming the known names, rather than in a worker
  const imageSize = flags["train-image-size"] === undefined
    ? getNetworkFn(modelName, { numClasses }).defaultImageSize
    : positiveInteger(flags, "train-image-size");
  const channels = await inputChannels(split.records, preprocessing);
  const shape: ClassifierShape = { modelName, batchSize, imageSize, channels, numClasses, labelsOffset };

  const learningRate = configureLearningRate(flags, { samplesPerEpoch: split.records.length, maxSteps });
  const { trainOp, graph, variablesToTrain } = buildClassifierTrainGraph(shape, {
    optimizer: configureOptimizer(flags, learningRate),
    weightDecay: Number(flags["weight-decay"]),
    labelSmoothing: Number(flags["label-smoothing"]),
    trainableScopes: scopeList(flags["trainable-scopes"]),
    movingAverageDecay: flags["moving-average-decay"] === undefined ? undefined : Number(flags["moving-average-decay"]),
    mixedPrecision: flags["mixed-precision"] ? "float16" : undefined,
  });
  const initFn = await checkpointInitFn(fs, flags, graph.getCollection<Variable>(GraphKeys.MODEL_VARIABLES));

  const workers = Number(flags["input-workers"] ?? 2);
  const pipelines: { close(): Promise<void> }[] = [];
  const data = async function* (startStep: number) {
    const pipeline = await imagePipeline(split.records, {
      height: imageSize, width: imageSize, channels, preprocessing, isTraining: true, batchSize,
      shuffleSeed: seed, repeat: true, workers, seed, skipRecords: startStep * batchSize,
    });
    pipelines.push(pipeline);
    yield* pipeline.batches;
  };

  console.log(
    `slimtrain: training ${modelName} on ${split.records.length} images of ${numClasses} classes (${split.layout}), ` +
      `${imageSize}x${imageSize}x${channels}, ${preprocessing} preprocessing, batch ${batchSize}, ${flags.optimizer} lr ${flags["learning-rate"]} ` +
      `(${flags["learning-rate-decay-type"]}), training ${variablesToTrain.length} variables, ${flags.ep} EP`,
  );
  const latest = await latestCheckpoint(fs, logdir);
  const startStep = latest ? Number(/model\.ckpt-(\d+)$/.exec(latest)?.[1] ?? 0) : 0;
  let progress: Progress | undefined;
  const started = performance.now();
  let lastStep = startStep;
  let finalLoss: number;
  try {
    finalLoss = await train(trainOp, logdir, {
      data, numberOfSteps: maxSteps, seed, executionProvider: flags.ep as ExecutionProvider, intraOpNumThreads: flags.threads as number | undefined,
      saveSummariesSecs: Number(flags["save-summaries-secs"]), saveIntervalSecs: Number(flags["save-interval-secs"]),
      logEveryNSteps: Number(flags["log-every-n-steps"]),
      log: (line) => (progress ? progress.log(line) : console.log(line)),
      initFn,
      onStep: ({ step, loss, secPerStep }) => {
        progress ??= new Progress(stdout, { totalSteps: maxSteps ?? step, batchSize, startStep });
        progress.update(step, loss, secPerStep);
        lastStep = step;
      },
    });
  } finally {
    await Promise.all(pipelines.map((p) => p.close()));
  }
  progress?.done();
  const secs = (performance.now() - started) / 1000;
  const ran = Math.max(1, lastStep - startStep);
  printTable([
    ["model", `${modelName} (${numClasses} classes)`],
    ["steps", `${lastStep} (${lastStep - startStep} this run)`],
    ["time", `${formatDuration(secs)} (${(secs / ran).toFixed(3)} s/step, ${((ran * batchSize) / secs).toFixed(1)} images/s)`],
    ["final loss", Number.isFinite(finalLoss) ? finalLoss.toFixed(4) : "n/a (no steps to run)"],
    ["checkpoint", (await latestCheckpoint(fs, logdir)) ?? "none"],
    ["evaluate", `slimtrain eval --model-name ${modelName} --dataset-dir ${datasetDir} --logdir ${logdir}`],
    ["TensorBoard", `tensorboard --logdir ${logdir}`],
  ]);
  return finalLoss;
}

/**
 * train_image_classifier's `_get_init_fn`: restores the model variables outside
 * `--checkpoint-exclude-scopes` from `--checkpoint-path` on a fresh start (a logdir
 * that already has a checkpoint resumes from it instead, as slim does).
 */
async function checkpointInitFn(fs: FileSystem, flags: Record<string, unknown>, modelVariables: readonly Variable[]) {
  if (flags["checkpoint-path"] === undefined) return undefined;
  let path = String(flags["checkpoint-path"]);
  if ((await fs.stat(path))?.isDirectory) {
    const latest = await latestCheckpoint(fs, path);
    if (!latest) throw new Error(`--checkpoint-path ${path} is a directory without a checkpoint file naming its latest checkpoint`);
    path = latest;
  }
  const exclude = scopeList(flags["checkpoint-exclude-scopes"]);
  const inScope = (name: string) => exclude.some((s) => name === s || name.startsWith(`${s.replace(/\/$/, "")}/`));
  const restore = modelVariables.filter((v) => !inScope(v.name));
  return assignFromCheckpointFn(path, restore, { ignoreMissingVars: Boolean(flags["ignore-missing-vars"]) });
}

function requireString(flags: Record<string, unknown>, name: string): string {
  const v = flags[name];
  if (typeof v !== "string" || v === "") throw new Error(`--${name} is required in image-classifier mode`);
  return v;
}
