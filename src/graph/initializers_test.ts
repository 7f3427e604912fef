/**
 * Initializers against their definitions: the fast float32 loop draws exactly the
 * values of the reference stream, every draw lies inside the truncation, and the
 * sample moments match the distribution slim asks for.
 */
import { assert, assertClose, assertEquals, test } from "../../test/harness.ts";
import {
  computeFans,
  randomUniformInitializer,
  truncatedNormalInitializer,
  varianceScalingInitializer,
  xavierInitializer,
} from "./initializers.ts";
import { type Random, seededRandom } from "./random.ts";

/** Standard deviation of a standard normal truncated to [-2, 2]. */
const TRUNCATED_STD = 0.8796;

function moments(data: ArrayLike<number>): { mean: number; std: number; maxAbs: number } {
  let sum = 0, sq = 0, maxAbs = 0;
  for (let i = 0; i < data.length; i++) {
    sum += data[i];
    sq += data[i] * data[i];
    maxAbs = Math.max(maxAbs, Math.abs(data[i]));
  }
  const mean = sum / data.length;
  return { mean, std: Math.sqrt(sq / data.length - mean * mean), maxAbs };
}

/** Box–Muller one value at a time, cosine then sine of each pair: the reference the fast loop must equal. */
function normalStream(random: Random): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return z;
    }
    let u = random();
    while (u <= 1e-12) u = random();
    const radius = Math.sqrt(-2 * Math.log(u)), angle = 2 * Math.PI * random();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
}

/** The truncated normal drawn one value at a time from the reference stream. */
function referenceTruncated(n: number, seed: number, stream: string, mean: number, stddev: number): Float32Array {
  const gauss = normalStream(seededRandom(seed, stream));
  return Float32Array.from({ length: n }, () => {
    let z = gauss();
    while (Math.abs(z) > 2) z = gauss();
    return mean + stddev * z;
  });
}

test("truncatedNormalInitializer() draws the reference stream's values, all within two stddevs, with the truncated moments", () => {
  const [mean, stddev, n] = [0.3, 0.05, 200_003];
  const got = truncatedNormalInitializer({ mean, stddev }).init([n], "float32", seededRandom(7, "w"));
  assertEquals(got.shape, [n]);
  const data = got.data as Float32Array;
  assertEquals(Array.from(data.subarray(0, 1000)), Array.from(referenceTruncated(1000, 7, "w", mean, stddev)));
  assertEquals(Array.from(data.subarray(n - 5)), Array.from(referenceTruncated(n, 7, "w", mean, stddev).subarray(n - 5)));
  const m = moments(data);
  assertClose(m.mean, mean, { rtol: 0, atol: 0.001 });
  assertClose(m.std, stddev * TRUNCATED_STD, { rtol: 0.01 });
  for (const v of data) assert(Math.abs(v - mean) <= 2 * stddev + 1e-6, `draw ${v} outside mean ± 2 stddev`);
});

test("varianceScalingInitializer() (He) has stddev sqrt(1.3 · 2 / fanIn) before truncation; xavier uniform stays in ±sqrt(6 / (fanIn + fanOut))", () => {
  const shape = [3, 3, 64, 96];
  const { fanIn, fanOut } = computeFans(shape);
  assertEquals([fanIn, fanOut], [576, 864]);
  const he = varianceScalingInitializer().init(shape, "float32", seededRandom(3, "conv")).data as Float32Array;
  const expected = Math.sqrt(2.6 / fanIn);
  assertClose(moments(he).std, expected * TRUNCATED_STD, { rtol: 0.01 });
  assert(moments(he).maxAbs <= 2 * expected * (1 + 1e-6), "He draws stay within two stddevs");
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const xavier = xavierInitializer().init(shape, "float32", seededRandom(3, "conv")).data as Float32Array;
  const mx = moments(xavier);
  assert(mx.maxAbs <= limit, `xavier draw ${mx.maxAbs} beyond ${limit}`);
  assertClose(mx.std, limit / Math.sqrt(3), { rtol: 0.01 });
  const uniform = randomUniformInitializer({ minval: -0.2, maxval: 0.6 }).init([50_000], "float32", seededRandom(1)).data as Float32Array;
  assertClose(moments(uniform).mean, 0.2, { rtol: 0, atol: 0.005 });
});

test("initializers repeat for the same seed and stream, differ for another, and fill int64 tensors too", () => {
  const init = varianceScalingInitializer();
  const a = init.init([4, 5], "float32", seededRandom(11, "v")).data as Float32Array;
  const b = init.init([4, 5], "float32", seededRandom(11, "v")).data as Float32Array;
  const c = init.init([4, 5], "float32", seededRandom(12, "v")).data as Float32Array;
  assertEquals(Array.from(a), Array.from(b));
  assert(a.some((v, i) => v !== c[i]), "another seed draws other values");
  const ints = truncatedNormalInitializer({ mean: 100, stddev: 10 }).init([64], "int64", seededRandom(5)).data as BigInt64Array;
  assert(ints instanceof BigInt64Array && ints.every((v) => v >= 80n && v <= 120n), `int64 draws ${ints.slice(0, 4)}`);
  assert(new Set(Array.from(ints)).size > 5, "int64 draws vary");
});
