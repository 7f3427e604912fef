/**
 * slim's gradient utilities: per-variable multipliers, per-gradient norm clipping,
 * global-norm clipping and gradient summaries, all as graph ops on (grad, var) pairs.
 * @module
 */
import type { Tensor } from "../graph/tensor.ts";
import type { Variable } from "../graph/variable.ts";
import { div, maximum, mul } from "../ops/binary.ts";
import { reduceSum } from "../ops/reduce.ts";
import { sqrt } from "../ops/unary.ts";
import { addN } from "../ops/binary.ts";
import { histogram, scalar } from "../summary/summary_ops.ts";
import type { GradAndVar } from "./optimizer.ts";

/** sqrt(Σ g²) of one tensor. */
function norm(g: Tensor): Tensor {
  return sqrt(reduceSum(mul(g, g)));
}

/**
 * Scales gradients of the named variables (slim's `multiply_gradients`), e.g. a
 * larger learning rate for a new last layer.
 *
 * @example
 * ```ts
 * const scaled = multiplyGradients(gradsAndVars, { "vgg_16/fc8/weights": 10 });
 * ```
 */
export function multiplyGradients(
  gradsAndVars: readonly GradAndVar[],
  multipliers: Record<string, number | Tensor> | Map<Variable | string, number | Tensor>,
): GradAndVar[] {
  if (!Array.isArray(gradsAndVars)) throw new Error("multiplyGradients: `gradsAndVars` must be a list");
  const entries = multipliers instanceof Map
    ? [...multipliers].map(([k, v]) => [typeof k === "string" ? k : k.name, v] as const)
    : Object.entries(multipliers);
  if (entries.length === 0) throw new Error("multiplyGradients: `gradientMultipliers` is empty");
  const byName = new Map(entries);
  const known = new Set(gradsAndVars.map((gv) => gv.variable.name));
  for (const name of byName.keys()) {
    if (!known.has(name)) throw new Error(`multiplyGradients: no variable named ${name} among the gradients`);
  }
  return gradsAndVars.map(({ grad, variable }) => {
    const m = byName.get(variable.name);
    if (m === undefined) return { grad, variable };
    if (!grad) throw new Error(`multiplyGradients: requested multiple of a null gradient (variable ${variable.name})`);
    return { grad: mul(grad, m), variable };
  });
}

/**
 * Clips each gradient by its own L2 norm (slim's `clip_gradient_norms`): g · max / max(‖g‖, max).
 *
 * @example
 * ```ts
 * const clipped = clipGradientNorms(gradsAndVars, 5);
 * ```
 */
export function clipGradientNorms(gradsAndVars: readonly GradAndVar[], maxNorm: number): GradAndVar[] {
  if (!(maxNorm > 0)) throw new Error(`clipGradientNorms: maxNorm must be positive, got ${maxNorm}`);
  return gradsAndVars.map(({ grad, variable }) => ({
    grad: grad ? div(mul(grad, maxNorm), maximum(norm(grad), maxNorm)) : null,
    variable,
  }));
}

/**
 * Scales all gradients together so their global norm is at most `clipNorm`
 * (TF's `clip_by_global_norm`); returns the clipped pairs and the global norm.
 *
 * @example
 * ```ts
 * const { gradsAndVars: clipped, globalNorm } = clipByGlobalNorm(gradsAndVars, 1.0);
 * ```
 */
export function clipByGlobalNorm(gradsAndVars: readonly GradAndVar[], clipNorm: number): { gradsAndVars: GradAndVar[]; globalNorm: Tensor } {
  if (!(clipNorm > 0)) throw new Error(`clipByGlobalNorm: clipNorm must be positive, got ${clipNorm}`);
  const present = gradsAndVars.filter((gv) => gv.grad) as { grad: Tensor; variable: Variable }[];
  if (present.length === 0) throw new Error("clipByGlobalNorm: no gradients to clip");
  const globalNorm = sqrt(addN(present.map(({ grad }) => reduceSum(mul(grad, grad)))));
  const scale = div(clipNorm, maximum(globalNorm, clipNorm));
  return { gradsAndVars: gradsAndVars.map(({ grad, variable }) => ({ grad: grad ? mul(grad, scale) : null, variable })), globalNorm };
}

/**
 * Adds a histogram `<var>/gradient` and a scalar `<var>/gradient_norm` per gradient
 * (slim's `add_gradients_summaries`).
 *
 * @example
 * ```ts
 * addGradientsSummaries(gradsAndVars);
 * ```
 */
export function addGradientsSummaries(gradsAndVars: readonly GradAndVar[]): void {
  for (const { grad, variable } of gradsAndVars) {
    if (!grad) continue;
    histogram(`${variable.name}/gradient`, grad);
    scalar(`${variable.name}/gradient_norm`, norm(grad));
  }
}
