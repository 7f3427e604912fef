/**
 * Numerical gradient checking, as JAX's `check_grads` does: the reverse-mode
 * gradient of a small graph, run on ONNX Runtime, against central finite
 * differences of the same model's forward pass. This proves each op's gradient
 * rule and its ONNX lowering together, on the execution provider that trains.
 * @module
 */
import "../ops/sources.ts";
import { Graph } from "../graph/graph.ts";
import { type DType, formatShape, type HostTensor, numElements } from "../graph/host_tensor.ts";
import { normal, seededRandom } from "../graph/random.ts";
import type { Tensor } from "../graph/tensor.ts";
import { constant, placeholder } from "../graph/variable.ts";
import { compileModel } from "../onnx/compile.ts";
import { createRuntime } from "../runtime/create.ts";
import { buildFeeds } from "../runtime/evaluate.ts";
import type { Runtime } from "../runtime/types.ts";
import { gradients } from "./gradients.ts";

/** A value for one input of the checked function; dtype defaults to float32. */
export interface GradientCheckInput {
  shape: number[];
  data: HostTensor["data"];
  dtype?: DType;
  /** The placeholder's name, used in reports. Default `x0`, `x1`, ... */
  name?: string;
}

/** Options for `checkGradients`. */
export interface CheckGradientsOptions {
  /** The case's name, first in every report ("conv2d SAME stride 2"). */
  name?: string;
  /** Finite-difference step. Default 1e-2: float32 forward passes cannot resolve much smaller steps. */
  eps?: number;
  /** Relative tolerance, against the larger of the two derivatives. Default 1e-2. */
  rtol?: number;
  /** Absolute tolerance. Default 1e-3. */
  atol?: number;
  /** Indices of the inputs to differentiate. Default: every float32 input. */
  wrt?: number[];
  /**
   * Check along this many random directions (JAX's way, two runs each) instead of
   * per element (two runs per element, which names the worst element). Default:
   * per element up to `maxElements` checked elements, else 8 directions.
   */
  directions?: number;
  /** Above this many elements in the checked inputs, switch to random directions. Default 1024. */
  maxElements?: number;
  /** Seed of the output projection and the directions. Default 0. */
  seed?: number;
  /** Seed and step `evaluate` feeds dropout noise from; fixed, so every run sees the same mask. */
  noiseSeed?: number;
  noiseStep?: number;
  /** Where to run. Default: onnxruntime-node on the CPU, one thread. */
  runtime?: Runtime;
}

/** The worst comparison of a check. */
export interface GradientMismatch {
  /** Index of the input in the `inputs` array, and its name. */
  input: number;
  inputName: string;
  /** Multi-index of the element (per-element mode), or null along a direction. */
  element: number[] | null;
  /** Which random direction (direction mode), else null. */
  direction: number | null;
  analytic: number;
  numeric: number;
  /** |analytic - numeric|, and the tolerance it was held to. */
  error: number;
  tolerance: number;
}

/** What `checkGradients` found. */
export interface GradientCheckReport {
  name: string;
  /** Number of comparisons made (elements or directions). */
  checked: number;
  /** The comparison with the largest error/tolerance ratio (null if nothing was checked). */
  worst: GradientMismatch | null;
  /** Inputs whose gradient came back null (they do not affect the output). */
  unconnected: string[];
}

/** Thrown when an analytic gradient disagrees with finite differences. */
export class GradientCheckError extends Error {
  override name = "GradientCheckError";
  constructor(message: string, readonly report: GradientCheckReport) {
    super(message);
  }
}

/** The graph side of a gradient check: what `buildGradientCheck` adds. */
export interface GradientCheckGraph {
  placeholders: Tensor[];
  output: Tensor;
  /** The fixed random r that reduces the output to the scalar sum(output · r). */
  projection: Float32Array;
  /** d sum(output · r) / d input for each input; null when an input is not differentiated or unconnected. */
  grads: (Tensor | null)[];
}

/**
 * Adds one gradient check's graph to the default graph: a placeholder per input
 * (named `prefix + name`), `build`'s output, and its gradients seeded with a fixed
 * random projection r, which is reverse mode applied to the scalar sum(output · r).
 * `checkGradients` uses it; it is exported so many checks can share one model (to
 * validate the emitted ONNX, for example).
 *
 * @example
 * ```ts
 * const g = new Graph();
 * const check = g.asDefault(() => buildGradientCheck((x) => tanh(x), [{ shape: [3], data: randomArray(3, 1) }], { prefix: "tanh/" }));
 * compileModel({ name: "all", fetches: { y: check.output, dx: check.grads[0]! } });
 * ```
 */
