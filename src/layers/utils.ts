/**
 * Plumbing shared by the layers: slim's scope naming (`Conv`, `Conv_1`, ...),
 * named-output collections (the end points of a net), and the NHWC/NCHW
 * conversions between slim's layout (what layers take and return) and the NCHW
 * the step's convolutions run in.
 * @module
 */
import type { Graph } from "../graph/graph.ts";
import { formatShape } from "../graph/host_tensor.ts";
import type { Tensor } from "../graph/tensor.ts";
import { transpose } from "../ops/mod.ts";

/** A layer output recorded under its alias (the layer's scope name) in a collection. */
export interface NamedOutput {
  /** The alias, e.g. `vgg_16/conv1/conv1_1`; collections filter on it by prefix. */
  readonly name: string;
  readonly tensor: Tensor;
}

/**
 * Runs `fn` inside `scope`, or inside `defaultName` made unique within the current
 * scope (`Conv`, `Conv_1`, ...) when no scope is given, as slim's layers open
 * their variable scopes. `fn` receives the full scope name.
 *
 * @example
 * ```ts
 * layerScope(x.graph, undefined, "Conv", (sc) => sc); // "Conv", then "Conv_1"
 * ```
 */
export function layerScope<T>(graph: Graph, scope: string | undefined, defaultName: string, fn: (fullScope: string) => T): T {
  if (scope !== undefined && (scope === "" || scope.startsWith("/") || scope.endsWith("/"))) {
    throw new Error(`layerScope: scope must be a non-empty name without leading or trailing '/', got ${JSON.stringify(scope)}`);
  }
  const full = graph.uniqueName(scope ?? defaultName);
  // An explicit scope is reopened as given (variable_scope semantics); counting it
  // above still keeps a later default-named layer from landing on it.
  const name = scope ?? relativeTo(graph.currentScope, full);
  return graph.withScope(name, () => fn(graph.currentScope));
}

/**
 * Like `layerScope`, but an explicit scope is made unique too (slim's ops without
 * variables, like pooling, open TF name scopes, which never reopen).
 *
 * @example
 * ```ts
 * opScope(x.graph, "pool1", "MaxPool2D", (sc) => sc); // "pool1", then "pool1_1"
 * ```
 */
export function opScope<T>(graph: Graph, scope: string | undefined, defaultName: string, fn: (fullScope: string) => T): T {
  const full = graph.uniqueName(scope ?? defaultName);
  return graph.withScope(relativeTo(graph.currentScope, full), () => fn(graph.currentScope));
}

function relativeTo(prefix: string, full: string): string {
  return prefix ? full.slice(prefix.length + 1) : full;
}

/**
 * Records `outputs` under `alias` in each collection (slim's `collect_named_outputs`).
 *
 * @example
 * ```ts
 * collectNamedOutputs("vgg_16/_end_points", "vgg_16/pool1", net);
 * ```
 */
export function collectNamedOutputs(collections: string | readonly string[] | undefined, alias: string, outputs: Tensor): Tensor {
  const list = typeof collections === "string" ? [collections] : collections ?? [];
  const named: NamedOutput = { name: alias, tensor: outputs };
  for (const c of list) outputs.graph.addToCollection(c, named);
  return outputs;
}

/**
 * A collection of named outputs as a Map from alias to tensor, in insertion order
 * (slim's `convert_collection_to_dict`); a later output with the same alias wins.
 *
 * @example
 * ```ts
 * const endPoints = convertCollectionToDict("vgg_16/_end_points", graph);
 * endPoints.get("vgg_16/pool5");
 * ```
 */
export function convertCollectionToDict(collection: string, graph: Graph): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const v of graph.getCollection<NamedOutput>(collection)) out.set(v.name, v.tensor);
  return out;
}

/** slim's `data_format`: where a 4-D map keeps its channels. */
export type DataFormat = "NHWC" | "NCHW";

/**
 * A layer's 4-D input as NCHW, the layout the step's convolutions and pools run
 * in: NHWC inputs are transposed, and since `transpose` folds a transpose of a
 * transpose, the previous layer's exit and this entry cancel, so a chain of layers
 * runs in NCHW throughout. Throws, naming both layouts, when a fed image tensor
 * looks like the other layout (`[N, 3, 224, 224]` declared NHWC).
 *
 * @example
 * ```ts
 * const x = enterNCHW("conv2d", inputs, "NHWC"); // [N, C, H, W]
 * ```
 */
