import { assert, assertClose, assertEquals, assertThrows, randomArray, test } from "../../test/harness.ts";
import { gradients } from "../autodiff/gradients.ts";
import { Graph, GraphKeys } from "../graph/graph.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { placeholder } from "../graph/variable.ts";
import { ancestorNodes } from "../graph/tensor.ts";
import { add, biasAddNCHW, conv2dNCHW, mul, reduceSum, relu } from "../ops/mod.ts";
import { maxPool2d } from "./pooling.ts";
import { evaluate } from "../runtime/evaluate.ts";
import { conv2d, fullyConnected } from "./layers.ts";
import { convertCollectionToDict, toNCHW, toNHWC } from "./utils.ts";

const f32 = (shape: number[], data: Float32Array): HostTensor => ({ dtype: "float32", shape, data });

/** TF's SAME/VALID geometry, worked out here independently of the library's padsFor. */
function geometry(size: number, k: number, s: number, padding: "SAME" | "VALID"): { out: number; before: number } {
  if (padding === "VALID") return { out: Math.floor((size - k) / s) + 1, before: 0 };
  const out = Math.ceil(size / s);
  return { out, before: Math.floor(Math.max(0, (out - 1) * s + k - size) / 2) };
}

/** NCHW input, slim's [kh, kw, in, out] weights, biases, optional ReLU: the textbook loop. */
function referenceConv(
  x: Float32Array, [n, c, h, w]: number[], wts: Float32Array, [kh, kw, , co]: number[], bias: Float32Array,
  stride: number, padding: "SAME" | "VALID", useRelu: boolean,
): { data: Float32Array; shape: number[] } {
  const gh = geometry(h, kh, stride, padding), gw = geometry(w, kw, stride, padding);
  const out = new Float32Array(n * co * gh.out * gw.out);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < co; o++) {
      for (let i = 0; i < gh.out; i++) {
        for (let j = 0; j < gw.out; j++) {
          let acc = bias[o];
          for (let a = 0; a < kh; a++) {
            for (let e = 0; e < kw; e++) {
              const y = i * stride - gh.before + a, z = j * stride - gw.before + e;
              if (y < 0 || y >= h || z < 0 || z >= w) continue;
              for (let ci = 0; ci < c; ci++) acc += x[((b * c + ci) * h + y) * w + z] * wts[((a * kw + e) * c + ci) * co + o];
            }
          }
          out[((b * co + o) * gh.out + i) * gw.out + j] = useRelu ? Math.max(0, acc) : acc;
        }
      }
    }
  }
  return { data: out, shape: [n, co, gh.out, gw.out] };
}

test("conv2d() creates slim's weights [kh, kw, in, out] and biases and matches a direct convolution", async () => {
  const g = new Graph();
  const cases = [
    { shape: [2, 3, 7, 6], kernel: [3, 2], stride: 2, padding: "SAME" as const },
    { shape: [1, 2, 5, 6], kernel: [3, 3], stride: 1, padding: "VALID" as const },
  ];
  await g.asDefault(async () => {
    for (const [i, cs] of cases.entries()) {
      const x = placeholder(cs.shape, "float32", "x");
      const y = conv2d(x, 4, cs.kernel, { stride: cs.stride, padding: cs.padding, scope: "c" + i, dataFormat: "NCHW" });
      const wShape = [...cs.kernel, cs.shape[1], 4];
      assertEquals(g.variables.get(`c${i}/weights`)!.shape, wShape);
      assertEquals(g.variables.get(`c${i}/biases`)!.shape, [4]);
      const xs = randomArray(cs.shape.reduce((a, b) => a * b), 10 + i);
      const ws = randomArray(wShape.reduce((a, b) => a * b), 20 + i);
      const bs = randomArray(4, 30 + i);
      const out = await evaluate({ y }, {
        feeds: { [x.name]: f32(cs.shape, xs) },
        variables: { [`c${i}/weights`]: f32(wShape, ws), [`c${i}/biases`]: f32([4], bs) },
      });
      const ref = referenceConv(xs, cs.shape, ws, wShape, bs, cs.stride, cs.padding, true);
      assertEquals(y.shape, ref.shape);
      assert(ref.data.some((v) => v === 0) && ref.data.some((v) => v > 0), "ReLU should bite on some outputs");
      assertClose(out.y.data as Float32Array, ref.data, { rtol: 1e-4, atol: 1e-5 });
    }
    assert(g.getCollection(GraphKeys.MODEL_VARIABLES).length === 4, "weights and biases are model variables");
  });
});

