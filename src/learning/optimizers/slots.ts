/**
 * What every optimizer shares: option checks, the learning-rate tensor, slot and
 * non-slot variables, and the bookkeeping of `applyGradients` (skipping variables
 * without a gradient, rejecting mismatched or repeated ones).
 * @module
 */
import type { Graph } from "../../graph/graph.ts";
import { formatShape } from "../../graph/host_tensor.ts";
import { constantInitializer } from "../../graph/initializers.ts";
import type { Tensor } from "../../graph/tensor.ts";
import { type Assignment, constant, type Variable, variable } from "../../graph/variable.ts";
import type { GradAndVar, LearningRate, Optimizer } from "../optimizer.ts";

/**
 * A variable paired with its (present) gradient.
 *
 * @example
 * ```ts
 * const pair: GradPair = { grad: dw, variable: w };
 * ```
 */
export interface GradPair {
  grad: Tensor;
  variable: Variable;
}

/**
 * Throws when `options` holds a key outside `allowed` (a misspelt option would
 * otherwise silently fall back to its default).
 *
 * @example
 * ```ts
 * checkKeys("adam", options, ["learningRate", "beta1", "beta2", "epsilon"]);
 * ```
 */
export function checkKeys(owner: string, options: object, allowed: readonly string[]): void {
  if (typeof options !== "object" || options === null) throw new Error(`${owner}: options must be an object, got ${String(options)}`);
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new Error(`${owner}: unknown option ${key} (expected one of ${allowed.join(", ")})`);
    }
  }
}

/**
 * Throws unless `value` is a finite number in the given range.
 *
 * @example
 * ```ts
 * checkNumber("adam", "beta1", 0.9, { min: 0, max: 1, maxExclusive: true }); // [0, 1)
 * ```
 */
export function checkNumber(
  owner: string,
  key: string,
  value: unknown,
  { min = -Infinity, max = Infinity, minExclusive = false, maxExclusive = false } = {},
): number {
  const inRange = typeof value === "number" && Number.isFinite(value) &&
    (minExclusive ? value > min : value >= min) && (maxExclusive ? value < max : value <= max);
  if (!inRange) {
    const range = min === -Infinity && max === Infinity
      ? "a finite number"
      : min === 0 && max === Infinity
      ? (minExclusive ? "positive" : "non-negative")
      : `in ${minExclusive ? "(" : "["}${min}, ${max}${maxExclusive ? ")" : "]"}`;
    throw new Error(`${owner}: ${key} must be ${range}, got ${String(value)}`);
  }
  return value as number;
}

/**
 * Throws unless `value` is a boolean.
 *
 * @example
 * ```ts
 * checkBoolean("momentum", "useNesterov", false);
 * ```
 */
export function checkBoolean(owner: string, key: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw new Error(`${owner}: ${key} must be a boolean, got ${String(value)}`);
  return value;
}

/**
 * Validates a learning rate given as a number or a schedule.
 *
 * @example
 * ```ts
 * checkLearningRate("momentum", 0.01);
 * ```
 */
export function checkLearningRate(owner: string, learningRate: unknown): LearningRate {
  if (typeof learningRate === "function") return learningRate as LearningRate;
  if (learningRate === undefined) throw new Error(`${owner}: learningRate is required`);
  return checkNumber(owner, "learningRate", learningRate, { min: 0, minExclusive: true });
}

/**
 * The learning rate as a float32 scalar tensor in `graph`: a constant, or the
 * schedule evaluated at `globalStep`.
 *
 * @example
 * ```ts
 * const lr = learningRateTensor("adam", 0.001, globalStep, graph);
 * ```
 */
export function learningRateTensor(owner: string, learningRate: LearningRate, globalStep: Tensor, graph: Graph): Tensor {
  if (typeof learningRate === "number") return constant(learningRate, [], "float32", graph);
  const lr = learningRate(globalStep);
  if (lr.dtype !== "float32" || lr.rank !== 0) {
    throw new Error(`${owner}: the learning-rate schedule must return a float32 scalar, got ${lr.describe()}`);
  }
  return lr;
}

