/**
 * `importModel` semantics on small hand-built models: names, trainable
 * selection, scopes, batch norm modes, GELU (opset 20), and named errors.
 * @module
 */
import { assert, assertClose, assertEquals, assertThrows, randomArray, test } from "../../../test/harness.ts";
import { Graph, GraphKeys } from "../../graph/graph.ts";
import { type DType, type HostTensor, hostTensor } from "../../graph/host_tensor.ts";
import type { Assignment, Variable } from "../../graph/variable.ts";
import { createRuntime } from "../../runtime/create.ts";
import { evaluate } from "../../runtime/evaluate.ts";
import { makeModel, makeNode, makeTensor, makeValueInfo } from "../builder.ts";
import type { OnnxAttr } from "../../ops/registry.ts";
import { onnxTypes } from "../proto.ts";
import { importModel, type ImportOptions } from "./import_model.ts";

const runtime = createRuntime({ executionProvider: "cpu", intraOpNumThreads: 1 });

function f32(shape: number[], seed: number): HostTensor {
  return hostTensor("float32", shape, randomArray(shape.reduce((a, b) => a * b, 1), seed));
}

interface Spec {
  nodes: [string, string[], string[], Record<string, OnnxAttr>?, string?][];
  inputs: [string, DType, number[]][];
  outputs: [string, DType, number[]][];
  initializers?: Record<string, HostTensor>;
  opset?: number;
}

/** Serialises a small model (with a chosen opset stamp). */
function model(spec: Spec): Uint8Array {
  const bytes = makeModel({
    name: "test",
    nodes: spec.nodes.map(([op, ins, outs, attrs, name]) => makeNode(op, ins, outs, attrs ?? {}, name ?? `${op.toLowerCase()}_node`)),
    inputs: spec.inputs.map(([n, d, s]) => makeValueInfo(n, d, s)),
    outputs: spec.outputs.map(([n, d, s]) => makeValueInfo(n, d, s)),
    initializers: Object.entries(spec.initializers ?? {}).map(([n, t]) => makeTensor(n, t)),
  });
  if (spec.opset === undefined) return bytes;
  const m = onnxTypes.ModelProto.decode(bytes) as unknown as { opsetImport: { version: unknown }[] };
  m.opsetImport[0].version = spec.opset;
  return onnxTypes.ModelProto.encode(m as never).finish();
}

const dense = (initializers = { "fc.weight": f32([4, 3], 1), "fc.bias": f32([4], 2) }) =>
  model({
    nodes: [["Gemm", ["x", "fc.weight", "fc.bias"], ["hidden"], { transB: 1 }, "/fc/Gemm"], ["Relu", ["hidden"], ["out"]]],
    inputs: [["x", "float32", [2, 3]]],
    outputs: [["out", "float32", [2, 4]]],
    initializers,
  });

function load(bytes: Uint8Array, options?: ImportOptions) {
  const graph = new Graph();
  return { graph, model: graph.asDefault(() => importModel(bytes, options)) };
}

test("importModel() keeps the file's names: placeholders, variables, outputs and intermediate values", async () => {
  const w = f32([4, 3], 1), b = f32([4], 2), x = f32([2, 3], 3);
  const { graph, model: m } = load(dense({ "fc.weight": w, "fc.bias": b }));
  assertEquals(Object.keys(m.inputs), ["x"]);
  assertEquals(m.inputs.x.name, "x");
  assertEquals(Object.keys(m.variables).sort(), ["fc.bias", "fc.weight"]);
  assertEquals([...graph.variables.keys()].sort(), ["fc.bias", "fc.weight"]);
  assert(m.variables["fc.weight"].trainable, "fc.weight trains by default");
  const { hidden, out } = await evaluate({ hidden: m.tensor("hidden"), out: m.outputs.out }, { feeds: { x }, runtime: await runtime });
  const expected = new Float32Array(8);
  for (let i = 0; i < 2; i++) for (let j = 0; j < 4; j++) {
    let s = b.data[j] as number;
    for (let k = 0; k < 3; k++) s += (x.data[i * 3 + k] as number) * (w.data[j * 3 + k] as number);
    expected[i * 4 + j] = s;
  }
  assertClose(hidden.data as Float32Array, expected, { rtol: 1e-5, atol: 1e-6 });
  assertClose(out.data as Float32Array, expected.map((v) => Math.max(v, 0)), { rtol: 1e-5, atol: 1e-6 });
  await assertThrows(() => m.tensor("nope"), "the model has no value named nope");
});

