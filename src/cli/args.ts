/**
 * A small flag parser for the CLI: `--name value`, `--name=value`, boolean
 * `--flag` / `--no-flag`, with types, defaults and a clear error for unknown or
 * malformed flags.
 * @module
 */

/** One flag the CLI accepts. */
export interface FlagSpec {
  name: string;
  type: "number" | "string" | "boolean";
  default?: number | string | boolean;
  help: string;
  /** Allowed values for a string flag. */
  choices?: readonly string[];
}

/** Parsed flags and the positional arguments. */
export interface ParsedArgs {
  flags: Record<string, number | string | boolean | undefined>;
  positional: string[];
}

/**
 * Parses `argv` against `specs`.
 *
 * @example
 * ```ts
 * parseArgs(["--steps", "100", "logs"], [{ name: "steps", type: "number", help: "" }]);
 * // { flags: { steps: 100 }, positional: ["logs"] }
 * ```
 */
export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const flags: ParsedArgs["flags"] = Object.fromEntries(specs.map((s) => [s.name, s.default]));
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) {
      positional.push(a);
      continue;
    }
    let [name, value] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    let spec = byName.get(name);
    if (!spec && name.startsWith("no-") && byName.get(name.slice(3))?.type === "boolean") {
      spec = byName.get(name.slice(3))!;
      flags[spec.name] = false;
      continue;
    }
    if (!spec) throw new Error(`Unknown flag --${name} (see --help)`);
    if (spec.type === "boolean") {
      flags[name] = value === undefined ? true : !["false", "0", "no"].includes(value);
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new Error(`Flag --${name} needs a value`);
    }
    if (spec.type === "number") {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new Error(`Flag --${name} must be a number, got ${JSON.stringify(value)}`);
      flags[name] = n;
    } else {
      if (spec.choices && !spec.choices.includes(value)) {
        throw new Error(`Flag --${name} must be one of ${spec.choices.join(", ")}, got ${JSON.stringify(value)}`);
      }
      flags[name] = value;
    }
  }
  return { flags, positional };
}

/**
 * Formats flag help lines, aligned.
 *
 * @example
 * ```ts
 * console.log(formatFlags(TRAIN_FLAGS));
 * ```
 */
export function formatFlags(specs: readonly FlagSpec[]): string {
  const left = specs.map((s) => `  --${s.name}${s.type === "boolean" ? "" : ` <${s.choices ? s.choices.join("|") : s.type}>`}`);
  const width = Math.max(...left.map((l) => l.length)) + 2;
  return specs.map((s, i) => `${left[i].padEnd(width)}${s.help}${s.default !== undefined && s.default !== false ? ` (default: ${s.default})` : ""}`).join("\n");
}
