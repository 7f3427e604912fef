import { assert, assertClose, assertEquals, randomArray, test } from "../../test/harness.ts";
import { gradients } from "../autodiff/gradients.ts";
import { Graph } from "../graph/graph.ts";
import { placeholder } from "../graph/variable.ts";
import { compileModel } from "../onnx/compile.ts";
import { createRuntime } from "../runtime/create.ts";
import type { LoweringTarget } from "./registry.ts";
import { groupedConv2dNCHW } from "./grouped_conv.ts";
import { mul, reduceSum } from "./mod.ts";

interface Case {
  label: string;
  x: number[];
  w: number[];
  groups: number;
  strides?: number[];
  pads?: number[];
  dilations?: number[];
  /** Whether the cpu target's input gradient is the flipped-filter Conv (no ConvTranspose). */
  flipped: boolean;
}

const cases: Case[] = [
  { label: "depthwise 3x3, pads 1", x: [2, 3, 6, 5], w: [3, 1, 3, 3], groups: 3, pads: [1, 1, 1, 1], flipped: true },
  { label: "depthwise, multiplier 2, SAME pads at the end", x: [1, 2, 6, 6], w: [4, 1, 3, 3], groups: 2, pads: [0, 0, 1, 2], flipped: true },
  { label: "2 groups of 2 channels, 3 filters each, 3x2 filter", x: [2, 4, 5, 6], w: [6, 2, 3, 2], groups: 2, pads: [1, 0, 1, 1], flipped: true },
  { label: "depthwise, dilation 2, unpadded", x: [1, 3, 7, 7], w: [3, 1, 3, 3], groups: 3, dilations: [2, 2], flipped: true },
  { label: "depthwise, 4 channels in one filter per group", x: [1, 8, 5, 5], w: [2, 4, 3, 3], groups: 2, pads: [1, 1, 1, 1], flipped: true },
  { label: "depthwise, stride 2 (keeps ConvTranspose)", x: [1, 3, 7, 7], w: [3, 1, 3, 3], groups: 3, strides: [2, 2], pads: [1, 1, 1, 1], flipped: false },
];

async function inputGradient(c: Case, target: LoweringTarget): Promise<{ dx: Float32Array; ops: string[] }> {
  const g = new Graph();
  const { dx, probe } = g.asDefault(() => {
    const x = placeholder(c.x, "float32", "x");
    const w = placeholder(c.w, "float32", "w");
    const y = groupedConv2dNCHW(x, w, { groups: c.groups, strides: c.strides, pads: c.pads, dilations: c.dilations });
    const probe = placeholder(y.shape as number[], "float32", "probe");
    return { dx: gradients(reduceSum(mul(y, probe)), [x])[0]!, probe };
  });
  const model = compileModel({ name: `grouped_${target}`, fetches: { dx }, target });
  const runtime = await createRuntime({ executionProvider: "cpu" });
  const session = await runtime.createSession(model.bytes);
  const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  try {
    const feed = (shape: readonly number[], seed: number) =>
      runtime.fromHost({ dtype: "float32", shape: [...shape], data: randomArray(size(shape), seed) });
    const out = await session.run({ x: feed(c.x, 1), w: feed(c.w, 2), probe: feed(probe.shape as number[], 3) }, [model.outputs[0].name]);
    const dxValue = (await runtime.toHost(out[model.outputs[0].name])).data as Float32Array;
    return { dx: dxValue, ops: model.parts.nodes.map((n) => (n as { opType: string }).opType) };
  } finally {
    await session.release();
  }
}

test("groupedConv2d() input gradient: the cpu target's flipped-filter Conv equals the portable ConvTranspose", async () => {
  for (const c of cases) {
    const cpu = await inputGradient(c, "cpu");
    const portable = await inputGradient(c, "portable");
    assertEquals(cpu.ops.includes("ConvTranspose"), !c.flipped, `${c.label}: cpu target uses ConvTranspose`);
    assert(portable.ops.includes("ConvTranspose"), `${c.label}: portable target uses ConvTranspose`);
    assertClose(cpu.dx, portable.dx, { rtol: 1e-5, atol: 1e-6, message: c.label });
    assert(cpu.dx.some((v) => v !== 0), `${c.label}: some gradient reaches the input`);
  }
});
