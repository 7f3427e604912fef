/**
 * Grouped 2-D convolution in ONNX's layout (input NCHW, filter [K, C/groups, kh,
 * kw]): ONNX Conv's `group` attribute, which depthwise convolutions (groups = C)
 * use. Its input gradient is ConvTranspose with the same groups (on the CPU
 * target, unstrided: a grouped Conv with the flipped filter); its filter
 * gradient is one convolution with batch and group folded into the channels.
 * @module
 */
import { formatShape } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { apply } from "./apply.ts";
import type { ConvAttrs } from "./conv.ts";
import { emitSpatialFlip } from "./filter_flip.ts";
import { expectDType, expectRank, type Lowering, registerOp } from "./registry.ts";

/** Convolution geometry plus the number of groups. */
export interface GroupedConvAttrs extends ConvAttrs {
  groups: number;
}

function outSize(size: number, k: number, s: number, d: number, p0: number, p1: number): number {
  return Math.floor((size + p0 + p1 - d * (k - 1) - 1) / s) + 1;
}

registerOp<GroupedConvAttrs>({
  type: "GroupedConv2D",
  autocast: true,
  infer: ([x, w], { strides, pads, dilations, groups }) => {
    expectRank("groupedConv2d", "input", x, 4);
    expectRank("groupedConv2d", "filter", w, 4);
    expectDType("groupedConv2d", "input", x, ["float32"]);
    expectDType("groupedConv2d", "filter", w, ["float32"]);
    const [n, c, h, wd] = x.shape;
    const [k, cg, kh, kw] = w.shape;
    if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0 || k % groups !== 0 || cg * groups !== c) {
      throw new Error(
        `groupedConv2d: ${groups} groups do not fit input ${x.name} ${formatShape(x.shape)} and filter ${w.name} ${formatShape(w.shape)} (channels and filters must divide by groups; the filter takes channels / groups)`,
      );
    }
    const ho = outSize(h, kh, strides[0], dilations[0], pads[0], pads[2]);
    const wo = outSize(wd, kw, strides[1], dilations[1], pads[1], pads[3]);
    if (ho < 1 || wo < 1) throw new Error(`groupedConv2d: a ${kh}x${kw} filter does not fit input ${x.name} ${formatShape(x.shape)} with pads ${formatShape(pads)}`);
    return [{ shape: [n, k, ho, wo], dtype: "float32" }];
  },
  grad: ({ inputs: [x, w], attrs, dys: [dy] }) => [
    apply("GroupedConv2DBackpropInput", [dy!, w], { ...attrs, inputShape: [...x.shape] }),
    apply("GroupedConv2DBackpropFilter", [x, dy!], { ...attrs, filterShape: [...w.shape] }),
  ],
  lower: (l) => {
    const w = l.node.inputs[1];
    l.emit("Conv", l.inputs, { outputs: l.outputs, attrs: { ...geometry(l.attrs), kernel_shape: [w.shape[2], w.shape[3]], group: l.attrs.groups } });
  },
});

function geometry(a: ConvAttrs): Record<string, number[]> {
  return { strides: a.strides, pads: a.pads, dilations: a.dilations };
}

registerOp<GroupedConvAttrs & { inputShape: number[] }>({
  type: "GroupedConv2DBackpropInput",
  autocast: true,
  infer: (_inputs, { inputShape }) => [{ shape: [...inputShape], dtype: "float32" }],
  // The adjoint of a grouped Conv is a ConvTranspose with the same filter and groups.
  lower: (l) => {
    if (l.target === "cpu" && lowerFlippedInputGrad(l)) return;
    const { strides, pads, dilations, inputShape, groups } = l.attrs;
    const [, , kh, kw] = l.node.inputs[1].shape;
    const [, , ho, wo] = l.node.inputs[0].shape;
    const reach = [dilations[0] * (kh - 1), dilations[1] * (kw - 1)];
    const outputPadding = [0, 1].map((i) => inputShape[2 + i] - (strides[i] * ([ho, wo][i] - 1) + reach[i] + 1 - pads[i] - pads[i + 2]));
    l.emit("ConvTranspose", l.inputs, {
      outputs: l.outputs,
      attrs: { kernel_shape: [kh, kw], strides, pads, dilations, output_padding: outputPadding, group: groups },
    });
  },
});

/**
 * Unstrided input gradient on the CPU EP as a grouped Conv of dy with the flipped
 * filter, its in and out channels swapped within each group: ONNX Runtime's grouped
 * ConvTranspose runs 3x3 depthwise gradients 2-5x slower than its grouped Conv
 * (MobileNet v2's shapes). Returns false where the form does not apply (strides,
 * pads wider than the filter's reach, 1x1 filters that need no flip).
 */
