/**
 * Import rules for the layers of image and sequence classifiers: Conv (groups,
 * dilations, auto_pad; 1-D and 2-D), ConvTranspose, MaxPool, AveragePool, the
 * global pools, Gemm and MatMul. 1-D convolutions and pools run as 2-D ones
 * over a height of 1.
 * @module
 */
import type { Tensor } from "../../graph/tensor.ts";
import { constant } from "../../graph/variable.ts";
import {
  add, apply, conv2dNCHW, convTransposeNCHW, div, groupedConv2dNCHW, matmul, mul, reduceMax, reduceMean, reshape, transpose,
} from "../../ops/mod.ts";
import type { OnnxNode } from "./onnx_node.ts";
import { defineRule } from "./rules.ts";

/** Spatial geometry in 2-D form: [h, w] pairs and pads [top, left, bottom, right]. */
interface Geometry {
  kernel: number[];
  strides: number[];
  dilations: number[];
  pads: number[];
}

/** Lifts a 1-D spatial input [N, C, L] to [N, C, 1, L]; 2-D passes; others fail naming the node. */
function to2d(node: OnnxNode, x: Tensor): { x2: Tensor; back: (y: Tensor) => Tensor } {
  if (x.rank === 4) return { x2: x, back: (y) => y };
  if (x.rank === 3) {
    return { x2: reshape(x, [x.shape[0], x.shape[1], 1, x.shape[2]]), back: (y) => reshape(y, [y.shape[0], y.shape[1], y.shape[3]]) };
  }
  throw node.error(`only 1-D and 2-D spatial inputs are supported, got input of shape [${x.shape.join(", ")}]`);
}

/** A per-axis attribute list in 2-D form (a 1-D list gets the neutral value for the height). */
function pair(values: number[] | undefined, spatial: number, neutral: number): number[] {
  if (!values) return [neutral, neutral];
  return spatial === 1 ? [neutral, values[0]] : values;
}

/** Pads [begin..., end...] in 2-D form [top, left, bottom, right]. */
function padsOf(values: number[] | undefined, spatial: number): number[] {
  if (!values) return [0, 0, 0, 0];
  return spatial === 1 ? [0, values[0], 0, values[1]] : values;
}

/** Explicit pads for auto_pad (SAME_UPPER puts the odd pixel at the end, SAME_LOWER at the start). */
function autoPads(node: OnnxNode, size: number[], g: Omit<Geometry, "pads">, spatial: number): number[] {
  const mode = node.string("auto_pad", "NOTSET");
  if (mode === "NOTSET") return padsOf(node.ints("pads"), spatial);
  if (mode === "VALID") return [0, 0, 0, 0];
  if (mode !== "SAME_UPPER" && mode !== "SAME_LOWER") throw node.error(`unknown auto_pad ${mode}`);
  const total = [0, 1].map((i) => Math.max(0, (Math.ceil(size[i] / g.strides[i]) - 1) * g.strides[i] + g.dilations[i] * (g.kernel[i] - 1) + 1 - size[i]));
  const small = total.map((t) => Math.floor(t / 2));
  return mode === "SAME_UPPER" ? [small[0], small[1], total[0] - small[0], total[1] - small[1]] : [total[0] - small[0], total[1] - small[1], small[0], small[1]];
}

function geometry(node: OnnxNode, x2: Tensor, kernel: number[], spatial: number): Geometry {
  const strides = pair(node.ints("strides"), spatial, 1);
  const dilations = pair(node.ints("dilations"), spatial, 1);
  const pads = autoPads(node, [x2.shape[2], x2.shape[3]], { kernel, strides, dilations }, spatial);
  return { kernel, strides, dilations, pads };
}

function perChannel(b: Tensor): Tensor {
  return reshape(b, [b.shape[0], 1, 1]);
}

