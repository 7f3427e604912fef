import "../ops/mod.ts";
import { assert, assertEquals, randomArray, rng, test } from "../../test/harness.ts";
import { checkOnnxModels, onnxCheckerUnavailable } from "../../test/onnx_checker.ts";
import { gradients } from "../autodiff/gradients.ts";
import { Graph, GraphKeys } from "../graph/graph.ts";
import { placeholder, type Variable } from "../graph/variable.ts";
import { conv2d, conv2dTranspose, flatten, fullyConnected, separableConv2d } from "../layers/mod.ts";
import { mul, reduceMean } from "../ops/mod.ts";
import { createRuntime } from "../runtime/create.ts";
import { HalfCasts } from "./autocast.ts";
import { makeModel, makeNode, makeValueInfo, type NodeProtoLike } from "./builder.ts";
import { compileModel } from "./compile.ts";

const PRODUCTS = new Set(["Conv", "ConvTranspose", "Gemm", "MatMul"]);

/** Every layer kind whose ops autocast, with gradients for all weights. */
function layersWithGradients() {
  const g = new Graph();
  return g.asDefault(() => {
    const x = placeholder([2, 8, 8, 3], "float32", "x");
    let h = conv2d(x, 4, [3, 3], { scope: "conv", stride: 2 });
    h = separableConv2d(h, 6, [3, 3], { scope: "sep", depthMultiplier: 1 });
    h = conv2dTranspose(h, 4, [3, 3], { scope: "up", stride: 2 });
    const y = fullyConnected(flatten(h), 5, { scope: "fc", activationFn: null });
    const loss = reduceMean(mul(y, y));
    const weights = g.getCollection<Variable>(GraphKeys.TRAINABLE_VARIABLES).map((v) => v.value);
    const grads = gradients(loss, weights);
    return { loss, fetches: Object.fromEntries([["loss", loss], ...grads.map((d, i) => [`grad${i}`, d!])]) };
  });
}

function castTo(node: NodeProtoLike): number | undefined {
  return (node.attribute.find((a) => a.name === "to") as { i?: number } | undefined)?.i;
}

test("compileModel autocast: every convolution and matrix product reads and writes float16, everything else float32", () => {
  const { fetches } = layersWithGradients();
  const model = compileModel({ name: "autocast", fetches, autocast: "float16" });
  const half = new Set<string>();
  let products = 0, castsDown = 0;
  for (const node of model.parts.nodes) {
    if (PRODUCTS.has(node.opType)) {
      products++;
      for (const name of node.input.filter((n) => n !== "")) {
        assert(half.has(name), `${node.opType} ${node.name} reads float32 ${name}`);
      }
      node.output.forEach((o) => half.add(o));
    } else if (node.opType === "Cast" && castTo(node) === 10) {
      castsDown++;
      assert(!half.has(node.input[0]), `${node.name} casts a float16 value down again`);
      half.add(node.output[0]);
    } else {
      const reads = node.input.filter((n) => half.has(n));
      const backUp = node.opType === "Cast" && castTo(node) === 1;
      assert(reads.length === 0 || backUp, `${node.opType} ${node.name} reads float16 ${reads.join(", ")}`);
    }
  }
  assert(products >= 12, `forward and gradient products of four layers, got ${products}`);
  // Shared casts: fewer casts than product inputs (a weight serves its forward and gradient products).
  const productInputs = model.parts.nodes.filter((n) => PRODUCTS.has(n.opType)).reduce((s, n) => s + n.input.length, 0);
  assert(castsDown < productInputs, `casts ${castsDown} should be shared among ${productInputs} product inputs`);
  const plain = compileModel({ name: "plain", fetches });
  assertEquals(plain.parts.nodes.filter((n) => n.opType === "Cast" && castTo(n) === 10).length, 0, "no float16 without autocast");
});

const CHECKER_TEST = "compileModel autocast's float16 model passes onnx.checker full_check (types inferred through every node)";
const noChecker = onnxCheckerUnavailable();
if (noChecker) test.skip(CHECKER_TEST, noChecker);
else {
  test(CHECKER_TEST, () => {
    const { fetches } = layersWithGradients();
    // Teeth: a product fed one float32 operand must fail type inference.
    const bad = makeModel({
      name: "bad",
      nodes: [makeNode("Cast", ["a"], ["a16"], { to: 10 }), makeNode("MatMul", ["a16", "b"], ["c"])],
      inputs: [makeValueInfo("a", "float32", [2, 2]), makeValueInfo("b", "float32", [2, 2])],
      outputs: [makeValueInfo("c", "float32", [2, 2])],
      initializers: [],
    });
    const verdict = checkOnnxModels({ autocast: compileModel({ name: "autocast", fetches, autocast: "float16" }).bytes, mixed_operands: bad });
    assert(verdict.autocast.ok && /Cast \d+/.test(verdict.autocast.output), `onnx.checker: ${verdict.autocast.output}`);
    assert(!verdict.mixed_operands.ok, "the checker accepted a float16 × float32 MatMul");
  });
}

