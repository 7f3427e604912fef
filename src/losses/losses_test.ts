import { assert, assertClose, assertEquals, assertThrows, randomArray, rng, test } from "../../test/harness.ts";
import { Graph } from "../graph/graph.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { placeholder } from "../graph/variable.ts";
import { evaluate } from "../runtime/evaluate.ts";
import { absoluteDifference, meanSquaredError, sigmoidCrossEntropy, softmaxCrossEntropy, sparseSoftmaxCrossEntropy } from "./losses.ts";
import { computeWeightedLoss } from "./weighted.ts";

const B = 5, C = 4;
const f32 = (shape: number[], data: ArrayLike<number>): HostTensor => ({ dtype: "float32", shape, data: Float32Array.from(data) });
const logitsData = randomArray(B * C, 11, -3, 3);
const ids = (() => {
  const r = rng(12);
  return Array.from({ length: B }, () => Math.floor(r() * C));
})();
const onehot = Float32Array.from({ length: B * C }, (_, i) => (ids[Math.floor(i / C)] === i % C ? 1 : 0));

/** Per-example softmax cross-entropy in float64: lse(z)·Σl - Σ l·z. */
function softmaxCE(z: ArrayLike<number>, labels: ArrayLike<number>): number[] {
  return Array.from({ length: B }, (_, b) => {
    const row = Array.from({ length: C }, (_, j) => z[b * C + j]);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    let sumL = 0, dot = 0;
    row.forEach((v, j) => {
      sumL += labels[b * C + j];
      dot += labels[b * C + j] * v;
    });
    return lse * sumL - dot;
  });
}

function weightedMean(losses: number[], weights: number[]): number {
  const nonzero = weights.filter((w) => w !== 0).length;
  return nonzero === 0 ? 0 : losses.reduce((a, l, i) => a + l * weights[i], 0) / nonzero;
}

test("softmaxCrossEntropy() smooths labels and divides the weighted sum by the non-zero weights", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const logits = placeholder([B, C], "float32", "logits");
    const labels = placeholder([B, C], "float32", "labels");
    const weights = [1.5, 0, 2, 0, 0.5];
    const smoothed = softmaxCrossEntropy(logits, labels, { weights, labelSmoothing: 0.2 });
    const scalar = softmaxCrossEntropy(logits, labels, { weights: 0.7 });
    const none = softmaxCrossEntropy(logits, labels, { weights: [0, 0, 0, 0, 0] });
    const out = await evaluate({ smoothed, scalar, none }, { feeds: { logits: f32([B, C], logitsData), labels: f32([B, C], onehot) } });
    const soft = Array.from(onehot, (l) => l * 0.8 + 0.2 / C);
    assertClose(out.smoothed.data as Float32Array, [weightedMean(softmaxCE(logitsData, soft), weights)], { rtol: 1e-5 });
    const plain = softmaxCE(logitsData, onehot);
    assertClose(out.scalar.data as Float32Array, [0.7 * plain.reduce((a, v) => a + v) / B], { rtol: 1e-5 });
    assertEquals(out.none.data, Float32Array.of(0));
    assertEquals(smoothed.shape, []);
  });
});

test("sparseSoftmaxCrossEntropy() agrees with softmaxCrossEntropy() on one-hot labels", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const logits = placeholder([B, C], "float32", "logits");
    const dense = placeholder([B, C], "float32", "dense");
    const sparse = placeholder([B], "int64", "sparse");
    const weights = placeholder([B], "float32", "weights");
    const a = softmaxCrossEntropy(logits, dense, { weights });
    const b = sparseSoftmaxCrossEntropy(logits, sparse, { weights });
    const w = [0, 1.25, 0.5, 3, 0];
    const out = await evaluate({ a, b }, {
      feeds: {
        logits: f32([B, C], logitsData),
        dense: f32([B, C], onehot),
        sparse: { dtype: "int64", shape: [B], data: BigInt64Array.from(ids, BigInt) },
        weights: f32([B], w),
      },
    });
    const expected = weightedMean(softmaxCE(logitsData, onehot), w);
    assertClose(out.a.data as Float32Array, [expected], { rtol: 1e-5 });
    assertClose(out.b.data as Float32Array, [expected], { rtol: 1e-5 });
    assertEquals(b.name, "sparse_softmax_cross_entropy_loss/value");
  });
});