export function buildGradientCheck(
  build: (...xs: Tensor[]) => Tensor,
  inputs: readonly GradientCheckInput[],
  { prefix = "", wrt, seed = 0, name = "checkGradients" }: { prefix?: string; wrt?: number[]; seed?: number; name?: string } = {},
): GradientCheckGraph {
  const placeholders = inputs.map((x, i) => placeholder([...x.shape], x.dtype ?? "float32", `${prefix}${inputName(x, i)}`));
  const output = build(...placeholders);
  if (output.dtype !== "float32") {
    throw new Error(`Gradient check "${name}": the output ${output.describe()} must be float32`);
  }
  const projection = new Float32Array(output.size);
  const random = seededRandom(seed, "projection");
  // Bounded away from 0 so every output element weighs in the check.
  for (let i = 0; i < projection.length; i++) projection[i] = (random() < 0.5 ? -1 : 1) * (0.5 + random());
  const r = constant(projection, [...output.shape], "float32", output.graph);
  const chosen = checkedInputs(inputs, wrt, name);
  const xs = chosen.map((i) => placeholders[i]);
  const dxs = xs.length ? gradients(output, xs, { gradYs: [r] }) : [];
  const grads: (Tensor | null)[] = inputs.map(() => null);
  chosen.forEach((i, k) => (grads[i] = dxs[k]));
  return { placeholders, output, projection, grads };
}

/**
 * Checks `build`'s gradients against central finite differences, as JAX's
 * `check_grads` does in reverse mode. `build` receives one placeholder per input and
 * returns a float32 tensor of any shape; a non-scalar output is reduced with a fixed
 * random projection sum(y · r). The analytic gradients and the forward passes at
 * x ± eps (per element, or along random directions for big inputs) all run in one
 * ONNX Runtime session, so dropout noise, fed by `evaluate`'s seeded stream at a
 * fixed step, is the same in every run. The projection is applied on the host in
 * float64, so the only float32 rounding is the model's own.
 *
 * Resolves to a report; rejects with a `GradientCheckError` naming the case, the
 * input and the worst element (or direction) when any comparison exceeds
 * atol + rtol · max(|analytic|, |numeric|).
 *
 * @example
 * ```ts
 * await checkGradients((a, b) => matmul(a, b), [
 *   { shape: [2, 3], data: randomArray(6, 1), name: "a" },
 *   { shape: [3, 4], data: randomArray(12, 2), name: "b" },
 * ], { name: "matmul 2-D" });
 * ```
 */
