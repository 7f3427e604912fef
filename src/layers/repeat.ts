/**
 * slim's `repeat`: the same layer applied several times in a row, each call in
 * its own numbered scope.
 * @module
 */
import type { Tensor } from "../graph/tensor.ts";
import { layerScope } from "./utils.ts";

/**
 * Applies `layer(outputs, ...args)` `repetitions` times. The layer's options (its
 * last argument) go to every call, except `scope`, which names the enclosing
 * scope: the calls get `scope/scope_1`, `scope/scope_2`, ... as in slim. Without a
 * scope they run in `Repeat/<layer name>_1`, ...
 *
 * @example
 * ```ts
 * net = repeat(net, 2, conv2d, 64, [3, 3], { scope: "conv1" }); // conv1/conv1_1, conv1/conv1_2
 * ```
 */
export function repeat<A extends unknown[]>(
  inputs: Tensor,
  repetitions: number,
  layer: (inputs: Tensor, ...args: A) => Tensor,
  ...args: A
): Tensor {
  if (!Number.isInteger(repetitions) || repetitions < 1) {
    throw new Error(`repeat: repetitions must be a positive integer, got ${repetitions}`);
  }
  const last = args[args.length - 1];
  const hasOptions = isPlainObject(last);
  const positional = hasOptions ? args.slice(0, -1) : args;
  const { scope, ...options } = (hasOptions ? last : {}) as { scope?: string };
  return layerScope(inputs.graph, scope, "Repeat", () => {
    const base = scope ?? (layer.name || "repeat");
    let outputs = inputs;
    for (let i = 0; i < repetitions; i++) {
      outputs = layer(outputs, ...([...positional, { ...options, scope: `${base}_${i + 1}` }] as A));
    }
    return outputs;
  });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