test("sigmoidCrossEntropy() smooths towards 0.5 and counts every element of a weighted example", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const logits = placeholder([B, C], "float32", "logits");
    const labels = placeholder([B, C], "float32", "labels");
    const weights = [2, 0, 1, 0.5, 0];
    const loss = sigmoidCrossEntropy(logits, labels, { weights, labelSmoothing: 0.1 });
    const multi = Float32Array.from(randomArray(B * C, 13), (v) => (v > 0 ? 1 : 0));
    const out = await evaluate({ loss }, { feeds: { logits: f32([B, C], logitsData), labels: f32([B, C], multi) } });
    let total = 0;
    for (let i = 0; i < B * C; i++) {
      const x = logitsData[i], y = multi[i] * 0.9 + 0.05;
      const p = 1 / (1 + Math.exp(-x));
      total += weights[Math.floor(i / C)] * -(y * Math.log(p) + (1 - y) * Math.log(1 - p));
    }
    assertClose(out.loss.data as Float32Array, [total / (3 * C)], { rtol: 1e-5 });
  });
});

test("meanSquaredError() and absoluteDifference() weight elementwise and by scalar", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const predictions = placeholder([B, C], "float32", "predictions");
    const labels = placeholder([B, C], "float32", "labels");
    const weights = placeholder([B, C], "float32", "weights");
    const mse = meanSquaredError(predictions, labels, { weights });
    const mad = absoluteDifference(predictions, labels, { weights: 2 });
    const p = randomArray(B * C, 14), l = randomArray(B * C, 15);
    const w = Array.from(randomArray(B * C, 16, -1, 2), (v) => (v < 0 ? 0 : v));
    const out = await evaluate({ mse, mad }, {
      feeds: { predictions: f32([B, C], p), labels: f32([B, C], l), weights: f32([B, C], w) },
    });
    const sq = Array.from(p, (v, i) => (v - l[i]) ** 2);
    assert(w.some((v) => v === 0) && w.some((v) => v > 0), "some weights zero, some not");
    assertClose(out.mse.data as Float32Array, [weightedMean(sq, w)], { rtol: 1e-5 });
    assertClose(out.mad.data as Float32Array, [2 * Array.from(p, (v, i) => Math.abs(v - l[i])).reduce((a, v) => a + v) / (B * C)], { rtol: 1e-5 });
  });
});

test("losses check their inputs and name the tensors", async () => {
  const g = new Graph();
  await g.asDefault(async () => {
    const logits = placeholder([B, C], "float32", "logits");
    await assertThrows(() => softmaxCrossEntropy(logits, placeholder([B, C + 1], "float32", "wide")), "softmaxCrossEntropy: logits logits [5, 4] and onehotLabels wide [5, 5] must have the same shape");
    await assertThrows(() => softmaxCrossEntropy(logits, placeholder([B, C], "int64", "ids")), "use sparseSoftmaxCrossEntropy");
    await assertThrows(() => sparseSoftmaxCrossEntropy(logits, placeholder([B + 1], "int64", "classIds")), "sparseSoftmaxCrossEntropy: labels classIds [6] must be [5]");
    await assertThrows(() => meanSquaredError(logits, logits, { weights: [1, 2] }), "meanSquaredError: weights");
    await assertThrows(() => sigmoidCrossEntropy(logits, logits, { labelSmoothing: 2 }), "labelSmoothing must be in [0, 1]");
    await assertThrows(() => computeWeightedLoss(placeholder([B], "int64", "n")), "computeWeightedLoss: losses must be float32");
  });
});
