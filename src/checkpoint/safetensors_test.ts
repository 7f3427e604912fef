import { assert, assertClose, assertEquals, assertThrows, randomArray, rng, test } from "../../test/harness.ts";
import { hasNodeFs } from "../fs/default.ts";
import { type HostTensor, hostTensor } from "../graph/host_tensor.ts";
import { CheckpointError, encodeSafetensors } from "./safetensors.ts";
import { decodeSafetensors } from "./safetensors_read.ts";

const FILE = "ckpt/test.safetensors";

function randomTensors(seed: number): Map<string, HostTensor> {
  const r = rng(seed);
  const ints = (n: number, span: number) => Array.from({ length: n }, () => Math.floor((r() - 0.5) * span));
  return new Map<string, HostTensor>([
    ["conv1/weights", hostTensor("float32", [3, 2, 2], randomArray(12, seed + 1))],
    ["global_step", hostTensor("int64", [], BigInt64Array.from([BigInt(ints(1, 1e9)[0]) * 4096n + 17n]))],
    ["labels", hostTensor("int64", [5], BigInt64Array.from(ints(5, 2 ** 52), (x) => BigInt(x) * 1024n))],
    ["counts", hostTensor("int32", [2, 3], Int32Array.from(ints(6, 2 ** 32)))],
    ["mask", hostTensor("bool", [7], Uint8Array.from({ length: 7 }, () => r() < 0.5 ? 1 : 0))],
    ["empty", hostTensor("float32", [0, 4], new Float32Array(0))],
    ["bias", hostTensor("float32", [1], randomArray(1, seed + 2))],
  ]);
}

function assertSameTensors(actual: Map<string, HostTensor>, expected: Map<string, HostTensor>): void {
  assertEquals([...actual.keys()], [...expected.keys()].sort());
  for (const [name, e] of expected) {
    const a = actual.get(name)!;
    assertEquals(a.dtype, e.dtype, name);
    assertEquals(a.shape, e.shape, name);
    assert(a.data.constructor === e.data.constructor, `${name}: ${a.data.constructor.name}`);
    assertEquals(a.data, e.data, name);
  }
}

test("encodeSafetensors() round-trips float32, int64, int32 and bool tensors, a scalar and an empty one", () => {
  const tensors = randomTensors(3);
  const metadata = Object.fromEntries([["global_step", "42"], ["note", "ünïcode \"quoted\""], ["__proto__", "y"]]);
  const decoded = decodeSafetensors(encodeSafetensors(tensors, metadata), { file: FILE });
  assertSameTensors(decoded.tensors, tensors);
  assertEquals(decoded.metadata, metadata);
  // A plain record works as input too, and encoding is deterministic.
  const again = encodeSafetensors(Object.fromEntries(tensors), metadata);
  assertEquals(again, encodeSafetensors(tensors, metadata));
});

test("decodeSafetensors() copies data out of a buffer at an unaligned offset", () => {
  const tensors = randomTensors(5);
  const bytes = encodeSafetensors(tensors, {});
  for (const shift of [1, 2, 3]) {
    const host = new Uint8Array(bytes.length + shift);
    host.set(bytes, shift);
    const decoded = decodeSafetensors(host.subarray(shift), { file: FILE });
    assertSameTensors(decoded.tensors, tensors);
    host.fill(0xee);
    // The decoded arrays own their memory, so they do not change with the file buffer.
    assertEquals(decoded.tensors.get("counts")!.data, tensors.get("counts")!.data);
  }
});

test("encodeSafetensors() writes the exact byte layout the spec describes", () => {
  // Given out of order: the spec'd layout sorts by name, so "a" comes first.
  const bytes = encodeSafetensors(
    { b: hostTensor("int32", [], new Int32Array([-7])), a: hostTensor("float32", [2], new Float32Array([1.5, -2])) },
    { k: "v" },
  );
  const json = '{"__metadata__":{"k":"v"},' +
    '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
    '"b":{"dtype":"I32","shape":[],"data_offsets":[8,12]}}';
  const expected = [
    // 132 JSON bytes padded with 4 spaces to 136 = 0x88, as a little-endian u64.
    0x88, 0, 0, 0, 0, 0, 0, 0,
    ...Array.from(json, (c) => c.charCodeAt(0)),
    0x20, 0x20, 0x20, 0x20,
    0x00, 0x00, 0xc0, 0x3f, // 1.5f
    0x00, 0x00, 0x00, 0xc0, // -2.0f
    0xf9, 0xff, 0xff, 0xff, // -7
  ];
  assertEquals(json.length, 132);
  assertEquals(Array.from(bytes), expected);
});

const FIXTURE_TEST = "decodeSafetensors() reads a fixture written by an independent Python script";
if (!hasNodeFs()) test.skip(FIXTURE_TEST, "reading the fixture needs node:fs");
else test(FIXTURE_TEST, async () => {
  const url = new URL("../../fixtures/checkpoint/tiny.safetensors", import.meta.url);
  const path = decodeURIComponent(url.pathname).replace(/^\/([A-Za-z]:)/, "$1");
  // Imported here so the suite still loads where there is no node:fs.
  const fs = new (await import("../fs/node_fs.ts")).NodeFileSystem();
  const { tensors, metadata } = decodeSafetensors(await fs.readFile(path), { file: path });
  assertEquals([...tensors.keys()], ["steps", "weight"]);
  assertEquals(metadata, { writer: "make_safetensors_fixture.py" });
  const steps = tensors.get("steps")!, weight = tensors.get("weight")!;
  assertEquals([steps.dtype, steps.shape], ["int64", [3]]);
  assertEquals(steps.data, BigInt64Array.from([7n, -3n, 5000000000n]));
  assertEquals([weight.dtype, weight.shape], ["float32", [2, 2]]);
  assertClose(weight.data as Float32Array, [0.5, -1.25, 3.0, 1024.0625], { rtol: 0, atol: 0 });
});

