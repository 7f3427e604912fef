import { assertEquals, test } from "../../test/harness.ts";
import { Graph } from "../graph/graph.ts";
import { placeholder } from "../graph/variable.ts";
import { relu } from "../ops/mod.ts";
import { createRuntime } from "./create.ts";
import { evaluate } from "./evaluate.ts";
import { decodeWorkerUrl } from "../data/workers/decode_worker_url.ts";
import type { DecodeResult, DecodeTask } from "../data/workers/decode_task.ts";
import { createWorkerPool } from "./worker_pool.ts";
import { encode as encodePng } from "fast-png";

test("createWorkerPool() still starts its workers after onnxruntime-web's wasm loader has set a Worker global", async () => {
  // Running a wasm session under Node makes globalThis.Worker worker_threads' Worker, which is no Web Worker.
  const g = new Graph();
  const y = g.asDefault(() => relu(placeholder([2], "float32", "x")));
  await evaluate({ y }, { runtime: await createRuntime({ executionProvider: "wasm", package: "onnxruntime-web" }), feeds: { x: { dtype: "float32", shape: [2], data: new Float32Array([-1, 2]) } } });
  const pool = await createWorkerPool<DecodeTask, DecodeResult>(decodeWorkerUrl(), 1);
  try {
    const png = encodePng({ width: 2, height: 1, data: new Uint8Array([0, 255]), channels: 1, depth: 8 });
    const result = await pool.run({ id: 7, bytes: png, name: "two.png", height: 1, width: 2, channels: 1 });
    assertEquals("data" in result ? Array.from(result.data) : result, [0, 1]);
    assertEquals(result.id, 7);
  } finally {
    await pool.close();
  }
});
