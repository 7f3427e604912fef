/**
 * Gradient checks for the ops that imported ONNX models need: grouped and
 * depthwise convolution, transposed convolution (ONNX geometry), erf and the
 * activations built on it or on clip.
 * @module
 */
import { randomArray, test } from "../../test/harness.ts";
import { checkGradients, type GradientCheckInput } from "../autodiff/check_grads.ts";
import { numElements } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { clip, erf, gelu, hardSigmoid, hardSwish, leakyRelu } from "./activations.ts";
import { convTransposeNCHW } from "./conv_transpose.ts";
import { groupedConv2dNCHW } from "./grouped_conv.ts";

let seed = 700;
const u = (shape: number[], lo = -1, hi = 1, name?: string): GradientCheckInput => ({ shape, data: randomArray(numElements(shape), seed++, lo, hi), name });
/** Values kept away from the kinks at 0, ±3 and the clip bounds, where finite differences straddle them. */
function away(shape: number[], kinks: number[]): GradientCheckInput {
  const x = u(shape, -4, 4);
  const d = x.data as Float32Array;
  for (let i = 0; i < d.length; i++) {
    for (const k of kinks) if (Math.abs(d[i] - k) < 0.05) d[i] = k + 0.1;
  }
  return x;
}

const cases: [string, (...xs: Tensor[]) => Tensor, GradientCheckInput[]][] = [
  ["groupedConv2d depthwise 3x3 stride 1 pads 1", (x, w) => groupedConv2dNCHW(x, w, { groups: 3, pads: [1, 1, 1, 1] }), [u([2, 3, 5, 5], -1, 1, "x"), u([3, 1, 3, 3], -1, 1, "w")]],
  ["groupedConv2d depthwise stride 2 (a row left over)", (x, w) => groupedConv2dNCHW(x, w, { groups: 2, strides: [2, 2], pads: [1, 1, 1, 1] }), [u([1, 2, 6, 6], -1, 1, "x"), u([2, 1, 3, 3], -1, 1, "w")]],
  ["groupedConv2d 2 groups, 2 in and 3 out per group", (x, w) => groupedConv2dNCHW(x, w, { groups: 2, pads: [0, 1, 1, 0] }), [u([2, 4, 4, 5], -1, 1, "x"), u([6, 2, 2, 3], -1, 1, "w")]],
  ["groupedConv2d dilation 2, channel multiplier 2", (x, w) => groupedConv2dNCHW(x, w, { groups: 2, dilations: [2, 2], pads: [2, 2, 2, 2] }), [u([1, 2, 5, 5], -1, 1, "x"), u([4, 1, 3, 3], -1, 1, "w")]],
  ["convTranspose stride 2, output padding 1", (x, w) => convTransposeNCHW(x, w, { strides: [2, 2], pads: [1, 1, 1, 1], outputPadding: [1, 1] }), [u([2, 2, 3, 3], -1, 1, "x"), u([2, 3, 3, 3], -1, 1, "w")]],
  ["convTranspose 2 groups, asymmetric pads", (x, w) => convTransposeNCHW(x, w, { groups: 2, pads: [0, 1, 1, 0] }), [u([1, 4, 3, 4], -1, 1, "x"), u([4, 1, 2, 3], -1, 1, "w")]],
  ["erf", (x) => erf(x), [u([3, 4], -2, 2)]],
  ["gelu", (x) => gelu(x), [u([3, 4], -3, 3)]],
  ["gelu tanh approximation", (x) => gelu(x, { approximate: "tanh" }), [u([3, 4], -3, 3)]],
  ["leakyRelu 0.1", (x) => leakyRelu(x, 0.1), [away([3, 4], [0])]],
  ["clip [0, 3] (a ReLU6 scaled to the inputs)", (x) => clip(x, 0, 3), [away([3, 4], [0, 3])]],
  ["hardSigmoid", (x) => hardSigmoid(x), [away([3, 4], [-2.5, 2.5])]],
  ["hardSwish", (x) => hardSwish(x), [away([3, 4], [-3, 3])]],
];

for (const [name, build, inputs] of cases) {
  test(`${name.split(" ")[0]}() gradient matches finite differences: ${name}`, async () => {
    await checkGradients(build, inputs, { name });
  });
}