test("conv2d() on maps smaller than the filter slices the weights and equals the full SAME convolution", async () => {
  const g = new Graph();
  // fc6's case (1x1 map, one tap), a 2x2 map (3x3 taps), and a strided one.
  const cases = [{ hw: [1, 1], k: [7, 7], s: 1 }, { hw: [2, 2], k: [7, 7], s: 1 }, { hw: [3, 2], k: [5, 5], s: 2 }];
  await g.asDefault(async () => {
    for (const [i, cs] of cases.entries()) {
      const shape = [2, 3, ...cs.hw];
      const x = placeholder(shape, "float32", "x");
      const y = conv2d(x, 4, cs.k, { stride: cs.s, scope: `fc${i}`, dataFormat: "NCHW" });
      const w = g.variables.get(`fc${i}/weights`)!, b = g.variables.get(`fc${i}/biases`)!;
      assertEquals(w.shape, [...cs.k, 3, 4]);
      const sliced = g.nodes.some((nd) => nd.op === "Slice" && nd.inputs[0] === w.value);
      assert(sliced, `case ${i}: expected a Slice of ${w.name}`);
      const fullSize = (nd: (typeof g.nodes)[number]) => nd.inputs[1].shape[2] === cs.k[0] && nd.inputs[1].shape[3] === cs.k[1];
      assert(!g.nodes.some((nd) => nd.op === "Conv2D" && nd.name.startsWith(`fc${i}/`) && fullSize(nd)), `case ${i}: no full-size conv`);
      // The same variables through the plain full-filter convolution.
      const full = relu(biasAddNCHW(conv2dNCHW(x, w.value, { strides: [cs.s, cs.s], padding: "SAME" }), b.value));
      const r = placeholder([...y.shape], "float32", "r");
      const [dwSliced] = gradients(reduceSum(mul(y, r)), [w.value]);
      const [dwFull] = gradients(reduceSum(mul(full, r)), [w.value]);
      const xs = randomArray(shape.reduce((a, c) => a * c), 40 + i);
      const ws = randomArray(w.size, 50 + i), bs = randomArray(4, 60 + i);
      const out = await evaluate({ y, full, dwSliced: dwSliced!, dwFull: dwFull! }, {
        feeds: { [x.name]: f32(shape, xs), [r.name]: f32([...y.shape], randomArray(y.size, 70 + i)) },
        variables: { [w.name]: f32([...w.shape], ws), [b.name]: f32([4], bs) },
      });
      const ref = referenceConv(xs, shape, ws, [...w.shape], bs, cs.s, "SAME", true);
      assertClose(out.y.data as Float32Array, ref.data, { rtol: 1e-4, atol: 1e-5, message: `case ${i} forward` });
      assertClose(out.y.data as Float32Array, out.full.data as Float32Array, { rtol: 1e-4, atol: 1e-5 });
      assertClose(out.dwSliced.data as Float32Array, out.dwFull.data as Float32Array, { rtol: 1e-4, atol: 1e-5, message: `case ${i} dW` });
      assert((out.dwFull.data as Float32Array).some((v) => v !== 0), "the gradient reaches the weights");
    }
  });
});

