/**
 * The `slimtrain` command: `train` (the main job), `eval`, `export`.
 * @module
 */
import { formatFlags, parseArgs } from "./args.ts";
import { EVAL_FLAGS, evalCommand, EXPORT_FLAGS, exportCommand } from "./eval_export_commands.ts";
import { TRAIN_FLAGS, trainCommand } from "./train_command.ts";

const USAGE = `slimtrain: TF-Slim's training workflow on ONNX Runtime

Usage:
  slimtrain train [flags]    train slim's vgg_16 on real handwritten digits (resumes from logdir)
  slimtrain eval [flags]     held-out accuracy of the latest (or a given) checkpoint
  slimtrain export [flags]   write an inference ONNX model with the trained weights
  slimtrain help [command]   this text, or a command's flags

Train flags:
${formatFlags(TRAIN_FLAGS)}

Then look at the run with: tensorboard --logdir logs/vgg16_digits`;

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
  const [command = "help", ...rest] = args;
  if (command === "help" || command === "--help" || command === "-h") {
    const sub = COMMANDS[rest[0] as keyof typeof COMMANDS];
    console.log(sub ? `slimtrain ${rest[0]} flags:\n${formatFlags(sub.flags)}` : USAGE);
    return 0;
  }
  const entry = COMMANDS[command as keyof typeof COMMANDS];
  if (!entry) {
    console.error(`Unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(`slimtrain ${command} flags:\n${formatFlags(entry.flags)}`);
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