test("importModel() trains only the initializers named by `trainable` (a list or a predicate)", () => {
  const byList = load(dense(), { trainable: ["fc.bias"] }).graph;
  assertEquals(byList.getCollection<Variable>(GraphKeys.TRAINABLE_VARIABLES).map((v) => v.name), ["fc.bias"]);
  assertEquals(byList.getCollection<Variable>(GraphKeys.GLOBAL_VARIABLES).length, 2);
  const byPredicate = load(dense(), { trainable: (name) => name.endsWith("weight") }).graph;
  assertEquals(byPredicate.getCollection<Variable>(GraphKeys.TRAINABLE_VARIABLES).map((v) => v.name), ["fc.weight"]);
});

test("importModel() with `scope` prefixes placeholders, variables and ops", () => {
  const { graph, model: m } = load(dense(), { scope: "backbone" });
  assertEquals(m.inputs.x.name, "backbone/x");
  assertEquals([...graph.variables.keys()].sort(), ["backbone/fc.bias", "backbone/fc.weight"]);
  assert(m.tensor("hidden").name.startsWith("backbone/fc/Gemm"), `op named ${m.tensor("hidden").name}`);
});

/** A BatchNormalization node over x [4, 2, 3, 3] with stored statistics. */
function batchNormModel(trainingMode: number) {
  const stats = {
    scale: hostTensor("float32", [2], new Float32Array([1.5, 0.5])),
    bias: hostTensor("float32", [2], new Float32Array([0.1, -0.2])),
    mean: hostTensor("float32", [2], new Float32Array([0.3, -0.1])),
    var: hostTensor("float32", [2], new Float32Array([2, 0.5])),
  };
  const outputs: [string, DType, number[]][] = [["y", "float32", [4, 2, 3, 3]]];
  const nodeOutputs = trainingMode ? ["y", "running_mean", "running_var"] : ["y"];
  const bytes = model({
    nodes: [["BatchNormalization", ["x", "scale", "bias", "mean", "var"], nodeOutputs, { epsilon: 0.001, momentum: 0.8, training_mode: trainingMode }]],
    inputs: [["x", "float32", [4, 2, 3, 3]]],
    outputs,
    initializers: stats,
    opset: 15,
  });
  return { bytes, stats };
}

test("importModel() batchNorm frozen: the stored statistics as a fixed affine map", async () => {
  const { bytes, stats } = batchNormModel(1);
  const { graph, model: m } = load(bytes, { batchNorm: "frozen" });
  assertEquals(graph.getCollection(GraphKeys.UPDATE_OPS).length, 0);
  assert(!m.variables.mean.trainable && !m.variables.var.trainable, "statistics are not trainable");
  const x = f32([4, 2, 3, 3], 5);
  const { y } = await evaluate({ y: m.outputs.y }, { feeds: { x }, runtime: await runtime });
  const expected = (x.data as Float32Array).map((v, i) => {
    const c = Math.floor(i / 9) % 2;
    const s = stats.scale.data[c] as number, b = stats.bias.data[c] as number;
    return ((v - (stats.mean.data[c] as number)) / Math.sqrt((stats.var.data[c] as number) + 0.001)) * s + b;
  });
  assertClose(y.data as Float32Array, expected, { rtol: 1e-5, atol: 1e-6 });
});

test("importModel() batchNorm train: batch statistics, and running statistics updated by the node's momentum (population variance)", async () => {
  const { bytes, stats } = batchNormModel(0);
  const { graph, model: m } = load(bytes, { batchNorm: "train" });
  const updates = graph.getCollection<Assignment>(GraphKeys.UPDATE_OPS);
  assertEquals(updates.map((u) => u.variable.name), ["mean", "var"]);
  const x = f32([4, 2, 3, 3], 6);
  const got = await evaluate({ y: m.outputs.y, newMean: updates[0].value, newVar: updates[1].value }, { feeds: { x }, runtime: await runtime });
  const d = x.data as Float32Array;
  for (let c = 0; c < 2; c++) {
    const vals = Array.from(d).filter((_, i) => Math.floor(i / 9) % 2 === c);
    const mu = vals.reduce((a, b) => a + b, 0) / vals.length;
    const v = vals.reduce((a, b) => a + (b - mu) ** 2, 0) / vals.length;
    assertClose([got.newMean.data[c] as number], [0.8 * (stats.mean.data[c] as number) + 0.2 * mu], { rtol: 1e-5, atol: 1e-6 });
    assertClose([got.newVar.data[c] as number], [0.8 * (stats.var.data[c] as number) + 0.2 * v], { rtol: 1e-5, atol: 1e-6 });
    const i0 = c * 9;
    assertClose([got.y.data[i0] as number], [((d[i0] - mu) / Math.sqrt(v + 0.001)) * (stats.scale.data[c] as number) + (stats.bias.data[c] as number)], { rtol: 1e-4, atol: 1e-5 });
  }
});

