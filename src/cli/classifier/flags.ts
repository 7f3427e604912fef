/**
 * The flags of `slimtrain train` and `slimtrain eval` in image-classifier mode:
 * train_image_classifier.py's and eval_image_classifier.py's, with their
 * defaults, in kebab-case; slim's snake_case spellings and its old names
 * (`--train_dir`, `--eval_dir`) are accepted as aliases.
 * @module
 */
import type { FlagSpec } from "../args.ts";

/** Optimizers of train_image_classifier (`--optimizer`). */
export const CLASSIFIER_OPTIMIZERS = ["adadelta", "adagrad", "adam", "ftrl", "momentum", "rmsprop", "sgd"] as const;

/** Learning-rate decay types of train_image_classifier, plus cosine. */
export const CLASSIFIER_DECAY_TYPES = ["fixed", "exponential", "polynomial", "cosine"] as const;

const DATASET_FLAGS: FlagSpec[] = [
  { name: "model-name", type: "string", help: "net to train, as nets.getNetworkFn names it (resnet_v1_50, mobilenet_v2, lenet, ...)" },
  { name: "dataset-dir", type: "string", help: "image folder (<dir>/<class>/*.png|jpg, or <dir>/<split>/<class>/...) or slim's TFRecord shards with labels.txt" },
  { name: "dataset-split-name", type: "string", default: "train", help: "split: a subfolder of --dataset-dir, or the <name>_<split>_*.tfrecord shards" },
  { name: "preprocessing-name", type: "string", help: "slim preprocessing (vgg, inception, lenet, cifarnet); default: the net's, as slim's preprocessing_factory" },
  { name: "labels-offset", type: "number", default: 0, help: "subtracted from every label (1 for nets trained with a background class)" },
  { name: "ep", type: "string", default: "cpu", choices: ["cpu", "webgpu", "cuda", "wasm"], help: "ONNX Runtime execution provider" },
  { name: "threads", type: "number", help: "CPU threads per op (default: all cores)" },
  { name: "input-workers", type: "number", default: 2, help: "worker threads that decode and preprocess images (0: on the training thread)" },
];

/** `slimtrain train --model-name ...`: train_image_classifier's flags and defaults. */
export const CLASSIFIER_TRAIN_FLAGS: FlagSpec[] = [
  ...DATASET_FLAGS,
  { name: "logdir", type: "string", default: "logs/train", help: "checkpoints and TensorBoard events (alias --train-dir)" },
  { name: "train-image-size", type: "number", help: "image side; default: the net's defaultImageSize" },
  { name: "batch-size", type: "number", default: 32, help: "images per step" },
  { name: "max-number-of-steps", type: "number", help: "train until the global step reaches this (alias --steps; default: until stopped)" },
  { name: "optimizer", type: "string", default: "rmsprop", choices: CLASSIFIER_OPTIMIZERS, help: "optimizer" },
  { name: "adadelta-rho", type: "number", default: 0.95, help: "decay of adadelta's accumulators" },
  { name: "adagrad-initial-accumulator-value", type: "number", default: 0.1, help: "adagrad's starting accumulator" },
  { name: "adam-beta1", type: "number", default: 0.9, help: "adam's first-moment decay" },
  { name: "adam-beta2", type: "number", default: 0.999, help: "adam's second-moment decay" },
  { name: "opt-epsilon", type: "number", default: 1.0, help: "epsilon of adadelta, adam and rmsprop (slim's default 1.0)" },
  { name: "ftrl-learning-rate-power", type: "number", default: -0.5, help: "ftrl's learning-rate power" },
  { name: "ftrl-initial-accumulator-value", type: "number", default: 0.1, help: "ftrl's starting accumulator" },
  { name: "ftrl-l1", type: "number", default: 0, help: "ftrl's L1 strength" },
  { name: "ftrl-l2", type: "number", default: 0, help: "ftrl's L2 strength" },
  { name: "momentum", type: "number", default: 0.9, help: "momentum of the momentum optimizer" },
  { name: "rmsprop-momentum", type: "number", default: 0.9, help: "rmsprop's momentum" },
  { name: "rmsprop-decay", type: "number", default: 0.9, help: "rmsprop's decay" },
  { name: "learning-rate", type: "number", default: 0.01, help: "initial learning rate" },
  { name: "learning-rate-decay-type", type: "string", default: "exponential", choices: CLASSIFIER_DECAY_TYPES, help: "fixed, exponential (staircase), polynomial or cosine" },
  { name: "end-learning-rate", type: "number", default: 0.0001, help: "where polynomial decay ends" },
  { name: "learning-rate-decay-factor", type: "number", default: 0.94, help: "exponential decay factor" },
  { name: "num-epochs-per-decay", type: "number", default: 2.0, help: "epochs between decays (and polynomial decay's span)" },
  { name: "label-smoothing", type: "number", default: 0, help: "label smoothing of the cross-entropy" },
  { name: "weight-decay", type: "number", default: 0.00004, help: "L2 weight decay of the net's arg scope" },
  { name: "moving-average-decay", type: "number", help: "keep exponential moving averages of the trained variables with this decay (default: none)" },
  {
    name: "mixed-precision", type: "boolean", default: false,
    help: "float16 convolutions and matrix products with dynamic loss scaling (needs a WebGPU adapter with shader-f16; emulated on cpu/wasm)",
  },
  { name: "checkpoint-path", type: "string", help: "start from this checkpoint: slimtrain checkpoint or logdir, TF checkpoint, safetensors or ONNX file" },
  { name: "checkpoint-exclude-scopes", type: "string", help: "comma-separated scopes not restored from --checkpoint-path (e.g. the head)" },
  { name: "trainable-scopes", type: "string", help: "comma-separated scopes to train (default: every trainable variable)" },
  { name: "ignore-missing-vars", type: "boolean", default: false, help: "skip variables --checkpoint-path lacks instead of failing" },
  { name: "save-interval-secs", type: "number", default: 600, help: "seconds between checkpoints" },
  { name: "save-summaries-secs", type: "number", default: 600, help: "seconds between TensorBoard summaries" },
  { name: "log-every-n-steps", type: "number", default: 10, help: "log the loss every N steps" },
  { name: "seed", type: "number", default: 0, help: "seed for initial weights, data order, augmentation and dropout" },
  { name: "fresh", type: "boolean", default: false, help: "delete existing checkpoints in logdir and start over (default: resume)" },
];

