/**
 * slim's normalization layers: `batchNorm` (with moving statistics updated by the
 * train step through UPDATE_OPS) and `layerNorm`. Both are built from primitive
 * ops (see src/ops/norm.ts), so they differentiate and run on every execution
 * provider.
 * @module
 */
import { type Graph, GraphKeys } from "../graph/graph.ts";
import { formatShape } from "../graph/host_tensor.ts";
import { constantInitializer, type Initializer, zerosInitializer } from "../graph/initializers.ts";
import type { Tensor } from "../graph/tensor.ts";
import { assign, type Variable, variable } from "../graph/variable.ts";
import { batchNormalization, moments, mul, reshape, sub } from "../ops/mod.ts";
import { addArgScope, scopedOptions } from "./arg_scope.ts";
import { modelVariable } from "./layers.ts";
import { COMMON_OPTIONS, nullable, optionTypes } from "./option_specs.ts";
import type { Regularizer } from "./regularizers.ts";
import { checkDataFormat, collectNamedOutputs, type DataFormat, enterNCHW, layerScope, leaveNCHW } from "./utils.ts";

/** Initializers by slim's variable names (`beta`, `gamma`, `moving_mean`, `moving_variance`). */
export interface BatchNormInitializers {
  beta?: Initializer;
  gamma?: Initializer;
  moving_mean?: Initializer;
  moving_variance?: Initializer;
}

/** Options for `batchNorm`, with slim's defaults. */
export interface BatchNormOptions {
  /** Moving averages keep `decay` of their value each step. Default 0.999. */
  decay?: number;
  /** Adds the learned offset `beta`. Default true. */
  center?: boolean;
  /** Multiplies by the learned `gamma`. Default false (slim's; a following ReLU makes it redundant). */
  scale?: boolean;
  /** Added to the variance. Default 0.001. */
  epsilon?: number;
  /** Applied last; default none. */
  activationFn?: ((x: Tensor) => Tensor) | null;
  /** Default zeros for `beta` and `moving_mean`, ones for `gamma` and `moving_variance`. */
  paramInitializers?: BatchNormInitializers;
  /** Regularizers for `beta` and `gamma`. */
  paramRegularizers?: { beta?: Regularizer | null; gamma?: Regularizer | null };
  /**
   * Collections that receive the moving-average updates; default UPDATE_OPS, which
   * `createTrainOp` applies with each step. `null` (slim's "update in place") puts
   * them in UPDATE_OPS too: in slimtrain every variable update runs with the step.
   */
  updatesCollections?: string | string[] | null;
  /** Normalize with the batch's statistics and update the moving ones (true, default), or use the moving ones. */
  isTraining?: boolean;
  /** Whether `beta` and `gamma` are trained. Default true. */
  trainable?: boolean;
  /** Layout of 4-D `inputs`: "NHWC" (default, channels last) or "NCHW". Other ranks: channels last, or axis 1 for NCHW. */
  dataFormat?: DataFormat;
  outputsCollections?: string | string[];
  /** Variable scope; default `BatchNorm` (inside a conv2d's scope when used as its normalizerFn). */
  scope?: string;
}

/**
 * slim's `batch_norm`. In training, each channel is normalized with the batch's
 * mean and biased variance, and the train step updates `moving_mean` and
 * `moving_variance` as `moving - (moving - batch) · (1 - decay)` (TF's
 * `assign_moving_average`, without zero-debiasing). As slim's default fused
 * kernel does for 2-D and 4-D inputs, the variance that feeds `moving_variance`
 * carries Bessel's correction (n / (n - 1), n = values per channel), which PyTorch's
 * running variance does too; other ranks use the biased one, as slim's unfused
 * path. With `isTraining: false` the moving statistics normalize and nothing is
 * updated. Variables, by slim's names under the layer's scope: `beta`, `gamma`
 * (with `scale`), and `moving_mean`, `moving_variance` (model variables, not trained).
 *
 * @example
 * ```ts
 * const net = argScope([conv2d], { normalizerFn: batchNorm, normalizerParams: { isTraining, decay: 0.997 } }, () =>
 *   conv2d(images, 64, [7, 7], { stride: 2, scope: "conv1" })); // conv1/BatchNorm/beta, .../moving_mean, ...
 * ```
 */