test("importModel() imports Gelu (opset 20), exact and tanh forms", async () => {
  const bytes = model({
    nodes: [["Gelu", ["x"], ["exact"]], ["Gelu", ["x"], ["approx"], { approximate: "tanh" }, "gelu_tanh"]],
    inputs: [["x", "float32", [10]]],
    outputs: [["exact", "float32", [10]], ["approx", "float32", [10]]],
    opset: 20,
  });
  const { model: m } = load(bytes);
  const x = hostTensor("float32", [10], new Float32Array([-3, -2, -1.5, -1, -0.5, 0.1, 0.5, 1, 2, 3]));
  const got = await evaluate({ exact: m.outputs.exact, approx: m.outputs.approx }, { feeds: { x }, runtime: await runtime });
  // The standard normal CDF Φ at those points (tabulated to 10 digits).
  const phi = [0.0013498980, 0.0227501319, 0.0668072013, 0.1586552539, 0.3085375387, 0.5398278373, 0.6914624613, 0.8413447461, 0.9772498681, 0.9986501020];
  assertClose(got.exact.data as Float32Array, phi.map((p, i) => (x.data[i] as number) * p), { rtol: 1e-5, atol: 1e-6 });
  const tanhForm = Array.from(x.data as Float32Array, (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
  assertClose(got.approx.data as Float32Array, tanhForm, { rtol: 1e-5, atol: 1e-6 });
});

test("importModel() errors name the op, node, opset, input or option", async () => {
  const custom = model({ nodes: [["Frobnicate", ["x"], ["y"], {}, "my_node"]], inputs: [["x", "float32", [2]]], outputs: [["y", "float32", [2]]] });
  await assertThrows(() => load(custom), /no import rule for ONNX op Frobnicate \(node my_node, opset 17\)/);
  const old = model({ nodes: [["Relu", ["x"], ["y"]]], inputs: [["x", "float32", [2]]], outputs: [["y", "float32", [2]]], opset: 9 });
  await assertThrows(() => load(old), "uses opset 9; slimtrain imports opsets 11 to 21");
  const computedShape = model({
    nodes: [["Reshape", ["x", "shape"], ["y"], {}, "reshape_node"]],
    inputs: [["x", "float32", [2, 3]], ["shape", "int64", [2]]],
    outputs: [["y", "float32", [3, 2]]],
  });
  await assertThrows(() => load(computedShape), /Reshape node reshape_node \(opset 17\): input 1 \(shape, value shape\) must be known at import time/);
  const shape = hostTensor("int64", [2], new BigInt64Array([3n, 2n]));
  assertEquals([...load(computedShape, { constantInputs: { shape } }).model.outputs.y.shape], [3, 2]);
  await assertThrows(() => load(new Uint8Array([1, 2, 3, 250, 255])), "importModel: the bytes are not a valid ONNX model");
  await assertThrows(() => load(dense(), { batchnorm: "train" } as never), "importModel: unknown option batchnorm");
  await assertThrows(() => load(dense(), { trainable: ["fc.weights"] }), "importModel: trainable names fc.weights, which the model has no initializer of");
});

test("importModel() asks for static shapes of inputs with symbolic dimensions", async () => {
  const bytes = model({ nodes: [["Relu", ["x"], ["y"]]], inputs: [["x", "float32", [2, 3]]], outputs: [["y", "float32", [2, 3]]] });
  const m = onnxTypes.ModelProto.decode(bytes) as unknown as { graph: { input: { type: { tensorType: { shape: { dim: Record<string, unknown>[] } } } }[] } };
  m.graph.input[0].type.tensorType.shape.dim[0] = { dimParam: "batch" };
  const dynamic = onnxTypes.ModelProto.encode(m as never).finish();
  await assertThrows(() => load(dynamic), "graph input x has shape [?, 3] with unknown dimensions; give it in options.inputShapes");
  assertEquals([...load(dynamic, { inputShapes: { x: [5, 3] } }).model.outputs.y.shape], [5, 3]);
});

test("importModel() answers truncated and corrupted files with its own named error, never a crash", () => {
  const bytes = dense();
  let rejected = 0;
  const attempt = (b: Uint8Array) => {
    try {
      load(b);
    } catch (err) {
      assert(err instanceof Error && err.message.startsWith("importModel:"), `unexpected failure: ${String(err)}`);
      rejected++;
    }
  };
  for (let cut = 0; cut < bytes.length; cut += 7) attempt(bytes.subarray(0, cut));
  const noise = randomArray(64, 9, 0, 256);
  for (let k = 0; k < 64; k++) {
    const damaged = bytes.slice();
    damaged[(k * 37) % damaged.length] = Math.floor(noise[k]);
    attempt(damaged);
  }
  assert(rejected > bytes.length / 7, `only ${rejected} damaged files were rejected`);
});