test("fullyConnected() creates weights [in, out] and computes x·W + b", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const x = placeholder([4, 6], "float32", "x");
    const y = fullyConnected(x, 3, { activationFn: null });
    assertEquals(g.variables.get("fully_connected/weights")!.shape, [6, 3]);
    const xs = randomArray(24, 1), ws = randomArray(18, 2), bs = randomArray(3, 3);
    const out = await evaluate({ y }, {
      feeds: { x: f32([4, 6], xs) },
      variables: { "fully_connected/weights": f32([6, 3], ws), "fully_connected/biases": f32([3], bs) },
    });
    const ref = new Float32Array(12);
    for (let i = 0; i < 4; i++) {
      for (let o = 0; o < 3; o++) {
        let acc = bs[o];
        for (let k = 0; k < 6; k++) acc += xs[i * 6 + k] * ws[k * 3 + o];
        ref[i * 3 + o] = acc;
      }
    }
    assert(ref.some((v) => v < 0), "negative outputs survive without an activation");
    assertClose(out.y.data as Float32Array, ref, { rtol: 1e-5, atol: 1e-6 });
  });
});

test("conv2d() and fullyConnected() name default scopes Conv, Conv_1, fully_connected like slim", () => {
  const g = new Graph();
  g.asDefault(() => {
    const x = placeholder([1, 2, 4, 4], "float32", "x");
    conv2d(x, 2, 3);
    conv2d(x, 2, 3);
    g.withScope("net", () => conv2d(x, 2, 1));
    conv2d(x, 2, 1, { scope: "mine", biasesInitializer: null });
    fullyConnected(placeholder([1, 5], "float32", "v"), 2);
  });
  assertEquals([...g.variables.keys()], [
    "Conv/weights", "Conv/biases", "Conv_1/weights", "Conv_1/biases", "net/Conv/weights", "net/Conv/biases",
    "mine/weights", "fully_connected/weights", "fully_connected/biases",
  ]);
});

test("conv2d() and fullyConnected() reject inputs of the wrong rank, naming the tensor", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    await assertThrows(() => conv2d(placeholder([2, 8, 8], "float32", "images"), 4, 3), "conv2d: inputs must be rank 4 (NHWC), got rank 3 (tensor images");
    await assertThrows(() => fullyConnected(placeholder([6], "float32", "flat"), 4), "fullyConnected: inputs must have rank 2 or more");
    await assertThrows(() => conv2d(placeholder([2, 8, 8, 3], "float32", "x"), 4, [3, 3, 3]), "conv2d: kernelSize must be");
  });
});

test("outputsCollections records each layer output under its scope name", () => {
  const g = new Graph();
  g.asDefault(() => {
    const x = placeholder([1, 2, 4, 4], "float32", "x");
    const a = g.withScope("net", () => conv2d(x, 2, 3, { scope: "conv1", outputsCollections: "ends" }));
    const b = fullyConnected(placeholder([1, 3], "float32", "v"), 2, { outputsCollections: ["ends"] });
    const d = convertCollectionToDict("ends", g);
    assertEquals([...d.keys()], ["net/conv1", "fully_connected"]);
    assert(d.get("net/conv1") === a && d.get("fully_connected") === b);
  });
});

test("conv2d() takes slim's NHWC: [4, 32, 32, 3] gives weights [3, 3, 3, 8] and [4, 32, 32, 8], equal to the NCHW layer", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const x = placeholder([4, 8, 8, 3], "float32", "x");
    const nhwc = conv2d(x, 8, [3, 3], { stride: 2, scope: "conv1" });
    assertEquals(g.variables.get("conv1/weights")!.shape, [3, 3, 3, 8]);
    assertEquals(nhwc.shape, [4, 4, 4, 8]);
    assertEquals(conv2d(placeholder([4, 32, 32, 3], "float32", "images"), 8, 3, { scope: "big" }).shape, [4, 32, 32, 8]);
    const nchw = conv2d(toNCHW(x), 8, [3, 3], { stride: 2, scope: "conv1_nchw", dataFormat: "NCHW" });
    assertEquals(nchw.shape, [4, 8, 4, 4]);
    const xs = randomArray(4 * 8 * 8 * 3, 81), ws = randomArray(216, 82), bs = randomArray(8, 83);
    const out = await evaluate({ a: nhwc, b: toNHWC(nchw) }, {
      feeds: { x: f32([4, 8, 8, 3], xs) },
      variables: {
        "conv1/weights": f32([3, 3, 3, 8], ws), "conv1/biases": f32([8], bs),
        "conv1_nchw/weights": f32([3, 3, 3, 8], ws), "conv1_nchw/biases": f32([8], bs),
      },
    });
    assertClose(out.a.data as Float32Array, out.b.data as Float32Array, { rtol: 1e-5, atol: 1e-6 });
  });
});

