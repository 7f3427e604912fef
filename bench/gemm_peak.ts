// The machine's fp32 peak as ONNX Runtime's CPU EP reaches it: a large MatMul,
// timed after a warm-up. Prints one JSON line with GFLOP/s.
// Usage: tsx bench/gemm_peak.ts [--n 2048] [--threads N]
import { makeModel, makeNode, makeValueInfo } from "../src/onnx/builder.ts";
import { createRuntime } from "../src/runtime/create.ts";
import { randomArray } from "../test/harness.ts";

const argv = process.argv.slice(2);
const arg = (name: string, fallback: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);
const n = Number(arg("n", "2048"));
const threads = Number(arg("threads", "0")) || undefined;
const runtime = await createRuntime({ executionProvider: "cpu", intraOpNumThreads: threads });
const model = makeModel({
  name: "gemm",
  nodes: [makeNode("MatMul", ["a", "b"], ["c"])],
  inputs: [makeValueInfo("a", "float32", [n, n]), makeValueInfo("b", "float32", [n, n])],
  outputs: [makeValueInfo("c", "float32", [n, n])],
  initializers: [],
});
const session = await runtime.createSession(model);
const a = runtime.fromHost({ dtype: "float32", shape: [n, n], data: randomArray(n * n, 1) });
const b = runtime.fromHost({ dtype: "float32", shape: [n, n], data: randomArray(n * n, 2) });
await session.run({ a, b }, ["c"]);
const times: number[] = [];
for (let i = 0; i < 5; i++) {
  const s = performance.now();
  await session.run({ a, b }, ["c"]);
  times.push(performance.now() - s);
}
times.sort((x, y) => x - y);
const ms = times[2];
console.log(JSON.stringify({ n, ms, gflops: (2 * n ** 3) / (ms / 1000) / 1e9 }));
