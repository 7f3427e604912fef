/**
 * What onnxruntime-node and onnxruntime-web share (the onnxruntime-common API):
 * sessions, tensors and the host round trip. The package-specific adapters only
 * load their package and choose session options.
 * @module
 */
import type { DType, HostTensor } from "../graph/host_tensor.ts";
import { makeModel, makeNode, makeValueInfo } from "../onnx/builder.ts";
import type { ExecutionProvider, Runtime, RuntimeSession, RuntimeValue, TransferCounts } from "./types.ts";

/** The part of an onnxruntime module the adapters use. */
// deno-lint-ignore no-explicit-any
export type OrtModule = any;

const ORT_TYPE: Record<DType, string> = { float32: "float32", int64: "int64", int32: "int32", bool: "bool" };
const FROM_ORT: Record<string, DType> = { float32: "float32", int64: "int64", int32: "int32", bool: "bool" };

/** Session options common to both packages. */
export interface OrtSessionConfig {
  executionProviders: unknown[];
  intraOpNumThreads?: number;
  allowCpuFallback: boolean;
  profileFilePrefix?: string;
  gpu: boolean;
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
  const readers = new Map<string, Promise<OrtModule>>();
  /**
   * Device values come back through an Identity session whose output lives on the
   * CPU: reading a gpu-buffer tensor directly aborted the process in onnxruntime-node 1.30.
   */
  const readBack = async (tensor: OrtModule): Promise<ArrayLike<number | bigint>> => {
    const key = `${tensor.type}:${tensor.dims.join("x")}`;
    let reader = readers.get(key);
    if (!reader) {
      const dtype = FROM_ORT[tensor.type];
      const model = makeModel({
        name: "read_back",
        nodes: [makeNode("Identity", ["x"], ["y"])],
        inputs: [makeValueInfo("x", dtype, tensor.dims)],
        outputs: [makeValueInfo("y", dtype, tensor.dims)],
        initializers: [],
      });
      const created: Promise<OrtModule> = ort.InferenceSession.create(model, { executionProviders: config.executionProviders });
      readers.set(key, created);
      reader = created;
    }
    const out = await (await reader!).run({ x: tensor });
    return out.y.data;
  };
  return {
    transfers,
    description: `${pkg} ${ort.env?.versions?.common ?? ""} (${ep})`.replace("  ", " "),
    executionProvider: ep,
    async createSession(model, options = {}) {
      const sessionOptions: Record<string, unknown> = {
        executionProviders: config.executionProviders,
        graphOptimizationLevel: "all",
      };
      if (config.intraOpNumThreads) sessionOptions.intraOpNumThreads = config.intraOpNumThreads;
      if (config.gpu && !config.allowCpuFallback) {
        // Only meaningful on GPU providers: on the CPU EP every node would count as fallback.
        sessionOptions.extra = { session: { disable_cpu_ep_fallback: "1" } };
      }
      if (config.profileFilePrefix) {
        sessionOptions.enableProfiling = true;
        sessionOptions.profileFilePrefix = config.profileFilePrefix;
      }
      if (options.keepOnDevice?.length && config.gpu) {
        sessionOptions.preferredOutputLocation = Object.fromEntries(options.keepOnDevice.map((n) => [n, "gpu-buffer"]));
      }
      let session: OrtModule;
      try {
        session = await ort.InferenceSession.create(model, sessionOptions);
      } catch (err) {
        throw describeSessionError(err, pkg, ep, config);
      }
      return wrapSession(session);
    },
    fromHost(t: HostTensor): RuntimeValue {
      transfers.fromHost++;
      transfers.fromHostBytes += t.data.byteLength;
      return new ort.Tensor(ORT_TYPE[t.dtype], t.data, t.shape);
    },
    async toHost(v: RuntimeValue): Promise<HostTensor> {
      const tensor = v as OrtModule;
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

function wrapSession(session: OrtModule): RuntimeSession {
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds, fetches) {
      return await session.run(feeds, fetches as string[]);
    },
    endProfiling() {
      return session.endProfiling?.();
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
