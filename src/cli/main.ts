/**
 * The `slimtrain` command: `train` (the main job), `eval`, `export`.
 * @module
 */
import { type FlagSpec, formatFlags, parseArgs } from "./args.ts";
import { evalClassifierCommand } from "./classifier/eval_classifier.ts";
import { CLASSIFIER_EXPORT_FLAGS, exportClassifierCommand } from "./classifier/export_classifier.ts";
import { CLASSIFIER_EVAL_FLAGS, CLASSIFIER_TRAIN_FLAGS, isClassifierMode, normalizeFlagNames } from "./classifier/flags.ts";
import { trainClassifierCommand } from "./classifier/train_classifier.ts";
import { EVAL_FLAGS, evalCommand, EXPORT_FLAGS, exportCommand } from "./eval_export_commands.ts";
import { TRAIN_FLAGS, trainCommand } from "./train_command.ts";

const USAGE = `slimtrain: TF-Slim's training workflow on ONNX Runtime

Usage:
  slimtrain train [flags]    train slim's vgg_16 on real handwritten digits (resumes from logdir)
  slimtrain train --model-name <net> --dataset-dir <dir> [flags]
                             train_image_classifier: any slim net on your images (image folder or TFRecords)
  slimtrain eval [flags]     held-out accuracy of the latest (or a given) checkpoint
  slimtrain eval --model-name <net> --dataset-dir <dir> [flags]
                             eval_image_classifier: accuracy and recall@5 over a split
  slimtrain export [flags]   write an inference ONNX model with the trained weights
  slimtrain export --model-name <net> [flags]
                             the inference ONNX model of any net, preprocessing and classes in its metadata
  slimtrain help [command]   this text, or a command's flags

Train flags (the main job, no --model-name):
${formatFlags(TRAIN_FLAGS)}

Train flags with --model-name (train_image_classifier's defaults; slim's snake_case names work too):
${formatFlags(CLASSIFIER_TRAIN_FLAGS)}

Then look at the run with: tensorboard --logdir logs/vgg16_digits`;

/** Image-classifier mode of train and eval: taken when the arguments name a net. */
const CLASSIFIER_COMMANDS: Record<string, { flags: FlagSpec[]; run: (flags: Record<string, unknown>) => Promise<unknown> }> = {
  train: { flags: CLASSIFIER_TRAIN_FLAGS, run: trainClassifierCommand },
  eval: { flags: CLASSIFIER_EVAL_FLAGS, run: evalClassifierCommand },
  export: { flags: CLASSIFIER_EXPORT_FLAGS, run: exportClassifierCommand },
};

const COMMANDS = {
  train: { flags: TRAIN_FLAGS, run: trainCommand },
  eval: { flags: EVAL_FLAGS, run: evalCommand },
  export: { flags: EXPORT_FLAGS, run: exportCommand },
} as const;

/**
 * Runs the CLI with these arguments; returns the exit code.
 *
 * @example
 * ```ts
 * await main(["train", "--steps", "10"]);
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const [command = "help", ...given] = args;
  const classifier = CLASSIFIER_COMMANDS[command] && isClassifierMode(given) ? CLASSIFIER_COMMANDS[command] : undefined;
  const rest = classifier ? normalizeFlagNames(given, { evaluating: command === "eval" || command === "export" }) : given;
  if (command === "help" || command === "--help" || command === "-h") {
    const sub = COMMANDS[rest[0] as keyof typeof COMMANDS];
    const withNet = CLASSIFIER_COMMANDS[rest[0]];
    console.log(
      sub
        ? `slimtrain ${rest[0]} flags:\n${formatFlags(sub.flags)}` +
          (withNet ? `\n\nslimtrain ${rest[0]} --model-name <net> flags:\n${formatFlags(withNet.flags)}` : "")
        : USAGE,
    );
    return 0;
  }
  const entry = classifier ?? COMMANDS[command as keyof typeof COMMANDS];
  if (!entry) {
    console.error(`Unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    const withNet = !classifier && CLASSIFIER_COMMANDS[command];
    console.log(
      `slimtrain ${command}${classifier ? " --model-name <net>" : ""} flags:\n${formatFlags(entry.flags)}` +
        (withNet ? `\n\nslimtrain ${command} --model-name <net> flags:\n${formatFlags(withNet.flags)}` : ""),
    );
    return 0;
  }
  try {
    const { flags, positional } = parseArgs(rest, entry.flags);
    if (positional.length) throw new Error(`Unexpected argument ${JSON.stringify(positional[0])} (flags start with --)`);
    await entry.run(flags);
    return 0;
  } catch (err) {
    console.error(`slimtrain ${command}: ${(err as Error).message}`);
    return 1;
  }
}

// Run when executed directly (`deno run -A src/cli/main.ts`, `bun src/cli/main.ts`, or the built dist/cli.js).
if ((import.meta as { main?: boolean }).main) {
  const { cliArgs, exit } = await import("./platform.ts");
  exit(await main(cliArgs()));
}
