/**
 * Forward semantics of `onnx.importModel` against ONNX's own backend node tests
 * (Debian's libonnx-testdata: one single-node model per case with its inputs and
 * expected outputs as TensorProtos). Each chosen case is imported, compiled and
 * run on ONNX Runtime's CPU provider, and its outputs compared with ONNX's.
 * Integer inputs (shapes, axes, indices) and Clip's bounds and Pad's arguments
 * are bound at import time (`constantInputs`), since slimtrain graphs have
 * static shapes; float data is fed at run time.
 * @module
 */
import { defaultFileSystem } from "../src/fs/default.ts";
import type { FileSystem } from "../src/fs/types.ts";
import { Graph } from "../src/graph/graph.ts";
import type { HostTensor } from "../src/graph/host_tensor.ts";
import { importModel } from "../src/onnx/import/import_model.ts";
import { decodeModel, type TensorMessage, tensorFromProto } from "../src/onnx/import/read_model.ts";
import { onnxTypes } from "../src/onnx/proto.ts";
import { createRuntime } from "../src/runtime/create.ts";
import { evaluate } from "../src/runtime/evaluate.ts";
import type { Runtime } from "../src/runtime/types.ts";
import { assertClose, assertEquals, assertThrows, test } from "./harness.ts";

const NODE_TESTS = "/usr/share/libonnx-testdata/data/node";

/**
 * The chosen cases: float32 (and the integer shape ops), every op with an import
 * rule. Left out: float16/double/uint8 variants, 3-D convolutions and pools,
 * dilated pooling, MaxPool's indices output, Dropout's mask output, zero-size
 * tensors (reshape_allowzero: the Reshape lowering does not set allowzero), the
 * `_expanded` function-body variants.
 */