function lowerFlippedInputGrad(l: Lowering<GroupedConvAttrs & { inputShape: number[] }>): boolean {
  const { strides, pads, dilations, inputShape, groups } = l.attrs;
  const [k, cg, kh, kw] = l.node.inputs[1].shape;
  const [, , ho, wo] = l.node.inputs[0].shape;
  const reach = [dilations[0] * (kh - 1), dilations[1] * (kw - 1)];
  const flipPads = [reach[0] - pads[0], reach[1] - pads[1], reach[0] - pads[2], reach[1] - pads[3]];
  if (strides.some((s) => s !== 1) || flipPads.some((p) => p < 0) || kh * kw === 1) return false;
  const kg = k / groups;
  let flipped = emitSpatialFlip(l, l.inputs[1], [k, cg, kh, kw]);
  if (kg > 1 && cg > 1) {
    // Group g's filters [kg, cg] become [cg, kg]: the adjoint maps the group's outputs back to its inputs.
    const [w5] = l.emit("Reshape", [flipped, l.int64s([groups, kg, cg, kh * kw])]);
    const [swapped] = l.emit("Transpose", [w5], { attrs: { perm: [0, 2, 1, 3] } });
    [flipped] = l.emit("Reshape", [swapped, l.int64s([groups * cg, kg, kh, kw])]);
  } else {
    // With one filter or one channel per group, swapping them is a reshape.
    [flipped] = l.emit("Reshape", [flipped, l.int64s([groups * cg, kg, kh, kw])]);
  }
  // Output size = ho + pad sum - reach; rows the forward's floor division dropped come back as bottom/right pad.
  const padsOut = [flipPads[0], flipPads[1], inputShape[2] - ho - flipPads[0] + reach[0], inputShape[3] - wo - flipPads[1] + reach[1]];
  l.emit("Conv", [l.inputs[0], flipped], {
    outputs: l.outputs,
    attrs: { kernel_shape: [kh, kw], strides: [1, 1], pads: padsOut, dilations, group: groups },
  });
  return true;
}

registerOp<GroupedConvAttrs & { filterShape: number[] }>({
  type: "GroupedConv2DBackpropFilter",
  autocast: true,
  infer: (_inputs, { filterShape }) => [{ shape: [...filterShape], dtype: "float32" }],
  lower: lowerGroupedFilterGrad,
});

/**
 * dW[G·kg + j, c, a, b] = Σ_n,p,q dy[n, G·kg + j, p, q] · x[n, G·cg + c, p·s + a·d - pad, ...]:
 * x viewed as [cg, N·g, H, W] (batch = channel within the group) convolved with
 * dy viewed as [N·K, 1, Ho, Wo] in N·g groups (one per image and group), dilated by
 * the forward stride, gives [cg, N·K, kh, kw]; summing over N and swapping the
 * first two axes leaves the filter's [K, cg, kh, kw].
 */
function lowerGroupedFilterGrad(l: Lowering<GroupedConvAttrs & { filterShape: number[] }>): void {
  const [x, dy] = l.inputs;
  const { strides, pads, dilations, filterShape, groups } = l.attrs;
  const [n, , h, w] = l.node.inputs[0].shape;
  const [, k, ho, wo] = l.node.inputs[1].shape;
  const [, cg, kh, kw] = filterShape;
  // The bottom/right pad that makes the output exactly kh x kw; negative means crop x.
  const endPad = [0, 1].map((i) => ([kh, kw][i] - 1) * dilations[i] + strides[i] * ([ho, wo][i] - 1) + 1 - [h, w][i] - pads[i]);
  let xIn = x;
  const cropped = [0, 1].map((i) => [h, w][i] + Math.min(0, endPad[i]));
  if (endPad.some((p) => p < 0)) [xIn] = l.emit("Slice", [x, l.int64s([0, 0]), l.int64s(cropped), l.int64s([2, 3])]);
  // With one channel per group (depthwise) the channel axis has size 1 and moving it is a reshape.
  let xt = xIn;
  if (cg > 1) {
    const [x5] = l.emit("Reshape", [xIn, l.int64s([n, groups, cg, cropped[0], cropped[1]])]);
    [xt] = l.emit("Transpose", [x5], { attrs: { perm: [2, 0, 1, 3, 4] } });
  }
  const [xg] = l.emit("Reshape", [xt, l.int64s([cg, n * groups, cropped[0], cropped[1]])]);
  const [dyg] = l.emit("Reshape", [dy, l.int64s([n * k, 1, ho, wo])]);
  const [g] = l.emit("Conv", [xg, dyg], {
    attrs: {
      kernel_shape: [ho, wo],
      strides: dilations,
      dilations: strides,
      pads: [pads[0], pads[1], Math.max(0, endPad[0]), Math.max(0, endPad[1])],
      group: n * groups,
    },
  });
  const [g5] = l.emit("Reshape", [g, l.int64s([cg, n, k, kh, kw])]);
  const [summed] = l.emit("ReduceSum", [g5, l.int64s([1])], { attrs: { keepdims: 0 } });
  if (cg === 1) l.emit("Reshape", [summed, l.int64s(filterShape)], { outputs: l.outputs });
  else l.emit("Transpose", [summed], { outputs: l.outputs, attrs: { perm: [1, 0, 2, 3] } });
}

/**
 * Grouped convolution in ONNX layout: input [N, C, H, W], filter [K, C/groups,
 * kh, kw]; pads are explicit [top, left, bottom, right]. groups = C is a
 * depthwise convolution.
 *
 * @example
 * ```ts
 * const y = groupedConv2dNCHW(x, w, { groups: 32, strides: [1, 1], pads: [1, 1, 1, 1] });
 * ```
 */
export function groupedConv2dNCHW(
  x: Tensor,
  w: Tensor,
  { groups, strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1] }: { groups: number; strides?: number[]; pads?: number[]; dilations?: number[] },
): Tensor {
  if (pads.length !== 4) throw new Error(`groupedConv2d: pads need 4 values [top, left, bottom, right], got ${formatShape(pads)}`);
  return apply("GroupedConv2D", [x, w], { strides, pads, dilations, groups });
}
