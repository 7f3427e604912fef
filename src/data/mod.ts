/**
 * Input pipelines and data sets: a tf.data-style {@link Dataset} (shuffle, map,
 * batch, repeat, prefetch, take, skip), the 10,000 real MNIST digits bundled with
 * the `mnist` package, class-folder image loading, and TFRecord shards of
 * `tf.train.Example` in TF-Slim's layout, with PNG/JPEG decoding and
 * `tf.image.resize`-compatible bilinear resizing.
 *
 * @example
 * ```ts
 * import { data } from "slimtrain";
 * const { train } = await data.loadMnistDigits();
 * const batches = data.Dataset.fromTensorSlices(train).shuffle(8000, { seed: 1 }).repeat().batch(32).prefetch(2);
 * ```
 * @module
 */
export { Dataset, type ShuffleOptions, type TensorStruct } from "./dataset.ts";
export { encodeExample, type Feature, FEATURE_LIST_NAME, parseExample } from "./example_proto.ts";
export { convertChannels, decodeImage, type ImageOptions, prepareImage, resizeBilinear } from "./image.ts";
export { type ImageFolder, loadImageFolder } from "./image_folder.ts";
export { loadMnistDigits, type MnistDigits, type MnistOptions, type MnistSplit } from "./mnist.ts";
export { type ImageExample, tfrecordDataset } from "./tfrecord_dataset.ts";
export { inputs, type InputsOptions, type DatasetWithSpec } from "./inputs.ts";
export * as preprocessing from "./preprocessing/mod.ts";
export { type ImageRecord, type ImageRecords, listImageFolder, listTfrecordImages } from "./image_records.ts";
export { type ImagePipeline, imagePipeline, type ImagePipelineOptions } from "./image_pipeline.ts";
export { parallelMap } from "./parallel_map.ts";
