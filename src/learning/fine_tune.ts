/**
 * Fine-tuning from a checkpoint, as slim does it: pick the variables to restore by
 * scope (`getVariablesToRestore`), then restore them when training starts fresh
 * (`assignFromCheckpointFn` as `train`'s `initFn`). The rest keep their
 * initializers' values, so a new last layer can differ in shape from the old one.
 * @module
 */
import { restoreCheckpoint } from "../checkpoint/checkpoint_file.ts";
import { defaultFileSystem } from "../fs/default.ts";
import type { FileSystem } from "../fs/types.ts";
import { getDefaultGraph, type Graph, GraphKeys } from "../graph/graph.ts";
import { formatShape, type HostTensor } from "../graph/host_tensor.ts";
import type { Variable } from "../graph/variable.ts";

/**
 * Which variables `getVariablesToRestore` returns, by scope: a variable is in a
 * scope when its name equals it or starts with `scope + "/"`.
 *
 * @example
 * ```ts
 * const filter: RestoreFilter = { include: ["vgg_16"], exclude: ["vgg_16/fc8"] };
 * ```
 */
export interface RestoreFilter {
  /** Only variables in one of these scopes (default: every variable). */
  include?: string[];
  /** Never variables in these scopes. */
  exclude?: string[];
}

/**
 * slim's `get_variables_to_restore`: the graph's global variables in creation
 * order, filtered by `include` and `exclude` scopes. Optimizer slots are named
 * after their variable (`net/logits/weights/Momentum`), so they follow it.
 *
 * @example
 * ```ts
 * const variables = getVariablesToRestore({ exclude: ["vgg_16/fc8"] });
 * const initFn = assignFromCheckpointFn("pretrained/model.ckpt-100000", variables);
 * ```
 */
export function getVariablesToRestore({ include, exclude = [] }: RestoreFilter = {}, graph: Graph = getDefaultGraph()): Variable[] {
  for (const [what, list] of [["include", include ?? []], ["exclude", exclude]] as const) {
    for (const s of list) {
      if (typeof s !== "string" || s === "") throw new Error(`getVariablesToRestore: ${what} scopes must be non-empty strings, got ${JSON.stringify(s)}`);
    }
  }
  const inScope = (name: string, scope: string) => name === scope || name.startsWith(scope.endsWith("/") ? scope : `${scope}/`);
  return graph.getCollection<Variable>(GraphKeys.GLOBAL_VARIABLES).filter((v) =>
    (include === undefined || include.some((s) => inScope(v.name, s))) && !exclude.some((s) => inScope(v.name, s))
  );
}

/**
 * Options of `assignFromCheckpointFn`.
 *
 * @example
 * ```ts
 * const options: AssignFromCheckpointOptions = { ignoreMissingVars: true, log: (line) => console.warn(line) };
 * ```
 */
export interface AssignFromCheckpointOptions {
  /** Skip (and log) variables the checkpoint lacks instead of failing. Default false. */
  ignoreMissingVars?: boolean;
  /** Where the checkpoint lives; default: the context's file system, else the default one. */
  fs?: FileSystem;
  /** Where the skipped-variable lines go. Default console.warn. */
  log?: (line: string) => void;
}

/**
 * What the returned function needs: a session to assign into (train's `TrainContext` fits).
 *
 * @example
 * ```ts
 * await assignFromCheckpointFn(prefix, variables)({ session: trainSession, fs });
 * ```
 */
export interface AssignContext {
  session: { assign(name: string, value: HostTensor): void };
  fs?: FileSystem;
}

/**
 * slim's `assign_from_checkpoint_fn`: returns an `initFn` that restores
 * `variables` from a slimtrain checkpoint (prefix or `.safetensors` file, checked
 * against its checksums). Pass a list to look each up under its own name, or a
 * record `{ nameInCheckpoint: variable }` to map names. A variable the checkpoint
 * lacks throws unless `ignoreMissingVars`; a shape or dtype mismatch always throws.
 *
 * @example
 * ```ts
 * const initFn = assignFromCheckpointFn("pretrained/model.ckpt-5000", getVariablesToRestore({ exclude: ["net/logits"] }));
 * await train(trainOp, "logs/finetune", { numberOfSteps: 1000, initFn });
 * ```
 */
export function assignFromCheckpointFn(
  checkpointPath: string,
  variables: readonly Variable[] | Readonly<Record<string, Variable>>,
  { ignoreMissingVars = false, fs, log = (line: string) => console.warn(line) }: AssignFromCheckpointOptions = {},
): (ctx: AssignContext) => Promise<void> {
  const pairs: [string, Variable][] = Array.isArray(variables)
    ? (variables as readonly Variable[]).map((v) => [v.name, v])
    : Object.entries(variables as Readonly<Record<string, Variable>>);
  if (pairs.length === 0) throw new Error(`assignFromCheckpointFn: no variables to restore from ${checkpointPath}`);
  const targets = new Map<string, string>();
  for (const [key, v] of pairs) {
    const other = targets.get(v.name);
    if (other !== undefined) throw new Error(`assignFromCheckpointFn: variable ${v.name} is restored twice (from ${other} and ${key})`);
    targets.set(v.name, key);
  }
  return async (ctx) => {
    const files = fs ?? ctx.fs ?? (await defaultFileSystem());
    const { tensors, path } = await restoreCheckpoint(files, checkpointPath);
    // Check everything before assigning anything, so a bad checkpoint leaves the session as it was.
    const found: [Variable, HostTensor][] = [];
    for (const [key, v] of pairs) {
      const value = tensors.get(key);
      if (!value) {
        const what = key === v.name ? `variable ${key}` : `variable ${key} (for ${v.name})`;
        if (!ignoreMissingVars) throw new Error(`Checkpoint ${path} has no ${what}; pass ignoreMissingVars to skip it`);
        log(`Checkpoint ${path} has no ${what}: it keeps its initial value`);
        continue;
      }
      if (value.dtype !== v.dtype || formatShape(value.shape) !== formatShape(v.shape)) {
        throw new Error(
          `Checkpoint ${path}: variable ${key} is ${value.dtype} ${formatShape(value.shape)}, ` +
            `but ${v.name} in the graph is ${v.dtype} ${formatShape(v.shape)}`,
        );
      }
      found.push([v, value]);
    }
    for (const [v, value] of found) ctx.session.assign(v.name, value);
  };
}
