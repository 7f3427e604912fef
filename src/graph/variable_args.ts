/**
 * Argument checks of `placeholder`, `variable` and `constant`. Their signatures
 * differ from TensorFlow's (`tf.placeholder(dtype, shape)`, `tf.get_variable(name,
 * shape)`, `tf.constant(value, dtype)`), so a call in TensorFlow's order is
 * recognised and answered with the call to write instead.
 * @module
 */
import { checkDType, checkOptionNames, checkShape, describeValue, isDType, isOptionsObject } from "./arg_checks.ts";
import { Graph } from "./graph.ts";

const PLACEHOLDER_SIGNATURE = 'placeholder(shape, dtype = "float32", name = "Placeholder")';

/**
 * Checks `placeholder(shape, dtype, name, graph)`.
 *
 * @example
 * ```ts
 * checkPlaceholderArgs("float32", [4, 10], "x", graph); // throws: the shape comes first ...
 * ```
 */
export function checkPlaceholderArgs(shape: unknown, dtype: unknown, name: unknown, graph: unknown): void {
  if (typeof shape === "string" && Array.isArray(dtype)) {
    const rest = typeof name === "string" && name !== "Placeholder" ? `, ${JSON.stringify(name)}` : "";
    throw new Error(
      `placeholder: the shape comes first: placeholder(${describeValue(dtype)}, ${JSON.stringify(shape)}${rest}); ` +
        `the signature is ${PLACEHOLDER_SIGNATURE}, not TensorFlow's placeholder(dtype, shape)`,
    );
  }
  if (typeof name !== "string" || name === "") {
    throw new Error(`placeholder: name must be a non-empty string, got ${describeValue(name)}; the signature is ${PLACEHOLDER_SIGNATURE}`);
  }
  if (!Array.isArray(shape)) {
    throw new Error(`placeholder: shape of ${name} must be an array of non-negative integers (null or -1 where unknown), got ${describeValue(shape)}; the signature is ${PLACEHOLDER_SIGNATURE}`);
  }
  checkShape("placeholder", `shape of ${name}`, shape, { allowUnknown: true });
  // Every unknown dimension of a graph is its batch (one size per run), so a shape holds at most one.
  if (shape.filter((d) => d === null || d === -1).length > 1) {
    throw new Error(`placeholder: shape of ${name} ${describeValue(shape)} has more than one unknown dimension; only one (the batch) may be unknown`);
  }
  checkDType("placeholder", `dtype of ${name}`, dtype);
  checkGraph("placeholder", name, graph);
}

/** What `variable`'s options may hold, and how each is checked. */
const VARIABLE_OPTIONS: Record<string, (v: unknown) => string | null> = {
  shape: () => null, // checked with its own message
  dtype: () => null,
  initializer: (v) =>
    typeof v === "object" && v !== null && typeof (v as { init?: unknown }).init === "function" ? null
    : typeof v === "number" ? `an Initializer such as constantInitializer(${v}) or truncatedNormalInitializer({ stddev: ${v} })`
    : typeof v === "function" ? `an Initializer: call ${v.name || "the factory"}() to make one`
    : "an Initializer such as zerosInitializer() or truncatedNormalInitializer({ stddev: 0.01 })",
  trainable: (v) => typeof v === "boolean" ? null : "true or false",
  collections: (v) => Array.isArray(v) && v.every((c) => typeof c === "string") ? null : "an array of collection names",
  regularizer: (v) =>
    typeof v === "function" ? null
    : typeof v === "number" ? `a function of the variable's value, such as l2Regularizer(${v})`
    : "a function of the variable's value, such as l2Regularizer(0.0005)",
  storage: (v) => typeof v === "object" && v !== null && !Array.isArray(v) ? null : "a StorageLayout { perm?, region? }",
};

/**
 * Checks `variable(name, options, graph)`.
 *
 * @example
 * ```ts
 * checkVariableArgs("w", [3, 3], graph); // throws: the second argument is an options object ...
 * ```
 */
export function checkVariableArgs(name: unknown, options: unknown, graph: unknown): void {
  if (typeof name !== "string" || name === "") {
    throw new Error(`variable: name must be a non-empty string, got ${describeValue(name)}; the signature is variable(name, { shape, dtype, initializer, ... })`);
  }
  checkGraph("variable", name, graph);
  // Layers name every variable "weights" or "biases": the scope says which one.
  const full = (graph as Graph).currentScope ? `${(graph as Graph).currentScope}/${name}` : name;
  if (Array.isArray(options)) {
    throw new Error(
      `variable: the second argument is an options object: variable(${JSON.stringify(name)}, { shape: ${describeValue(options)} }), ` +
        `not a shape as in TensorFlow's get_variable(name, shape)`,
    );
  }
  if (!isOptionsObject(options)) {
    throw new Error(`variable: options of ${full} must be an object { shape, dtype?, initializer?, ... }, got ${describeValue(options)}`);
  }
  checkOptionNames("variable", full, options, Object.keys(VARIABLE_OPTIONS));
  checkShape("variable", `shape of ${full}`, options.shape);
  if (options.dtype !== undefined) checkDType("variable", `dtype of ${full}`, options.dtype);
  for (const [key, check] of Object.entries(VARIABLE_OPTIONS)) {
    const value = options[key];
    if (value === undefined) continue;
    const expected = check(value);
    if (expected) throw new Error(`variable: option ${key} of ${full} must be ${expected}, got ${describeValue(value)}`);
  }
}

/**
 * Checks `constant(values, shape, dtype, graph)` except the value count, which
 * `constant` checks against the shape itself.
 *
 * @example
 * ```ts
 * checkConstantArgs([1, 2], "float32", undefined, graph); // throws: the second argument is the shape ...
 * ```
 */
export function checkConstantArgs(values: unknown, shape: unknown, dtype: unknown, graph: unknown): void {
  if (isDType(shape) || typeof shape === "string") {
    throw new Error(
      `constant: the second argument is the shape: constant(values, shape, ${JSON.stringify(shape)}), ` +
        `not the dtype as in TensorFlow's constant(value, dtype); got shape ${describeValue(shape)}`,
    );
  }
  const isNumberList = (x: unknown) =>
    ArrayBuffer.isView(x) ||
    (Array.isArray(x) && x.every((e) => typeof e === "number" || typeof e === "bigint" || typeof e === "boolean"));
  if (Array.isArray(values) && values.some(Array.isArray)) {
    throw new Error(
      `constant: values must be a flat list with the shape given apart, got nested arrays ${describeValue(values)}; ` +
        `e.g. constant([1, 0, 0, 1], [2, 2]) for [[1, 0], [0, 1]]`,
    );
  }
  if (typeof values !== "number" && !isNumberList(values)) {
    throw new Error(`constant: values must be a number, an array of numbers or a typed array, got ${describeValue(values)}`);
  }
  checkShape("constant", "shape", shape);
  checkDType("constant", "dtype", dtype);
  checkGraph("constant", "a constant", graph);
}

function checkGraph(fn: string, subject: string, graph: unknown): void {
  if (!(graph instanceof Graph)) {
    throw new Error(`${fn}: the last argument of ${subject} must be a Graph (or left out for the default graph), got ${describeValue(graph)}`);
  }
}
