// FeedPlan against a counting fake runtime: every value it uploads is released
// after the run, whether the run succeeds, the session throws, or a feed is
// refused half-way; the global step, noise and placeholders reach their inputs.
import "../ops/mod.ts";
import { assert, assertEquals, assertThrows, randomArray, test } from "../../test/harness.ts";
import { Graph } from "../graph/graph.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { placeholder, variable } from "../graph/variable.ts";
import { getOrCreateGlobalStep } from "../learning/global_step.ts";
import { add, dropout, matmul, mul } from "../ops/mod.ts";
import { compileModel } from "../onnx/compile.ts";
import { FeedPlan, type FeedSources, noiseFor } from "./feed_plan.ts";
import type { Runtime, RuntimeSession, RuntimeValue } from "./types.ts";

interface FakeValue extends RuntimeValue {
  host: HostTensor;
  disposed: boolean;
}

function fakeRuntime(): { runtime: Runtime; made: FakeValue[] } {
  const made: FakeValue[] = [];
  const runtime = {
    description: "fake",
    executionProvider: "cpu",
    transfers: { toHost: 0, toHostBytes: 0, fromHost: 0, fromHostBytes: 0 },
    createSession: () => Promise.reject(new Error("not used")),
    fromHost(t: HostTensor): RuntimeValue {
      const v: FakeValue = { host: t, dims: t.shape, type: t.dtype, location: "cpu", disposed: false, dispose: () => void (v.disposed = true) };
      made.push(v);
      return v;
    },
    toHost: (v: RuntimeValue) => Promise.resolve((v as FakeValue).host),
  } satisfies Runtime;
  return { runtime, made };
}

function fakeSession(run: RuntimeSession["run"]): RuntimeSession {
  return { inputNames: [], outputNames: [], run, endProfiling: () => undefined, release: () => Promise.resolve() };
}

function model() {
  const g = new Graph();
  return g.asDefault(() => {
    const x = placeholder([2, 3], "float32", "x");
    const w = variable("w", { shape: [3, 4] });
    const step = getOrCreateGlobalStep(g);
    const y = mul(dropout(matmul(x, w.value), 0.5), add(step, 1));
    return { compiled: compileModel({ name: "plan", fetches: { y } }), w };
  });
}

const x: HostTensor = { dtype: "float32", shape: [2, 3], data: randomArray(6, 3) };

function sources(batch: Record<string, HostTensor>, weights: RuntimeValue): FeedSources {
  return {
    placeholders: () => batch,
    variable: () => weights,
    globalStep: () => 6,
    noiseStep: () => 6,
    seed: 9,
    where: () => ({ label: "Global step 7", at: " at global step 7" }),
  };
}

test("FeedPlan.run() feeds each input by its kind and releases what it uploaded, keeping the caller's variables", async () => {
  const { compiled, w } = model();
  assertEquals(compiled.inputs.map((i) => `${i.kind} ${i.name}`).sort(), ["globalStep global_step", "noise dropout/noise", "placeholder x", "variable w"]);
  const { runtime, made } = fakeRuntime();
  const weights = runtime.fromHost({ dtype: "float32", shape: [3, 4], data: randomArray(12, 4) });
  const plan = FeedPlan.of(compiled, runtime);
  assertEquals(plan.placeholderNames, ["x"]);
  assertEquals(plan.variables, [w]);
  let fed: Record<string, RuntimeValue> = {};
  await plan.run(fakeSession((feeds) => Promise.resolve((fed = feeds, {}))), ["y"], sources({ x }, weights));
  assert(fed.w === weights, "the variable is fed as given");
  assertEquals((fed.x as FakeValue).host, x);
  assertEquals([...(fed.global_step as FakeValue).host.data], [6]);
  const noise = compiled.inputs.find((i) => i.kind === "noise")!;
  assertEquals([...(fed["dropout/noise"] as FakeValue).host.data], [...noiseFor(noise.tensor, 9, 6).data], "noise of step 6, seed 9");
  assertEquals(made.filter((v) => v.disposed).length, 3, "x, the global step and the noise are released");
  assert(!(weights as FakeValue).disposed, "the caller's variable stays alive");
});

