/**
 * slim's layers with variables: `conv2d` and `fullyConnected`. They take and
 * return slim's NHWC (or NCHW with `dataFormat`), compute in NCHW inside the step
 * (the transposes between layers fold away), and keep slim's variable layouts and
 * names (`<scope>/weights` as [kh, kw, in, out] or [in, out], `<scope>/biases`),
 * so checkpoints and variable lists read exactly like slim's.
 * @module
 */
import { type Graph, GraphKeys } from "../graph/graph.ts";
import { formatShape } from "../graph/host_tensor.ts";
import { type Initializer, xavierInitializer, zerosInitializer } from "../graph/initializers.ts";
import type { StorageLayout } from "../graph/storage_layout.ts";
import type { Tensor } from "../graph/tensor.ts";
import { type Variable, variable } from "../graph/variable.ts";
import { biasAddNCHW, conv2dNCHW, matmul, padsFor, relu, reshape, slice } from "../ops/mod.ts";
import { addArgScope, scopedOptions } from "./arg_scope.ts";
import { CONV_OPTIONS, LAYER_OPTIONS } from "./option_specs.ts";
import type { Regularizer } from "./regularizers.ts";
import { collectNamedOutputs, type DataFormat, enterNCHW, layerScope, leaveNCHW, twoInts } from "./utils.ts";

/** slim's [kh, kw, in, out] filter to ONNX's [out, in, kh, kw]. */
const HWIO_TO_OIHW = [3, 2, 0, 1];

/** Options shared by `conv2d` and `fullyConnected`, with slim's defaults. */
export interface LayerOptions {
  /** Applied last; default ReLU, `null` for none (linear). */
  activationFn?: ((x: Tensor) => Tensor) | null;
  /** Replaces the biases when set (e.g. `batchNorm`), called with the layer's output and `normalizerParams`. */
  normalizerFn?: ((x: Tensor, params: Record<string, unknown>) => Tensor) | null;
  normalizerParams?: Record<string, unknown>;
  /** Default Xavier (Glorot uniform). */
  weightsInitializer?: Initializer;
  weightsRegularizer?: Regularizer | null;
  /** Default zeros; `null` for no biases. */
  biasesInitializer?: Initializer | null;
  biasesRegularizer?: Regularizer | null;
  /** Whether the variables join TRAINABLE_VARIABLES. Default true. */
  trainable?: boolean;
  /** Collections that record the output under the layer's scope name (a net's end points). */
  outputsCollections?: string | string[];
  /** Variable scope; default `Conv` / `fully_connected`, made unique. */
  scope?: string;
}

/** Options for `conv2d`. */
export interface Conv2dOptions extends LayerOptions {
  /** Default 1. */
  stride?: number | number[];
  /** Default "SAME". */
  padding?: "SAME" | "VALID";
  /** Atrous (dilation) rate; default 1. */
  rate?: number | number[];
  /** Layout of `inputs` and of the output: "NHWC" (default, slim's) or "NCHW". */
  dataFormat?: DataFormat;
  /**
   * When some filter taps can only ever meet zero padding (fc6's 7×7 SAME on a 1×1
   * map), keep only the others in the train step. Outputs and their gradients are
   * unchanged; weight decay then covers only the taps that touch data, and the rest
   * keep their values (for VGG-16 on small images: 1/49 of fc6's weight traffic per
   * step). Default false: the whole variable is trained and decayed, as in slim.
   */
  trainDataTapsOnly?: boolean;
}

/**
 * slim's `conv2d`: `activationFn(conv(inputs, weights) + biases)` on NHWC inputs
 * (or NCHW with `dataFormat`), returning the same layout. Creates `<scope>/weights`
 * [kh, kw, in, numOutputs] and `<scope>/biases` [numOutputs] (no biases when a
 * `normalizerFn` is given, as in slim). Filter taps that can only meet zero padding
 * are sliced away: a SAME 7×7 convolution of a 1×1 map (VGG's fc6 on small images)
 * runs as a 1×1 convolution on the centre slice of the weights. This is exact, and
 * the weights' gradient and regularizer still cover the whole variable.
 *
 * @example
 * ```ts
 * const net = conv2d(images, 64, [3, 3], { scope: "conv1" }); // [N, H, W, 3] -> [N, H, W, 64]; conv1/weights [3, 3, 3, 64]
 * ```
 */
