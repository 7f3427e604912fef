/**
 * What each slim preprocessing does at evaluation time, in words, for an exported
 * model's metadata: a consumer outside slimtrain must prepare images the same way.
 * @module
 */

/**
 * The evaluation preprocessing of `name` (a family or a net's name) at `size`.
 *
 * @example
 * ```ts
 * describePreprocessing("resnet_v1_50", 224); // "vgg: smaller side resized to 256 (bilinear), central 224x224 crop, ..."
 * ```
 */
export function describePreprocessing(name: string, size: number): string {
  const family = /^(vgg|resnet|alexnet)/.test(name) ? "vgg" : /^(inception|mobilenet)/.test(name) ? "inception" : name;
  switch (family) {
    case "vgg":
      return `vgg: RGB values in [0, 255], smaller side resized to max(256, ${size}) (bilinear), central ${size}x${size} crop, minus the channel means [123.68, 116.78, 103.94]`;
    case "inception":
      return `inception: RGB values in [0, 1], central 87.5% crop, bilinear resize to ${size}x${size}, then (x - 0.5) * 2 into [-1, 1]`;
    case "lenet":
      return `lenet: values in [0, 255], centre crop or zero pad to ${size}x${size}, then (x - 128) / 128`;
    case "cifarnet":
      return `cifarnet: values in [0, 255], centre crop or zero pad to ${size}x${size}, then per-image standardization (x - mean) / max(stddev, 1/sqrt(N))`;
    default:
      return name;
  }
}
