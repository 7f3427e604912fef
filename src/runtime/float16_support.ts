/**
 * Whether a runtime can compute in float16, asked once per runtime by running a
 * two-node model: WebGPU adapters without the `shader-f16` feature (SwiftShader,
 * many integrated GPUs) fail only when a float16 kernel first runs, deep inside a
 * train step, so mixed precision asks up front and says why.
 * @module
 */
import { makeModel, makeNode, makeValueInfo } from "../onnx/builder.ts";
import type { Runtime } from "./types.ts";

const answers = new WeakMap<Runtime, Promise<string | null>>();

/**
 * null when `runtime` runs float16 kernels, else ONNX Runtime's reason.
 *
 * @example
 * ```ts
 * const why = await float16Unsupported(runtime);
 * if (why) console.log(`no float16 here: ${why}`);
 * ```
 */
export function float16Unsupported(runtime: Runtime): Promise<string | null> {
  let answer = answers.get(runtime);
  if (!answer) {
    answer = probe(runtime);
    answers.set(runtime, answer);
  }
  return answer;
}

async function probe(runtime: Runtime): Promise<string | null> {
  const model = makeModel({
    name: "float16_probe",
    nodes: [
      makeNode("Cast", ["x"], ["x16"], { to: 10 }),
      makeNode("Mul", ["x16", "x16"], ["y16"]),
      makeNode("Cast", ["y16"], ["y"], { to: 1 }),
    ],
    inputs: [makeValueInfo("x", "float32", [4])],
    outputs: [makeValueInfo("y", "float32", [4])],
    initializers: [],
  });
  try {
    const session = await runtime.createSession(model, { quiet: true });
    try {
      const x = runtime.fromHost({ dtype: "float32", shape: [4], data: new Float32Array([0.5, 1.5, -2, 3]) });
      const { y } = await session.run({ x }, ["y"]);
      const got = await runtime.toHost(y);
      y.dispose();
      x.dispose();
      const expected = [0.25, 2.25, 4, 9];
      if (!expected.every((v, i) => got.data[i] === v)) return `the probe computed [${Array.from(got.data as Float32Array).join(", ")}]`;
      return null;
    } finally {
      await session.release();
    }
  } catch (err) {
    return (err as Error).message.split("\n")[0].replace(/^.*Status Message: /, "");
  }
}
