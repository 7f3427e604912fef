/**
 * `slimtrain eval` (held-out accuracy of a checkpoint) and `slimtrain export`
 * (an inference ONNX model with the weights baked in).
 * @module
 */
import { latestCheckpoint, restoreCheckpoint } from "../checkpoint/mod.ts";
import { loadMnistDigits } from "../data/mnist.ts";
import { defaultFileSystem } from "../fs/default.ts";
import { exportInferenceModel } from "../learning/export.ts";
import type { ExecutionProvider } from "../runtime/types.ts";
import { COMMON_FLAGS } from "./train_command.ts";
import type { FlagSpec } from "./args.ts";
import { digitsAccuracy } from "./digits_eval.ts";
import { buildDigitsEvalGraph } from "./digits_model.ts";

/** Flags of `slimtrain eval`. */
export const EVAL_FLAGS: FlagSpec[] = [
  { name: "checkpoint", type: "string", help: "checkpoint prefix (default: the latest in logdir)" },
  { name: "seed", type: "number", default: 0, help: "the seed the run was trained with (picks the held-out split)" },
  ...COMMON_FLAGS,
];

/** Flags of `slimtrain export`. */
export const EXPORT_FLAGS: FlagSpec[] = [
  { name: "checkpoint", type: "string", help: "checkpoint prefix (default: the latest in logdir)" },
  { name: "output", type: "string", help: "where to write the model (default: <logdir>/vgg16_digits.onnx)" },
  { name: "batch-size", type: "number", help: "a fixed batch size for the exported model's input (default: any batch size)" },
  ...COMMON_FLAGS,
];

async function resolveCheckpoint(flags: Record<string, unknown>) {
  const fs = await defaultFileSystem();
  const logdir = String(flags.logdir);
  const path = (flags.checkpoint as string | undefined) ?? (await latestCheckpoint(fs, logdir));
  if (!path) throw new Error(`No checkpoint in ${logdir}: train first (slimtrain train --logdir ${logdir}) or pass --checkpoint`);
  return { fs, path };
}

/**
 * Prints and returns the held-out accuracy of a checkpoint.
 *
 * @example
 * ```ts
 * await evalCommand({ logdir: "logs/vgg16_digits", "held-out": 2000, seed: 0, ep: "cpu" });
 * ```
 */
export async function evalCommand(flags: Record<string, unknown>): Promise<number> {
  const heldOut = Number(flags["held-out"]);
  if (!(Number.isInteger(heldOut) && heldOut >= 1 && heldOut <= 10000)) {
    throw new Error(`--held-out must be an integer from 1 to 10000 (the digits to evaluate on), got ${flags["held-out"]}`);
  }
  const { fs, path } = await resolveCheckpoint(flags);
  const restored = await restoreCheckpoint(fs, path);
  const digits = await loadMnistDigits({ heldOut, seed: Number(flags.seed) });
  const { accuracy, examples } = await digitsAccuracy(restored, digits.test, {
    executionProvider: flags.ep as ExecutionProvider, intraOpNumThreads: flags.threads as number | undefined,
  });
  console.log(`${restored.path} (global step ${restored.globalStep}): held-out accuracy ${(100 * accuracy).toFixed(2)}% of ${examples} digits`);
  return accuracy;
}

/**
 * Writes an inference model (input `images` [batch, 32, 32, 1] NHWC, output
 * `logits` [batch, 10]); the batch is symbolic (any size) unless `--batch-size` fixes it.
 *
 * @example
 * ```ts
 * await exportCommand({ logdir: "logs/vgg16_digits" });
 * ```
 */
export async function exportCommand(flags: Record<string, unknown>): Promise<string> {
  const batch = flags["batch-size"] === undefined ? null : Number(flags["batch-size"]);
  if (batch !== null && !(Number.isInteger(batch) && batch > 0)) {
    throw new Error(`--batch-size must be a positive integer (or left out for any batch size), got ${flags["batch-size"]}`);
  }
  const { fs, path } = await resolveCheckpoint(flags);
  const { logits } = buildDigitsEvalGraph(batch);
  const output = (flags.output as string | undefined) ?? fs.join(String(flags.logdir), "vgg16_digits.onnx");
  // The library's export: it checks the checkpoint against the graph and refuses one of another model.
  await exportInferenceModel(path, output, { outputs: { logits }, fs, name: "vgg_16_digits", metadata: { "slimtrain.model": "slim vgg_16 on 32x32 digits" } });
  const n = batch ?? "batch";
  console.log(`Wrote ${output}: input images [${n}, 32, 32, 1] float32 NHWC in [0, 1], output logits [${n}, 10]`);
  return output;
}
