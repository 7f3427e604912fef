/**
 * Checks for the arguments of the public API, for callers in plain JavaScript (or
 * with TensorFlow's or PyTorch's argument order in their fingers): each names the
 * function, the argument and what was given, so the mistake is found where it was
 * made rather than as a crash deep inside graph building or training.
 * @module
 */
import { DTYPES, type DType } from "./host_tensor.ts";

/**
 * A short, readable rendering of any value for "got ..." in error messages.
 *
 * @example
 * ```ts
 * describeValue([4, 10]); // "[4, 10]"
 * describeValue(new Float32Array(3)); // "a Float32Array of 3"
 * ```
 */
export function describeValue(x: unknown): string {
  if (x === null || x === undefined || typeof x === "number" || typeof x === "boolean") return String(x);
  if (typeof x === "string") return JSON.stringify(x);
  if (typeof x === "bigint") return `${x}n`;
  if (typeof x === "function") return x.name ? `the function ${x.name}` : "a function";
  if (ArrayBuffer.isView(x)) return `a ${x.constructor.name} of ${(x as unknown as ArrayLike<unknown>).length}`;
  if (Array.isArray(x)) {
    const shown = x.slice(0, 8).map((e) => Array.isArray(e) ? "[...]" : describeValue(e));
    return `[${shown.join(", ")}${x.length > 8 ? `, ... (${x.length} items)` : ""}]`;
  }
  const custom = (x as { toString?: () => string }).toString;
  if (typeof custom === "function" && custom !== Object.prototype.toString) return String(x);
  const ctor = (x as object).constructor;
  if (ctor && ctor !== Object) return `a ${ctor.name}`;
  const keys = Object.keys(x as object);
  return keys.length ? `an object with keys ${keys.join(", ")}` : "an empty object";
}

/**
 * True for the dtype names slimtrain graphs use.
 *
 * @example
 * ```ts
 * isDType("float32"); // true
 * isDType("float64"); // false
 * ```
 */
export function isDType(x: unknown): x is DType {
  return typeof x === "string" && (DTYPES as readonly string[]).includes(x);
}

/**
 * Throws unless `dtype` is one of slimtrain's dtypes; the message lists them and,
 * for a dtype slimtrain lacks, says which one to use instead.
 *
 * @example
 * ```ts
 * checkDType("placeholder", "dtype of placeholder x", "float64"); // throws: ... use float32
 * ```
 */
export function checkDType(fn: string, what: string, dtype: unknown): asserts dtype is DType {
  if (isDType(dtype)) return;
  const hint = typeof dtype === "string" && /^(float|double|half|bfloat)/.test(dtype)
    ? " (floating-point graphs are float32 here)"
    : typeof dtype === "string" && /^u?int/.test(dtype)
    ? " (integers are int64 or int32 here)"
    : "";
  throw new Error(`${fn}: ${what} must be one of ${DTYPES.map((d) => `"${d}"`).join(", ")}, got ${describeValue(dtype)}${hint}`);
}

/**
 * Throws unless `shape` is an array of non-negative integers.
 *
 * @example
 * ```ts
 * checkShape("constant", "shape", [2, 2]);
 * ```
 */
export function checkShape(fn: string, what: string, shape: unknown, { allowUnknown = false } = {}): asserts shape is number[] {
  if (!Array.isArray(shape)) {
    throw new Error(`${fn}: ${what} must be an array of non-negative integers, got ${describeValue(shape)}`);
  }
  shape.forEach((d, i) => {
    if (allowUnknown && (d === null || d === -1)) return;
    if (!(typeof d === "number" && Number.isInteger(d) && d >= 0)) {
      const rule = allowUnknown
        ? "every dimension must be a non-negative integer, or null / -1 for one known only at run time (such as the batch)"
        : (d === null || d === -1)
        ? `every dimension must be a non-negative integer (only a placeholder's may be unknown)`
        : "every dimension must be a non-negative integer";
      throw new Error(`${fn}: ${what} ${describeValue(shape)} has dimension ${i} = ${describeValue(d)}; ${rule}`);
    }
  });
}

/**
 * Throws on a key of `options` outside `known`, naming the option, the known
 * ones and, for a snake_case spelling of a known option, its camelCase form.
 *
 * @example
 * ```ts
 * checkOptionNames("variable", "weights", { shape: [2], initialzer: x }, ["shape", "initializer"]); // throws
 * ```
 */
export function checkOptionNames(fn: string, subject: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    const hint = camel !== key && known.includes(camel) ? `; slimtrain spells it ${camel}` : "";
    throw new Error(`${fn}: unknown option ${key} for ${subject}${hint} (known: ${known.join(", ")})`);
  }
}

/**
 * True for a plain options object (not null, an array, a typed array or a tensor).
 *
 * @example
 * ```ts
 * isOptionsObject({ shape: [2] }); // true
 * isOptionsObject([2]); // false
 * ```
 */
export function isOptionsObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== "object" || x === null || Array.isArray(x) || ArrayBuffer.isView(x)) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}
