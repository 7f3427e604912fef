/**
 * Seeded pseudo-random numbers for initializers and dropout noise. Every stream is
 * derived from (seed, a name or a step), so a variable's initial value does not
 * depend on the order variables were created in, and a resumed run draws the same
 * dropout noise at step N as an uninterrupted one.
 * @module
 */

/** A generator of uniform floats in [0, 1). */
export type Random = () => number;

/** 32-bit FNV-1a hash of a string, for deriving stream seeds from names. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A seeded generator (SplitMix32-style mixing over a counter): fast, stateless per
 * stream, and good enough for initial weights and dropout masks.
 *
 * @example
 * ```ts
 * const r = seededRandom(42, "vgg_16/conv1/conv1_1/weights");
 * r(); // same value every run
 * ```
 */
export function seededRandom(seed: number, stream: string | number = 0): Random {
  let state = (Math.imul(seed >>> 0, 0x9e3779b1) ^ (typeof stream === "string" ? hashString(stream) : stream >>> 0)) >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    return (z >>> 0) / 4294967296;
  };
}

/** Fills `out` with uniform floats in [0, 1). */
export function fillUniform(out: Float32Array, random: Random): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = random();
  return out;
}

/** A standard normal draw (Box–Muller). */
export function normal(random: Random): number {
  let u = random();
  while (u <= 1e-12) u = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/**
 * Fills `out` with mean + stddev · z, z standard normal redrawn until |z| <= 2 (TF's
 * truncated normal). Both values of each Box–Muller pair are used (cosine, then
 * sine), in one monomorphic loop: half the logarithms and square roots of calling
 * `normal` per value, and no closure per element, which is most of what
 * initializing VGG-16's 134M weights costs.
 *
 * @example
 * ```ts
 * fillTruncatedNormal(new Float32Array(9), seededRandom(0, "w"), 0, 0.1);
 * ```
 */
export function fillTruncatedNormal<T extends Float32Array | Float64Array>(out: T, random: Random, mean: number, stddev: number): T {
  let spare = 0, hasSpare = false;
  for (let i = 0; i < out.length;) {
    let z: number;
    if (hasSpare) {
      z = spare;
      hasSpare = false;
    } else {
      let u = random();
      while (u <= 1e-12) u = random();
      const radius = Math.sqrt(-2 * Math.log(u)), angle = 2 * Math.PI * random();
      spare = radius * Math.sin(angle);
      hasSpare = true;
      z = radius * Math.cos(angle);
    }
    if (z <= 2 && z >= -2) out[i++] = mean + stddev * z;
  }
  return out;
}
