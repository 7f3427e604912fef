/**
 * slim's `conv2d_transpose` (a learned upsampling): the transpose of a
 * convolution, with slim's filter layout [kh, kw, out, in] and output sizes.
 * @module
 */
import { xavierInitializer } from "../graph/initializers.ts";
import type { Tensor } from "../graph/tensor.ts";
import { convTransposeNCHW, padsFor } from "../ops/mod.ts";
import { addArgScope, scopedOptions } from "./arg_scope.ts";
import { checkNumOutputs, finishLayer, type LayerOptions, modelVariable } from "./layers.ts";
import { LAYER_OPTIONS, optionTypes } from "./option_specs.ts";
import { type DataFormat, enterNCHW, layerScope, twoInts } from "./utils.ts";

/** Options for `conv2dTranspose`. */
export interface Conv2dTransposeOptions extends LayerOptions {
  /** Upsampling factor; default 1. */
  stride?: number | number[];
  /** "SAME" (default: output = input · stride) or "VALID" (output = input · stride + max(kernel - stride, 0)). */
  padding?: "SAME" | "VALID";
  /** Layout of `inputs` and of the output: "NHWC" (default, slim's) or "NCHW". */
  dataFormat?: DataFormat;
}

/**
 * slim's `conv2d_transpose`: `activationFn(convTranspose(inputs, weights) + biases)`
 * with `<scope>/weights` [kh, kw, numOutputs, in] (slim's layout, the transpose of
 * a convolution's) and `<scope>/biases` [numOutputs]; default scope `Conv2d_transpose`.
 *
 * @example
 * ```ts
 * const up = conv2dTranspose(net, 32, [3, 3], { stride: 2, scope: "up1" }); // [N, 8, 8, 64] -> [N, 16, 16, 32]
 * ```
 */
export function conv2dTranspose(inputs: Tensor, numOutputs: number, kernelSize: number | number[], options: Conv2dTransposeOptions = {}): Tensor {
  const o = scopedOptions(conv2dTranspose, options);
  const dataFormat = o.dataFormat ?? "NHWC";
  const x = enterNCHW("conv2dTranspose", inputs, dataFormat);
  checkNumOutputs("conv2dTranspose", numOutputs);
  const [kh, kw] = twoInts("conv2dTranspose", "kernelSize", kernelSize);
  const strides = twoInts("conv2dTranspose", "stride", o.stride ?? 1);
  const padding = o.padding ?? "SAME";
  if (padding !== "SAME" && padding !== "VALID") throw new Error(`conv2dTranspose: padding must be "SAME" or "VALID", got ${JSON.stringify(padding)}`);
  const [, cin, h, w] = x.shape;
  const size = [h, w].map((d, i) => (padding === "SAME" ? d * strides[i] : d * strides[i] + Math.max([kh, kw][i] - strides[i], 0)));
  return layerScope(inputs.graph, o.scope, "Conv2d_transpose", (sc) => {
    // [kh, kw, out, in] stored as [in, out, kh, kw]: the filter of the convolution this transposes.
    const weights = modelVariable(inputs.graph, "weights", [kh, kw, numOutputs, cin], o.weightsInitializer ?? xavierInitializer(), o.weightsRegularizer, o, {
      perm: [3, 2, 0, 1],
    });
    // The pads of the convolution from the output back to the input, as TF derives them.
    const pads = padsFor(padding, size, [kh, kw], strides);
    const outputPadding = [0, 1].map((i) => size[i] - (strides[i] * ([h, w][i] - 1) + [kh, kw][i] - pads[i] - pads[i + 2]));
    const y = convTransposeNCHW(x, weights.value, { strides, pads, outputPadding });
    return finishLayer(y, numOutputs, sc, o, dataFormat);
  });
}
addArgScope(conv2dTranspose, {
  options: { ...LAYER_OPTIONS, stride: optionTypes.numberOrPair, padding: optionTypes.padding, dataFormat: optionTypes.dataFormat },
});