test("conv2d() chains in NHWC with no transposes between layers, only at the edges", () => {
  const g = new Graph();
  g.asDefault(() => {
    const x = placeholder([2, 8, 8, 3], "float32", "x");
    let net = conv2d(x, 4, 3, { scope: "a" });
    net = maxPool2d(net, 2, { scope: "p" });
    net = conv2d(net, 4, 3, { scope: "b", activationFn: (t) => relu(mul(t, 2)) });
    net = add(net, relu(net)); // an elementwise residual-like step between layers
    net = conv2d(net, 4, 1, { scope: "c" });
    const transposes = ancestorNodes([net]).filter((n) => n.op === "Transpose");
    assertEquals(transposes.map((n) => n.inputs[0].shape), [[2, 8, 8, 3], [2, 4, 4, 4]]);
  });
});

test("conv2d() refuses images that look like the other layout, naming both", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    await assertThrows(
      () => conv2d(placeholder([4, 3, 32, 32], "float32", "images"), 8, 3),
      "conv2d: input images [4, 3, 32, 32] looks like NCHW (3 channels of 32x32), but dataFormat is NHWC (slim's default)",
    );
    await assertThrows(
      () => conv2d(placeholder([4, 32, 32, 1], "float32", "gray"), 8, 3, { dataFormat: "NCHW" }),
      "conv2d: input gray [4, 32, 32, 1] looks like NHWC (1 channel of 32x32), but dataFormat is NCHW",
    );
    await assertThrows(() => conv2d(placeholder([4, 8, 8, 3], "float32", "x"), 8, 3, { dataFormat: "NWHC" as "NHWC" }), "conv2d: option dataFormat must be");
  });
});

test("fullyConnected() applies to the last axis of rank-3 inputs", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const x = placeholder([2, 3, 4], "float32", "x");
    const y = fullyConnected(x, 5, { activationFn: null });
    assertEquals(y.shape, [2, 3, 5]);
    const xs = randomArray(24, 91), ws = randomArray(20, 92), bs = randomArray(5, 93);
    const out = await evaluate({ y }, {
      feeds: { x: f32([2, 3, 4], xs) },
      variables: { "fully_connected/weights": f32([4, 5], ws), "fully_connected/biases": f32([5], bs) },
    });
    const ref = new Float32Array(30);
    for (let r = 0; r < 6; r++) for (let o = 0; o < 5; o++) ref[r * 5 + o] = bs[o] + [0, 1, 2, 3].reduce((a, k) => a + xs[r * 4 + k] * ws[k * 5 + o], 0);
    assertClose(out.y.data as Float32Array, ref, { rtol: 1e-5, atol: 1e-6 });
  });
});

test("toNCHW() and toNHWC() move the channel axis and invert each other", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const x = placeholder([2, 3, 4, 5], "float32", "x");
    const nchw = toNCHW(x);
    assertEquals(nchw.shape, [2, 5, 3, 4]);
    const back = toNHWC(nchw);
    const data = randomArray(120, 5);
    const out = await evaluate({ nchw, back }, { feeds: { x: f32([2, 3, 4, 5], data) } });
    // Element (n=1, h=2, w=3, c=4) lands at (n=1, c=4, h=2, w=3).
    assertEquals((out.nchw.data as Float32Array)[((1 * 5 + 4) * 3 + 2) * 4 + 3], data[((1 * 3 + 2) * 4 + 3) * 5 + 4]);
    assertEquals(out.back.data, data);
    await assertThrows(() => toNCHW(placeholder([3, 4], "float32", "flat")), "toNCHW: input must be rank 4 (NHWC), got rank 2 (tensor flat");
  });
});
