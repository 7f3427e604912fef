/**
 * `slimtrain export --model-name <net>`: the inference ONNX model of any net of
 * the factory with a checkpoint's weights (or their moving averages), outputs
 * `logits` and `probabilities`, and the input's preprocessing, layout and class
 * names written into the model's metadata so a consumer can feed it correctly.
 * @module
 */
import { restoreCheckpoint } from "../../checkpoint/checkpoint_file.ts";
import { latestCheckpoint } from "../../checkpoint/saver.ts";
import { Graph, GraphKeys } from "../../graph/graph.ts";
import { placeholder, type Variable } from "../../graph/variable.ts";
import { defaultFileSystem } from "../../fs/default.ts";
import { exportInferenceModelFromValues } from "../../learning/export.ts";
import { ExponentialMovingAverage } from "../../learning/moving_averages.ts";
import { getNetworkFn, networkNames } from "../../nets/nets_factory.ts";
import { softmax } from "../../ops/mod.ts";
import { inputChannels, loadSplit } from "./dataset.ts";
import { describePreprocessing } from "./preprocessing_notes.ts";
import { positiveInteger } from "../command_utils.ts";
import type { FlagSpec } from "../args.ts";

/** `slimtrain export --model-name <net>` flags. */
export const CLASSIFIER_EXPORT_FLAGS: FlagSpec[] = [
  { name: "model-name", type: "string", help: "net of the checkpoint, as nets.getNetworkFn names it" },
  { name: "dataset-dir", type: "string", help: "the training data set, for the class names and channel count (or give --num-classes)" },
  { name: "dataset-split-name", type: "string", default: "train", help: "split of --dataset-dir to read the class names from" },
  { name: "num-classes", type: "number", help: "classes of the logits, when --dataset-dir is not given" },
  { name: "labels-offset", type: "number", default: 0, help: "as in training" },
  { name: "preprocessing-name", type: "string", help: "preprocessing the model expects (default: the net's), written into the metadata" },
  { name: "image-size", type: "number", help: "input side (default: the net's defaultImageSize)" },
  { name: "channels", type: "number", help: "input channels (default: 1 for a grayscale lenet/cifarnet data set, else 3)" },
  { name: "batch-size", type: "number", help: "batch size of the exported model's input (default: any, where the net allows it, else 1)" },
  { name: "logdir", type: "string", default: "logs/train", help: "where the checkpoints are" },
  { name: "checkpoint", type: "string", help: "checkpoint prefix (default: the latest in --logdir)" },
  { name: "moving-average-decay", type: "number", help: "export the moving averages of the weights (when training kept them)" },
  { name: "output", type: "string", help: "where to write the model (default: <logdir>/<model-name>.onnx)" },
];

/**
 * Writes the model; returns its path.
 *
 * @example
 * ```ts
 * await exportClassifierCommand({ "model-name": "lenet", "dataset-dir": "digits", logdir: "logs/b" });
 * ```
 */
