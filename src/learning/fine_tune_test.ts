// Fine-tuning: train a tiny classifier, then a copy with a new last layer that
// restores everything else from the first run's checkpoint and trains only the
// new layer; scope filtering; missing variables and shape mismatches.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import "../ops/mod.ts";
import { latestCheckpoint, restoreCheckpoint, restoreLatest } from "../checkpoint/mod.ts";
import { NodeFileSystem } from "../fs/node_fs.ts";
import { Graph } from "../graph/graph.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { xavierInitializer, zerosInitializer } from "../graph/initializers.ts";
import { seededRandom } from "../graph/random.ts";
import { constant, placeholder, type Variable, variable } from "../graph/variable.ts";
import { add, cast, equal, expandDims, matmul, reduceMean, relu, softmaxCrossEntropyWithLogits } from "../ops/mod.ts";
import { assert, assertEquals, assertThrows, randomArray, rng, test } from "../../test/harness.ts";
import { createTrainOp } from "./create_train_op.ts";
import { assignFromCheckpointFn, getVariablesToRestore } from "./fine_tune.ts";
import { gradientDescent, momentum } from "./optimizers/mod.ts";
import { train } from "./train.ts";

const fs = new NodeFileSystem();
const quiet = () => {};
const B = 8, IN = 4, HIDDEN = 6;

/** x [8, 4] → net/hidden (relu) → net/<logitsScope> [8, classes]; softmax cross-entropy. */
function buildNet(classes: number, logitsScope = "logits") {
  const g = new Graph();
  return g.asDefault(() => {
    const x = placeholder([B, IN], "float32", "x");
    const labels = placeholder([B], "int64", "labels");
    const dense = (scope: string, n: number, inputs: typeof x) =>
      g.withScope("net", () =>
        g.withScope(scope, () => {
          const w = variable("weights", { shape: [inputs.shape[1], n], initializer: xavierInitializer() });
          const b = variable("biases", { shape: [n], initializer: zerosInitializer() });
          return { y: add(matmul(inputs, w.value), b.value), w, b };
        }));
    const hidden = dense("hidden", HIDDEN, x);
    const out = dense(logitsScope, classes, relu(hidden.y));
    const onehot = cast(equal(expandDims(labels, -1), constant([...Array(classes).keys()], [classes], "int64")), "float32");
    const loss = reduceMean(softmaxCrossEntropyWithLogits(out.y, onehot));
    return { g, loss, hidden, out };
  });
}

/** Batches that depend only on the step, or one batch repeated (so a loss must fall). */
function* batches(classes: number, { repeat = false } = {}) {
  for (let step = 0; ; step++) {
    const s = repeat ? 0 : step;
    const r = rng(50 + s);
    yield {
      x: { dtype: "float32", shape: [B, IN], data: randomArray(B * IN, 10 + s) } as HostTensor,
      labels: { dtype: "int64", shape: [B], data: BigInt64Array.from({ length: B }, () => BigInt(Math.floor(r() * classes))) } as HostTensor,
    };
  }
}

function bits(t: HostTensor): number[] {
  return Array.from(new Uint32Array((t.data as Float32Array).slice().buffer));
}