defineRule(["Conv"], (node, ctx) => {
  const x = ctx.tensor(node, 0);
  const w0 = ctx.tensor(node, 1);
  const spatial = x.rank - 2;
  const { x2, back } = to2d(node, x);
  const w = w0.rank === 3 ? reshape(w0, [w0.shape[0], w0.shape[1], 1, w0.shape[2]]) : w0;
  const g = geometry(node, x2, [w.shape[2], w.shape[3]], spatial);
  const groups = node.int("group", 1);
  let y = groups === 1
    ? conv2dNCHW(x2, w, { strides: g.strides, padding: g.pads, dilations: g.dilations })
    : groupedConv2dNCHW(x2, w, { groups, strides: g.strides, pads: g.pads, dilations: g.dilations });
  if (node.hasInput(2)) y = add(y, perChannel(ctx.tensor(node, 2)));
  return [back(y)];
});

defineRule(["ConvTranspose"], (node, ctx) => {
  const x = ctx.tensor(node, 0);
  const w0 = ctx.tensor(node, 1);
  const spatial = x.rank - 2;
  const { x2, back } = to2d(node, x);
  const w = w0.rank === 3 ? reshape(w0, [w0.shape[0], w0.shape[1], 1, w0.shape[2]]) : w0;
  const kernel = [w.shape[2], w.shape[3]];
  const strides = pair(node.ints("strides"), spatial, 1);
  const dilations = pair(node.ints("dilations"), spatial, 1);
  const outputPadding = pair(node.ints("output_padding"), spatial, 0);
  const groups = node.int("group", 1);
  const size = [x2.shape[2], x2.shape[3]];
  const mode = node.string("auto_pad", "NOTSET");
  const given = node.ints("output_shape");
  let pads = padsOf(node.ints("pads"), spatial);
  if (given || mode === "SAME_UPPER" || mode === "SAME_LOWER") {
    // Pads follow from the requested output size; the odd pixel goes to the end for SAME_UPPER.
    const out = given ? pair(given.slice(-spatial), spatial, 1) : size.map((s, i) => s * strides[i]);
    const total = [0, 1].map((i) => strides[i] * (size[i] - 1) + outputPadding[i] + (kernel[i] - 1) * dilations[i] + 1 - out[i]);
    // An output larger than the kernels reach grows at the end, as output_padding does.
    [0, 1].forEach((i) => {
      if (total[i] < 0) [outputPadding[i], total[i]] = [outputPadding[i] - total[i], 0];
    });
    const half = total.map((t) => Math.floor(t / 2));
    pads = mode === "SAME_UPPER"
      ? [half[0], half[1], total[0] - half[0], total[1] - half[1]]
      : [total[0] - half[0], total[1] - half[1], half[0], half[1]];
  } else if (mode === "VALID") {
    pads = [0, 0, 0, 0];
  }
  let y = convTransposeNCHW(x2, w, { strides, pads, dilations, groups, outputPadding });
  if (node.hasInput(2)) y = add(y, perChannel(ctx.tensor(node, 2)));
  return [back(y)];
});

/** Window geometry of a pool, with ceil_mode turned into extra end padding. */
function poolGeometry(node: OnnxNode, x2: Tensor, spatial: number): Geometry {
  const kernel = pair(node.ints("kernel_shape"), spatial, 1);
  const g = geometry(node, x2, kernel, spatial);
  if (g.dilations.some((d) => d !== 1)) throw node.error("dilated pooling is not supported");
  if (node.int("ceil_mode", 0) === 1) {
    for (const i of [0, 1]) {
      const padded = x2.shape[2 + i] + g.pads[i] + g.pads[i + 2];
      let out = Math.ceil((padded - kernel[i]) / g.strides[i]) + 1;
      // A last window that would start inside the end padding is dropped.
      if ((out - 1) * g.strides[i] >= x2.shape[2 + i] + g.pads[i]) out--;
      g.pads[i + 2] += Math.max(0, (out - 1) * g.strides[i] + kernel[i] - padded);
    }
  }
  return g;
}