const CASES = `
abs add add_bcast averagepool_1d_default averagepool_2d_ceil averagepool_2d_default averagepool_2d_pads
averagepool_2d_pads_count_include_pad averagepool_2d_precomputed_pads averagepool_2d_precomputed_pads_count_include_pad
averagepool_2d_precomputed_same_upper averagepool_2d_precomputed_strides averagepool_2d_same_lower averagepool_2d_same_upper
averagepool_2d_strides basic_conv_with_padding basic_conv_without_padding batchnorm_epsilon batchnorm_epsilon_training_mode
batchnorm_example batchnorm_example_training_mode cast_DOUBLE_to_FLOAT clip clip_default_inbounds clip_default_max clip_default_min
clip_example clip_inbounds clip_outbounds clip_splitbounds concat_1d_axis_0 concat_1d_axis_negative_1 concat_2d_axis_0
concat_2d_axis_1 concat_2d_axis_negative_1 concat_2d_axis_negative_2 concat_3d_axis_0 concat_3d_axis_1 concat_3d_axis_2
concat_3d_axis_negative_1 concat_3d_axis_negative_2 concat_3d_axis_negative_3 constant constant_pad conv_with_autopad_same
conv_with_strides_and_asymmetric_padding conv_with_strides_no_padding conv_with_strides_padding convtranspose convtranspose_1d
convtranspose_autopad_same convtranspose_dilations convtranspose_kernel_shape convtranspose_output_shape convtranspose_pad
convtranspose_pads div div_bcast div_example dropout_default dropout_default_old dropout_default_ratio
edge_pad elu elu_default elu_example equal equal_bcast erf exp exp_example expand_dim_changed expand_dim_unchanged
flatten_axis0 flatten_axis1 flatten_axis2 flatten_axis3 flatten_default_axis flatten_negative_axis1 flatten_negative_axis2
flatten_negative_axis3 flatten_negative_axis4 floor floor_example gather_0 gather_1 gather_2d_indices gather_negative_indices
gemm_all_attributes gemm_alpha gemm_beta gemm_default_matrix_bias gemm_default_no_bias gemm_default_scalar_bias
gemm_default_single_elem_vector_bias gemm_default_vector_bias gemm_default_zero_bias gemm_transposeA gemm_transposeB
globalaveragepool globalaveragepool_precomputed globalmaxpool globalmaxpool_precomputed greater greater_bcast hardsigmoid
hardsigmoid_default hardsigmoid_example hardswish identity layer_normalization_2d_axis0 layer_normalization_2d_axis1
layer_normalization_2d_axis_negative_1 layer_normalization_3d_axis1_epsilon layer_normalization_3d_axis_negative_2_epsilon
layer_normalization_4d_axis0 layer_normalization_4d_axis2 layer_normalization_4d_axis_negative_3 layer_normalization_default_axis
leakyrelu leakyrelu_default leakyrelu_example less less_bcast log log_example logsoftmax_axis_0 logsoftmax_axis_1
logsoftmax_axis_2 logsoftmax_default_axis logsoftmax_example_1 logsoftmax_large_number logsoftmax_negative_axis matmul_2d
matmul_3d matmul_4d max_example max_float32 max_one_input max_two_inputs maxpool_1d_default maxpool_2d_ceil maxpool_2d_default
maxpool_2d_pads maxpool_2d_precomputed_pads maxpool_2d_precomputed_same_upper maxpool_2d_precomputed_strides maxpool_2d_same_lower
maxpool_2d_same_upper maxpool_2d_strides mean_example mean_one_input mean_two_inputs min_example min_float32 min_one_input
min_two_inputs mul mul_bcast mul_example neg neg_example pow pow_bcast_array pow_bcast_scalar pow_example pow_types_float32_int64
reciprocal reciprocal_example reduce_l2_do_not_keepdims_random reduce_l2_keep_dims_random reduce_max_default_axes_keepdims_random
reduce_max_do_not_keepdims_random reduce_max_negative_axes_keepdims_random reduce_mean_default_axes_keepdims_random
reduce_mean_do_not_keepdims_random reduce_mean_keepdims_random reduce_mean_negative_axes_keepdims_random
reduce_min_do_not_keepdims_random reduce_min_keepdims_random reduce_sum_default_axes_keepdims_random
reduce_sum_do_not_keepdims_random reduce_sum_empty_axes_input_noop_random reduce_sum_keepdims_random
reduce_sum_negative_axes_keepdims_random reduce_sum_square_do_not_keepdims_random reduce_sum_square_keepdims_random
reflect_pad relu reshape_extended_dims reshape_negative_dim reshape_negative_extended_dims
reshape_one_dim reshape_reduced_dims reshape_reordered_all_dims reshape_reordered_last_dims reshape_zero_and_negative_dim
reshape_zero_dim shape shape_clip_end shape_clip_start shape_end_1 shape_end_negative_1 shape_example shape_start_1
shape_start_1_end_2 shape_start_1_end_negative_1 shape_start_negative_1 sigmoid sigmoid_example size size_example slice
slice_default_axes slice_default_steps slice_end_out_of_bounds slice_neg slice_neg_steps slice_negative_axes
slice_start_out_of_bounds softmax_axis_0 softmax_axis_1 softmax_axis_2 softmax_default_axis softmax_example
softmax_large_number softmax_negative_axis split_equal_parts_1d split_equal_parts_2d split_equal_parts_default_axis
split_variable_parts_1d split_variable_parts_2d split_variable_parts_default_axis sqrt sqrt_example squeeze
squeeze_negative_axes sub sub_bcast sub_example sum_example sum_one_input sum_two_inputs tanh tanh_example tile
tile_precomputed transpose_all_permutations_0 transpose_all_permutations_3 transpose_all_permutations_5 transpose_default
unsqueeze_axis_0 unsqueeze_axis_1 unsqueeze_axis_2 unsqueeze_axis_3 unsqueeze_negative_axes unsqueeze_three_axes
unsqueeze_two_axes unsqueeze_unsorted_axes where_example
`.trim().split(/\s+/);

/**
 * Ops whose only node tests here carry an opset below 11 although their
 * definition has not changed since (Elu-6, HardSigmoid-6, GlobalAveragePool-1,
 * GlobalMaxPool-1): the test imports them stamped as opset 11.
 */
const UNCHANGED_SINCE_OLDER_OPSETS = new Set(["Elu", "HardSigmoid", "GlobalAveragePool", "GlobalMaxPool"]);

/** Ops whose float inputs after the first are parameters known when a model is built. */
const STATIC_FLOAT_PARAMETERS = new Set(["Clip", "Pad"]);

const decodeTensor = (bytes: Uint8Array): TensorMessage =>
  onnxTypes.TensorProto.toObject(onnxTypes.TensorProto.decode(bytes), { longs: Number, enums: Number, arrays: true }) as TensorMessage;

function withOpset(bytes: Uint8Array, version: number): Uint8Array {
  const model = onnxTypes.ModelProto.decode(bytes) as unknown as { opsetImport: { domain?: string; version: unknown }[] };
  for (const o of model.opsetImport) if (!o.domain) o.version = version;
  return onnxTypes.ModelProto.encode(model as never).finish();
}