export async function exportClassifierCommand(flags: Record<string, unknown>): Promise<string> {
  const modelName = String(flags["model-name"] ?? "");
  if (!networkNames().includes(modelName)) throw new Error(`--model-name ${modelName || "(missing)"} is not a known net; known: ${networkNames().join(", ")}`);
  const fs = await defaultFileSystem();
  const logdir = String(flags.logdir);
  const preprocessing = String(flags["preprocessing-name"] ?? modelName);
  let classNames: string[] | undefined;
  let channels = flags.channels === undefined ? undefined : Number(flags.channels);
  let numClasses = flags["num-classes"] === undefined ? undefined : positiveInteger(flags, "num-classes");
  if (typeof flags["dataset-dir"] === "string") {
    const split = await loadSplit(fs, flags["dataset-dir"], String(flags["dataset-split-name"]));
    classNames = split.classNames.slice(Number(flags["labels-offset"] ?? 0));
    numClasses ??= classNames.length;
    channels ??= await inputChannels(split.records, preprocessing);
  }
  if (numClasses === undefined) throw new Error("Give --dataset-dir (class names and count) or --num-classes");
  if (channels !== 1 && channels !== 3 && channels !== undefined) throw new Error(`--channels must be 1 or 3, got ${channels}`);
  const networkFn = getNetworkFn(modelName, { numClasses, isTraining: false });
  const size = flags["image-size"] === undefined ? networkFn.defaultImageSize : positiveInteger(flags, "image-size");
  const channelCount = channels ?? 3;
  const build = (batch: number) => {
    const graph = new Graph();
    return graph.asDefault(() => {
      const images = placeholder([batch, size, size, channelCount], "float32", "images");
      const [logits] = networkFn(images);
      return { logits, probabilities: softmax(logits), modelVariables: graph.getCollection<Variable>(GraphKeys.MODEL_VARIABLES) };
    });
  };
  let batch = flags["batch-size"] === undefined ? -1 : positiveInteger(flags, "batch-size");
  let built;
  try {
    built = build(batch);
  } catch (err) {
    // Some ops (explicit padding, grouped convolutions) need a fixed batch.
    if (batch !== -1) throw err;
    console.log(`${modelName} needs a fixed batch size here (${(err as Error).message.split("\n")[0]}); exporting with batch 1 (--batch-size to choose)`);
    batch = 1;
    built = build(batch);
  }
  const { logits, probabilities, modelVariables } = built;
  const batchText = batch === -1 ? "N" : String(batch);
  const path = (flags.checkpoint as string | undefined) ?? (await latestCheckpoint(fs, logdir));
  if (!path) throw new Error(`No checkpoint in ${logdir}: train first (slimtrain train --model-name ${modelName} --logdir ${logdir}) or pass --checkpoint`);
  const checkpoint = await restoreCheckpoint(fs, path);
  const values = new Map(checkpoint.tensors);
  if (flags["moving-average-decay"] !== undefined) {
    const ema = new ExponentialMovingAverage(Number(flags["moving-average-decay"]));
    for (const [name, v] of Object.entries(ema.variablesToRestore(modelVariables))) {
      const t = checkpoint.tensors.get(name);
      if (!t) throw new Error(`Checkpoint ${checkpoint.path} has no moving average ${name}: was it trained with --moving-average-decay?`);
      values.set(v.name, t);
    }
  }
  const what = `a ${modelName} with ${numClasses} classes and ${channelCount} input channels`;
  for (const v of modelVariables) {
    const t = values.get(v.name);
    if (!t) throw new Error(`Checkpoint ${checkpoint.path} is not ${what}: it has no variable ${v.name}`);
    if (t.shape.join(",") !== v.shape.join(",")) {
      throw new Error(
        `Checkpoint ${checkpoint.path} is not ${what}: ${v.name} is [${t.shape.join(", ")}] there and [${v.shape.join(", ")}] here ` +
          `(give --dataset-dir of the training data, or --num-classes and --channels)`,
      );
    }
  }
  const output = (flags.output as string | undefined) ?? fs.join(logdir, `${modelName}.onnx`);
  await exportInferenceModelFromValues(values, output, {
    outputs: { logits, probabilities },
    fs,
    name: modelName,
    metadata: {
      "slimtrain.model": modelName,
      "slimtrain.checkpoint": checkpoint.path,
      "slimtrain.global_step": String(checkpoint.globalStep),
      "slimtrain.input": `images [${batchText}, ${size}, ${size}, ${channelCount}] float32, NHWC`,
      "slimtrain.preprocessing": describePreprocessing(preprocessing, size),
      ...(classNames ? { "slimtrain.class_names": JSON.stringify(classNames) } : {}),
      ...(flags["moving-average-decay"] !== undefined ? { "slimtrain.weights": `moving averages (decay ${flags["moving-average-decay"]})` } : {}),
    },
  });
  console.log(`Wrote ${output}: input images [${batchText}, ${size}, ${size}, ${channelCount}] float32 NHWC (${preprocessing} preprocessing), outputs logits and probabilities [${batchText}, ${numClasses}]`);
  return output;
}
