/**
 * A tiny test harness that runs identically under Node.js, Deno and Bun, so one
 * suite proves the package on every runtime. Test files call `test()` at import
 * time; `test/run.ts` imports them all and runs what they registered.
 * @module
 */
import { deepStrictEqual } from "node:assert";

export interface TestCase {
  name: string;
  fn: () => unknown | Promise<unknown>;
  file: string;
  /** When set, the case is reported as skipped with this reason. */
  skip?: string;
}

export const registry: TestCase[] = [];
let currentFile = "";

/** Set by the runner before importing each test file. */
export function setCurrentFile(file: string): void {
  currentFile = file;
}

/**
 * Registers a test. Name it after the symbol and the behaviour:
 * "conv2d() gradient matches finite differences".
 */
export function test(name: string, fn: () => unknown | Promise<unknown>): void {
  registry.push({ name, fn, file: currentFile });
}

/** Registers a test that cannot run here, with the reason printed in the summary. */
test.skip = (name: string, reason: string): void => {
  registry.push({ name, fn: () => {}, file: currentFile, skip: reason });
};

export class AssertionError extends Error {
  override name = "AssertionError";
}

/** Throws unless `cond` holds. */
export function assert(cond: unknown, message = "Assertion failed"): asserts cond {
  if (!cond) throw new AssertionError(message);
}

/**
 * Strict deep equality, as `node:assert`'s `deepStrictEqual` defines it (Node,
 * Deno and Bun ship the same semantics): values compare with Object.is (NaN
 * equals NaN, not null; -0 differs from 0), typed arrays only equal typed arrays
 * of the same type (compare a typed array with a list through `Array.from`),
 * Maps and Sets by entries, objects by own keys in any order. The message shows
 * the difference.
 */
export function assertEquals(actual: unknown, expected: unknown, message = ""): void {
  try {
    deepStrictEqual(actual, expected);
  } catch (err) {
    throw new AssertionError(`${message ? message + ": " : ""}${(err as Error).message}`);
  }
}

/**
 * Elementwise closeness: |a - e| <= atol + rtol * |e|. The message names the worst
 * element so a failure says where it went wrong.
 */
export function assertClose(
  actual: ArrayLike<number> | number,
  expected: ArrayLike<number> | number,
  { rtol = 1e-5, atol = 1e-6, message = "" }: { rtol?: number; atol?: number; message?: string } = {},
): void {
  const a = typeof actual === "number" ? [actual] : actual;
  const e = typeof expected === "number" ? [expected] : expected;
  if (a.length !== e.length) {
    throw new AssertionError(`${message ? message + ": " : ""}length ${a.length} != expected ${e.length}`);
  }
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    const excess = Math.abs(a[i] - e[i]) - (atol + rtol * Math.abs(e[i]));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    throw new AssertionError(
      `${message ? message + ": " : ""}element ${worst}: got ${a[worst]}, expected ${e[worst]} ` +
        `(rtol ${rtol}, atol ${atol}, ${a.length} elements)`,
    );
  }
}

/** Expects `fn` to throw (or reject) with a message matching `pattern`; returns the error. */
export async function assertThrows(
  fn: () => unknown | Promise<unknown>,
  pattern: RegExp | string,
): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    const msg = (err as Error).message ?? String(err);
    const ok = typeof pattern === "string" ? msg.includes(pattern) : pattern.test(msg);
    if (!ok) throw new AssertionError(`Expected an error matching ${pattern}, got: ${msg}`);
    return err as Error;
  }
  throw new AssertionError(`Expected an error matching ${pattern}, but nothing was thrown`);
}

/** A seeded generator (mulberry32) so random test inputs are reproducible. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` uniform floats in [lo, hi) from a seeded generator. */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

/** The runtime this suite runs under, for the summary lines. */
export function runtimeName(): string {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string }; process?: { version?: string } };
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  if (g.Bun) return `bun ${g.Bun.version}`;
  return `node ${g.process?.version ?? "?"}`;
}