test("compileModel autocast runs on the CPU provider (float16 kernels and emulated rounding) within float16 precision of float32", async () => {
  const { fetches } = layersWithGradients();
  const x = { dtype: "float32" as const, shape: [2, 8, 8, 3], data: randomArray(384, 41) };
  const runtime = await createRuntime({ executionProvider: "cpu" });
  const run = async (autocastMode?: "cast" | "emulate") => {
    const model = compileModel({ name: "m", fetches, autocast: autocastMode ? "float16" : undefined, autocastMode });
    const session = await runtime.createSession(model.bytes);
    const feeds: Record<string, ReturnType<typeof runtime.fromHost>> = { x: runtime.fromHost(x) };
    for (const input of model.inputs) {
      if (input.kind === "variable") {
        const n = input.tensor.shape.reduce((a, b) => a * b, 1);
        feeds[input.name] = runtime.fromHost({ dtype: "float32", shape: [...input.tensor.shape], data: randomArray(n, n, -0.5, 0.5) });
      }
    }
    const out = await session.run(feeds, Object.keys(fetches));
    const values: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(out)) values[k] = (await runtime.toHost(v)).data as Float32Array;
    await session.release();
    return values;
  };
  const f32 = await run();
  for (const mode of ["cast", "emulate"] as const) {
    const half = await run(mode);
    for (const k of Object.keys(fetches)) {
      let err = 0, scale = 0;
      for (let i = 0; i < f32[k].length; i++) {
        err = Math.max(err, Math.abs(half[k][i] - f32[k][i]));
        scale = Math.max(scale, Math.abs(f32[k][i]));
      }
      // float16 keeps 11 bits (2^-11 ≈ 4.9e-4 relative); a few roundings in a row stay within 1%.
      assert(err <= 1e-2 * scale, `${k} (${mode}): off by ${err} for values up to ${scale}`);
      if (mode === "emulate") assert(err > 0, `${k}: emulation changed nothing, so it rounds nothing`);
    }
  }
});

test("HalfCasts emulation rounds exactly as ONNX Runtime's float16 Cast, subnormals and overflow included", async () => {
  const draw = rng(7);
  const values: number[] = [
    0, 1, -1, 65504, 65519, 65520, -65536, 2 ** -14, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 1 / 3, 1 + 2 ** -11, 1 + 3 * 2 ** -11,
    5 * 2 ** -25, 7 * 2 ** -25, -(2 ** -14 - 2 ** -25), // subnormal ties: to even, up to even, and just below the smallest normal
  ];
  while (values.length < 4096) values.push((draw() < 0.5 ? -1 : 1) * 2 ** (draw() * 46 - 28) * (1 + draw()));
  const n = values.length;
  const casts = new HalfCasts((hint) => hint + "/" + Math.floor(draw() * 1e9), "emulate", (v) => `c${v}`);
  const scalars = [8193, 2 ** 24, 1.5 * 2 ** 23, 2 ** -24, 2 ** -14, 65520, Infinity];
  // An identity matrix product, so the pass rounds the input and the (exact) output.
  const emulated = casts.rewrite([makeNode("MatMul", ["x", "one"], ["y"])]);
  const model = makeModel({
    name: "rounding",
    nodes: [...emulated, makeNode("Cast", ["x"], ["x16"], { to: 10 }), makeNode("Cast", ["x16"], ["reference"], { to: 1 })],
    inputs: [makeValueInfo("x", "float32", [n, 1])],
    outputs: [makeValueInfo("y", "float32", [n, 1]), makeValueInfo("reference", "float32", [n, 1])],
    initializers: [
      { name: "one", dims: [1, 1], dataType: 1, rawData: new Uint8Array(new Float32Array([1]).buffer) },
      ...scalars.map((v) => ({ name: `c${v}`, dims: [], dataType: 1, rawData: new Uint8Array(new Float32Array([v]).buffer) })),
    ],
  });
  const runtime = await createRuntime({ executionProvider: "cpu" });
  const session = await runtime.createSession(model);
  const out = await session.run({ x: runtime.fromHost({ dtype: "float32", shape: [n, 1], data: Float32Array.from(values) }) }, ["y", "reference"]);
  const y = (await runtime.toHost(out.y)).data as Float32Array, ref = (await runtime.toHost(out.reference)).data as Float32Array;
  await session.release();
  const differ = [...y.keys()].filter((i) => !Object.is(y[i] + 0, ref[i] + 0));
  assertEquals(differ.map((i) => [values[i], y[i], ref[i]]), [], "emulated vs Cast");
  assert(ref[5] === Infinity && ref[4] === 65504 && ref[9] === 0 && ref[8] === 2 ** -24, "the reference itself rounds (65520 → Inf, 2^-25 → 0)");
});
