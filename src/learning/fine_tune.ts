/**
 * Fine-tuning from a checkpoint, as slim does it: pick the variables to restore by
 * scope (`getVariablesToRestore`), then restore them when training starts fresh
 * (`assignFromCheckpointFn` as `train`'s `initFn`). The rest keep their
 * initializers' values, so a new last layer can differ in shape from the old one.
 * @module
 */
import { readAnyCheckpoint } from "../checkpoint/read_any.ts";
import { defaultFileSystem } from "../fs/default.ts";
import type { FileSystem } from "../fs/types.ts";
import { getDefaultGraph, type Graph, GraphKeys } from "../graph/graph.ts";
import { checkOptionNames, describeValue, isOptionsObject } from "../graph/arg_checks.ts";
import { formatShape, type HostTensor } from "../graph/host_tensor.ts";
import { Variable } from "../graph/variable.ts";

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
export function getVariablesToRestore(filter: RestoreFilter = {}, graph: Graph = getDefaultGraph()): Variable[] {
  if (!isOptionsObject(filter as unknown)) {
    const hint = Array.isArray(filter) ? `: getVariablesToRestore({ include: ${describeValue(filter)} }) or { exclude: ... }` : "";
    throw new Error(`getVariablesToRestore: pass a filter { include?, exclude? } of scope lists, got ${describeValue(filter)}${hint}`);
  }
  checkOptionNames("getVariablesToRestore", "the filter", filter, ["include", "exclude"]);
  const { include, exclude = [] } = filter;
  for (const [what, list] of [["include", include ?? []], ["exclude", exclude]] as const) {
    if (!Array.isArray(list)) {
      throw new Error(`getVariablesToRestore: ${what} must be an array of scopes, e.g. { ${what}: [${describeValue(list)}] }; got ${describeValue(list)}`);
    }
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
 * `variables` from a checkpoint: slimtrain's own (prefix or `.safetensors` file,
 * checked against its checksums), a plain safetensors file, a TensorFlow V2
 * prefix or V1 `.ckpt` file such as slim's model zoo ships (`readAnyCheckpoint`
 * says how each is told apart), or an ONNX model's initializers. Pass a list to look each up under its own name, or a
 * record `{ nameInCheckpoint: variable }` to map names. A variable the checkpoint
 * lacks throws unless `ignoreMissingVars`; a shape or dtype mismatch always throws.
 * The error lists every variable that does not fit and the scopes to exclude.
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
  options: AssignFromCheckpointOptions = {},
): (ctx: AssignContext) => Promise<void> {
  if (typeof checkpointPath !== "string" || checkpointPath === "") {
    throw new Error(`assignFromCheckpointFn: checkpointPath must be a checkpoint prefix or file, got ${describeValue(checkpointPath)}`);
  }
  if (!isOptionsObject(options as unknown)) throw new Error(`assignFromCheckpointFn: options must be an object, got ${describeValue(options)}`);
  checkOptionNames("assignFromCheckpointFn", checkpointPath, options, ["ignoreMissingVars", "fs", "log"]);
  const { ignoreMissingVars = false, fs, log = (line: string) => console.warn(line) } = options;
  if (!Array.isArray(variables) && !isOptionsObject(variables as unknown)) {
    throw new Error(
      `assignFromCheckpointFn: variables must be a list of Variables (e.g. getVariablesToRestore({ exclude: [...] })) ` +
        `or a record { nameInCheckpoint: variable }, got ${describeValue(variables)}`,
    );
  }
  const pairs: [string, Variable][] = Array.isArray(variables)
    ? (variables as readonly Variable[]).map((v) => [v?.name, v])
    : Object.entries(variables as Readonly<Record<string, Variable>>);
  for (const [key, v] of pairs) {
    if (!(v instanceof Variable)) throw new Error(`assignFromCheckpointFn: ${key ?? "an entry"} of variables is not a Variable: ${describeValue(v)}`);
  }
  if (pairs.length === 0) throw new Error(`assignFromCheckpointFn: no variables to restore from ${checkpointPath}`);
  const targets = new Map<string, string>();
  for (const [key, v] of pairs) {
    const other = targets.get(v.name);
    if (other !== undefined) throw new Error(`assignFromCheckpointFn: variable ${v.name} is restored twice (from ${other} and ${key})`);
    targets.set(v.name, key);
  }
  return async (ctx) => {
    const files = fs ?? ctx.fs ?? (await defaultFileSystem());
    // Only the wanted tensors are converted; the rest of a large checkpoint stays bytes.
    const { tensors, path } = await readAnyCheckpoint(checkpointPath, { fs: files, names: pairs.map(([key]) => key) });
    // Check everything before assigning anything, so a bad checkpoint leaves the session as it was.
    const found: [Variable, HostTensor][] = [];
    const misfits: Misfit[] = [];
    for (const [key, v] of pairs) {
      const value = tensors.get(key);
      if (!value) {
        const what = key === v.name ? `variable ${key}` : `variable ${key} (for ${v.name})`;
        if (ignoreMissingVars) log(`Checkpoint ${path} has no ${what}: it keeps its initial value`);
        else misfits.push({ variable: v, missing: true, text: `no ${what}` });
        continue;
      }
      if (value.dtype !== v.dtype || formatShape(value.shape) !== formatShape(v.shape)) {
        misfits.push({
          variable: v,
          missing: false,
          text: `variable ${key} is ${value.dtype} ${formatShape(value.shape)}, but ${v.name} in the graph is ${v.dtype} ${formatShape(v.shape)}`,
        });
        continue;
      }
      found.push([v, value]);
    }
    if (misfits.length > 0) throw new Error(misfitMessage(path, misfits, Array.isArray(variables)));
    for (const [v, value] of found) ctx.session.assign(v.name, value);
  };
}

/** A variable the checkpoint lacks, or holds in another shape or dtype. */
interface Misfit {
  variable: Variable;
  missing: boolean;
  text: string;
}

function misfitMessage(path: string, misfits: Misfit[], fromList: boolean): string {
  const shown = misfits.slice(0, 4).map((m) => m.text).join("; ");
  const more = misfits.length > 4 ? `; and ${misfits.length - 4} more` : "";
  const scopes = [...new Set(misfits.map((m) => parentScope(m.variable.name)))].map((s) => JSON.stringify(s));
  const leaveOut = fromList
    ? `leave them out: getVariablesToRestore({ exclude: [${scopes.join(", ")}] })`
    : "leave them out of the record of variables to restore";
  const skip = misfits.some((m) => m.missing) ? `, or pass ignoreMissingVars: true to skip the missing ones` : "";
  return `Checkpoint ${path} does not fit the graph: ${shown}${more}. ` +
    `To train these anew from their initializers (e.g. a new last layer for another number of classes), ${leaveOut}${skip}`;
}

/** The scope holding a variable (`net/logits` for `net/logits/weights`). */
function parentScope(name: string): string {
  const cut = name.lastIndexOf("/");
  return cut > 0 ? name.slice(0, cut) : name;
}
