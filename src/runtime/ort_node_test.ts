import { assertEquals, test } from "../../test/harness.ts";
import { Graph } from "../graph/graph.ts";
import { placeholder } from "../graph/variable.ts";
import { matmul, relu } from "../ops/mod.ts";
import { createRuntime } from "./create.ts";
import { evaluate } from "./evaluate.ts";
import { randomArray } from "../../test/harness.ts";

test("createRuntime({ cpuMemArena, cpuMemPattern }) gives the same results with ONNX Runtime's CPU arena and memory pattern on and off", async () => {
  const g = new Graph();
  const y = g.asDefault(() => relu(matmul(placeholder([3, 4], "float32", "a"), placeholder([4, 5], "float32", "b"))));
  const feeds = {
    a: { dtype: "float32" as const, shape: [3, 4], data: randomArray(12, 61) },
    b: { dtype: "float32" as const, shape: [4, 5], data: randomArray(20, 62) },
  };
  const byDefault = await evaluate({ y }, { feeds, runtime: await createRuntime({ executionProvider: "cpu" }) });
  for (const memory of [{ cpuMemArena: false }, { cpuMemPattern: true }]) {
    const other = await evaluate({ y }, { feeds, runtime: await createRuntime({ executionProvider: "cpu", ...memory }) });
    assertEquals(Array.from(other.y.data as Float32Array), Array.from(byDefault.y.data as Float32Array), JSON.stringify(memory));
  }
  assertEquals((byDefault.y.data as Float32Array).some((v) => v > 0), true);
});
