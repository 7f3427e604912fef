/**
 * The CLI's contact with its runtime: arguments, output, exit. Node.js, Deno and
 * Bun all provide `process` (Deno through its Node compatibility layer).
 * @module
 */
import process from "node:process";

/** Command-line arguments after the script name. */
export function cliArgs(): string[] {
  const deno = (globalThis as { Deno?: { args: string[] } }).Deno;
  return deno ? [...deno.args] : process.argv.slice(2);
}

/** Standard output as the progress bar wants it. */
export const stdout = {
  get isTTY(): boolean {
    return Boolean(process.stdout.isTTY);
  },
  write(text: string): void {
    process.stdout.write(text);
  },
};

/** Ends the process with a status code. */
export function exit(code: number): never {
  process.exit(code);
}
