/**
 * Checkpoints as TensorFlow's Saver promises them, stored as safetensors files:
 * atomic writes, a TensorFlow-compatible `checkpoint` state file, rotation with
 * `maxToKeep` and `keepCheckpointEveryNHours`, and checksums that catch damage.
 *
 * @example
 * ```ts
 * import { latestCheckpoint, Saver } from "./mod.ts";
 * const saver = new Saver({ fs, maxToKeep: 5 });
 * await saver.save("logs/run1", tensors, { globalStep: 1000 });
 * const latest = await latestCheckpoint(fs, "logs/run1"); // "logs/run1/model.ckpt-1000"
 * ```
 * @module
 */
export { CheckpointError, type DecodedSafetensors, encodeSafetensors, type TensorSpec } from "./safetensors.ts";
export { decodeSafetensors, readSafetensors } from "./safetensors_read.ts";
export {
  CHECKPOINT_FORMAT, type CheckpointTensor, type LazyTensor, type RestoredCheckpoint, restoreCheckpoint, stageCheckpoint, writeCheckpoint,
} from "./checkpoint_file.ts";
export { latestCheckpoint, type RestoredLatest, restoreLatest, Saver, type SaverOptions } from "./saver.ts";
export { type CheckpointState, formatState, parseState, readState } from "./state.ts";
export { type CheckpointKind, type CheckpointTensors, type ReadCheckpointOptions } from "./checkpoint_tensors.ts";
export { readTensorflowCheckpoint } from "./tf_checkpoint.ts";
export { readAnyCheckpoint, type ReadAnyCheckpointOptions } from "./read_any.ts";