export function conv2d(inputs: Tensor, numOutputs: number, kernelSize: number | number[], options: Conv2dOptions = {}): Tensor {
  const o = scopedOptions(conv2d, options);
  const dataFormat = o.dataFormat ?? "NHWC";
  const x = enterNCHW("conv2d", inputs, dataFormat);
  checkNumOutputs("conv2d", numOutputs);
  const [kh, kw] = twoInts("conv2d", "kernelSize", kernelSize);
  const strides = twoInts("conv2d", "stride", o.stride ?? 1);
  const rates = twoInts("conv2d", "rate", o.rate ?? 1);
  const padding = o.padding ?? "SAME";
  if (padding !== "SAME" && padding !== "VALID") throw new Error(`conv2d: padding must be "SAME" or "VALID", got ${JSON.stringify(padding)}`);
  if (rates.some((r) => r > 1) && strides.some((s) => s > 1)) {
    throw new Error(`conv2d: stride ${formatShape(strides)} and rate ${formatShape(rates)} cannot both exceed 1`);
  }
  const [, cin, h, w] = x.shape;
  return layerScope(inputs.graph, o.scope, "Conv", (sc) => {
    const pads = padsFor(padding, [h, w], [kh, kw], strides, rates);
    const crop = rates.every((r) => r === 1) ? dataTaps([h, w], [kh, kw], strides, pads) : null;
    // Stored as ONNX's [out, in, kh, kw] between steps; checkpoints keep slim's [kh, kw, in, out].
    const region = crop && o.trainDataTapsOnly ? { begin: [0, 0, ...crop.first], size: [numOutputs, cin, ...crop.size] } : undefined;
    const weights = modelVariable(inputs.graph, "weights", [kh, kw, cin, numOutputs], o.weightsInitializer ?? xavierInitializer(), o.weightsRegularizer, o, {
      perm: HWIO_TO_OIHW,
      region,
    });
    let y: Tensor;
    if (crop) {
      const taps = region ? weights.value : slice(weights.value, [0, 0, ...crop.first], [numOutputs, cin, ...crop.size]);
      y = conv2dNCHW(x, taps, { strides, padding: crop.pads });
    } else {
      y = conv2dNCHW(x, weights.value, { strides, padding: pads, dilations: rates });
    }
    return finishLayer(y, numOutputs, sc, o, dataFormat);
  });
}
addArgScope(conv2d, { options: CONV_OPTIONS });

/**
 * slim's `fully_connected`: `activationFn(inputs × weights + biases)` over the last
 * axis of inputs of rank 2 or more, with `<scope>/weights` [in, numOutputs] and
 * `<scope>/biases` [numOutputs]. Flatten maps first with `flatten`.
 *
 * @example
 * ```ts
 * const logits = fullyConnected(flatten(net), 10, { activationFn: null, scope: "logits" });
 * ```
 */
export function fullyConnected(inputs: Tensor, numOutputs: number, options: LayerOptions = {}): Tensor {
  const o = scopedOptions(fullyConnected, options);
  if (inputs.rank < 2) {
    throw new Error(
      `fullyConnected: inputs must have rank 2 or more [batch, ..., features], got rank ${inputs.rank} (tensor ${inputs.name} ${formatShape(inputs.shape)})`,
    );
  }
  checkNumOutputs("fullyConnected", numOutputs);
  const features = inputs.shape[inputs.rank - 1];
  return layerScope(inputs.graph, o.scope, "fully_connected", (sc) => {
    const weights = modelVariable(inputs.graph, "weights", [features, numOutputs], o.weightsInitializer ?? xavierInitializer(), o.weightsRegularizer, o);
    // Rank > 2: one matrix product over every leading position, then the leading axes back.
    const rows = inputs.rank === 2 ? inputs : reshape(inputs, [-1, features]);
    let y = matmul(rows, weights.value);
    y = addBiases(y, numOutputs, o);
    if (inputs.rank > 2) y = reshape(y, [...inputs.shape.slice(0, -1), numOutputs]);
    return finishLayer(y, numOutputs, sc, { ...o, biasesInitializer: null }, "NCHW");
  });
}
addArgScope(fullyConnected, { options: LAYER_OPTIONS });