defineRule(["MaxPool"], (node, ctx) => {
  const x = ctx.tensor(node, 0);
  const { x2, back } = to2d(node, x);
  const g = poolGeometry(node, x2, x.rank - 2);
  return [back(apply("MaxPool", [x2], { kernel: g.kernel, strides: g.strides, pads: g.pads }))];
});

defineRule(["AveragePool"], (node, ctx) => {
  const x = ctx.tensor(node, 0);
  const spatial = x.rank - 2;
  const { x2, back } = to2d(node, x);
  const explicit = geometry(node, x2, pair(node.ints("kernel_shape"), spatial, 1), spatial).pads;
  const g = poolGeometry(node, x2, spatial);
  const [, c, h, w] = x2.shape;
  // A depthwise convolution with a constant all-ones window sums it; dividing by how
  // many of its taps hit counted cells averages (padding counts only with count_include_pad).
  const [kh, kw] = g.kernel;
  const ones = constant(new Float32Array(c * kh * kw).fill(1), [c, 1, kh, kw]);
  const sums = groupedConv2dNCHW(x2, ones, { groups: c, strides: g.strides, pads: g.pads });
  const [ho, wo] = [sums.shape[2], sums.shape[3]];
  const includePad = node.int("count_include_pad", 0) === 1;
  const lo = includePad ? [-explicit[0], -explicit[1]] : [0, 0];
  const hi = includePad ? [h + explicit[2], w + explicit[3]] : [h, w];
  const counts = new Float32Array(ho * wo);
  for (let i = 0; i < ho; i++) {
    for (let j = 0; j < wo; j++) {
      const top = i * g.strides[0] - g.pads[0], left = j * g.strides[1] - g.pads[1];
      const rows = Math.min(top + kh, hi[0]) - Math.max(top, lo[0]);
      const cols = Math.min(left + kw, hi[1]) - Math.max(left, lo[1]);
      counts[i * wo + j] = Math.max(1, rows) * Math.max(1, cols);
    }
  }
  return [back(div(sums, constant(counts, [1, 1, ho, wo])))];
});

defineRule(["GlobalAveragePool", "GlobalMaxPool"], (node, ctx) => {
  const x = ctx.tensor(node, 0);
  const axes = Array.from({ length: x.rank - 2 }, (_, i) => i + 2);
  return [node.type === "GlobalAveragePool" ? reduceMean(x, axes, true) : reduceMax(x, axes, true)];
});

defineRule(["Gemm"], (node, ctx) => {
  let a = ctx.tensor(node, 0), b = ctx.tensor(node, 1);
  if (node.int("transA", 0)) a = transpose(a, [1, 0]);
  if (node.int("transB", 0)) b = transpose(b, [1, 0]);
  let y = matmul(a, b);
  const alpha = node.float("alpha", 1), beta = node.float("beta", 1);
  if (alpha !== 1) y = mul(y, alpha);
  if (node.hasInput(2) && beta !== 0) {
    const c = ctx.tensor(node, 2);
    y = add(y, beta === 1 ? c : mul(c, beta));
  }
  return [y];
});

defineRule(["MatMul"], (node, ctx) => {
  const a = ctx.tensor(node, 0), b = ctx.tensor(node, 1);
  // numpy's rule for vectors: a 1-D operand gains a unit axis that the result drops.
  const a2 = a.rank === 1 ? reshape(a, [1, a.shape[0]]) : a;
  const b2 = b.rank === 1 ? reshape(b, [b.shape[0], 1]) : b;
  const y = matmul(a2, b2);
  const shape = [...y.shape];
  if (b.rank === 1) shape.splice(shape.length - 1, 1);
  if (a.rank === 1) shape.splice(shape.length - (b.rank === 1 ? 1 : 2), 1);
  return [reshape(y, shape)];
});
