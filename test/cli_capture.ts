/**
 * Runs the `slimtrain` CLI in-process for the CLI tests, capturing what it prints.
 * Not a `_test.ts` file, so importing it registers no tests.
 * @module
 */
import process from "node:process";
import { main } from "../src/cli/main.ts";
import { assert } from "./harness.ts";

/** What a CLI run printed, and its exit code. */
export interface CliResult {
  code: number;
  /** console.log and the progress bar's stdout writes, in order. */
  out: string;
  /** console.error and console.warn. */
  err: string;
}

/**
 * Runs main() with console.log/error/warn and process.stdout.write captured.
 *
 * @example
 * ```ts
 * const { code, out } = await cli(["train", "--steps", "1"]);
 * ```
 */
export async function cli(args: string[]): Promise<CliResult> {
  let out = "", err = "";
  const log = console.log, error = console.error, warn = console.warn, write = process.stdout.write;
  console.log = (...xs: unknown[]) => void (out += xs.map(String).join(" ") + "\n");
  console.error = console.warn = (...xs: unknown[]) => void (err += xs.map(String).join(" ") + "\n");
  (process.stdout as { write: unknown }).write = (chunk: unknown) => {
    out += String(chunk);
    return true;
  };
  try {
    return { code: await main(args), out, err };
  } finally {
    console.log = log;
    console.error = error;
    console.warn = warn;
    (process.stdout as { write: unknown }).write = write;
  }
}

/**
 * The value of a row of a command's closing table, e.g. "final loss".
 *
 * @example
 * ```ts
 * row(out, "steps"); // "4 (4 this run)"
 * ```
 */
export function row(out: string, key: string): string {
  const m = out.match(new RegExp(`^  ${key} +(.*)$`, "m"));
  assert(m, `no "${key}" row in:\n${out}`);
  return m[1];
}