export async function checkGradients(
  build: (...xs: Tensor[]) => Tensor,
  inputs: readonly GradientCheckInput[],
  options: CheckGradientsOptions = {},
): Promise<GradientCheckReport> {
  const { name = "checkGradients", eps = 1e-2, rtol = 1e-2, atol = 1e-3, seed = 0, maxElements = 1024 } = options;
  inputs.forEach((x, i) => {
    if (x.data.length !== numElements(x.shape)) {
      throw new Error(`Gradient check "${name}": input ${inputName(x, i)} has ${x.data.length} values for shape ${formatShape(x.shape)}`);
    }
  });
  const graph = new Graph();
  const check = graph.asDefault(() => buildGradientCheck(build, inputs, { wrt: options.wrt, seed, name }));
  const chosen = checkedInputs(inputs, options.wrt, name);
  const fetches: Record<string, Tensor> = { "checkGradients/output": check.output };
  for (const i of chosen) if (check.grads[i]) fetches[`checkGradients/grad${i}`] = check.grads[i]!;

  const runtime = options.runtime ?? (await defaultRuntime());
  const model = compileModel({ name: `checkGradients ${name}`, fetches });
  const session = await runtime.createSession(model.bytes);
  try {
    const values = inputs.map((x): HostTensor => ({
      dtype: x.dtype ?? "float32",
      shape: [...x.shape],
      data: x.data.slice(),
    } as HostTensor));
    const feedOptions = { seed: options.noiseSeed ?? 0, step: options.noiseStep ?? 0 };
    const run = async (keys: string[]): Promise<HostTensor[]> => {
      const feeds = Object.fromEntries(inputs.map((_x, i) => [check.placeholders[i].name, values[i]]));
      const out = await session.run(buildFeeds(model.inputs, runtime, { ...feedOptions, feeds }), keys);
      return Promise.all(keys.map((k) => runtime.toHost(out[k])));
    };
    // f = sum(y · r) in float64: the difference of two nearby f's then loses nothing to summation.
    const objective = async (): Promise<number> => {
      const [y] = await run(["checkGradients/output"]);
      let f = 0;
      for (let k = 0; k < y.data.length; k++) f += (y.data[k] as number) * check.projection[k];
      return f;
    };

    const gradKeys = Object.keys(fetches).slice(1);
    const gradValues = await run(gradKeys);
    const analytic = new Map<number, Float32Array>();
    gradKeys.forEach((k, j) => analytic.set(Number(k.slice("checkGradients/grad".length)), gradValues[j].data as Float32Array));
    const unconnected = chosen.filter((i) => !analytic.has(i)).map((i) => inputName(inputs[i], i));
    // An unconnected input has a zero gradient; the finite differences must agree.
    for (const i of chosen) if (!analytic.has(i)) analytic.set(i, new Float32Array(values[i].data.length));

    const total = chosen.reduce((n, i) => n + values[i].data.length, 0);
    const directions = options.directions ?? (total > maxElements ? 8 : 0);
    let worst: GradientMismatch | null = null;
    let worstRatio = -1;
    let checked = 0;
    const compare = (m: Omit<GradientMismatch, "error" | "tolerance">) => {
      const error = Math.abs(m.analytic - m.numeric);
      const tolerance = atol + rtol * Math.max(Math.abs(m.analytic), Math.abs(m.numeric));
      const ratio = Number.isFinite(error) ? error / tolerance : Infinity;
      checked++;
      if (ratio > worstRatio) {
        worstRatio = ratio;
        worst = { ...m, error, tolerance };
      }
    };

    if (directions > 0) {
      for (let k = 0; k < directions; k++) {
        const random = seededRandom(seed, `direction ${k}`);
        const dirs = chosen.map((i) => Float32Array.from(values[i].data as Float32Array, () => normal(random)));
        const base = chosen.map((i) => (values[i].data as Float32Array).slice());
        let expected = 0;
        chosen.forEach((i, j) => dirs[j].forEach((d, e) => (expected += d * analytic.get(i)![e])));
        const shift = async (sign: number) => {
          chosen.forEach((i, j) => {
            const data = values[i].data as Float32Array;
            for (let e = 0; e < data.length; e++) data[e] = base[j][e] + sign * eps * dirs[j][e];
          });
          return await objective();
        };
        const numeric = ((await shift(1)) - (await shift(-1))) / (2 * eps);
        chosen.forEach((i, j) => (values[i].data as Float32Array).set(base[j]));
        compare({ input: chosen[0], inputName: chosen.map((i) => inputName(inputs[i], i)).join(", "), element: null, direction: k, analytic: expected, numeric });
      }
    } else {
      for (const i of chosen) {
        const data = values[i].data as Float32Array;
        const g = analytic.get(i)!;
        for (let e = 0; e < data.length; e++) {
          const x = data[e];
          // The steps actually taken, after rounding x ± eps to float32.
          const hi = Math.fround(x + eps), lo = Math.fround(x - eps);
          data[e] = hi;
          const fHi = await objective();
          data[e] = lo;
          const fLo = await objective();
          data[e] = x;
          compare({ input: i, inputName: inputName(inputs[i], i), element: unravel(e, inputs[i].shape), direction: null, analytic: g[e], numeric: (fHi - fLo) / (hi - lo) });
        }
      }
    }

    const report: GradientCheckReport = { name, checked, worst, unconnected };
    if (worstRatio > 1) throw new GradientCheckError(describeFailure(report, inputs, { eps, rtol, atol }), report);
    return report;
  } finally {
    await session.release();
  }
}

function describeFailure(
  report: GradientCheckReport,
  inputs: readonly GradientCheckInput[],
  { eps, rtol, atol }: { eps: number; rtol: number; atol: number },
): string {
  const w = report.worst!;
  const where = w.element
    ? `input ${w.inputName} ${formatShape(inputs[w.input].shape)} at element ${formatShape(w.element)}`
    : `inputs ${w.inputName} along random direction ${w.direction}`;
  return `Gradient check "${report.name}" failed: ${where}: analytic ${w.analytic}, numeric ${w.numeric} ` +
    `(error ${w.error.toPrecision(3)} > tolerance ${w.tolerance.toPrecision(3)} = atol ${atol} + rtol ${rtol} · max magnitude; ` +
    `eps ${eps}, ${report.checked} comparisons)`;
}

function checkedInputs(inputs: readonly GradientCheckInput[], wrt: number[] | undefined, name: string): number[] {
  const chosen = wrt ?? inputs.map((_, i) => i).filter((i) => (inputs[i].dtype ?? "float32") === "float32");
  for (const i of chosen) {
    if (!inputs[i]) throw new Error(`Gradient check "${name}": wrt names input ${i}, but there are ${inputs.length} inputs`);
    if ((inputs[i].dtype ?? "float32") !== "float32") {
      throw new Error(`Gradient check "${name}": input ${inputName(inputs[i], i)} is ${inputs[i].dtype}; only float32 inputs have gradients`);
    }
  }
  return chosen;
}

function inputName(x: GradientCheckInput, i: number): string {
  return x.name ?? `x${i}`;
}

function unravel(flat: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    index[d] = flat % shape[d];
    flat = Math.floor(flat / shape[d]);
  }
  return index;
}

let sharedRuntime: Promise<Runtime> | undefined;

/** One runtime for all checks; one thread, since these models are tiny and thread hand-offs would dominate. */
function defaultRuntime(): Promise<Runtime> {
  sharedRuntime ??= createRuntime({ executionProvider: "cpu", intraOpNumThreads: 1 });
  return sharedRuntime;
}