/**
 * The slot `<variable>/<slotName>` of a variable: a non-trainable variable of the
 * same shape, created at the root scope whatever scope the caller is in, so its
 * name is the one TensorFlow gives it. Reused when it already exists.
 *
 * @example
 * ```ts
 * const accum = slotFor(w, "Momentum", 0); // "conv1/weights/Momentum"
 * ```
 */
export function slotFor(primary: Variable, slotName: string, initialValue: number): Variable {
  const graph = primary.value.graph;
  const name = `${primary.name}/${slotName}`;
  const existing = graph.variables.get(name);
  if (existing) {
    if (existing.trainable || formatShape(existing.shape) !== formatShape(primary.shape) || existing.dtype !== primary.dtype) {
      throw new Error(`slotFor: ${name} already exists and is not a slot of ${primary.name} (${formatShape(existing.shape)} ${existing.dtype})`);
    }
    return existing;
  }
  return graph.atRootScope(() =>
    variable(name, { shape: [...primary.shape], dtype: primary.dtype, initializer: constantInitializer(initialValue), trainable: false, storage: primary.storage }, graph)
  );
}

/**
 * A float32 scalar variable that belongs to the optimizer rather than to one
 * variable (Adam's `beta1_power`). Like TensorFlow, a second optimizer instance
 * gets `name_1`, `name_2`, ... instead of sharing it.
 *
 * @example
 * ```ts
 * const beta1Power = nonSlotVariable(graph, "beta1_power", 0.9);
 * ```
 */
export function nonSlotVariable(graph: Graph, name: string, initialValue: number): Variable {
  const taken = new Set(graph.nodes.map((n) => n.name));
  let candidate = name;
  for (let i = 1; taken.has(candidate) || graph.variables.has(candidate); i++) candidate = `${name}_${i}`;
  return graph.atRootScope(() =>
    variable(candidate, { shape: [], dtype: "float32", initializer: constantInitializer(initialValue), trainable: false }, graph)
  );
}

/**
 * Builds an Optimizer from its update rule. `update` receives every variable that
 * has a gradient and the learning-rate tensor, and returns the assignments of
 * the variables and their slots.
 *
 * @example
 * ```ts
 * return makeOptimizer("GradientDescent", learningRate, (pairs, lr) =>
 *   pairs.map(({ grad, variable }) => assign(variable, sub(variable.value, mul(lr, grad)))));
 * ```
 */
export function makeOptimizer(
  name: string,
  learningRate: LearningRate,
  update: (pairs: GradPair[], lr: Tensor, graph: Graph) => Assignment[],
): Optimizer {
  let lrTensor: Tensor | undefined;
  return {
    name,
    get learningRateTensor() {
      return lrTensor;
    },
    applyGradients(gradsAndVars: readonly GradAndVar[], globalStep: Tensor): Assignment[] {
      const pairs = presentPairs(name, gradsAndVars);
      if (pairs.length === 0) return [];
      const graph = pairs[0].variable.value.graph;
      // Update arithmetic goes under the optimizer's name (TF's "Adam/update_..."),
      // which keeps ONNX node names readable; slots escape to the root scope.
      return graph.withScope(name, () => {
        lrTensor = learningRateTensor(name, learningRate, globalStep, graph);
        return update(pairs, lrTensor, graph);
      });
    },
  };
}

function presentPairs(owner: string, gradsAndVars: readonly GradAndVar[]): GradPair[] {
  const seen = new Set<string>();
  const pairs: GradPair[] = [];
  for (const { grad, variable: v } of gradsAndVars) {
    if (seen.has(v.name)) throw new Error(`${owner}: variable ${v.name} appears twice in gradsAndVars`);
    seen.add(v.name);
    if (grad === null) continue;
    // Gradients are in the variable's storage layout (the shape its graph value has).
    if (grad.dtype !== v.dtype || formatShape(grad.shape) !== formatShape(v.value.shape)) {
      throw new Error(`${owner}: gradient ${grad.describe()} does not match variable ${v.name} ${formatShape(v.value.shape)} ${v.dtype}`);
    }
    if (v.dtype !== "float32") throw new Error(`${owner}: variable ${v.name} is ${v.dtype}; only float32 variables can be trained`);
    pairs.push({ grad, variable: v });
  }
  return pairs;
}
