/**
 * What onnxruntime-node and onnxruntime-web share (the onnxruntime-common API):
 * sessions, tensors and the host round trip. The package-specific adapters only
 * load their package and choose session options.
 * @module
 */
import type { Env, InferenceSession, Tensor, TensorConstructor } from "onnxruntime-common";
import type { DType, HostTensor } from "../graph/host_tensor.ts";
import { makeModel, makeNode, makeValueInfo } from "../onnx/builder.ts";
import type { ExecutionProvider, Runtime, RuntimeSession, RuntimeValue, TransferCounts } from "./types.ts";

/**
 * The part of an onnxruntime module the adapters use, as onnxruntime-common
 * declares it (onnxruntime-node and onnxruntime-web both re-export it).
 */
export interface OrtModule {
  InferenceSession: { create(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  Tensor: TensorConstructor;
  env?: Env;
}

const ORT_TYPE: Record<DType, "float32" | "int64" | "int32" | "bool"> = { float32: "float32", int64: "int64", int32: "int32", bool: "bool" };
const FROM_ORT: Partial<Record<Tensor.Type, DType>> = { float32: "float32", int64: "int64", int32: "int32", bool: "bool" };

/** Session options common to both packages. */
export interface OrtSessionConfig {
  executionProviders: InferenceSession.ExecutionProviderConfig[];
  intraOpNumThreads?: number;
  allowCpuFallback: boolean;
  profileFilePrefix?: string;
  gpu: boolean;
  /**
   * ONNX Runtime's CPU arena (ONNX Runtime's default: on). Kept on for training: freed
   * blocks are reused by the next step instead of returned to the system and faulted in
   * again (the main job: 0.80 instead of 0.84 s a step, system time 7.6 instead of 13.6 s
   * over 60 steps, peak 2.11 instead of 2.23 GB; ResNet-50 at 64²: kernels 270 instead of
   * 300–430 ms a step).
   */
  cpuMemArena?: boolean;
  /**
   * ONNX Runtime's memory pattern (ONNX Runtime's default: on): one block sized for all
   * of a step's intermediates, planned once. Off on the CPU provider: with it and the arena
   * the main job peaked at 2.95 GB, and steps were no faster than with the arena alone.
   */
  memPattern?: boolean;
}

/**
 * A Runtime over an onnxruntime module.
 *
 * @example
 * ```ts
 * const rt = ortRuntime(await import("onnxruntime-node"), "onnxruntime-node", "cpu", config);
 * ```
 */
export function ortRuntime(ort: OrtModule, pkg: string, ep: ExecutionProvider, config: OrtSessionConfig): Runtime {
  const transfers: TransferCounts = { toHost: 0, toHostBytes: 0, fromHost: 0, fromHostBytes: 0 };
  const readers = new Map<string, Promise<InferenceSession>>();
  /**
   * Device values come back through an Identity session whose output lives on the
   * CPU: reading a gpu-buffer tensor directly aborted the process in onnxruntime-node 1.30.
   */
  const readBack = async (tensor: Tensor): Promise<Tensor.DataType> => {
    const key = `${tensor.type}:${tensor.dims.join("x")}`;
    let reader = readers.get(key);
    if (!reader) {
      const dtype = FROM_ORT[tensor.type];
      if (!dtype) throw new Error(`toHost: unsupported tensor type ${tensor.type}`);
      const model = makeModel({
        name: "read_back",
        nodes: [makeNode("Identity", ["x"], ["y"])],
        inputs: [makeValueInfo("x", dtype, tensor.dims)],
        outputs: [makeValueInfo("y", dtype, tensor.dims)],
        initializers: [],
      });
      reader = ort.InferenceSession.create(model, { executionProviders: config.executionProviders });
      readers.set(key, reader);
    }
    const out = await (await reader).run({ x: tensor });
    return out.y.data;
  };
  return {
    transfers,
    description: `${pkg} ${ort.env?.versions?.common ?? ""} (${ep})`.replace("  ", " "),
    executionProvider: ep,
    async createSession(model, options = {}) {
      const sessionOptions: InferenceSession.SessionOptions = {
        executionProviders: config.executionProviders,
        graphOptimizationLevel: "all",
      };
      if (config.intraOpNumThreads) sessionOptions.intraOpNumThreads = config.intraOpNumThreads;
      if (config.cpuMemArena !== undefined) sessionOptions.enableCpuMemArena = config.cpuMemArena;
      if (config.memPattern !== undefined) sessionOptions.enableMemPattern = config.memPattern;
      if (config.gpu && !config.allowCpuFallback) {
        // Only meaningful on GPU providers: on the CPU EP every node would count as fallback.
        sessionOptions.extra = { session: { disable_cpu_ep_fallback: "1" } };
      }
      if (config.profileFilePrefix) {
        sessionOptions.enableProfiling = true;
        sessionOptions.profileFilePrefix = config.profileFilePrefix;
      }
      // A probe whose failure is an answer: ONNX Runtime would also print that failure.
      if (options.quiet) sessionOptions.logSeverityLevel = 4;
      if (options.keepOnDevice?.length && config.gpu) {
        sessionOptions.preferredOutputLocation = Object.fromEntries(options.keepOnDevice.map((n) => [n, "gpu-buffer"]));
      }
      let session: InferenceSession;
      try {
        session = await ort.InferenceSession.create(model, sessionOptions);
      } catch (err) {
        throw describeSessionError(err, pkg, ep, config);
      }
      return wrapSession(session, ort, options.viewAs ?? {});
    },
    fromHost(t: HostTensor): RuntimeValue {
      transfers.fromHost++;
      transfers.fromHostBytes += t.data.byteLength;
      // HostTensor's typed arrays are the ones ONNX Runtime takes for these dtypes (bool as Uint8Array).
      return new ort.Tensor(ORT_TYPE[t.dtype], t.data as Tensor.DataTypeMap["float32"], t.shape) as RuntimeValue;
    },
    async toHost(v: RuntimeValue): Promise<HostTensor> {
      const tensor = v as unknown as Tensor;
      const onHost = tensor.location === "cpu" || tensor.location === undefined;
      const data = onHost ? tensor.data : await readBack(tensor);
      transfers.toHost++;
      transfers.toHostBytes += (data as { byteLength?: number }).byteLength ?? 0;
      const dtype = FROM_ORT[tensor.type];
      if (!dtype) throw new Error(`toHost: unsupported tensor type ${tensor.type}`);
      const copy = dtype === "bool" ? Uint8Array.from(data as ArrayLike<number>, (x) => (x ? 1 : 0)) : (data as HostTensor["data"]).slice();
      return { dtype, shape: [...tensor.dims], data: copy };
    },
  };
}

function wrapSession(session: InferenceSession, ort: OrtModule, viewAs: Readonly<Record<string, readonly number[]>>): RuntimeSession {
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds, fetches) {
      // RuntimeValues are the Tensors this runtime made (fromHost) or returned (run).
      const out: Record<string, Tensor> = { ...(await session.run(feeds as unknown as InferenceSession.FeedsType, fetches as string[])) };
      for (const [name, dims] of Object.entries(viewAs)) {
        const t = out[name];
        if (!t) continue;
        if (t.location !== "cpu" && t.location !== undefined) {
          throw new Error(`RuntimeSession.run: output ${name} is in ${t.location} memory and cannot be viewed as ${JSON.stringify(dims)}`);
        }
        // Same data, the variable's own shape: no copy.
        out[name] = new ort.Tensor(t.type as "float32", t.data as Float32Array, dims);
      }
      return out as unknown as Record<string, RuntimeValue>;
    },
    endProfiling() {
      // onnxruntime-node returns the profile file's name; onnxruntime-common declares void.
      return (session.endProfiling() as unknown as string | undefined) ?? undefined;
    },
    async release() {
      await session.release();
    },
  };
}

function describeSessionError(err: unknown, pkg: string, ep: ExecutionProvider, config: OrtSessionConfig): Error {
  const msg = (err as Error).message ?? String(err);
  if (ep === "cuda" && /cuda|provider|libonnxruntime_providers/i.test(msg)) {
    return new Error(
      `${pkg}: the CUDA execution provider is not available (${msg.split("\n")[0]}). ` +
        "Install it with `npm install onnxruntime-node --onnxruntime-node-install=cuda12` (needs CUDA 12 and cuDNN 9), " +
        'or choose executionProvider "webgpu" (GPU without CUDA) or "cpu".',
      { cause: err },
    );
  }
  if (config.gpu && !config.allowCpuFallback && /fallback|assigned|not supported|No kernel/i.test(msg)) {
    return new Error(
      `${pkg}: the ${ep} execution provider cannot run every node of this model and CPU fallback is off ` +
        `(${msg.split("\n")[0]}). Pass allowCpuFallback: true to let ONNX Runtime run those nodes on the CPU.`,
      { cause: err },
    );
  }
  return new Error(`${pkg} (${ep}): cannot create a session: ${msg}`, { cause: err });
}
