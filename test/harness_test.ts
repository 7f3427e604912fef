// The harness's own assertions: assertEquals must tell apart what a JSON
// comparison merges (NaN and null, -0 and 0, typed arrays of different types,
// Maps), or tests pass on wrong results. Runs on Node, Deno and Bun alike.
import { assert, AssertionError, assertEquals, assertThrows, test } from "./harness.ts";

/** Expects assertEquals to refuse `a` against `b`, with an AssertionError. */
async function refuses(a: unknown, b: unknown, what: string): Promise<void> {
  const err = await assertThrows(() => assertEquals(a, b), /./);
  assert(err instanceof AssertionError, `${what}: an AssertionError, got ${err.constructor.name}`);
}

test("assertEquals() tells NaN from null and -0 from 0, alone and inside arrays and objects", async () => {
  await refuses(NaN, null, "NaN vs null");
  await refuses([1, NaN], [1, null], "[NaN] vs [null]");
  await refuses({ loss: NaN }, { loss: null }, "{ NaN } vs { null }");
  await refuses(-0, 0, "-0 vs 0");
  await refuses(new Float32Array([-0]), new Float32Array([0]), "Float32Array [-0] vs [0]");
  await refuses(Infinity, null, "Infinity vs null");
  assertEquals(NaN, NaN);
  assertEquals([1, NaN, -0], [1, NaN, -0]);
  assertEquals(new Float32Array([NaN, 2]), new Float32Array([NaN, 2]));
});

test("assertEquals() tells typed arrays of different types apart, and a typed array from a list", async () => {
  await refuses(new Int32Array([1, 2]), new Float32Array([1, 2]), "Int32Array vs Float32Array");
  await refuses(new Uint8Array([1]), new Int32Array([1]), "Uint8Array vs Int32Array");
  await refuses(new Float32Array([1, 2]), [1, 2], "Float32Array vs list");
  await refuses(BigInt64Array.of(1n), ["1"], "BigInt64Array vs strings");
  await refuses(1n, "1", "bigint vs string");
  assertEquals(Array.from(new Float32Array([1, 2])), [1, 2]);
  assertEquals(BigInt64Array.of(3n, -1n), BigInt64Array.of(3n, -1n));
  assertEquals({ dtype: "int32", shape: [2], data: Int32Array.of(4, 5) }, { dtype: "int32", shape: [2], data: Int32Array.of(4, 5) });
});

test("assertEquals() compares nested Maps and Sets by entries and objects in any key order", async () => {
  const nested = (v: number) => new Map([["a", new Map([["b", [v]]])]]);
  assertEquals(nested(1), nested(1));
  await refuses(nested(1), nested(2), "nested Map values");
  await refuses(new Map([["a", 1]]), new Map([["b", 1]]), "Map keys");
  await refuses(new Map([["a", 1]]), { a: 1 }, "Map vs object");
  assertEquals(new Set([1, 2]), new Set([2, 1]));
  await refuses(new Set([1, 2]), new Set([1, 3]), "Set members");
  assertEquals({ a: 1, b: [2] }, { b: [2], a: 1 });
  await refuses({ a: 1, b: undefined }, { a: 1 }, "an undefined property vs a missing one");
});

test("assertEquals() message starts with the caller's context and shows both values", async () => {
  const err = await assertThrows(() => assertEquals({ step: 3, loss: NaN }, { step: 3, loss: null }, "after resume"), "after resume: ");
  assert(err.message.includes("NaN") && err.message.includes("null"), err.message);
});
