/**
 * The runtime seam: what the trainer needs from an ONNX Runtime package, kept free
 * of any one package's types so the core imports anywhere.
 * @module
 */
import type { HostTensor } from "../graph/host_tensor.ts";
import type { LoweringTarget } from "../ops/registry.ts";

/** Where a train step runs. */
export type ExecutionProvider = "cpu" | "webgpu" | "wasm" | "cuda";

/** Which ONNX Runtime package runs it. */
export type RuntimePackage = "onnxruntime-node" | "onnxruntime-web";

/** Options for creating a runtime. */
export interface RuntimeOptions {
  /** Default: "cpu" under Node.js/Deno/Bun; "webgpu" in a browser with an adapter, else "wasm". */
  executionProvider?: ExecutionProvider;
  /** Default: onnxruntime-node where the runtime can load it, else onnxruntime-web. */
  package?: RuntimePackage;
  /** CPU threads for one op (ONNX Runtime's default picks 1 on some machines: set it). */
  intraOpNumThreads?: number;
  /** On a GPU provider, allow nodes it cannot run to fall back to the CPU (off by default). */
  allowCpuFallback?: boolean;
  /** Write ONNX Runtime's per-node profile (JSON) with this file prefix. */
  profileFilePrefix?: string;
  /**
   * onnxruntime-node's CPU EP: ONNX Runtime's memory arena (default on). Without it
   * every intermediate is a fresh allocation whose pages fault in on first touch: a
   * per-channel Mul over 16×256×16² took 3.3 ms instead of 0.23, and ResNet-50's step
   * at 64² spent 60% longer in its kernels. Off gives memory back between steps.
   */
  cpuMemArena?: boolean;
  /**
   * onnxruntime-node's CPU EP: ONNX Runtime's memory pattern, one block sized for all
   * of a step's intermediates (default off). With it and the arena, the VGG-16 main job
   * peaked at 2.95 GB instead of 2.1 GB, with no faster step.
   */
  cpuMemPattern?: boolean;
  /**
   * onnxruntime-web only: where its .wasm/.mjs runtime files are served, as an
   * absolute URL ending in "/" (a relative one resolves against onnxruntime-web's own
   * module URL, not the page). Default: next to onnxruntime-web's module.
   */
  wasmPaths?: string;
}

/** A tensor owned by the runtime: in host memory, or in device memory on a GPU provider. */
export interface RuntimeValue {
  readonly dims: readonly number[];
  readonly type: string;
  /** "cpu" or a device location such as "gpu-buffer". */
  readonly location: string;
  /** Frees device memory now instead of waiting for the garbage collector. */
  dispose(): void;
}

/** How much data crossed between host and runtime, for tests and profiling. */
export interface TransferCounts {
  toHost: number;
  toHostBytes: number;
  fromHost: number;
  fromHostBytes: number;
}

/** A loaded model. */
export interface RuntimeSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /**
   * Runs the model, computing only what `fetches` need; returns those outputs in new
   * values. (Writing into last step's buffers instead was measured on onnxruntime-node:
   * no faster, since the binding copies every output anyway, and it kept a second copy
   * of every weight alive, 870 MB at VGG-16's seed scale.)
   */
  run(feeds: Record<string, RuntimeValue>, fetches: readonly string[]): Promise<Record<string, RuntimeValue>>;
  /** Ends profiling (when enabled) and returns the profile file's name. */
  endProfiling(): string | undefined;
  release(): Promise<void>;
}

/**
 * An ONNX Runtime package on one execution provider.
 *
 * @example
 * ```ts
 * const rt = await createRuntime({ executionProvider: "cpu", intraOpNumThreads: 2 });
 * const session = await rt.createSession(model.bytes);
 * ```
 */
/** How `Runtime.createSession` opens a model. */
export interface SessionOptions {
  /** Outputs to keep in device memory (GPU providers), to be fed back next step without a host round trip. */
  keepOnDevice?: readonly string[];
  /** ONNX Runtime logs nothing below fatal for the session (probes). */
  quiet?: boolean;
  /**
   * Outputs the model writes in another shape of the same size (fused updates
   * written as matrices, `ModelOutput.written`), returned viewed in these shapes
   * without a copy. Host tensors only.
   */
  viewAs?: Readonly<Record<string, readonly number[]>>;
}

export interface Runtime {
  /** "onnxruntime-node 1.30.0 (cpu)" and the like, for logs and test summaries. */
  readonly description: string;
  readonly executionProvider: ExecutionProvider;
  /** Counts of values copied to and from host memory since the runtime was created. */
  readonly transfers: TransferCounts;
  /**
   * Loads a model. With `keepOnDevice`, outputs named there stay in device memory
   * (GPU providers), so they can be fed back next step without a host round trip. With
   * `quiet`, ONNX Runtime logs nothing below fatal for the session (probes).
   */
  createSession(model: Uint8Array, options?: SessionOptions): Promise<RuntimeSession>;
  /** Wraps host data as a runtime value (no copy where the provider allows). */
  fromHost(t: HostTensor): RuntimeValue;
  /** Copies a value to host memory (device values are read back). */
  toHost(v: RuntimeValue): Promise<HostTensor>;
}

/**
 * The lowering target for models run on `ep`: ONNX Runtime's CPU and wasm EPs get
 * the forms fastest there; GPU EPs the portable ones.
 *
 * @example
 * ```ts
 * compileModel({ name: "step", fetches, target: loweringTargetFor(runtime.executionProvider) });
 * ```
 */
export function loweringTargetFor(ep: ExecutionProvider): LoweringTarget {
  return ep === "cpu" || ep === "wasm" ? "cpu" : "portable";
}
