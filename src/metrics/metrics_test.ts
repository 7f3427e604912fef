// Streaming metrics against hand computations on random logits: accuracy from
// logits (first maximum wins) and from class ids, weights, top-k with ties
// counted in the label's favour, mean, and host accumulation over batches.
import "../ops/mod.ts";
import { Graph } from "../graph/graph.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { placeholder } from "../graph/variable.ts";
import { evaluate } from "../runtime/evaluate.ts";
import { assertClose, assertEquals, assertThrows, rng, test } from "../../test/harness.ts";
import { accuracy, mean, MetricAccumulator, topKAccuracy } from "./metrics.ts";

const B = 12, C = 5;

function f32(shape: number[], data: Float32Array): HostTensor {
  return { dtype: "float32", shape, data };
}
function i64(values: number[]): HostTensor {
  return { dtype: "int64", shape: [values.length], data: BigInt64Array.from(values, BigInt) };
}

/** Small integer logits so ties are frequent. */
function tiedLogits(seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: B * C }, () => Math.floor(r() * 4) - 2);
}
function randomLabels(seed: number, n = B): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.floor(r() * C));
}

function firstArgMax(logits: Float32Array, row: number): number {
  let best = 0;
  for (let c = 1; c < C; c++) if (logits[row * C + c] > logits[row * C + best]) best = c;
  return best;
}

test("accuracy() from logits picks the first maximum and matches a hand count, with and without weights", async () => {
  const logits = tiedLogits(1), labels = randomLabels(2);
  const w = Float32Array.from({ length: B }, (_, i) => (i % 3 === 0 ? 0 : 0.5 + rng(i)()));
  const g = new Graph();
  const { plain, weighted } = g.asDefault(() => {
    const lg = placeholder([B, C], "float32", "logits"), lb = placeholder([B], "int64", "labels"), wt = placeholder([B], "float32", "w");
    return { plain: accuracy(lg, lb), weighted: accuracy(lg, lb, { weights: wt }) };
  });
  const out = await evaluate(
    { s: plain.sum, c: plain.count, ws: weighted.sum, wc: weighted.count },
    { feeds: { logits: f32([B, C], logits), labels: i64(labels), w: f32([B], w) } },
  );
  let hits = 0, wHits = 0, wTotal = 0;
  for (let i = 0; i < B; i++) {
    const hit = firstArgMax(logits, i) === labels[i] ? 1 : 0;
    hits += hit;
    wHits += hit * w[i];
    wTotal += w[i];
  }
  assertEquals(Number(out.s.data[0]), hits, "correct count");
  assertEquals(Number(out.c.data[0]), B, "count");
  assertClose(Number(out.ws.data[0]), wHits, { rtol: 1e-6 });
  assertClose(Number(out.wc.data[0]), wTotal, { rtol: 1e-6 });
  assertEquals(plain.name, "accuracy");
});

test("accuracy() on class ids compares them with the labels", async () => {
  const preds = randomLabels(4), labels = randomLabels(5);
  const g = new Graph();
  const m = g.asDefault(() => accuracy(placeholder([B], "int64", "p"), placeholder([B], "int64", "l")));
  const out = await evaluate({ s: m.sum, c: m.count }, { feeds: { p: i64(preds), l: i64(labels) } });
  assertEquals(Number(out.s.data[0]), preds.filter((p, i) => p === labels[i]).length);
  assertEquals(Number(out.c.data[0]), B);
});

test("topKAccuracy() counts ties in the label's favour and misses out-of-range labels", async () => {
  const logits = tiedLogits(6);
  const labels = randomLabels(7);
  labels[0] = C; // out of range: a miss, as in_top_k says
  for (const k of [1, 2, 3, C]) {
    const g = new Graph();
    const m = g.asDefault(() => topKAccuracy(placeholder([B, C], "float32", "logits"), placeholder([B], "int64", "labels"), k));
    const out = await evaluate({ s: m.sum, c: m.count }, { feeds: { logits: f32([B, C], logits), labels: i64(labels) } });
    let hits = 0;
    for (let i = 0; i < B; i++) {
      if (labels[i] >= C) continue;
      const mine = logits[i * C + labels[i]];
      let above = 0;
      for (let c = 0; c < C; c++) if (logits[i * C + c] > mine) above++;
      if (above < k) hits++;
    }
    assertEquals(Number(out.s.data[0]), hits, `top-${k} hits`);
    assertEquals(Number(out.c.data[0]), B);
    assertEquals(m.name, `top_${k}_accuracy`);
  }
});