async function withDirs(fn: (a: string, b: string) => Promise<void>): Promise<void> {
  const a = mkdtempSync(join(tmpdir(), "slimtrain-ft-a-")), b = mkdtempSync(join(tmpdir(), "slimtrain-ft-b-"));
  try {
    await fn(a, b);
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
}

async function trainBase(dir: string): Promise<string> {
  const base = buildNet(3);
  await train(createTrainOp(base.loss, gradientDescent({ learningRate: 0.5 })), dir, { data: batches(3), numberOfSteps: 3, log: quiet });
  return (await latestCheckpoint(fs, dir))!;
}

test("getVariablesToRestore() filters by whole scopes, in creation order", async () => {
  const { g } = buildNet(3, "logits");
  g.asDefault(() => g.withScope("net", () => variable("log", { shape: [1] })));
  const names = (vs: Variable[]) => vs.map((v) => v.name);
  const all = ["net/hidden/weights", "net/hidden/biases", "net/logits/weights", "net/logits/biases", "net/log"];
  assertEquals(names(getVariablesToRestore({}, g)), all);
  assertEquals(names(getVariablesToRestore({ exclude: ["net/logits"] }, g)), ["net/hidden/weights", "net/hidden/biases", "net/log"]);
  assertEquals(names(getVariablesToRestore({ exclude: ["net/log"] }, g)), all.slice(0, 4), "net/log is not a prefix scope of net/logits");
  assertEquals(names(getVariablesToRestore({ include: ["net/hidden", "net/logits/biases"] }, g)), ["net/hidden/weights", "net/hidden/biases", "net/logits/biases"]);
  assertEquals(names(getVariablesToRestore({ include: ["net"], exclude: ["net/hidden"] }, g)), all.slice(2));
  await assertThrows(() => getVariablesToRestore({ include: [""] }, g), "include scopes must be non-empty strings");
  // TF's positional get_variables_to_restore(include) once restored everything silently.
  await assertThrows(
    () => getVariablesToRestore(["net/hidden"] as never, g),
    'getVariablesToRestore: pass a filter { include?, exclude? } of scope lists, got ["net/hidden"]: getVariablesToRestore({ include: ["net/hidden"] }) or { exclude: ... }',
  );
  await assertThrows(() => getVariablesToRestore({ exclude: "net/logits" } as never, g), 'getVariablesToRestore: exclude must be an array of scopes, e.g. { exclude: ["net/logits"] }');
  await assertThrows(() => getVariablesToRestore({ excludes: ["net/logits"] } as never, g), "getVariablesToRestore: unknown option excludes for the filter (known: include, exclude)");
  await assertThrows(() => assignFromCheckpointFn("ckpt", g as never), "assignFromCheckpointFn: variables must be a list of Variables");
  await assertThrows(() => assignFromCheckpointFn("ckpt", ["net/logits/weights"] as never), 'assignFromCheckpointFn: an entry of variables is not a Variable: "net/logits/weights"');
  await assertThrows(() => assignFromCheckpointFn("ckpt", getVariablesToRestore({}, g), { ignore_missing_vars: true } as never), "slimtrain spells it ignoreMissingVars");
});

test("assignFromCheckpointFn() restores all but a new last layer, which alone trains; restored values stay bit-for-bit", async () => {
  await withDirs(async (dirA, dirB) => {
    const ckptA = await trainBase(dirA);
    const a = await restoreCheckpoint(fs, ckptA);
    const ft = buildNet(5);
    const trainOp = createTrainOp(ft.loss, momentum({ learningRate: 0.1, momentum: 0.5 }), { variablesToTrain: [ft.out.w, ft.out.b] });
    // Taken after createTrainOp: the new layer's Momentum slots fall under the excluded scope too.
    const toRestore = getVariablesToRestore({ exclude: ["net/logits"] }, ft.g);
    assertEquals(toRestore.map((v) => v.name), ["net/hidden/weights", "net/hidden/biases"]);
    const before = ft.hidden.w.initializer.init(ft.hidden.w.shape, "float32", seededRandom(0, ft.hidden.w.name));
    assert(bits(before).join() !== bits(a.tensors.get("net/hidden/weights")!).join(), "the restored value differs from a fresh init");
    const losses: number[] = [];
    await train(trainOp, dirB, {
      data: batches(5, { repeat: true }), numberOfSteps: 4, log: quiet, initFn: assignFromCheckpointFn(ckptA, toRestore), onStep: (s) => losses.push(s.loss),
    });
    const b = (await restoreLatest(fs, dirB))!;
    for (const name of ["net/hidden/weights", "net/hidden/biases"]) {
      assertEquals(bits(b.tensors.get(name)!), bits(a.tensors.get(name)!), `${name} restored from A and untouched by training`);
    }
    assertEquals(b.tensors.get("net/logits/weights")!.shape, [HIDDEN, 5]);
    assert(b.tensors.has("net/logits/weights/Momentum"), "the new layer trained with momentum");
    assert(losses[3] < losses[0], `the new layer learns: losses ${losses.join(", ")}`);
  });
});

test("assignFromCheckpointFn() names the checkpoint and variable when one is missing or misshapen, and can skip missing ones", async () => {
  await withDirs(async (dirA) => {
    const ckptA = await trainBase(dirA);
    const ft = buildNet(5);
    const assigned: string[] = [];
    const ctx = { session: { assign: (name: string) => void assigned.push(name) }, fs };
    const renamed = { "net/hidden/weights": ft.hidden.w, "net/old/biases": ft.hidden.b };
    await assertThrows(
      () => assignFromCheckpointFn(ckptA, renamed)(ctx),
      `Checkpoint ${ckptA} does not fit the graph: no variable net/old/biases (for net/hidden/biases). ` +
        "To train these anew from their initializers (e.g. a new last layer for another number of classes), " +
        "leave them out of the record of variables to restore, or pass ignoreMissingVars: true to skip the missing ones",
    );
    assertEquals(assigned, [], "nothing is assigned when the checkpoint does not fit");
    const lines: string[] = [];
    await assignFromCheckpointFn(ckptA, renamed, { ignoreMissingVars: true, log: (l) => lines.push(l) })(ctx);
    assertEquals(assigned, ["net/hidden/weights"]);
    assertEquals(lines, [`Checkpoint ${ckptA} has no variable net/old/biases (for net/hidden/biases): it keeps its initial value`]);
    await assertThrows(
      () => assignFromCheckpointFn(ckptA, getVariablesToRestore({}, ft.g), { ignoreMissingVars: true })(ctx),
      `Checkpoint ${ckptA} does not fit the graph: variable net/logits/weights is float32 [6, 3], but net/logits/weights in the graph is float32 [6, 5]; ` +
        "variable net/logits/biases is float32 [3], but net/logits/biases in the graph is float32 [5]. " +
        'To train these anew from their initializers (e.g. a new last layer for another number of classes), leave them out: getVariablesToRestore({ exclude: ["net/logits"] })',
    );
    // A missing variable from a list: the fix names its scope to exclude.
    const renamedRoot = buildNet(3, "logits");
    const other = new Graph();
    const moved = other.asDefault(() => other.withScope("model", () => variable("hidden/weights", { shape: [IN, HIDDEN] })));
    await assertThrows(
      () => assignFromCheckpointFn(ckptA, [moved, ...getVariablesToRestore({ include: ["net/logits"] }, renamedRoot.g)])(ctx),
      `Checkpoint ${ckptA} does not fit the graph: no variable model/hidden/weights. ` +
        'To train these anew from their initializers (e.g. a new last layer for another number of classes), leave them out: getVariablesToRestore({ exclude: ["model/hidden"] }), ' +
        "or pass ignoreMissingVars: true to skip the missing ones",
    );
    assertEquals(assigned, ["net/hidden/weights"], "nothing more is assigned when one variable does not fit");
    await assertThrows(() => assignFromCheckpointFn(ckptA, []), `assignFromCheckpointFn: no variables to restore from ${ckptA}`);
    await assertThrows(() => assignFromCheckpointFn(join(dirA, "model.ckpt-99"), [ft.hidden.w])(ctx), "model.ckpt-99.safetensors");
  });
});