/** `slimtrain eval --model-name ...`: eval_image_classifier's flags and defaults. */
export const CLASSIFIER_EVAL_FLAGS: FlagSpec[] = [
  ...DATASET_FLAGS.map((f) => (f.name === "dataset-split-name" ? { ...f, default: "test" } : f)),
  { name: "logdir", type: "string", default: "logs/train", help: "checkpoint directory to evaluate (alias --checkpoint-path)" },
  { name: "eval-dir", type: "string", help: "where eval summaries go (default: <logdir>/eval)" },
  { name: "eval-image-size", type: "number", help: "image side; default: the net's defaultImageSize" },
  { name: "batch-size", type: "number", default: 100, help: "images per batch (a last partial batch counts)" },
  { name: "max-num-batches", type: "number", help: "stop after this many batches (default: the whole split)" },
  { name: "moving-average-decay", type: "number", help: "evaluate the moving averages when the checkpoint has them" },
  { name: "eval-interval-secs", type: "number", help: "keep evaluating each new checkpoint, polling this often (default: once)" },
];

const ALIASES: Record<string, string> = {
  "train-dir": "logdir",
  "steps": "max-number-of-steps",
};

/**
 * Rewrites slim's spellings to the kebab-case flags: `--model_name=x` becomes
 * `--model-name=x`, `--train_dir` becomes `--logdir`, and (for eval)
 * `--checkpoint_path` becomes `--logdir`.
 *
 * @example
 * ```ts
 * normalizeFlagNames(["--model_name", "lenet", "--train_dir=logs/a"]); // ["--model-name", "lenet", "--logdir=logs/a"]
 * ```
 */
export function normalizeFlagNames(argv: readonly string[], { evaluating = false }: { evaluating?: boolean } = {}): string[] {
  return argv.map((a) => {
    if (!a.startsWith("--")) return a;
    const [name, ...rest] = a.slice(2).split("=");
    let kebab = name.replaceAll("_", "-");
    kebab = ALIASES[kebab] ?? kebab;
    if (evaluating && kebab === "checkpoint-path") kebab = "logdir";
    return `--${[kebab, ...rest].join("=")}`;
  });
}

/**
 * Whether `argv` asks for image-classifier mode (it names a net).
 *
 * @example
 * ```ts
 * isClassifierMode(["--model-name", "lenet"]); // true
 * ```
 */
export function isClassifierMode(argv: readonly string[]): boolean {
  return argv.some((a) => /^--model[-_]name(=|$)/.test(a));
}

/**
 * The comma-separated scopes of a flag, trimmed, empty entries dropped.
 *
 * @example
 * ```ts
 * scopeList("LeNet/fc4, LeNet/fc3"); // ["LeNet/fc4", "LeNet/fc3"]
 * ```
 */
export function scopeList(value: unknown): string[] {
  return typeof value === "string" ? value.split(",").map((s) => s.trim()).filter(Boolean) : [];
}