test("mean() with weights and MetricAccumulator stream over batches like one big batch", async () => {
  const g = new Graph();
  const { fetches, acc } = g.asDefault(() => {
    const v = placeholder([3, 4], "float32", "v"), w = placeholder([3, 1], "float32", "w");
    const lg = placeholder([B, C], "float32", "logits"), lb = placeholder([B], "int64", "labels");
    const acc = new MetricAccumulator({ m: mean(v, { weights: w }), acc: accuracy(lg, lb) });
    return { fetches: acc.fetches, acc };
  });
  let num = 0, den = 0, hits = 0;
  for (let batch = 0; batch < 3; batch++) {
    const r = rng(100 + batch);
    const v = Float32Array.from({ length: 12 }, () => r() * 2 - 1);
    const w = Float32Array.from({ length: 3 }, () => r());
    const logits = tiedLogits(200 + batch), labels = randomLabels(300 + batch);
    acc.update(await evaluate(fetches, { feeds: { v: f32([3, 4], v), w: f32([3, 1], w), logits: f32([B, C], logits), labels: i64(labels) } }));
    for (let i = 0; i < 12; i++) {
      num += v[i] * w[Math.floor(i / 4)];
      den += w[Math.floor(i / 4)];
    }
    for (let i = 0; i < B; i++) hits += firstArgMax(logits, i) === labels[i] ? 1 : 0;
  }
  const res = acc.results();
  assertClose(res.m, num / den, { rtol: 1e-5 });
  assertClose(res.acc, hits / (3 * B), { rtol: 1e-7 });
  acc.reset();
  assertEquals(acc.results(), { acc: 0, m: 0 });
});

test("metrics name the tensors when shapes or dtypes do not fit", async () => {
  const g = new Graph();
  const lg = placeholder([B, C], "float32", "logits", g), lb = placeholder([B], "int64", "labels", g);
  await assertThrows(
    () => accuracy(placeholder([B, C + 1, 2], "float32", "bad", g), lb),
    "accuracy: predictions bad [12, 6, 2] float32 must be class ids shaped like labels labels [12] int64",
  );
  await assertThrows(() => accuracy(lg, placeholder([B], "float32", "fl", g)), "accuracy: labels must be int64 or int32 class ids, got fl [12] float32");
  await assertThrows(() => topKAccuracy(lg, lb, 0), "topKAccuracy: k must be a positive integer, got 0");
  await assertThrows(
    () => accuracy(lg, lb, { weights: placeholder([5], "float32", "w5", g) }),
    "accuracy: weights w5 [5] float32 do not broadcast to the values' shape [12]",
  );
});

test("accuracy() and mean() without weights count an unknown batch at run time", async () => {
  const g = new Graph();
  const { acc, avg } = g.asDefault(() => {
    const logits = placeholder([null as unknown as number, 4], "float32", "logits");
    const labels = placeholder([-1], "int64", "labels");
    const values = placeholder([-1, 2], "float32", "values");
    return { acc: accuracy(logits, labels), avg: mean(values) };
  });
  const r = rng(41);
  for (const n of [1, 5]) {
    const logits = Float32Array.from({ length: n * 4 }, () => r() * 2 - 1);
    const labels = BigInt64Array.from({ length: n }, () => BigInt(Math.floor(r() * 4)));
    const values = Float32Array.from({ length: n * 2 }, () => r() * 10 - 5);
    let hits = 0;
    for (let i = 0; i < n; i++) {
      const row = Array.from(logits.subarray(i * 4, i * 4 + 4));
      if (row.indexOf(Math.max(...row)) === Number(labels[i])) hits++;
    }
    const out = await evaluate({ accSum: acc.sum, accCount: acc.count, avgSum: avg.sum, avgCount: avg.count }, {
      feeds: {
        logits: { dtype: "float32", shape: [n, 4], data: logits },
        labels: { dtype: "int64", shape: [n], data: labels },
        values: { dtype: "float32", shape: [n, 2], data: values },
      },
    });
    assertClose((out.accSum.data as Float32Array)[0], hits, { message: `hits at batch ${n}` });
    assertEquals((out.accCount.data as Float32Array)[0], n, `accuracy count at batch ${n}`);
    assertEquals((out.avgCount.data as Float32Array)[0], 2 * n, `mean count at batch ${n}`);
    assertClose((out.avgSum.data as Float32Array)[0], values.reduce((s, v) => s + v, 0), { rtol: 1e-5 });
  }
});
