/**
 * The `checkpoint` state file beside the checkpoints: TensorFlow's
 * `CheckpointState` protocol buffer in text format, so TensorFlow tools and
 * slimtrain agree on which checkpoint is the latest.
 * @module
 */
import type { FileSystem } from "../fs/types.ts";

/**
 * The name TensorFlow gives the state file.
 *
 * @example
 * ```ts
 * await fs.readFile(fs.join("logs", STATE_FILE));
 * ```
 */
export const STATE_FILE = "checkpoint";

/**
 * What the state file records; paths as written (relative to the logdir, or absolute).
 *
 * @example
 * ```ts
 * const state: CheckpointState = { latest: "model.ckpt-2", paths: ["model.ckpt-2"], timestamps: [1.7e9] };
 * ```
 */
export interface CheckpointState {
  latest: string;
  /** Kept checkpoints, oldest first. */
  paths: string[];
  /** Save times in seconds since the epoch, one per path. */
  timestamps: number[];
  /** Seconds since the epoch; checkpoints are preserved every N hours after this. */
  lastPreservedTimestamp?: number;
}

/**
 * Formats a state the way TensorFlow's text format prints it.
 *
 * @example
 * ```ts
 * formatState({ latest: "model.ckpt-2", paths: ["model.ckpt-1", "model.ckpt-2"], timestamps: [1, 2], lastPreservedTimestamp: 0 });
 * ```
 */
export function formatState(state: CheckpointState): string {
  const lines = [`model_checkpoint_path: ${quote(state.latest)}`];
  for (const p of state.paths) lines.push(`all_model_checkpoint_paths: ${quote(p)}`);
  for (const t of state.timestamps) lines.push(`all_model_checkpoint_timestamps: ${formatFloat(t)}`);
  if (state.lastPreservedTimestamp !== undefined) {
    lines.push(`last_preserved_timestamp: ${formatFloat(state.lastPreservedTimestamp)}`);
  }
  return lines.join("\n") + "\n";
}

/**
 * Parses a state file's text; null when it is not a usable state (a damaged
 * state file only costs the rotation history, so callers fall back to scanning).
 *
 * @example
 * ```ts
 * parseState('model_checkpoint_path: "model.ckpt-5"\n')?.latest; // "model.ckpt-5"
 * ```
 */
export function parseState(text: string): CheckpointState | null {
  const state: CheckpointState = { latest: "", paths: [], timestamps: [] };
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([A-Za-z_]+)\s*:\s*(.*)$/.exec(line);
    if (!m) return null;
    const [, key, value] = m;
    if (key === "model_checkpoint_path" || key === "all_model_checkpoint_paths") {
      const s = unquote(value);
      if (s === null) return null;
      if (key === "model_checkpoint_path") state.latest = s;
      else state.paths.push(s);
    } else if (key === "all_model_checkpoint_timestamps" || key === "last_preserved_timestamp") {
      const x = Number(value);
      if (value === "" || !Number.isFinite(x)) return null;
      if (key === "last_preserved_timestamp") state.lastPreservedTimestamp = x;
      else state.timestamps.push(x);
    }
    // Other fields are ignored, as a proto parser skips unknown ones it tolerates.
  }
  if (state.latest === "") return null;
  // TensorFlow guarantees the latest is among the kept ones; old writers did not.
  if (!state.paths.includes(state.latest)) state.paths.push(state.latest);
  return state;
}

/**
 * Reads `<logdir>/checkpoint`; null when it is missing or unusable.
 *
 * @example
 * ```ts
 * const state = await readState(fs, "logs/run1");
 * ```
 */
export async function readState(fs: FileSystem, logdir: string): Promise<CheckpointState | null> {
  const path = fs.join(logdir, STATE_FILE);
  if (!(await fs.stat(path))?.isFile) return null;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(await fs.readFile(path));
  } catch {
    return null;
  }
  return parseState(text);
}

/**
 * Resolves a path from the state file against the logdir, as TensorFlow does.
 *
 * @example
 * ```ts
 * resolveStatePath(fs, "logs", "model.ckpt-5"); // "logs/model.ckpt-5"
 * ```
 */
export function resolveStatePath(fs: FileSystem, logdir: string, path: string): string {
  return /^([\\/]|[A-Za-z]:[\\/])/.test(path) ? path : fs.join(logdir, path);
}

/** Python prints floats with a fractional part; matching it keeps diffs against TF-written files quiet. */
function formatFloat(x: number): string {
  return Number.isInteger(x) && Math.abs(x) < 1e16 ? x.toFixed(1) : String(x);
}

function quote(s: string): string {
  // deno-lint-ignore no-control-regex -- control characters are exactly what must be escaped
  return `"${s.replace(/[\\"\x00-\x1f\x7f]/g, (c) => {
    if (c === "\\" || c === '"') return "\\" + c;
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    return "\\" + c.charCodeAt(0).toString(8).padStart(3, "0");
  })}"`;
}

const SIMPLE_ESCAPES: Record<string, number> = {
  n: 10, r: 13, t: 9, a: 7, b: 8, f: 12, v: 11, "\\": 92, "'": 39, '"': 34, "?": 63,
};

/** Text format strings are C-escaped bytes (TensorFlow writes non-ASCII as octal), decoded as UTF-8. */
function unquote(value: string): string | null {
  const q = value[0];
  if ((q !== '"' && q !== "'") || value.length < 2 || value[value.length - 1] !== q) return null;
  const body = value.slice(1, -1);
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === q) return null;
    if (c !== "\\") {
      const cp = body.codePointAt(i)!;
      bytes.push(...enc.encode(String.fromCodePoint(cp)));
      if (cp > 0xffff) i++;
      continue;
    }
    const e = body[++i];
    if (e === undefined) return null;
    const oct = /^[0-7]{1,3}/.exec(body.slice(i, i + 3));
    const hex = e === "x" ? /^[0-9A-Fa-f]{1,2}/.exec(body.slice(i + 1, i + 3)) : null;
    if (oct) {
      bytes.push(parseInt(oct[0], 8) & 0xff);
      i += oct[0].length - 1;
    } else if (hex) {
      bytes.push(parseInt(hex[0], 16));
      i += hex[0].length;
    } else if (Object.hasOwn(SIMPLE_ESCAPES, e)) {
      bytes.push(SIMPLE_ESCAPES[e]);
    } else {
      return null;
    }
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array(bytes));
  } catch {
    return null;
  }
}