export function batchNorm(inputs: Tensor, options: BatchNormOptions = {}): Tensor {
  const o = scopedOptions(batchNorm, options);
  const dataFormat = o.dataFormat ?? "NHWC";
  checkDataFormat("batchNorm", dataFormat);
  const decay = o.decay ?? 0.999, epsilon = o.epsilon ?? 0.001;
  if (!(decay >= 0 && decay <= 1)) throw new Error(`batchNorm: decay must be in [0, 1], got ${decay} (tensor ${inputs.name})`);
  if (inputs.rank < 2) {
    throw new Error(`batchNorm: inputs must have rank 2 or more [batch, ..., channels], got rank ${inputs.rank} (tensor ${inputs.name} ${formatShape(inputs.shape)})`);
  }
  checkKeys("paramInitializers", o.paramInitializers, ["beta", "gamma", "moving_mean", "moving_variance"]);
  checkKeys("paramRegularizers", o.paramRegularizers, ["beta", "gamma"]);
  // 4-D maps normalize in NCHW (the layout the convolutions around them run in).
  const x = inputs.rank === 4 ? enterNCHW("batchNorm", inputs, dataFormat) : inputs;
  const axis = inputs.rank === 4 || dataFormat === "NCHW" ? 1 : x.rank - 1;
  const channels = x.shape[axis];
  const reduceAxes = x.shape.map((_, i) => i).filter((i) => i !== axis);
  const statShape = x.shape.map((d, i) => (i === axis ? d : 1));
  const init = o.paramInitializers ?? {}, reg = o.paramRegularizers ?? {};
  const trainable = o.trainable ?? true;
  return layerScope(inputs.graph, o.scope, "BatchNorm", (sc) => {
    const g = inputs.graph;
    const param = (name: "beta" | "gamma", initializer: Initializer) =>
      reshape(modelVariable(g, name, [channels], init[name] ?? initializer, reg[name], { trainable }).value, statShape);
    const beta = o.center ?? true ? param("beta", zerosInitializer()) : null;
    const gamma = o.scale ?? false ? param("gamma", constantInitializer(1)) : null;
    const movingMean = movingStat(g, "moving_mean", channels, init.moving_mean ?? zerosInitializer());
    const movingVariance = movingStat(g, "moving_variance", channels, init.moving_variance ?? constantInitializer(1));
    let y: Tensor;
    if (o.isTraining ?? true) {
      const { mean, variance } = moments(x, reduceAxes, true);
      y = batchNormalization(x, mean, variance, beta, gamma, epsilon);
      const n = reduceAxes.reduce((p, a) => p * x.shape[a], 1);
      const bessel = (x.rank === 2 || x.rank === 4) && n > 1 ? n / (n - 1) : 1;
      const collections = o.updatesCollections ?? GraphKeys.UPDATE_OPS;
      const stats = [[movingMean, mean], [movingVariance, bessel === 1 ? variance : mul(variance, bessel)]] as const;
      for (const [i, [moving, batch]] of stats.entries()) {
        const value = g.withScope(i === 0 ? "AssignMovingAvg" : "AssignMovingAvg_1", () =>
          sub(moving.value, mul(sub(moving.value, reshape(batch, [channels])), 1 - decay)));
        const update = assign(moving, value);
        for (const c of typeof collections === "string" ? [collections] : collections) g.addToCollection(c, update);
      }
    } else {
      y = batchNormalization(x, reshape(movingMean.value, statShape), reshape(movingVariance.value, statShape), beta, gamma, epsilon);
    }
    if (inputs.rank === 4) y = leaveNCHW(y, dataFormat);
    if (o.activationFn) y = o.activationFn(y);
    return collectNamedOutputs(o.outputsCollections, sc, y);
  });
}
addArgScope(batchNorm, {
  options: {
    ...COMMON_OPTIONS,
    decay: optionTypes.number,
    center: optionTypes.boolean,
    scale: optionTypes.boolean,
    epsilon: optionTypes.number,
    activationFn: nullable(optionTypes.function),
    paramInitializers: nullable(optionTypes.object),
    paramRegularizers: nullable(optionTypes.object),
    updatesCollections: nullable(optionTypes.collections),
    isTraining: optionTypes.boolean,
    trainable: optionTypes.boolean,
    dataFormat: optionTypes.dataFormat,
  },
});