interface NodeCase {
  bytes: Uint8Array;
  inputs: Record<string, HostTensor>;
  outputs: Record<string, HostTensor>;
  /** Graph inputs bound at import. */
  constants: Record<string, HostTensor>;
}

async function loadCase(fs: FileSystem, name: string): Promise<NodeCase> {
  const dir = fs.join(NODE_TESTS, `test_${name}`);
  let bytes = await fs.readFile(fs.join(dir, "model.onnx"));
  const { graph, opset } = decodeModel(bytes);
  if (opset < 11 && UNCHANGED_SINCE_OLDER_OPSETS.has(graph.node?.[0]?.opType ?? "")) bytes = withOpset(bytes, 11);
  const data = fs.join(dir, "test_data_set_0");
  const read = async (prefix: string, names: string[]) => {
    const out: Record<string, HostTensor> = {};
    for (let i = 0; i < names.length; i++) {
      const path = fs.join(data, `${prefix}_${i}.pb`);
      if (!(await fs.stat(path))) continue; // An omitted optional input.
      out[names[i]] = tensorFromProto(decodeTensor(await fs.readFile(path)), `${prefix} ${i} of test_${name}`);
    }
    return out;
  };
  const inputNames = (graph.input ?? []).map((i) => i.name);
  const inputs = await read("input", inputNames);
  const outputs = await read("output", (graph.output ?? []).map((o) => o.name));
  const opType = graph.node?.[0]?.opType ?? "";
  const constants: Record<string, HostTensor> = {};
  inputNames.forEach((n, i) => {
    const t = inputs[n];
    if (t && (t.dtype !== "float32" || (i > 0 && STATIC_FLOAT_PARAMETERS.has(opType)))) constants[n] = t;
  });
  return { bytes, inputs, outputs, constants };
}

let runtime: Promise<Runtime> | undefined;
const cpu = () => (runtime ??= createRuntime({ executionProvider: "cpu", intraOpNumThreads: 1 }));

async function runCase(fs: FileSystem, name: string): Promise<void> {
  const c = await loadCase(fs, name);
  const graph = new Graph();
  // Declared shapes may be symbolic; the test data fixes them.
  const inputShapes = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, v.shape]));
  const model = graph.asDefault(() => importModel(c.bytes, { constantInputs: c.constants, inputShapes }));
  const feeds = Object.fromEntries(Object.entries(c.inputs).filter(([k]) => !(k in c.constants)));
  const fetches = Object.fromEntries(Object.keys(c.outputs).map((k) => [k, model.outputs[k]]));
  const got = await evaluate(fetches, { feeds, runtime: await cpu() });
  for (const [k, want] of Object.entries(c.outputs)) {
    assertEquals(got[k].shape, want.shape, `test_${name}: shape of output ${k}`);
    if (want.dtype === "float32") {
      assertClose(got[k].data as Float32Array, want.data as Float32Array, { rtol: 1e-4, atol: 1e-5, message: `test_${name}: output ${k}` });
    } else {
      assertEquals(Array.from(got[k].data as ArrayLike<number | bigint>, Number), Array.from(want.data as ArrayLike<number | bigint>, Number), `test_${name}: output ${k}`);
    }
  }
}

const fs = await defaultFileSystem();
const available = await fs.stat(NODE_TESTS).catch(() => null);
if (!available) {
  test.skip("importModel() matches ONNX's backend node tests", `${NODE_TESTS} is missing (apt-get install libonnx-testdata)`);
} else {
  // One test per op family keeps the report short; each names the failing case.
  const families = new Map<string, string[]>();
  for (const name of CASES) {
    const family = name.split("_")[0];
    families.set(family, [...(families.get(family) ?? []), name]);
  }
  for (const [family, names] of families) {
    test(`importModel() ${family}: ${names.length} ONNX node test${names.length > 1 ? "s" : ""} match forward`, async () => {
      for (const name of names) await runCase(fs, name);
    });
  }

  test("importModel() names the op type, node and opset of an op it cannot import", async () => {
    const bytes = await fs.readFile(fs.join(NODE_TESTS, "test_einsum_sum", "model.onnx"));
    const graph = new Graph();
    await assertThrows(() => graph.asDefault(() => importModel(bytes)), /no import rule for ONNX op Einsum \(node [^,]+, opset \d+\)/);
  });
}
