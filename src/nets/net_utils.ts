/**
 * Small pieces every net shares: input checks, the end-point collection name,
 * slim's spatial squeeze with TF's message, and the pooling-window rule slim's
 * classifiers use for small inputs.
 * @module
 */
import { formatShape } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { squeeze } from "../ops/mod.ts";

/** A net's output and its end points by slim's names. */
export type NetResult = [Tensor, Map<string, Tensor>];

/**
 * A net function with the image size it was designed for (slim's `default_image_size`).
 *
 * @example
 * ```ts
 * const net: SizedNet<ResnetOptions> = resnetV1_50;
 * net.defaultImageSize; // 224
 * ```
 */
export type SizedNet<O> = ((inputs: Tensor, options?: O) => NetResult) & { defaultImageSize: number };

/**
 * Fails unless `images` is a rank-4 NHWC batch and `numClasses` is a count (or 0/null).
 *
 * @example
 * ```ts
 * checkNetInputs("resnet_v1_50", images, 1000);
 * ```
 */
export function checkNetInputs(net: string, images: Tensor, numClasses: number | null | undefined): void {
  if (images.rank !== 4) {
    throw new Error(`${net}: inputs must be rank 4 NHWC [batch, height, width, channels], got rank ${images.rank} (tensor ${images.name} ${formatShape(images.shape)})`);
  }
  if (numClasses !== null && numClasses !== undefined && (!Number.isInteger(numClasses) || numClasses < 0)) {
    throw new Error(`${net}: numClasses must be a non-negative integer or null, got ${numClasses}`);
  }
}

/**
 * [N, 1, 1, C] to [N, C] under the name scope `name`, failing with TF's squeeze
 * message when the map is not 1×1 (the input is too large for the net's head).
 *
 * @example
 * ```ts
 * logits = spatialSqueeze(logits, "SpatialSqueeze");
 * ```
 */
export function spatialSqueeze(net: Tensor, name: string): Tensor {
  const [n, h, w, c] = net.shape;
  const bad = h !== 1 ? [1, h] : w !== 1 ? [2, w] : null;
  if (bad) {
    throw new Error(
      `${name}: Can not squeeze dim[${bad[0]}], expected a dimension of 1, got ${bad[1]} with input shapes: [${[n, h, w, c].join(",")}]; ` +
        `pass spatialSqueeze: false, or use inputs of the net's default size`,
    );
  }
  return net.graph.withScope(name, () => squeeze(net, [1, 2]));
}

/**
 * slim's `_reduced_kernel_size_for_small_input`: the pooling window, shrunk to
 * the map when the map is smaller.
 *
 * @example
 * ```ts
 * reducedKernelSize(net, [7, 7]); // [4, 4] for a 4×4 map
 * ```
 */
export function reducedKernelSize(net: Tensor, kernel: [number, number]): [number, number] {
  return [Math.min(net.shape[1], kernel[0]), Math.min(net.shape[2], kernel[1])];
}

/**
 * The options without their `undefined` entries, so spreading them over a net's
 * defaults never erases one.
 *
 * @example
 * ```ts
 * resnetV1(images, blocks, { scope: "resnet_v1_50", ...definedOnly(options) });
 * ```
 */
export function definedOnly<O extends object>(o: O): Partial<O> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<O>;
}

/**
 * slim's `depth` rule for nets with a depth multiplier: `max(floor(d·m), minDepth)`.
 *
 * @example
 * ```ts
 * const depth = depthOf(0.5, 8); depth(64); // 32
 * ```
 */
export function depthOf(multiplier: number, minDepth: number): (d: number) => number {
  if (!(multiplier > 0)) throw new Error(`depthMultiplier must be greater than zero, got ${multiplier}`);
  return (d) => Math.max(Math.floor(d * multiplier), minDepth);
}
