/**
 * 2-D transposed convolution with ONNX ConvTranspose's full geometry (explicit pads, output
 * padding, groups) in ONNX's layout (input [N, C, H, W], filter [C, K/groups,
 * kh, kw]): the adjoint of a convolution, as decoders and upsampling heads use.
 * Its gradients are the forward convolution's own ops: the input gradient is a
 * convolution of dy with the same filter, the filter gradient that convolution's
 * filter gradient with dy as its input.
 * @module
 */
import { formatShape } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { apply } from "./apply.ts";
// The gradient rules use the forward convolutions, which these modules register.
import "./conv.ts";
import "./grouped_conv.ts";
import type { GroupedConvAttrs } from "./grouped_conv.ts";
import { expectDType, expectRank, registerOp } from "./registry.ts";

/** Geometry of a transposed convolution: the forward conv's, plus extra rows/cols at the end. */
export interface ConvTransposeAttrs extends GroupedConvAttrs {
  outputPadding: number[];
}

registerOp<ConvTransposeAttrs>({
  type: "ConvTranspose2D",
  autocast: true,
  infer: ([x, w], { strides, pads, dilations, groups, outputPadding }) => {
    expectRank("conv2dTranspose", "input", x, 4);
    expectRank("conv2dTranspose", "filter", w, 4);
    expectDType("conv2dTranspose", "input", x, ["float32"]);
    expectDType("conv2dTranspose", "filter", w, ["float32"]);
    const [n, c, h, wd] = x.shape;
    const [ci, kg, kh, kw] = w.shape;
    if (ci !== c || c % groups !== 0) {
      throw new Error(`conv2dTranspose: input ${x.name} ${formatShape(x.shape)} does not match filter ${w.name} ${formatShape(w.shape)} with ${groups} groups (the filter is [in, out / groups, kh, kw])`);
    }
    const size = (i: number, len: number, k: number) => strides[i] * (len - 1) + outputPadding[i] + dilations[i] * (k - 1) + 1 - pads[i] - pads[i + 2];
    const ho = size(0, h, kh), wo = size(1, wd, kw);
    if (ho < 1 || wo < 1) throw new Error(`conv2dTranspose: pads ${formatShape(pads)} leave no output for input ${x.name} ${formatShape(x.shape)}`);
    return [{ shape: [n, kg * groups, ho, wo], dtype: "float32" }];
  },
  grad: ({ inputs: [x, w], attrs: { strides, pads, dilations, groups }, dys: [dy] }) => {
    const geometry = { strides, pads, dilations };
    if (groups === 1) {
      return [
        apply("Conv2D", [dy!, w], geometry),
        apply("Conv2DBackpropFilter", [dy!, x], { ...geometry, filterShape: [...w.shape] }),
      ];
    }
    return [
      apply("GroupedConv2D", [dy!, w], { ...geometry, groups }),
      apply("GroupedConv2DBackpropFilter", [dy!, x], { ...geometry, groups, filterShape: [...w.shape] }),
    ];
  },
  lower: (l) => {
    const { strides, pads, dilations, groups, outputPadding } = l.attrs;
    const [, , kh, kw] = l.node.inputs[1].shape;
    l.emit("ConvTranspose", l.inputs, {
      outputs: l.outputs,
      attrs: { kernel_shape: [kh, kw], strides, pads, dilations, group: groups, output_padding: outputPadding },
    });
  },
});

/**
 * Transposed convolution: input [N, C, H, W], filter [C, K/groups, kh, kw]; the
 * output is [N, K, s·(H-1) + outputPadding + d·(kh-1) + 1 - padTop - padBottom, ...].
 *
 * @example
 * ```ts
 * const up = convTransposeNCHW(x, w, { strides: [2, 2], pads: [1, 1, 1, 1], outputPadding: [1, 1] });
 * ```
 */
export function convTransposeNCHW(
  x: Tensor,
  w: Tensor,
  { strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1], groups = 1, outputPadding = [0, 0] }: {
    strides?: number[];
    pads?: number[];
    dilations?: number[];
    groups?: number;
    outputPadding?: number[];
  } = {},
): Tensor {
  if (pads.length !== 4) throw new Error(`conv2dTranspose: pads need 4 values [top, left, bottom, right], got ${formatShape(pads)}`);
  return apply("ConvTranspose2D", [x, w], { strides, pads, dilations, groups, outputPadding });
}
