/**
 * Variable initializers with TF-Slim's meanings. Each returns the initial value on
 * the host; the trainer uploads it once, on a fresh start.
 * @module
 */
import { type DType, type HostTensor, allocate, numElements } from "./host_tensor.ts";
import { fillTruncatedNormal, type Random } from "./random.ts";

/** Makes a variable's initial value from its shape and a seeded generator. */
export interface Initializer {
  /** A short description for error messages and summaries. */
  readonly name: string;
  init(shape: readonly number[], dtype: DType, random: Random): HostTensor;
  /**
   * The variable whose random stream `init` draws from, when not the variable's
   * own: a moving average's shadow draws its variable's stream and so starts equal to it.
   */
  readonly stream?: string;
}

/** TF's fan computation: the receptive field multiplies the last two dimensions. */
export function computeFans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0], fanOut: shape[0] };
  const receptive = numElements(shape.slice(0, -2));
  return { fanIn: shape[shape.length - 2] * receptive, fanOut: shape[shape.length - 1] * receptive };
}

/** Float arrays an initializer fills; int64 values are drawn as float64 and rounded. */
type FloatArray = Float32Array | Float64Array;

function fill(name: string, draw: (out: FloatArray, shape: readonly number[], random: Random) => void): Initializer {
  return {
    name,
    init(shape, dtype, random) {
      const data = allocate(dtype, numElements(shape));
      if (data instanceof BigInt64Array) {
        const floats = new Float64Array(data.length);
        draw(floats, shape, random);
        for (let i = 0; i < data.length; i++) data[i] = BigInt(Math.round(floats[i]));
      } else if (data instanceof Float32Array) {
        draw(data, shape, random);
      } else {
        const floats = new Float64Array(data.length);
        draw(floats, shape, random);
        data.set(floats);
      }
      return { dtype, shape: [...shape], data };
    },
  };
}

/**
 * All zeros (slim's default for biases).
 *
 * @example
 * ```ts
 * variable("biases", { shape: [64], initializer: zerosInitializer() });
 * ```
 */
export function zerosInitializer(): Initializer {
  return fill("zeros", (out) => void out.fill(0));
}

/**
 * Every element equal to `value`.
 *
 * @example
 * ```ts
 * constantInitializer(0.1);
 * ```
 */
export function constantInitializer(value: number): Initializer {
  return fill(`constant(${value})`, (out) => void out.fill(value));
}

/**
 * Uniform in [minval, maxval).
 *
 * @example
 * ```ts
 * randomUniformInitializer({ minval: -0.05, maxval: 0.05 });
 * ```
 */
export function randomUniformInitializer({ minval = -0.05, maxval = 0.05 } = {}): Initializer {
  return fill(`random_uniform(${minval}, ${maxval})`, (out, _s, r) => {
    for (let i = 0; i < out.length; i++) out[i] = minval + (maxval - minval) * r();
  });
}

/**
 * Normal draws re-drawn until within two standard deviations (TF's truncated normal).
 *
 * @example
 * ```ts
 * truncatedNormalInitializer({ stddev: 0.01 });
 * ```
 */
export function truncatedNormalInitializer({ mean = 0, stddev = 1 } = {}): Initializer {
  return fill(`truncated_normal(${mean}, ${stddev})`, (out, _s, r) => void fillTruncatedNormal(out, r, mean, stddev));
}

/**
 * Glorot/Xavier initialization, slim's default for weights: uniform in ±sqrt(6 / (fanIn + fanOut)),
 * or a truncated normal with stddev sqrt(2.6 / (fanIn + fanOut)) when `uniform` is false.
 *
 * @example
 * ```ts
 * xavierInitializer(); // what slim.conv2d uses by default
 * ```
 */
export function xavierInitializer({ uniform = true } = {}): Initializer {
  return varianceScalingInitializer({ factor: 1, mode: "FAN_AVG", uniform, name: "xavier" });
}

/**
 * slim's `variance_scaling_initializer`: variance `factor / n`, where n is the fan-in,
 * fan-out or their average. The default (factor 2, FAN_IN, normal) is He initialization.
 * The normal form is a truncated normal with stddev sqrt(1.3 * factor / n), as slim draws it.
 *
 * @example
 * ```ts
 * varianceScalingInitializer({ factor: 2.0, mode: "FAN_IN" });
 * ```
 */
export function varianceScalingInitializer(
  { factor = 2, mode = "FAN_IN", uniform = false, name = "variance_scaling" }: {
    factor?: number;
    mode?: "FAN_IN" | "FAN_OUT" | "FAN_AVG";
    uniform?: boolean;
    name?: string;
  } = {},
): Initializer {
  if (!(factor > 0)) throw new Error(`varianceScalingInitializer: factor must be positive, got ${factor}`);
  if (!["FAN_IN", "FAN_OUT", "FAN_AVG"].includes(mode)) {
    throw new Error(`varianceScalingInitializer: mode must be FAN_IN, FAN_OUT or FAN_AVG, got ${mode}`);
  }
  return fill(`${name}(${factor}, ${mode}, ${uniform ? "uniform" : "normal"})`, (out, shape, r) => {
    const { fanIn, fanOut } = computeFans(shape);
    const n = mode === "FAN_IN" ? fanIn : mode === "FAN_OUT" ? fanOut : (fanIn + fanOut) / 2;
    if (!uniform) return void fillTruncatedNormal(out, r, 0, Math.sqrt((1.3 * factor) / n));
    const limit = Math.sqrt((3 * factor) / n);
    for (let i = 0; i < out.length; i++) out[i] = (2 * r() - 1) * limit;
  });
}
