/**
 * slim's `separable_conv2d`: a depthwise convolution (each input channel filtered
 * on its own, `depthMultiplier` times), optionally followed by a pointwise 1×1
 * convolution that mixes channels, as MobileNet and Inception's separable blocks use.
 * @module
 */
import { formatShape } from "../graph/host_tensor.ts";
import { type Initializer, xavierInitializer } from "../graph/initializers.ts";
import type { Tensor } from "../graph/tensor.ts";
import { concat, conv2dNCHW, groupedConv2dNCHW, padsFor, reshape, slice } from "../ops/mod.ts";
import { addArgScope, scopedOptions } from "./arg_scope.ts";
import { checkNumOutputs, finishLayer, type LayerOptions, modelVariable } from "./layers.ts";
import { LAYER_OPTIONS, nullable, optionTypes } from "./option_specs.ts";
import type { Regularizer } from "./regularizers.ts";
import { type DataFormat, enterNCHW, layerScope, twoInts } from "./utils.ts";

/** Options for `separableConv2d`. */
export interface SeparableConv2dOptions extends LayerOptions {
  /** Depthwise filters per input channel; default 1. */
  depthMultiplier?: number;
  /** Default 1. */
  stride?: number | number[];
  /** Default "SAME". */
  padding?: "SAME" | "VALID";
  /** Atrous (dilation) rate of the depthwise filter; default 1. */
  rate?: number | number[];
  /** Layout of `inputs` and of the output: "NHWC" (default, slim's) or "NCHW". */
  dataFormat?: DataFormat;
  /** Initializer of `pointwise_weights`; default `weightsInitializer`'s. */
  pointwiseInitializer?: Initializer;
  /** Regularizer of `pointwise_weights`; default `weightsRegularizer`. */
  pointwiseRegularizer?: Regularizer | null;
}

/**
 * slim's `separable_conv2d`. Creates `<scope>/depthwise_weights` [kh, kw, in,
 * depthMultiplier] and, when `numOutputs` is a number, `<scope>/pointwise_weights`
 * [1, 1, in · depthMultiplier, numOutputs]; then biases [outputs] (none with a
 * `normalizerFn`), the normalizer and the activation, as `conv2d`. With
 * `numOutputs: null` it is the depthwise convolution alone, with in · depthMultiplier
 * outputs. Default scope `SeparableConv2d`.
 *
 * @example
 * ```ts
 * const net = separableConv2d(images, null, [3, 3], { depthMultiplier: 1, stride: 2, scope: "Conv2d_1_depthwise" });
 * const mixed = separableConv2d(images, 64, [3, 3], { scope: "sep" }); // sep/depthwise_weights, sep/pointwise_weights
 * ```
 */
export function separableConv2d(
  inputs: Tensor,
  numOutputs: number | null,
  kernelSize: number | number[],
  options: SeparableConv2dOptions = {},
): Tensor {
  const o = scopedOptions(separableConv2d, options);
  const dataFormat = o.dataFormat ?? "NHWC";
  const x = enterNCHW("separableConv2d", inputs, dataFormat);
  if (numOutputs !== null) checkNumOutputs("separableConv2d", numOutputs);
  const multiplier = o.depthMultiplier ?? 1;
  if (!Number.isInteger(multiplier) || multiplier < 1) {
    throw new Error(`separableConv2d: depthMultiplier must be a positive integer, got ${multiplier} (tensor ${inputs.name})`);
  }
  const [kh, kw] = twoInts("separableConv2d", "kernelSize", kernelSize);
  const strides = twoInts("separableConv2d", "stride", o.stride ?? 1);
  const rates = twoInts("separableConv2d", "rate", o.rate ?? 1);
  const padding = o.padding ?? "SAME";
  if (padding !== "SAME" && padding !== "VALID") throw new Error(`separableConv2d: padding must be "SAME" or "VALID", got ${JSON.stringify(padding)}`);
  if (rates.some((r) => r > 1) && strides.some((s) => s > 1)) {
    throw new Error(`separableConv2d: stride ${formatShape(strides)} and rate ${formatShape(rates)} cannot both exceed 1`);
  }
  const [, cin, h, w] = x.shape;
  const g = inputs.graph;
  return layerScope(g, o.scope, "SeparableConv2d", (sc) => {
    const init = o.weightsInitializer ?? xavierInitializer();
    // [kh, kw, in, m] stored as [in, m, kh, kw], the order of the grouped filter [in·m, 1, kh, kw].
    const depthwise = modelVariable(g, "depthwise_weights", [kh, kw, cin, multiplier], init, o.weightsRegularizer, o, { perm: [2, 3, 0, 1] });
    const pads = padsFor(padding, [h, w], [kh, kw], strides, rates);
    let y = depthwiseNCHW(x, depthwise.value, { strides, pads, dilations: rates });
    if (numOutputs !== null) {
      const pointwise = modelVariable(
        g,
        "pointwise_weights",
        [1, 1, cin * multiplier, numOutputs],
        o.pointwiseInitializer ?? init,
        o.pointwiseRegularizer === undefined ? o.weightsRegularizer : o.pointwiseRegularizer,
        o,
        { perm: [3, 2, 0, 1] },
      );
      y = conv2dNCHW(y, pointwise.value, { padding: "VALID" });
    }
    return finishLayer(y, numOutputs ?? cin * multiplier, sc, o, dataFormat);
  });
}
/**
 * A depthwise convolution as grouped ones (a group per input channel), from the
 * filter in its stored layout [in, m, kh, kw]; output channel c·m + j is input
 * channel c filtered by [c, j]. With m > 1 it runs as m convolutions of multiplier 1
 * whose outputs interleave: onnxruntime-node 1.30's WebGPU EP computes ConvTranspose
 * (the input gradient) wrongly for groups with several input channels and one
 * output channel, which a single grouped convolution of multiplier m would need.
 */
function depthwiseNCHW(x: Tensor, filter: Tensor, geometry: { strides: number[]; pads: number[]; dilations: number[] }): Tensor {
  const [cin, m, kh, kw] = filter.shape;
  if (m === 1) return groupedConv2dNCHW(x, reshape(filter, [cin, 1, kh, kw]), { groups: cin, ...geometry });
  const parts = Array.from({ length: m }, (_, j) => {
    const y = groupedConv2dNCHW(x, slice(filter, [0, j, 0, 0], [cin, 1, kh, kw]), { groups: cin, ...geometry });
    const [n, , ho, wo] = y.shape;
    return reshape(y, [n, cin, 1, ho, wo]);
  });
  const [n, , , ho, wo] = parts[0].shape;
  return reshape(concat(parts, 2), [n, cin * m, ho, wo]);
}

addArgScope(separableConv2d, {
  options: {
    ...LAYER_OPTIONS,
    depthMultiplier: optionTypes.number,
    stride: optionTypes.numberOrPair,
    padding: optionTypes.padding,
    rate: optionTypes.numberOrPair,
    dataFormat: optionTypes.dataFormat,
    pointwiseInitializer: optionTypes.initializer,
    pointwiseRegularizer: nullable(optionTypes.regularizer),
  },
});
