/**
 * slim's pooling layers on NHWC inputs (or NCHW with `dataFormat`), with slim's
 * defaults (2×2 windows, stride 2, VALID padding) and default scopes `MaxPool2D` /
 * `AvgPool2D`. They pool in NCHW inside the step, like the convolutions.
 * @module
 */
import { formatShape, UNKNOWN_DIM } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { constant } from "../graph/variable.ts";
import { conv2dNCHW, div, maxPool2dNCHW, padsFor, reshape } from "../ops/mod.ts";
import { addArgScope, scopedOptions } from "./arg_scope.ts";
import { COMMON_OPTIONS, optionTypes } from "./option_specs.ts";
import { collectNamedOutputs, type DataFormat, enterNCHW, leaveNCHW, opScope, twoInts } from "./utils.ts";

const POOL_OPTIONS = { ...COMMON_OPTIONS, stride: optionTypes.numberOrPair, padding: optionTypes.padding, dataFormat: optionTypes.dataFormat };

/** Options for `maxPool2d` and `avgPool2d`. */
export interface Pool2dOptions {
  /** Default 2. */
  stride?: number | number[];
  /** Default "VALID". */
  padding?: "SAME" | "VALID";
  /** Layout of `inputs` and of the output: "NHWC" (default, slim's) or "NCHW". */
  dataFormat?: DataFormat;
  /** Collections that record the output under the layer's scope name. */
  outputsCollections?: string | string[];
  /** Name scope; default `MaxPool2D` / `AvgPool2D`, made unique. */
  scope?: string;
}

/**
 * slim's `max_pool2d`.
 *
 * @example
 * ```ts
 * const net = maxPool2d(conv, [2, 2], { scope: "pool1" }); // [N, 32, 32, C] -> [N, 16, 16, C]
 * ```
 */
export function maxPool2d(inputs: Tensor, kernelSize: number | number[], options: Pool2dOptions = {}): Tensor {
  const o = scopedOptions(maxPool2d, options);
  const dataFormat = o.dataFormat ?? "NHWC";
  const x = enterNCHW("maxPool2d", inputs, dataFormat);
  const { kernel, strides, padding } = geometry("maxPool2d", x, kernelSize, o, inputs);
  return opScope(inputs.graph, o.scope, "MaxPool2D", (sc) =>
    collectNamedOutputs(o.outputsCollections, sc, leaveNCHW(maxPool2dNCHW(x, kernel, { strides, padding }), dataFormat)));
}
addArgScope(maxPool2d, { options: POOL_OPTIONS });

/**
 * slim's `avg_pool2d`. With SAME padding, windows that overhang
 * the border average only the elements inside it, as TensorFlow does. Built as a
 * per-channel convolution with a ones filter divided by each window's element
 * count, so its gradient comes from the convolution's.
 *
 * @example
 * ```ts
 * const net = avgPool2d(conv, [3, 3], { stride: 1, padding: "SAME" });
 * ```
 */
export function avgPool2d(inputs: Tensor, kernelSize: number | number[], options: Pool2dOptions = {}): Tensor {
  const o = scopedOptions(avgPool2d, options);
  const dataFormat = o.dataFormat ?? "NHWC";
  const x = enterNCHW("avgPool2d", inputs, dataFormat);
  const { kernel, strides, padding } = geometry("avgPool2d", x, kernelSize, o, inputs);
  const [n, c, h, w] = x.shape;
  if (n === UNKNOWN_DIM) {
    // The sums below fold channels into the batch (n·c images of one channel), which needs n.
    throw new Error(`avgPool2d: input ${inputs.describe()} has an unknown batch; avgPool2d needs a fixed batch size`);
  }
  const g = inputs.graph;
  return opScope(g, o.scope, "AvgPool2D", (sc) => {
    const pads = padsFor(padding, [h, w], kernel, strides);
    const ones = constant(new Array(kernel[0] * kernel[1]).fill(1), [1, 1, ...kernel], "float32", g);
    const sums = conv2dNCHW(reshape(x, [n * c, 1, h, w]), ones, { strides, padding: pads });
    const [ho, wo] = [sums.shape[2], sums.shape[3]];
    const counts = [0, 1].map((axis) =>
      Array.from({ length: axis === 0 ? ho : wo }, (_, i) => {
        const start = i * strides[axis] - pads[axis];
        return Math.min(start + kernel[axis], axis === 0 ? h : w) - Math.max(start, 0);
      })
    );
    const area = counts[0].flatMap((rows) => counts[1].map((cols) => rows * cols));
    const mean = div(reshape(sums, [n, c, ho, wo]), constant(area, [ho, wo], "float32", g));
    return collectNamedOutputs(o.outputsCollections, sc, leaveNCHW(mean, dataFormat));
  });
}
addArgScope(avgPool2d, { options: POOL_OPTIONS });

/** Window, strides and padding of a pooling over `inputs` (NCHW). */
function geometry(fn: string, inputs: Tensor, kernelSize: number | number[], o: Pool2dOptions, given: Tensor) {
  const padding = o.padding ?? "VALID";
  if (padding !== "SAME" && padding !== "VALID") throw new Error(`${fn}: padding must be "SAME" or "VALID", got ${JSON.stringify(padding)}`);
  const kernel = twoInts(fn, "kernelSize", kernelSize);
  const strides = twoInts(fn, "stride", o.stride ?? 2);
  if (padding === "VALID" && (kernel[0] > inputs.shape[2] || kernel[1] > inputs.shape[3])) {
    throw new Error(
      `${fn}: a ${kernel[0]}x${kernel[1]} window does not fit input ${given.name} ${formatShape(given.shape)} (${o.dataFormat ?? "NHWC"}) with VALID padding`,
    );
  }
  return { kernel, strides, padding };
}
