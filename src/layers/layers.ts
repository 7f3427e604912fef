/**
 * slim's layers with variables: `conv2d` and `fullyConnected`. Activations are
 * NCHW (ONNX's layout) while the variables keep slim's own layouts and names
 * (`<scope>/weights` as [kh, kw, in, out] or [in, out], `<scope>/biases`), so
 * checkpoints and variable lists read exactly like slim's.
 * @module
 */
import { type Graph, GraphKeys } from "../graph/graph.ts";
import { formatShape } from "../graph/host_tensor.ts";
import { type Initializer, xavierInitializer, zerosInitializer } from "../graph/initializers.ts";
import type { StorageLayout } from "../graph/storage_layout.ts";
import type { Tensor } from "../graph/tensor.ts";
import { type Variable, variable } from "../graph/variable.ts";
import { biasAddNCHW, conv2dNCHW, matmul, padsFor, relu, slice } from "../ops/mod.ts";
import { addArgScope, scopedOptions } from "./arg_scope.ts";
import type { Regularizer } from "./regularizers.ts";
import { collectNamedOutputs, layerScope, twoInts } from "./utils.ts";

/** slim's [kh, kw, in, out] filter to ONNX's [out, in, kh, kw]. */
const HWIO_TO_OIHW = [3, 2, 0, 1];

/** Options shared by `conv2d` and `fullyConnected`, with slim's defaults. */
export interface LayerOptions {
  /** Applied last; default ReLU, `null` for none (linear). */
  activationFn?: ((x: Tensor) => Tensor) | null;
  /** Replaces the biases when set (e.g. a batch norm), called with `normalizerParams`. */
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
 * slim's `conv2d` on NCHW inputs: `activationFn(conv(inputs, weights) + biases)`.
 * Creates `<scope>/weights` [kh, kw, in, numOutputs] and `<scope>/biases` [numOutputs].
 * Filter taps that can only meet zero padding are sliced away: a SAME 7×7
 * convolution of a 1×1 map (VGG's fc6 on small images) runs as a 1×1 convolution
 * on the centre slice of the weights. This is exact, and the weights' gradient and
 * regularizer still cover the whole variable.
 *
 * @example
 * ```ts
 * const net = conv2d(toNCHW(images), 64, [3, 3], { scope: "conv1" }); // conv1/weights [3, 3, 3, 64]
 * ```
 */
export function conv2d(inputs: Tensor, numOutputs: number, kernelSize: number | number[], options: Conv2dOptions = {}): Tensor {
  const o = scopedOptions(conv2d, options);
  if (inputs.rank !== 4) {
    throw new Error(`conv2d: inputs must be rank 4 (NCHW), got rank ${inputs.rank} (tensor ${inputs.name} ${formatShape(inputs.shape)})`);
  }
  checkNumOutputs("conv2d", numOutputs);
  const [kh, kw] = twoInts("conv2d", "kernelSize", kernelSize);
  const strides = twoInts("conv2d", "stride", o.stride ?? 1);
  const rates = twoInts("conv2d", "rate", o.rate ?? 1);
  const padding = o.padding ?? "SAME";
  if (padding !== "SAME" && padding !== "VALID") throw new Error(`conv2d: padding must be "SAME" or "VALID", got ${JSON.stringify(padding)}`);
  if (rates.some((r) => r > 1) && strides.some((s) => s > 1)) {
    throw new Error(`conv2d: stride ${formatShape(strides)} and rate ${formatShape(rates)} cannot both exceed 1`);
  }
  const [, cin, h, w] = inputs.shape;
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
      y = conv2dNCHW(inputs, taps, { strides, padding: crop.pads });
    } else {
      y = conv2dNCHW(inputs, weights.value, { strides, padding: pads, dilations: rates });
    }
    return finish(y, numOutputs, sc, o);
  });
}
addArgScope(conv2d);

/**
 * slim's `fully_connected`: `activationFn(inputs × weights + biases)` on [batch, in]
 * inputs, with `<scope>/weights` [in, numOutputs] and `<scope>/biases` [numOutputs].
 * Flatten NCHW maps first with `flatten`, which orders features as slim does.
 *
 * @example
 * ```ts
 * const logits = fullyConnected(flatten(net), 10, { activationFn: null, scope: "logits" });
 * ```
 */
export function fullyConnected(inputs: Tensor, numOutputs: number, options: LayerOptions = {}): Tensor {
  const o = scopedOptions(fullyConnected, options);
  if (inputs.rank !== 2) {
    throw new Error(
      `fullyConnected: inputs must be rank 2 [batch, features], got rank ${inputs.rank} (tensor ${inputs.name} ${formatShape(inputs.shape)}); flatten them first`,
    );
  }
  checkNumOutputs("fullyConnected", numOutputs);
  return layerScope(inputs.graph, o.scope, "fully_connected", (sc) => {
    const weights = modelVariable(inputs.graph, "weights", [inputs.shape[1], numOutputs], o.weightsInitializer ?? xavierInitializer(), o.weightsRegularizer, o);
    return finish(matmul(inputs, weights.value), numOutputs, sc, o);
  });
}
addArgScope(fullyConnected);

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

/** Normalizer or biases, then the activation, then the named output. */
function finish(y: Tensor, numOutputs: number, scope: string, o: LayerOptions): Tensor {
  if (o.normalizerFn) {
    y = o.normalizerFn(y, o.normalizerParams ?? {});
  } else {
    const init = o.biasesInitializer === undefined ? zerosInitializer() : o.biasesInitializer;
    if (init) y = biasAddNCHW(y, modelVariable(y.graph, "biases", [numOutputs], init, o.biasesRegularizer, o).value);
  }
  const act = o.activationFn === undefined ? relu : o.activationFn;
  if (act) y = act(y);
  return collectNamedOutputs(o.outputsCollections, scope, y);
}

/** slim's `model_variable`: also in MODEL_VARIABLES, so savers and summaries find it. */
function modelVariable(
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

function checkNumOutputs(fn: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${fn}: numOutputs must be a positive integer, got ${n}`);
}