test("FeedPlan.run() releases its uploads when the session throws or a feed is refused", async () => {
  const { compiled } = model();
  const { runtime, made } = fakeRuntime();
  const weights = runtime.fromHost({ dtype: "float32", shape: [3, 4], data: randomArray(12, 5) });
  const plan = FeedPlan.of(compiled, runtime);
  await assertThrows(() => plan.run(fakeSession(() => Promise.reject(new Error("session failed"))), ["y"], sources({ x }, weights)), "session failed");
  const bad = { dtype: "float32" as const, shape: [2, 4], data: randomArray(8, 6) };
  await assertThrows(
    () => plan.run(fakeSession(() => Promise.resolve({})), ["y"], sources({ x: bad }, weights)),
    "Feed for placeholder x at global step 7: expected shape [2, 3], got [2, 4]",
  );
  await assertThrows(() => plan.run(fakeSession(() => Promise.resolve({})), ["y"], sources({}, weights)), "Global step 7: no value fed for placeholder x [2, 3] float32 (fed: nothing)");
  assertEquals(made.filter((v) => v !== weights && !v.disposed).length, 0, "nothing uploaded is left alive");
});

test("FeedPlan.uploadVariables() checks each value against its variable and releases all on a mismatch", () => {
  const { compiled, w } = model();
  const { runtime, made } = fakeRuntime();
  const plan = FeedPlan.of(compiled, runtime);
  const good = plan.uploadVariables(() => ({ dtype: "float32", shape: [3, 4], data: randomArray(12, 7) }), () => new Error("unexpected"));
  assertEquals([...good.keys()], [w]);
  const problems: string[] = [];
  assertThrows(() =>
    plan.uploadVariables(() => ({ dtype: "float32", shape: [4, 3], data: randomArray(12, 8) }), (v, value, detail) => {
      problems.push(`${v.name} ${value?.shape.join("x")} ${detail}`);
      return new Error("mismatch");
    }), "mismatch");
  assertEquals(problems, ["w 4x3 Feed for variable w: expected shape [3, 4], got [4, 3]"]);
  assertThrows(() => plan.uploadVariables(() => undefined, (v, value) => new Error(`missing ${v.name} ${value}`)), "missing w undefined");
  assertEquals(made.length, 1, "only the good upload was made");
});

test("FeedPlan converts int64 feeds for int32 placeholders (and back), as TensorFlow converts fed arrays, checking the range", async () => {
  const { evaluate } = await import("./evaluate.ts");
  const { cast } = await import("../ops/mod.ts");
  const g = new Graph();
  const { narrow, wide } = g.asDefault(() => ({
    narrow: placeholder([3], "int32", "narrow"),
    wide: placeholder([3], "int64", "wide"),
  }));
  const fetches = { a: g.asDefault(() => cast(narrow, "float32")), b: g.asDefault(() => cast(wide, "float32")) };
  const out = await evaluate(fetches, {
    feeds: {
      narrow: { dtype: "int64", shape: [3], data: BigInt64Array.from([7n, -2147483648n, 2147483647n]) },
      wide: { dtype: "int32", shape: [3], data: Int32Array.from([5, -3, 9]) },
    },
  });
  assertEquals(Array.from(out.a.data as Float32Array), [7, -2147483648, Math.fround(2147483647)]);
  assertEquals(Array.from(out.b.data as Float32Array), [5, -3, 9]);
  await assertThrows(
    () => evaluate({ a: fetches.a }, { feeds: { narrow: { dtype: "int64", shape: [3], data: BigInt64Array.from([1n, 2147483648n, 0n]) } } }),
    "Feed for placeholder narrow: int64 value 2147483648 at index 1 does not fit the placeholder's int32",
  );
  await assertThrows(
    () => evaluate({ a: fetches.a }, { feeds: { narrow: { dtype: "float32", shape: [3], data: new Float32Array(3) } } }),
    "expected dtype int32, got float32",
  );
});
