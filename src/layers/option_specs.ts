/**
 * What each layer's options object may hold, declared once per layer and checked
 * by `scopedOptions` and `argScope` when the graph is built, so slim's snake_case
 * spellings (`activation_fn`) and wrong types (`weightsInitializer: 0.1`) fail
 * there, naming the layer, the option and what it takes, instead of being ignored
 * or crashing at train time.
 * @module
 */

/** One option's accepted values: a description for messages and a test. */
export interface OptionType {
  /** What the option takes, e.g. "a function or null". */
  readonly describe: string;
  /** Whether `value` (never undefined: undefined means "not given") is accepted. */
  readonly accepts: (value: unknown) => boolean;
}

/** A layer's options by name. */
export type OptionSpecs = Readonly<Record<string, OptionType>>;

const isPlainObject = (v: unknown): boolean => typeof v === "object" && v !== null && !Array.isArray(v);

function kind(describe: string, accepts: (v: unknown) => boolean): OptionType {
  return { describe, accepts };
}

/**
 * The same type, also accepting null.
 *
 * @example
 * ```ts
 * const spec = { activationFn: nullable(optionTypes.function) };
 * ```
 */
export function nullable(t: OptionType): OptionType {
  return kind(`${t.describe} or null`, (v) => v === null || t.accepts(v));
}

/**
 * The option types layers declare.
 *
 * @example
 * ```ts
 * addArgScope(myLayer, { options: { scale: optionTypes.number, scope: optionTypes.string } });
 * ```
 */
/** The option kinds layers declare. */
type OptionKind =
  | "number" | "boolean" | "string" | "function" | "object" | "numberOrPair" | "numbers" | "collections" | "initializer"
  | "regularizer" | "padding" | "dataFormat";

export const optionTypes: Readonly<Record<OptionKind, OptionType>> = {
  number: kind("a number", (v) => typeof v === "number"),
  boolean: kind("true or false", (v) => typeof v === "boolean"),
  string: kind("a string", (v) => typeof v === "string"),
  function: kind("a function", (v) => typeof v === "function"),
  object: kind("an object", isPlainObject),
  numberOrPair: kind("a number or an array of numbers", (v) => typeof v === "number" || (Array.isArray(v) && v.every((d) => typeof d === "number"))),
  numbers: kind("an array of numbers", (v) => Array.isArray(v) && v.every((d) => typeof d === "number")),
  collections: kind("a collection name or an array of them", (v) => typeof v === "string" || (Array.isArray(v) && v.every((c) => typeof c === "string"))),
  initializer: kind(
    "an initializer (e.g. xavierInitializer(), zerosInitializer())",
    (v) => typeof v === "object" && v !== null && typeof (v as { init?: unknown }).init === "function",
  ),
  regularizer: kind("a regularizer function (e.g. l2Regularizer(0.0005))", (v) => typeof v === "function"),
  padding: kind('"SAME" or "VALID"', (v) => v === "SAME" || v === "VALID"),
  dataFormat: kind('"NHWC" or "NCHW"', (v) => v === "NHWC" || v === "NCHW"),
};

const t = optionTypes;

/** `scope` and `outputsCollections`: what every layer takes. */
export const COMMON_OPTIONS: OptionSpecs = { scope: t.string, outputsCollections: t.collections };

/** Options of `fullyConnected` (and the base of every layer with weights). */
export const LAYER_OPTIONS: OptionSpecs = {
  ...COMMON_OPTIONS,
  activationFn: nullable(t.function),
  normalizerFn: nullable(t.function),
  normalizerParams: nullable(t.object),
  weightsInitializer: t.initializer,
  weightsRegularizer: nullable(t.regularizer),
  biasesInitializer: nullable(t.initializer),
  biasesRegularizer: nullable(t.regularizer),
  trainable: t.boolean,
};

/** Options of `conv2d`. */
export const CONV_OPTIONS: OptionSpecs = {
  ...LAYER_OPTIONS,
  stride: t.numberOrPair,
  padding: t.padding,
  rate: t.numberOrPair,
  dataFormat: t.dataFormat,
  trainDataTapsOnly: t.boolean,
};

/**
 * Throws at the first option `spec` does not know or whose value it does not
 * accept, naming the layer, the option and the accepted spelling or type.
 * `where` prefixes the message (e.g. "argScope: " for scope defaults).
 *
 * @example
 * ```ts
 * checkOptions("conv2d", CONV_OPTIONS, { activation_fn: null });
 * // Error: conv2d: unknown option activation_fn; did you mean activationFn?
 * ```
 */
export function checkOptions(layer: string, spec: OptionSpecs, options: object, where = ""): void {
  if (!isPlainObject(options)) {
    throw new Error(`${where}${layer}: options must be an object, got ${describeValue(options)}`);
  }
  for (const [key, value] of Object.entries(options)) {
    const type = Object.hasOwn(spec, key) ? spec[key] : undefined;
    if (!type) {
      const guess = suggest(key, Object.keys(spec));
      throw new Error(
        `${where}${layer}: unknown option ${key}; ${guess ? `did you mean ${guess}?` : `${layer} takes ${Object.keys(spec).join(", ")}`}`,
      );
    }
    if (value !== undefined && !type.accepts(value)) {
      throw new Error(`${where}${layer}: option ${key} must be ${type.describe}, got ${describeValue(value)}`);
    }
  }
}

function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `an array ${JSON.stringify(v).slice(0, 40)}`;
  if (typeof v === "function") return `a function ${v.name || "(anonymous)"}`;
  if (typeof v === "object") return "an object";
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** The known name `key` most likely meant: its camelCase form, or the closest by edit distance. */
function suggest(key: string, known: readonly string[]): string | undefined {
  const camel = key.replace(/_+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  const lower = (s: string) => s.toLowerCase().replace(/_/g, "");
  const exact = known.find((k) => k === camel || lower(k) === lower(key));
  if (exact) return exact;
  let best: string | undefined, bestDistance = Math.max(2, Math.floor(key.length / 4)) + 1;
  for (const k of known) {
    const d = editDistance(lower(k), lower(key));
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}
