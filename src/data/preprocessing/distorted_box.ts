/**
 * `tf.image.sample_distorted_bounding_box` for inception preprocessing's random
 * crop: a window of random aspect ratio and area that covers enough of the
 * object's box, falling back to the whole image when no draw fits.
 * @module
 */
import type { Random } from "../../graph/random.ts";

/** Constraints on the sampled window, with inception preprocessing's defaults. */
export interface DistortedBoxOptions {
  /** The object's box as [ymin, xmin, ymax, xmax] in [0, 1]; default the whole image. */
  box?: [number, number, number, number];
  /** Share of the object's box the window must cover. Default 0.1. */
  minObjectCovered?: number;
  /** Width / height range. Default [0.75, 1.33]. */
  aspectRatioRange?: [number, number];
  /** Window area as a share of the image's. Default [0.05, 1]. */
  areaRange?: [number, number];
  /** Draws before falling back to the whole image. Default 100. */
  maxAttempts?: number;
}

/** A window in pixels. */
export interface Window {
  top: number;
  left: number;
  height: number;
  width: number;
}

/**
 * Samples a crop window of an `height` × `width` image.
 *
 * @example
 * ```ts
 * const { top, left, height, width } = sampleDistortedBoundingBox(480, 640, seededRandom(1));
 * ```
 */
export function sampleDistortedBoundingBox(imageHeight: number, imageWidth: number, random: Random, options: DistortedBoxOptions = {}): Window {
  const {
    box = [0, 0, 1, 1],
    minObjectCovered = 0.1,
    aspectRatioRange = [0.75, 1.33],
    areaRange = [0.05, 1],
    maxAttempts = 100,
  } = options;
  const area = imageHeight * imageWidth;
  const object = {
    top: box[0] * imageHeight,
    left: box[1] * imageWidth,
    bottom: box[2] * imageHeight,
    right: box[3] * imageWidth,
  };
  const objectArea = Math.max((object.bottom - object.top) * (object.right - object.left), 1e-12);
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const aspect = aspectRatioRange[0] + random() * (aspectRatioRange[1] - aspectRatioRange[0]);
    const minHeight = Math.round(Math.sqrt((areaRange[0] * area) / aspect));
    let maxHeight = Math.round(Math.sqrt((areaRange[1] * area) / aspect));
    // Keep the width inside the image for the tallest window.
    if (Math.round(maxHeight * aspect) > imageWidth) maxHeight = Math.floor((imageWidth + 0.5 - 1e-7) / aspect);
    maxHeight = Math.min(maxHeight, imageHeight);
    if (maxHeight < minHeight || maxHeight < 1) continue;
    const height = minHeight + Math.floor(random() * (maxHeight - minHeight + 1));
    const width = Math.round(height * aspect);
    if (width < 1 || width > imageWidth || height > imageHeight) continue;
    const windowArea = height * width;
    if (windowArea < areaRange[0] * area || windowArea > areaRange[1] * area) continue;
    const top = Math.floor(random() * (imageHeight - height + 1));
    const left = Math.floor(random() * (imageWidth - width + 1));
    const overlapH = Math.max(0, Math.min(top + height, object.bottom) - Math.max(top, object.top));
    const overlapW = Math.max(0, Math.min(left + width, object.right) - Math.max(left, object.left));
    if ((overlapH * overlapW) / objectArea < minObjectCovered) continue;
    return { top, left, height, width };
  }
  return { top: 0, left: 0, height: imageHeight, width: imageWidth };
}
