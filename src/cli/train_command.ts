/**
 * `slimtrain train`: slim's vgg_16 on the bundled real digits, with a progress
 * bar, TensorBoard logs, checkpoints, resume, and a closing summary table.
 * @module
 */
import { restoreLatest } from "../checkpoint/mod.ts";
import { Dataset } from "../data/dataset.ts";
import { loadMnistDigits } from "../data/mnist.ts";
import { defaultFileSystem } from "../fs/default.ts";
import { GraphKeys } from "../graph/graph.ts";
import type { Variable } from "../graph/variable.ts";
import { train } from "../learning/train.ts";
import type { ExecutionProvider } from "../runtime/types.ts";
import type { FlagSpec } from "./args.ts";
import { digitsAccuracy } from "./digits_eval.ts";
import { buildDigitsTrainGraph, DECAY_TYPES, learningRateByName, OPTIMIZERS, optimizerByName } from "./digits_model.ts";
import { positiveInteger, printTable, removeCheckpoints } from "./command_utils.ts";
import { formatDuration, Progress } from "./progress.ts";
import { stdout } from "./platform.ts";

/** Flags shared by train, eval and export. */
export const COMMON_FLAGS: FlagSpec[] = [
  { name: "logdir", type: "string", default: "logs/vgg16_digits", help: "where checkpoints and TensorBoard events go" },
  { name: "ep", type: "string", default: "cpu", choices: ["cpu", "webgpu", "cuda", "wasm"], help: "ONNX Runtime execution provider" },
  { name: "threads", type: "number", help: "CPU threads per op (default: all cores)" },
  { name: "held-out", type: "number", default: 2000, help: "digits kept out of training for evaluation" },
];

/** Flags of `slimtrain train`. */
export const TRAIN_FLAGS: FlagSpec[] = [
  { name: "steps", type: "number", default: 850, help: "train until the global step reaches this" },
  { name: "batch-size", type: "number", default: 32, help: "images per step" },
  { name: "learning-rate", type: "number", default: 2e-4, help: "optimizer learning rate (the peak, when it decays)" },
  {
    name: "learning-rate-decay-type", type: "string", default: "cosine", choices: DECAY_TYPES,
    help: "how the learning rate falls: fixed, exponential (x0.94 every 2 epochs), or polynomial/cosine to 0 at --steps",
  },
  { name: "optimizer", type: "string", default: "adam", choices: OPTIMIZERS, help: "optimizer" },
  { name: "weight-decay", type: "number", default: 0.0005, help: "L2 weight decay (slim's vgg_arg_scope)" },
  { name: "seed", type: "number", default: 0, help: "seed for initial weights, data order and dropout" },
  { name: "fresh", type: "boolean", default: false, help: "delete existing checkpoints in logdir and start over (default: resume)" },
  { name: "save-summaries-secs", type: "number", default: 30, help: "seconds between TensorBoard summaries" },
  { name: "save-interval-secs", type: "number", default: 600, help: "seconds between checkpoints (slim's default)" },
  {
    name: "mixed-precision", type: "boolean", default: false,
    help: "float16 convolutions and matrix products with dynamic loss scaling (needs a WebGPU adapter with shader-f16; emulated on cpu/wasm)",
  },
  {
    name: "steps-per-run", type: "number", default: 1,
    help: "train steps unrolled into one ONNX Runtime call (same results; 4 is ~10% faster a step but peaks ~0.9 GB higher)",
  },
  ...COMMON_FLAGS,
];

/**
 * Runs the main job and prints the summary table; returns the held-out accuracy.
 *
 * @example
 * ```ts
 * await trainCommand({ steps: 20, "batch-size": 8, logdir: "logs/try" });
 * ```
 */