export function enterNCHW(fn: string, inputs: Tensor, dataFormat: DataFormat): Tensor {
  checkDataFormat(fn, dataFormat);
  if (inputs.rank !== 4) {
    throw new Error(`${fn}: inputs must be rank 4 (${dataFormat}), got rank ${inputs.rank} (tensor ${inputs.name} ${formatShape(inputs.shape)})`);
  }
  checkImageLayout(fn, inputs, dataFormat);
  return dataFormat === "NHWC" ? transpose(inputs, [0, 3, 1, 2]) : inputs;
}

/**
 * An NCHW result back in the caller's layout (the inverse of `enterNCHW`).
 *
 * @example
 * ```ts
 * return leaveNCHW(conv2dNCHW(x, w), "NHWC"); // [N, H, W, C]
 * ```
 */
export function leaveNCHW(y: Tensor, dataFormat: DataFormat): Tensor {
  return dataFormat === "NHWC" ? transpose(y, [0, 2, 3, 1]) : y;
}

/**
 * Throws unless `dataFormat` is "NHWC" or "NCHW".
 *
 * @example
 * ```ts
 * checkDataFormat("batchNorm", o.dataFormat ?? "NHWC");
 * ```
 */
export function checkDataFormat(fn: string, dataFormat: unknown): asserts dataFormat is DataFormat {
  if (dataFormat !== "NHWC" && dataFormat !== "NCHW") {
    throw new Error(`${fn}: dataFormat must be "NHWC" (slim's default) or "NCHW", got ${JSON.stringify(dataFormat)}`);
  }
}

/**
 * Throws when a fed image tensor (a placeholder) has the shape of an image batch
 * in the other layout: 1 or 3 channels where `dataFormat` says height, and a
 * square map of at least 8 pixels behind it. Only fed tensors are checked, since
 * an inner feature map can legitimately have any shape.
 *
 * @example
 * ```ts
 * checkImageLayout("vgg_16", images, "NHWC"); // throws for [2, 3, 224, 224]
 * ```
 */
export function checkImageLayout(fn: string, images: Tensor, dataFormat: DataFormat): void {
  if (images.rank !== 4 || images.node.op !== "Placeholder") return;
  const [, a, b, c] = images.shape;
  const other: DataFormat = dataFormat === "NHWC" ? "NCHW" : "NHWC";
  const looksOther = dataFormat === "NHWC" ? [1, 3].includes(a) && b === c && b >= 8 && c !== a : [1, 3].includes(c) && a === b && a >= 8 && a !== c;
  if (!looksOther) return;
  const channels = dataFormat === "NHWC" ? a : c;
  const side = dataFormat === "NHWC" ? b : a;
  throw new Error(
    `${fn}: input ${images.name} ${formatShape(images.shape)} looks like ${other} (${channels} channel${channels === 1 ? "" : "s"} of ${side}x${side}), ` +
      `but dataFormat is ${dataFormat}${dataFormat === "NHWC" ? " (slim's default)" : ""}, which would read it as ${channels}x${side} pixels with ${dataFormat === "NHWC" ? c : a} channels; ` +
      `feed ${dataFormat} images (transpose with ${dataFormat === "NHWC" ? "toNHWC" : "toNCHW"}), or pass dataFormat: "${other}"`,
  );
}

/**
 * NHWC images (slim's layout; decoded images are HWC) to NCHW.
 *
 * @example
 * ```ts
 * const x = toNCHW(placeholder([32, 224, 224, 3], "float32", "images")); // [32, 3, 224, 224]
 * ```
 */
export function toNCHW(images: Tensor): Tensor {
  expectRank4("toNCHW", images, "NHWC");
  return transpose(images, [0, 3, 1, 2]);
}

/**
 * NCHW activations back to slim's NHWC.
 *
 * @example
 * ```ts
 * const nhwc = toNHWC(endPoints.get("vgg_16/pool5")!); // [N, 7, 7, 512]
 * ```
 */
export function toNHWC(x: Tensor): Tensor {
  expectRank4("toNHWC", x, "NCHW");
  return transpose(x, [0, 2, 3, 1]);
}

function expectRank4(fn: string, t: Tensor, layout: string): void {
  if (t.rank !== 4) throw new Error(`${fn}: input must be rank 4 (${layout}), got rank ${t.rank} (tensor ${t.name} ${formatShape(t.shape)})`);
}

/**
 * An int or a pair as a pair, as slim accepts `kernel_size=3` or `[3, 3]`.
 *
 * @example
 * ```ts
 * twoInts("conv2d", "kernelSize", 3); // [3, 3]
 * ```
 */
export function twoInts(fn: string, what: string, v: number | readonly number[]): [number, number] {
  const pair = typeof v === "number" ? [v, v] : [...v];
  if (pair.length !== 2 || pair.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(`${fn}: ${what} must be a positive integer or a pair of them, got ${JSON.stringify(v)}`);
  }
  return pair as [number, number];
}
