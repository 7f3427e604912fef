/**
 * The error for a checkpoint that is not the graph's: a variable it lacks, or one
 * of another shape or dtype. Said as the checkpoint against the graph, naming the
 * file, so a logdir reused for another model is recognised as such.
 * @module
 */
import { SUFFIX } from "../checkpoint/checkpoint_file.ts";
import { formatShape, type HostTensor } from "../graph/host_tensor.ts";
import type { Variable } from "../graph/variable.ts";

/**
 * An error saying how checkpoint `path` (a prefix) differs from the graph at
 * `variable` (`value` undefined: the checkpoint lacks it; `detail`: what else
 * does not fit), followed by `advice`.
 *
 * @example
 * ```ts
 * throw checkpointMismatch("logs/model.ckpt-5", w, restored.tensors.get(w.name), "", "Train in a new logdir.");
 * ```
 */
export function checkpointMismatch(path: string, variable: Variable, value: HostTensor | undefined, detail: string, advice: string): Error {
  const graph = `${variable.dtype} ${formatShape(variable.shape)}`;
  let what: string;
  if (!value) what = `it has no variable ${variable.name} (${graph} in the graph)`;
  else if (value.dtype !== variable.dtype || formatShape(value.shape) !== formatShape(variable.shape)) {
    what = `variable ${variable.name} is ${value.dtype} ${formatShape(value.shape)} in the checkpoint, ${graph} in the graph`;
  } else what = detail;
  return new Error(`Checkpoint ${path}${SUFFIX} does not match the graph: ${what}. ${advice}`.trimEnd());
}
