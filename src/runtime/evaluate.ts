/**
 * Running graph tensors once, like TF1's `session.run`: compile what the fetches
 * need, feed placeholders, variables (their initial values unless given), the
 * global step and dropout noise, and return host values.
 * @module
 */
import type { HostTensor } from "../graph/host_tensor.ts";
import { seededRandom } from "../graph/random.ts";
import type { Tensor } from "../graph/tensor.ts";
import type { Variable } from "../graph/variable.ts";
import { compileModel, type ModelInput } from "../onnx/compile.ts";
import { createRuntime } from "./create.ts";
import { disposeAll, FeedPlan, type FeedSources } from "./feed_plan.ts";
import { loweringTargetFor, type Runtime, type RuntimeValue } from "./types.ts";

export { noiseFor } from "./feed_plan.ts";

/** Options for `evaluate`. */
export interface EvaluateOptions {
  /** Values for placeholders, by placeholder name (the global step too, by its name, else `step`). */
  feeds?: Record<string, HostTensor>;
  /** Values for variables, by variable name; others start from their initializers. */
  variables?: Record<string, HostTensor>;
  /** Seed for initial values and dropout noise. */
  seed?: number;
  /** Step number that picks the dropout noise stream, and the global step unless fed. */
  step?: number;
  runtime?: Runtime;
}

/**
 * Computes `fetches` once and returns them in host memory.
 *
 * @example
 * ```ts
 * const { y } = await evaluate({ y: relu(x) }, { feeds: { x: hostTensor("float32", [2], new Float32Array([-1, 2])) } });
 * ```
 */
export async function evaluate(fetches: Record<string, Tensor>, options: EvaluateOptions = {}): Promise<Record<string, HostTensor>> {
  const runtime = options.runtime ?? (await createRuntime());
  const model = compileModel({ name: "evaluate", fetches, target: loweringTargetFor(runtime.executionProvider) });
  const plan = FeedPlan.of(model, runtime);
  const session = await runtime.createSession(model.bytes);
  let variables: Map<Variable, RuntimeValue> | undefined;
  try {
    variables = uploadVariables(plan, options);
    const out = await plan.run(session, Object.keys(fetches), evaluateSources(variables, options));
    const result: Record<string, HostTensor> = {};
    for (const k of Object.keys(fetches)) result[k] = await runtime.toHost(out[k]);
    disposeAll(Object.values(out));
    return result;
  } finally {
    if (variables) disposeAll(variables.values());
    await session.release();
  }
}

/**
 * Feeds for every model input from `evaluate`'s options, for callers that run a
 * session themselves (gradient checks, optimizer tests). The values live until
 * the garbage collector takes them.
 *
 * @example
 * ```ts
 * const out = await session.run(buildFeeds(model.inputs, runtime, { feeds: { x } }), ["y"]);
 * ```
 */
export function buildFeeds(inputs: readonly ModelInput[], runtime: Runtime, options: EvaluateOptions): Record<string, RuntimeValue> {
  const plan = FeedPlan.of({ inputs }, runtime);
  const variables = uploadVariables(plan, options);
  return plan.feeds(evaluateSources(variables, options)).feeds;
}

function uploadVariables(plan: FeedPlan, options: EvaluateOptions): Map<Variable, RuntimeValue> {
  const seed = options.seed ?? 0;
  return plan.uploadVariables(
    (v) => options.variables?.[v.name] ?? v.initializer.init(v.shape, v.dtype, seededRandom(seed, v.initializer.stream ?? v.name)),
    (_v, _value, detail) => new Error(detail),
  );
}

function evaluateSources(variables: Map<Variable, RuntimeValue>, options: EvaluateOptions): FeedSources {
  const feeds = options.feeds ?? {};
  const step = options.step ?? 0;
  return {
    placeholders: () => feeds,
    variable: (v) => variables.get(v),
    // Fed by name like a placeholder when given (a schedule traced at chosen steps).
    globalStep: (_copy, name) => (feeds[name] ? Number(feeds[name].data[0]) : step),
    noiseStep: () => step,
    seed: options.seed ?? 0,
    where: () => ({ label: "evaluate", at: "" }),
  };
}