/** A moving statistic: a model variable that is never trained, only assigned by the step. */
function movingStat(g: Graph, name: string, channels: number, initializer: Initializer): Variable {
  return variable(name, { shape: [channels], initializer, trainable: false, collections: [GraphKeys.MODEL_VARIABLES] }, g);
}

function checkKeys(option: string, given: object | null | undefined, known: string[]): void {
  for (const k of Object.keys(given ?? {})) {
    if (!known.includes(k)) throw new Error(`batchNorm: ${option} has no entry ${k}; it takes ${known.join(", ")} (slim's variable names)`);
  }
}

/** Options for `layerNorm`, with slim's defaults. */
export interface LayerNormOptions {
  /** Adds the learned offset `beta`. Default true. */
  center?: boolean;
  /** Multiplies by the learned `gamma`. Default true. */
  scale?: boolean;
  /** Statistics are taken over axes `beginNormAxis` to the last. Default 1. */
  beginNormAxis?: number;
  /** `beta` and `gamma` have the shape of axes `beginParamsAxis` to the last. Default -1. */
  beginParamsAxis?: number;
  /** Applied last; default none. */
  activationFn?: ((x: Tensor) => Tensor) | null;
  /** Whether `beta` and `gamma` are trained. Default true. */
  trainable?: boolean;
  outputsCollections?: string | string[];
  /** Variable scope; default `LayerNorm`. */
  scope?: string;
}

/**
 * slim's `layer_norm`: each example normalized over axes `beginNormAxis`.. with its
 * own mean and variance (epsilon 1e-12, as slim), then `gamma` and `beta` of shape
 * `inputs.shape[beginParamsAxis..]`. Variables `<scope>/beta`, `<scope>/gamma`.
 *
 * @example
 * ```ts
 * const h = layerNorm(fc, { scope: "ln1" }); // ln1/beta [features], ln1/gamma [features]
 * ```
 */
export function layerNorm(inputs: Tensor, options: LayerNormOptions = {}): Tensor {
  const o = scopedOptions(layerNorm, options);
  const rank = inputs.rank;
  const axis = (name: string, a: number) => {
    const r = a < 0 ? a + rank : a;
    if (!Number.isInteger(r) || r < 0 || r >= rank) {
      throw new Error(`layerNorm: ${name} ${a} is out of range for ${inputs.name} ${formatShape(inputs.shape)} (rank ${rank})`);
    }
    return r;
  };
  if (rank < 1) throw new Error(`layerNorm: inputs must not be a scalar (tensor ${inputs.name})`);
  const normFrom = axis("beginNormAxis", o.beginNormAxis ?? 1);
  const paramsFrom = axis("beginParamsAxis", o.beginParamsAxis ?? -1);
  const paramsShape = inputs.shape.slice(paramsFrom);
  const broadcastShape = [...new Array(paramsFrom).fill(1), ...paramsShape];
  const trainable = o.trainable ?? true;
  return layerScope(inputs.graph, o.scope, "LayerNorm", (sc) => {
    const g = inputs.graph;
    const param = (name: string, initializer: Initializer) =>
      reshape(modelVariable(g, name, paramsShape, initializer, null, { trainable }).value, broadcastShape);
    const beta = o.center ?? true ? param("beta", zerosInitializer()) : null;
    const gamma = o.scale ?? true ? param("gamma", constantInitializer(1)) : null;
    const axes = inputs.shape.map((_, i) => i).filter((i) => i >= normFrom);
    const { mean, variance } = moments(inputs, axes, true);
    let y = batchNormalization(inputs, mean, variance, beta, gamma, 1e-12);
    if (o.activationFn) y = o.activationFn(y);
    return collectNamedOutputs(o.outputsCollections, sc, y);
  });
}
addArgScope(layerNorm, {
  options: {
    ...COMMON_OPTIONS,
    center: optionTypes.boolean,
    scale: optionTypes.boolean,
    beginNormAxis: optionTypes.number,
    beginParamsAxis: optionTypes.number,
    activationFn: nullable(optionTypes.function),
    trainable: optionTypes.boolean,
  },
});