test("decodeSafetensors() throws CheckpointError for every truncation of a file", () => {
  const bytes = encodeSafetensors(
    { w: hostTensor("float32", [3], randomArray(3, 9)), n: hostTensor("int64", [1], BigInt64Array.from([5n])) },
    { global_step: "3" },
  );
  for (let len = 0; len < bytes.length; len++) {
    let err: unknown;
    try {
      decodeSafetensors(bytes.slice(0, len), { file: FILE });
    } catch (e) {
      err = e;
    }
    assert(err instanceof CheckpointError, `truncated to ${len} bytes: ${err === undefined ? "decoded" : String(err)}`);
    assert(err.message.includes(FILE) && err.file === FILE, err.message);
  }
});

test("decodeSafetensors() never throws anything but CheckpointError for a flipped header bit", async () => {
  const bytes = encodeSafetensors({ w: hostTensor("float32", [2, 2], randomArray(4, 4)) }, { k: "v" });
  const headerEnd = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
  let rejected = 0;
  for (let bit = 0; bit < headerEnd * 8; bit++) {
    const damaged = bytes.slice();
    damaged[bit >> 3] ^= 1 << (bit & 7);
    try {
      decodeSafetensors(damaged, { file: FILE });
    } catch (err) {
      assert(err instanceof CheckpointError, `bit ${bit}: ${String(err)}`);
      rejected++;
    }
  }
  // Only flips inside string values (such as "v") can leave a valid header.
  assert(rejected > headerEnd * 8 * 0.9, `only ${rejected} of ${headerEnd * 8} flips rejected`);
  const damaged = bytes.slice();
  damaged[8] ^= 0x01; // "{" becomes "z"
  await assertThrows(
    () => decodeSafetensors(damaged, { file: FILE }),
    /^Checkpoint ckpt\/test\.safetensors, byte offset 8: header does not start/,
  );
});

test("decodeSafetensors() names the tensor and byte offset of inconsistent data_offsets", async () => {
  const put = (header: string, dataLen: number): Uint8Array => {
    const json = new TextEncoder().encode(header);
    const out = new Uint8Array(8 + json.length + dataLen);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    return out;
  };
  const cases: [string, number, RegExp, string | undefined, number][] = [
    ['{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[3],"data_offsets":[8,16]}}', 16, /"b".*holds? 8 bytes but shape \[3\] float32 needs 12/, "b", 8],
    ['{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8, /"b".*overlap/, "b", 4],
    ['{"a":{"dtype":"I32","shape":[1],"data_offsets":[4,8]}}', 8, /"a".*leave bytes 0\.\.4 unused/, "a", 4],
    ['{"a":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}', 12, /"a".*run past the end/, "a", 0],
    ['{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}', 4, /"a".*unsupported dtype "F16"/, "a", -1],
    ['{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', 4, /"a".*shape \[-1\]/, "a", -1],
    ['{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 6, /2 bytes after the last tensor/, undefined, 4],
    ['{"a":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}', 2, /"a".*bool element 0 has byte value 2/, "a", 0],
    ['{"__metadata__":{"k":1}}', 0, /__metadata__ value "k" is not a string/, undefined, -1],
    ['{"a":[1]}', 0, /"a".*header entry is not an object/, "a", -1],
    ['{"a":{"dtype":"F32"', 0, /header is not valid UTF-8 JSON/, undefined, -1],
  ];
  for (const [header, dataLen, pattern, tensor, dataOffset] of cases) {
    const bytes = put(header, dataLen);
    // The bool case needs a byte other than 0/1; everything else is happy with zeros.
    if (header.includes("BOOL")) bytes.fill(2, bytes.length - 2);
    const err = await assertThrows(() => decodeSafetensors(bytes, { file: FILE }), pattern) as CheckpointError;
    assert(err instanceof CheckpointError, header);
    assert(err.message.startsWith(`Checkpoint ${FILE}`), err.message);
    assertEquals(err.tensor, tensor, header);
    const dataStart = 8 + new TextEncoder().encode(header).length;
    if (dataOffset >= 0) {
      assertEquals(err.offset, dataStart + dataOffset, header);
      assert(err.message.includes(`byte offset ${dataStart + dataOffset}`), err.message);
    }
  }
});

test("encodeSafetensors() refuses data that does not match its dtype or shape", async () => {
  const w = randomArray(4, 1);
  await assertThrows(() => encodeSafetensors({ w: { dtype: "int32", shape: [4], data: w } }, {}), /"w" has dtype int32 but its data is not a Int32Array/);
  await assertThrows(() => encodeSafetensors({ w: { dtype: "float32", shape: [5], data: w } }, {}), /"w" has 4 values for shape \[5\]/);
  await assertThrows(() => encodeSafetensors({ __metadata__: hostTensor("float32", [4], w) }, {}), /reserved name/);
});
