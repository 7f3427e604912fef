/**
 * Image classification records in TF-Slim's TFRecord layout, as written by slim's
 * `download_and_convert_*.py` scripts: `image/encoded`, `image/format`,
 * `image/class/label` and optionally `image/height` and `image/width`.
 * @module
 */
import type { FileSystem } from "../fs/types.ts";
import type { HostTensor } from "../graph/host_tensor.ts";
import { readRecords } from "../io/tfrecord.ts";
import { Dataset } from "./dataset.ts";
import { type Feature, FEATURE_LIST_NAME, parseExample } from "./example_proto.ts";
import { convertChannels, type ImageOptions, prepareImage, resizeBilinear } from "./image.ts";

/** One decoded example. */
export interface ImageExample {
  /** [height, width, channels] float32 in [0, 1]. */
  image: HostTensor;
  /** [] int64 class id. */
  label: HostTensor;
}

/** Where a record sits, for error messages. */
interface RecordPlace {
  file: string;
  index: number;
  offset: number;
}

function describe(p: RecordPlace): string {
  return `record ${p.index} of ${p.file} (byte offset ${p.offset})`;
}

function getFeature<K extends Feature["kind"]>(
  ex: Map<string, Feature>,
  name: string,
  kind: K,
  place: RecordPlace,
  required: boolean,
): Extract<Feature, { kind: K }> | undefined {
  const f = ex.get(name);
  if (!f) {
    if (required) throw new Error(`Feature ${name} is missing from ${describe(place)}`);
    return undefined;
  }
  if (f.kind !== kind) {
    throw new Error(
      `Feature ${name} of ${describe(place)} is a ${FEATURE_LIST_NAME[f.kind]}, expected a ${FEATURE_LIST_NAME[kind]}`,
    );
  }
  if (f.value.length === 0) throw new Error(`Feature ${name} of ${describe(place)} is empty`);
  return f as Extract<Feature, { kind: K }>;
}

/** Raw records hold uint8 pixels; their size comes from the record, else from the options. */
function rawImage(bytes: Uint8Array, ex: Map<string, Feature>, place: RecordPlace, options: ImageOptions): HostTensor {
  const h = Number(getFeature(ex, "image/height", "int64", place, false)?.value[0] ?? options.height);
  const w = Number(getFeature(ex, "image/width", "int64", place, false)?.value[0] ?? options.width);
  // Two negative sizes would pass the channel count below and resize into NaNs.
  if (!(Number.isSafeInteger(h) && Number.isSafeInteger(w) && h > 0 && w > 0)) {
    throw new Error(`Raw image of ${describe(place)} has size ${h}x${w}; image/height and image/width must be positive`);
  }
  const c = bytes.length / (h * w);
  if (![1, 2, 3, 4].includes(c)) {
    throw new Error(`Raw image of ${describe(place)} has ${bytes.length} bytes, not ${h}x${w} with 1-4 channels`);
  }
  const data = Float32Array.from(bytes, (b) => b / 255);
  const image = convertChannels({ dtype: "float32", shape: [h, w, c], data }, options.channels ?? 3);
  return resizeBilinear(image, options.height, options.width);
}

function decodeExample(payload: Uint8Array, place: RecordPlace, options: ImageOptions): ImageExample {
  const ex = parseExample(payload, describe(place));
  const encoded = getFeature(ex, "image/encoded", "bytes", place, true)!.value[0];
  const label = getFeature(ex, "image/class/label", "int64", place, true)!.value[0];
  const formatFeature = getFeature(ex, "image/format", "bytes", place, false);
  const format = formatFeature ? new TextDecoder().decode(formatFeature.value[0]).toLowerCase() : "";
  let image: HostTensor;
  if (format === "raw") {
    image = rawImage(encoded, ex, place, options);
  } else if (format === "" || format === "png" || format === "jpeg" || format === "jpg") {
    // The signature decides between PNG and JPEG, so a mislabelled format still decodes.
    image = prepareImage(encoded, describe(place), options);
  } else {
    throw new Error(`Feature image/format of ${describe(place)} is "${format}"; expected png, jpeg or raw`);
  }
  return { image, label: { dtype: "int64", shape: [], data: BigInt64Array.of(label) } };
}

/**
 * Streams `{ image, label }` examples from TFRecord shards in slim's layout, file
 * by file and record by record, decoding PNG, JPEG or raw pixels and converting
 * each image to `channels` and `height`×`width` (bilinear, half-pixel centers).
 * Every record's CRCs are checked: a damaged record throws an error naming the
 * file and byte offset; a missing feature names the feature, file and record index.
 *
 * @example
 * ```ts
 * const fs = await defaultFileSystem();
 * const ds = tfrecordDataset(fs, ["mnist_train.tfrecord"], { height: 32, width: 32, channels: 1 })
 *   .shuffle(5000, { seed: 1 })
 *   .batch(32);
 * for await (const { image, label } of ds) console.log(image.shape, label.shape); // [32,32,32,1] [32]
 * ```
 */
export function tfrecordDataset(
  fs: FileSystem,
  files: string | readonly string[],
  options: ImageOptions,
): Dataset<ImageExample> {
  const list = typeof files === "string" ? [files] : [...files];
  const { height, width, channels = 3 } = options;
  if (!(Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0)) {
    throw new Error(`Image size for tfrecordDataset must be positive integers, got ${height}x${width}`);
  }
  if (channels !== 1 && channels !== 3) throw new Error(`Channels for tfrecordDataset must be 1 or 3, got ${channels}`);
  return Dataset.fromGenerator(async function* () {
    for (const file of list) {
      const bytes = await fs.readFile(file);
      let index = 0;
      for (const { data, offset } of readRecords(bytes, { file })) {
        yield decodeExample(data, { file, index: index++, offset }, { height, width, channels });
      }
    }
  });
}
