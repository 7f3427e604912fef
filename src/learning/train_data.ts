/**
 * Where `train` gets its batches: an async iterable of feeds, a function of the
 * starting step (so a resumed run continues the data order), or the graph's own
 * input pipeline declared with `data.inputs`.
 * @module
 */
import type { TrainOp } from "./create_train_op.ts";

import type { Feeds } from "../runtime/feed_plan.ts";

export type { Feeds };

/** What `train({ data })` accepts. */
export type TrainData =
  | AsyncIterable<Feeds>
  | Iterable<Feeds>
  | ((startStep: number) => AsyncIterable<Feeds> | Iterable<Feeds>);

/** The collection `data.inputs` registers its pipeline in. */
export const INPUT_PIPELINES = "input_pipelines";

/** A pipeline registered by `data.inputs`: batches from a step on. */
export interface InputPipeline {
  batchesFrom(startStep: number): AsyncIterable<Feeds>;
}

/**
 * Resolves the data option into an async iterable starting at `startStep`.
 *
 * @example
 * ```ts
 * const it = resolveTrainData(trainOp, (step) => batches(step), 100)[Symbol.asyncIterator]();
 * ```
 */
export function resolveTrainData(trainOp: TrainOp, data: TrainData | undefined, startStep: number): AsyncIterable<Feeds> {
  if (data === undefined) {
    const pipelines = trainOp.totalLoss.graph.getCollection<InputPipeline>(INPUT_PIPELINES);
    if (pipelines.length === 0) {
      // A graph with no placeholders to feed still trains (e.g. data baked in as constants).
      return (async function* () {
        while (true) yield {};
      })();
    }
    if (pipelines.length > 1) throw new Error("train: the graph has several input pipelines; pass { data } to choose");
    return pipelines[0].batchesFrom(startStep);
  }
  const source = typeof data === "function" ? data(startStep) : data;
  if (source === null || typeof source !== "object" || !(Symbol.asyncIterator in source || Symbol.iterator in source)) {
    throw new Error(`train: data must be an iterable or async iterable of feeds, or a function of the start step returning one; got ${String(source)}`);
  }
  if (Symbol.asyncIterator in source) return source as AsyncIterable<Feeds>;
  return (async function* () {
    yield* source as Iterable<Feeds>;
  })();
}