/**
 * When a map is smaller than the filter (fc6's 7×7 on a 1×1 map), outer taps only
 * ever multiply zero padding. Returns the window of taps that can touch data, with
 * the pads that keep the output identical, or null when every tap can.
 */
function dataTaps(size: number[], kernel: number[], strides: number[], pads: number[]) {
  const first: number[] = [], last: number[] = [];
  for (const i of [0, 1]) {
    const out = Math.floor((size[i] + pads[i] + pads[i + 2] - kernel[i]) / strides[i]) + 1;
    if (out < 1) return null; // the convolution reports that the filter does not fit
    // Output j reads input j*stride - padBefore + tap, so tap t reaches data for some j
    // only within [padBefore - (out-1)*stride, padBefore + size - 1].
    first.push(Math.max(0, pads[i] - (out - 1) * strides[i]));
    last.push(Math.min(kernel[i] - 1, pads[i] + size[i] - 1));
  }
  if (first.every((f) => f === 0) && last.every((l, i) => l === kernel[i] - 1)) return null;
  return {
    first,
    size: [last[0] - first[0] + 1, last[1] - first[1] + 1],
    pads: [pads[0] - first[0], pads[1] - first[1], pads[2] - (kernel[0] - 1 - last[0]), pads[3] - (kernel[1] - 1 - last[1])],
  };
}

/**
 * Biases (unless a normalizer replaces them) on an NCHW or [batch, features]
 * result, then back to the caller's layout, the normalizer and the activation
 * there (as slim applies them), and the named output. Elementwise activations on
 * the caller's layout cost nothing: the next layer's entry transpose moves past them.
 *
 * @example
 * ```ts
 * return finishLayer(conv2dNCHW(x, w), 64, "conv1", options, "NHWC");
 * ```
 */
export function finishLayer(y: Tensor, numOutputs: number, scope: string, o: LayerOptions, dataFormat: DataFormat): Tensor {
  y = addBiases(y, numOutputs, o);
  if (y.rank === 4) y = leaveNCHW(y, dataFormat);
  if (o.normalizerFn) y = o.normalizerFn(y, o.normalizerParams ?? {});
  const act = o.activationFn === undefined ? relu : o.activationFn;
  if (act) y = act(y);
  return collectNamedOutputs(o.outputsCollections, scope, y);
}

/** `y + biases` on axis 1 (channels of NCHW, features of a matrix), unless a normalizer is set or biases are off. */
function addBiases(y: Tensor, numOutputs: number, o: LayerOptions): Tensor {
  if (o.normalizerFn) return y;
  const init = o.biasesInitializer === undefined ? zerosInitializer() : o.biasesInitializer;
  return init ? biasAddNCHW(y, modelVariable(y.graph, "biases", [numOutputs], init, o.biasesRegularizer, o).value) : y;
}

/**
 * slim's `model_variable`: also in MODEL_VARIABLES, so savers and summaries find it.
 *
 * @example
 * ```ts
 * const w = modelVariable(graph, "weights", [3, 3, 8, 16], xavierInitializer(), null, { trainable: true });
 * ```
 */
export function modelVariable(
  graph: Graph,
  name: string,
  shape: number[],
  initializer: Initializer,
  regularizer: Regularizer | null | undefined,
  o: LayerOptions,
  storage?: StorageLayout,
): Variable {
  return variable(name, {
    shape,
    storage,
    initializer,
    regularizer: regularizer ?? undefined,
    trainable: o.trainable ?? true,
    collections: [GraphKeys.MODEL_VARIABLES],
  }, graph);
}

/**
 * Throws unless `n` is a positive integer.
 *
 * @example
 * ```ts
 * checkNumOutputs("conv2d", numOutputs);
 * ```
 */
export function checkNumOutputs(fn: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${fn}: numOutputs must be a positive integer, got ${n}`);
}
