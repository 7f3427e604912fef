/**
 * Test helper: a learning-rate schedule's values at chosen global steps, computed by
 * ONNX Runtime from a compiled graph (so the lowering is what is checked).
 * @module
 */
import { Graph } from "../src/graph/graph.ts";
import { hostTensor } from "../src/graph/host_tensor.ts";
import "../src/ops/mod.ts";
import { getOrCreateGlobalStep } from "../src/learning/global_step.ts";
import type { Schedule } from "../src/learning/schedules.ts";
import { compileModel } from "../src/onnx/compile.ts";
import { createRuntime } from "../src/runtime/create.ts";
import type { Runtime } from "../src/runtime/types.ts";

let runtimePromise: Promise<Runtime> | undefined;
const runtime = () => (runtimePromise ??= createRuntime({ intraOpNumThreads: 1 }));

/**
 * The schedule's value at each step, from the fed float32 global step.
 *
 * @example
 * ```ts
 * const [first, last] = await traceSchedule(cosineDecay({ learningRate: 0.1, decaySteps: 10 }), [0, 10]);
 * ```
 */
export async function traceSchedule(schedule: Schedule, steps: readonly number[]): Promise<number[]> {
  const g = new Graph();
  const lr = g.asDefault(() => schedule(getOrCreateGlobalStep(g)));
  const rt = await runtime();
  const session = await rt.createSession(compileModel({ name: "schedule", fetches: { lr } }).bytes);
  try {
    const out: number[] = [];
    for (const step of steps) {
      const fed = { global_step: rt.fromHost(hostTensor("float32", [], Float32Array.of(step))) };
      out.push(((await rt.toHost((await session.run(fed, ["lr"])).lr)).data as Float32Array)[0]);
    }
    return out;
  } finally {
    await session.release();
  }
}
