/**
 * Moving between whole tensors and per-example pieces: the row slicing behind
 * `Dataset.fromTensorSlices` and the stacking behind `Dataset.batch`.
 * @module
 */
import { allocate, formatShape, type HostTensor, numElements } from "../graph/host_tensor.ts";

/**
 * What `batch` can stack: one tensor, or an object of tensors stacked key by key.
 * Written as a mapped type over `U` so interfaces (which lack index signatures)
 * qualify too: `U extends TensorStruct<U>`.
 */
export type TensorStruct<U = Record<string, HostTensor>> = HostTensor | { readonly [K in keyof U]: HostTensor };

/**
 * Row `i` of a tensor along its first axis, as a copy.
 *
 * @example
 * ```ts
 * const t = hostTensor("float32", [2, 2], new Float32Array([1, 2, 3, 4]));
 * sliceRow(t, 1).data; // Float32Array [3, 4]
 * ```
 */
export function sliceRow(t: HostTensor, i: number): HostTensor {
  const shape = t.shape.slice(1);
  const per = numElements(shape);
  return { dtype: t.dtype, shape, data: t.data.slice(i * per, (i + 1) * per) };
}

/**
 * True for a {@link HostTensor}, false for an object of them.
 *
 * @example
 * ```ts
 * isHostTensor({ dtype: "float32", shape: [1], data: new Float32Array(1) }); // true
 * ```
 */
export function isHostTensor(x: unknown): x is HostTensor {
  const t = x as HostTensor;
  return typeof t?.dtype === "string" && Array.isArray(t.shape) && ArrayBuffer.isView(t.data);
}

/**
 * Stacks tensors, or objects of tensors key by key, along a new leading axis. All
 * elements must agree on dtype and shape; the error names the element and key.
 *
 * @example
 * ```ts
 * const batch = stackStructs([{ x: a, y: b }, { x: c, y: d }]); // batch.x.shape = [2, ...a.shape]
 * ```
 */
export function stackStructs<U extends TensorStruct<U>>(elements: U[]): U {
  if (isHostTensor(elements[0])) return stack(elements as HostTensor[], "element") as U;
  const out: Record<string, HostTensor> = {};
  for (const key of Object.keys(elements[0])) {
    out[key] = stack(elements.map((e, i) => {
      const t = (e as Record<string, HostTensor>)[key];
      if (!t) throw new Error(`Batch element ${i} has no key ${key} (Dataset.batch)`);
      return t;
    }), `key ${key}`);
  }
  return out as U;
}

function stack(tensors: HostTensor[], what: string): HostTensor {
  const first = tensors[0];
  const per = numElements(first.shape);
  const data = allocate(first.dtype, per * tensors.length);
  tensors.forEach((t, i) => {
    if (t.dtype !== first.dtype || t.shape.length !== first.shape.length || t.shape.some((d, j) => d !== first.shape[j])) {
      throw new Error(
        `Batch element ${i} has ${what} ${t.dtype} ${formatShape(t.shape)}, ` +
          `but element 0 has ${first.dtype} ${formatShape(first.shape)} (Dataset.batch)`,
      );
    }
    (data as { set(a: ArrayLike<number | bigint>, at: number): void }).set(t.data, i * per);
  });
  return { dtype: first.dtype, shape: [tensors.length, ...first.shape], data };
}
