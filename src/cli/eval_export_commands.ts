/**
 * `slimtrain eval` (held-out accuracy of a checkpoint) and `slimtrain export`
 * (an inference ONNX model with the weights baked in).
 * @module
 */
import { latestCheckpoint, restoreCheckpoint } from "../checkpoint/mod.ts";
import { loadMnistDigits } from "../data/mnist.ts";
import { defaultFileSystem } from "../fs/default.ts";
import { compileModel } from "../onnx/compile.ts";
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
  { name: "batch-size", type: "number", default: 1, help: "batch size of the exported model's input" },
  ...COMMON_FLAGS,
];

async function resolveCheckpoint(flags: Record<string, unknown>) {
  const fs = await defaultFileSystem();
  const logdir = String(flags.logdir);
  const path = (flags.checkpoint as string | undefined) ?? (await latestCheckpoint(fs, logdir));
  if (!path) throw new Error(`No checkpoint in ${logdir}: train first (slimtrain train --logdir ${logdir}) or pass --checkpoint`);
  return { fs, restored: await restoreCheckpoint(fs, path) };
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
  const { restored } = await resolveCheckpoint(flags);
  const digits = await loadMnistDigits({ heldOut, seed: Number(flags.seed) });
  const { accuracy, examples } = await digitsAccuracy(restored.tensors, digits.test, {
    executionProvider: flags.ep as ExecutionProvider, intraOpNumThreads: flags.threads as number | undefined,
  });
  console.log(`${restored.path} (global step ${restored.globalStep}): held-out accuracy ${(100 * accuracy).toFixed(2)}% of ${examples} digits`);
  return accuracy;
}

/**
 * Writes an inference model (input `images` [batch, 32, 32, 1] NHWC, output `logits`).
 *
 * @example
 * ```ts
 * await exportCommand({ logdir: "logs/vgg16_digits", "batch-size": 1 });
 * ```
 */
export async function exportCommand(flags: Record<string, unknown>): Promise<string> {
  const { fs, restored } = await resolveCheckpoint(flags);
  const batch = Number(flags["batch-size"]);
  if (!(Number.isInteger(batch) && batch > 0)) throw new Error(`--batch-size must be a positive integer, got ${flags["batch-size"]}`);
  const { logits } = buildDigitsEvalGraph(batch);
  const model = compileModel({
    name: "vgg_16_digits", fetches: { logits }, frozen: restored.tensors,
    docString: `slim vgg_16 on 32x32 digits, from ${restored.path} (global step ${restored.globalStep})`,
  });
  const output = (flags.output as string | undefined) ?? fs.join(String(flags.logdir), "vgg16_digits.onnx");
  await fs.writeFileAtomic(output, model.bytes);
  console.log(`Wrote ${output}: input images [${batch}, 32, 32, 1] float32 NHWC in [0, 1], output logits [${batch}, 10]`);
  return output;
}