export async function trainCommand(flags: Record<string, unknown>): Promise<number> {
  const logdir = String(flags.logdir), steps = positiveInteger(flags, "steps"), batchSize = positiveInteger(flags, "batch-size");
  const seed = Number(flags.seed), ep = flags.ep as ExecutionProvider;
  // Checked here so a bad value fails at once, naming the flag, not after the digits load and VGG-16 compiles.
  if (flags["steps-per-run"] !== undefined) positiveInteger(flags, "steps-per-run");
  if (flags.threads !== undefined) positiveInteger(flags, "threads");
  const heldOut = Number(flags["held-out"]), maxHeldOut = MNIST_COUNT - batchSize;
  if (!(Number.isInteger(heldOut) && heldOut >= 1 && heldOut <= maxHeldOut)) {
    throw new Error(`--held-out must be an integer from 1 to ${maxHeldOut} (the rest, at least one batch, trains), got ${flags["held-out"]}`);
  }
  for (const name of ["save-summaries-secs", "save-interval-secs"]) {
    if (!(Number(flags[name]) >= 0)) throw new Error(`--${name} must be a non-negative number, got ${flags[name]}`);
  }
  const fs = await defaultFileSystem();
  if (flags.fresh) await removeCheckpoints(fs, logdir);

  const digits = await loadMnistDigits({ heldOut, seed });
  const trainCount = digits.train.labels.shape[0];
  const learningRate = learningRateByName(String(flags["learning-rate-decay-type"]), Number(flags["learning-rate"]), {
    steps, stepsPerEpoch: Math.floor(trainCount / batchSize),
  });
  const { trainOp } = buildDigitsTrainGraph({
    batchSize, optimizer: optimizerByName(String(flags.optimizer), learningRate), weightDecay: Number(flags["weight-decay"]),
    mixedPrecision: flags["mixed-precision"] ? "float16" : undefined,
  });
  const data = (startStep: number) =>
    Dataset.fromTensorSlices({ images: digits.train.images, labels: digits.train.labels })
      .shuffle(trainCount, { seed }).repeat().batch(batchSize, { dropRemainder: true }).skip(startStep).prefetch(2);

  console.log(`slimtrain: training vgg_16 on ${trainCount} real digits (${digits.test.labels.shape[0]} held out), batch ${batchSize}, ${flags.optimizer} lr ${flags["learning-rate"]} (${flags["learning-rate-decay-type"]}), ${ep} EP`);
  let progress: Progress | undefined;
  const started = performance.now();
  // Where this run started: the step before its first one (the progress bar's origin and the table's "this run").
  let startStep: number | undefined;
  const finalLoss = await train(trainOp, logdir, {
    data, numberOfSteps: steps, seed, executionProvider: ep, intraOpNumThreads: flags.threads as number | undefined,
    saveSummariesSecs: Number(flags["save-summaries-secs"]), saveIntervalSecs: Number(flags["save-interval-secs"]),
    logEveryNSteps: 0, stepsPerRun: Number(flags["steps-per-run"]),
    log: (line) => (progress ? progress.log(line) : console.log(line)),
    initFn: () => {},
    onStep: ({ step, loss, secPerStep }) => {
      if (!progress) {
        startStep = step - 1;
        progress = new Progress(stdout, { totalSteps: steps, batchSize, startStep });
      }
      progress.update(step, loss, secPerStep);
    },
  });
  progress?.done();
  const trainSecs = (performance.now() - started) / 1000;
  // The weights only: Adam's two slots are two thirds of the file and evaluation needs none of them.
  const weights = trainOp.totalLoss.graph.getCollection<Variable>(GraphKeys.MODEL_VARIABLES).map((v) => v.name);
  const restored = await restoreLatest(fs, logdir, { names: weights });
  if (!restored) throw new Error(`No checkpoint in ${logdir} after training`);
  const ranFrom = startStep ?? restored.globalStep;
  const { accuracy, examples } = await digitsAccuracy(restored, digits.test, { executionProvider: ep, intraOpNumThreads: flags.threads as number | undefined });
  const rows: [string, string][] = [
    ["steps", `${restored.globalStep} (${restored.globalStep - ranFrom} this run)`],
    ["time", `${formatDuration(trainSecs)} (${(trainSecs / Math.max(1, restored.globalStep - ranFrom)).toFixed(3)} s/step)`],
    ["final loss", Number.isFinite(finalLoss) ? finalLoss.toFixed(4) : "n/a (no steps to run)"],
    ["held-out accuracy", `${(100 * accuracy).toFixed(2)}% of ${examples} digits`],
    ["checkpoint", restored.path],
    ["TensorBoard", `tensorboard --logdir ${logdir}`],
  ];
  printTable(rows);
  return accuracy;
}

/** The digits the `mnist` package ships, split into train and held-out. */
const MNIST_COUNT = 10000;
