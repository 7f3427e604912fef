/**
 * Running graph tensors once, like TF1's `session.run`: compile what the fetches
 * need, feed placeholders, variables (their initial values unless given) and
 * dropout noise, and return host values.
 * @module
 */
import type { HostTensor } from "../graph/host_tensor.ts";
import { fillUniform, seededRandom } from "../graph/random.ts";
import { toStorage } from "../graph/storage_layout.ts";
import type { Tensor } from "../graph/tensor.ts";
import { compileModel, type ModelInput } from "../onnx/compile.ts";
import { createRuntime } from "./create.ts";
import { checkFeed } from "./feeds.ts";
import type { Runtime, RuntimeValue } from "./types.ts";

/** Options for `evaluate`. */
export interface EvaluateOptions {
  /** Values for placeholders, by placeholder name. */
  feeds?: Record<string, HostTensor>;
  /** Values for variables, by variable name; others start from their initializers. */
  variables?: Record<string, HostTensor>;
  /** Seed for initial values and dropout noise. */
  seed?: number;
  /** Step number that picks the dropout noise stream. */
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
  const model = compileModel({ name: "evaluate", fetches });
  const session = await runtime.createSession(model.bytes);
  try {
    const feeds = buildFeeds(model.inputs, runtime, options);
    const out = await session.run(feeds, Object.keys(fetches));
    const result: Record<string, HostTensor> = {};
    for (const k of Object.keys(fetches)) result[k] = await runtime.toHost(out[k]);
    return result;
  } finally {
    await session.release();
  }
}

/** Feeds for every model input from the options (placeholders, variables, noise). */
export function buildFeeds(inputs: readonly ModelInput[], runtime: Runtime, options: EvaluateOptions): Record<string, RuntimeValue> {
  const seed = options.seed ?? 0;
  const feeds: Record<string, RuntimeValue> = {};
  for (const input of inputs) {
    if (input.kind === "variable") {
      const v = input.variable!;
      const given = options.variables?.[v.name];
      const value = given ?? v.initializer.init(v.shape, v.dtype, seededRandom(seed, v.name));
      checkFeed(`variable ${v.name}`, v, value);
      feeds[input.name] = runtime.fromHost(toStorage(value, v.storage));
    } else if (input.kind === "random") {
      feeds[input.name] = runtime.fromHost(noiseFor(input.tensor, seed, options.step ?? 0));
    } else {
      const value = options.feeds?.[input.name];
      if (!value) throw new Error(`evaluate: no value fed for placeholder ${input.tensor.describe()}`);
      checkFeed(`placeholder ${input.name}`, input.tensor, value);
      feeds[input.name] = runtime.fromHost(value);
    }
  }
  return feeds;
}

/** Uniform noise for a random input, a pure function of (seed, step, input name). */
export function noiseFor(t: Tensor, seed: number, step: number): HostTensor {
  const data = fillUniform(new Float32Array(t.size), seededRandom(seed ^ Math.imul(step + 1, 0x27d4eb2d), t.name));
  return { dtype: "float32", shape: [...t.shape], data };
}
