/**
 * The TF-Slim "Working Example: Training the VGG16 Model", line for line, in
 * TypeScript. It trains on the digit fixtures shipped in fixtures/ (a TFRecord
 * shard in slim's dataset layout), so it runs anywhere in a minute:
 *
 *   npx tsx examples/train_vgg16.ts [logdir] [steps]
 *   deno run -A examples/train_vgg16.ts
 *   bun examples/train_vgg16.ts
 *
 * Point `shards` at your own flowers or ImageNet TFRecords, drop `fcConvPadding`
 * and use 224×224 images to train the full-size network.
 * @module
 */
import { data, fs as files, graph, learning, losses, nets, optimizers, summary } from "../mod.ts";

const argv = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? (globalThis as { process?: { argv: string[] } }).process!.argv.slice(2);
const trainLogDir = argv[0] ?? "logs/train_vgg16_example";
const numberOfSteps = Number(argv[1] ?? 20);
const shards = [new URL("../fixtures/digits.tfrecord", import.meta.url).pathname];

// if not tf.gfile.Exists(train_log_dir): tf.gfile.MakeDirs(train_log_dir)
const fs = await files.defaultFileSystem();
await fs.mkdirp(trainLogDir);

// with tf.Graph().as_default():
const g = new graph.Graph();
const trainTensor = await g.asDefault(async () => {
  // Set up the data loading: images, labels = ...
  const examples = await data.tfrecordDataset(fs, shards, { height: 32, width: 32, channels: 3 }).toArray();
  const stacked = {
    images: { dtype: "float32" as const, shape: [examples.length, 32, 32, 3], data: Float32Array.from(examples.flatMap((e) => [...(e.image.data as Float32Array)])) },
    labels: { dtype: "float32" as const, shape: [examples.length, 10], data: oneHot(examples.map((e) => Number((e.label.data as BigInt64Array)[0])), 10) },
  };
  const { images, labels } = data.inputs(stacked, { batchSize: 4 });

  // Define the model: predictions = vgg.vgg_16(images, is_training=True)
  const [predictions] = nets.vgg16(images, { isTraining: true, numClasses: 10, fcConvPadding: "SAME" });

  // Specify the loss function: slim.losses.softmax_cross_entropy(predictions, labels)
  losses.softmaxCrossEntropy(predictions, labels);

  const totalLoss = losses.getTotalLoss();
  summary.scalar("losses/total_loss", totalLoss);

  // Specify the optimization scheme: tf.train.GradientDescentOptimizer(learning_rate=.001)
  const optimizer = optimizers.gradientDescent({ learningRate: 0.001 });

  // create_train_op that ensures that when we evaluate it to get the loss,
  // the update_ops are done and the gradient updates are computed.
  return learning.createTrainOp(totalLoss, optimizer);
});

// Actually runs training: slim.learning.train(train_tensor, train_log_dir)
const finalLoss = await learning.train(trainTensor, trainLogDir, { numberOfSteps, logEveryNSteps: 5 });
console.log(`Finished: loss ${finalLoss.toFixed(4)}; tensorboard --logdir ${trainLogDir}`);

function oneHot(ids: number[], classes: number): Float32Array {
  const out = new Float32Array(ids.length * classes);
  ids.forEach((id, i) => (out[i * classes + id] = 1));
  return out;
}
