import { assertEquals, randomArray, test } from "../../test/harness.ts";
import type { HostTensor } from "./host_tensor.ts";
import { fromStorage, storageShape, toStorage, transposeHost, writeRegionInto } from "./storage_layout.ts";

function naiveTranspose(t: HostTensor, perm: number[]): number[] {
  const shape = perm.map((p) => t.shape[p]);
  const strides = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out: number[] = [];
  const idx = new Array(shape.length).fill(0);
  for (let k = 0; k < t.data.length; k++) {
    let off = 0;
    perm.forEach((p, i) => (off += idx[i] * strides[p]));
    out.push((t.data as Float32Array)[off]);
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
    }
  }
  return out;
}

test("transposeHost() matches a direct index computation for random shapes and permutations", () => {
  const cases = [
    [[3, 4, 5, 6], [3, 2, 0, 1]], // conv filter HWIO → OIHW: the blocked [A, B, C] → [C, B, A] path
    [[2, 7, 3], [1, 2, 0]], // general path
    [[5, 4], [1, 0]],
    [[37, 70], [1, 0]], // 2-D blocked path with partial tiles on both sides
    [[1, 1, 6, 2], [3, 2, 0, 1]], // fc as conv: a 2-D transpose once size-1 axes drop
    [[1, 1, 33, 65], [3, 2, 0, 1]],
    [[3, 3, 35, 40], [3, 2, 0, 1]],
    [[2, 1, 3, 4], [0, 2, 1, 3]], // only a size-1 axis moves
    [[4, 5, 6, 7], [2, 3, 0, 1]], // merged runs: [20, 42] → [42, 20]
    [[4, 5, 6], [2, 0, 1]],
  ] as const;
  for (const [shape, perm] of cases) {
    const n = (shape as readonly number[]).reduce((a, b) => a * b, 1);
    const t: HostTensor = { dtype: "float32", shape: [...shape], data: randomArray(n, n) };
    const got = transposeHost(t, [...perm]);
    assertEquals(got.shape, perm.map((p) => shape[p]));
    assertEquals(Array.from(got.data as Float32Array), naiveTranspose(t, [...perm]), `perm ${perm}`);
  }
});

test("toStorage()/fromStorage() round-trip a filter with a region, keeping the rest of the base", () => {
  const shape = [3, 3, 4, 5];
  const layout = { perm: [3, 2, 0, 1], region: { begin: [0, 0, 1, 1], size: [5, 4, 1, 1] } };
  assertEquals(storageShape(shape, layout), [5, 4, 1, 1]);
  const base: HostTensor = { dtype: "float32", shape, data: randomArray(180, 3) };
  const stored = toStorage(base, layout);
  // The centre tap of HWIO [1,1,c,k] is stored at OIHW [k,c,0,0].
  for (let c = 0; c < 4; c++) for (let k = 0; k < 5; k++) {
    assertEquals((stored.data as Float32Array)[k * 4 + c], (base.data as Float32Array)[((1 * 3 + 1) * 4 + c) * 5 + k]);
  }
  const changed: HostTensor = { ...stored, data: randomArray(20, 9) };
  const back = fromStorage(changed, layout, base);
  const b = base.data as Float32Array, r = back.data as Float32Array;
  for (let i = 0; i < 180; i++) {
    const c = Math.floor(i / 5) % 4, k = i % 5, w = Math.floor(i / 20) % 3, h = Math.floor(i / 60);
    const expected = h === 1 && w === 1 ? (changed.data as Float32Array)[k * 4 + c] : b[i];
    assertEquals(r[i], expected, `element ${i}`);
  }
});

test("writeRegionInto() writes the region into its base in place, as fromStorage() does into a copy", () => {
  const layout = { perm: [3, 2, 0, 1], region: { begin: [0, 0, 2, 1], size: [5, 4, 1, 1] } };
  const base: HostTensor = { dtype: "float32", shape: [3, 3, 4, 5], data: randomArray(180, 4) };
  const changed: HostTensor = { dtype: "float32", shape: [5, 4, 1, 1], data: randomArray(20, 8) };
  const expected = Array.from(fromStorage(changed, layout, base).data as Float32Array);
  const out = writeRegionInto(base, changed, layout);
  assertEquals(out === base, true, "returns the base itself");
  assertEquals(Array.from(base.data as Float32Array), expected);
});
