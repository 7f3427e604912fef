"""Writes the TensorFlow checkpoint fixtures in fixtures/tf_checkpoints/ with nothing
but the standard library (no TensorFlow), so the TypeScript readers are checked
against bytes they did not produce.

Built from the published descriptions of the formats:
- the sorted table (LevelDB's table format, which TensorFlow's core/lib/io uses):
  data blocks of prefix-compressed entries with restart points, an index block of
  block handles, an empty metaindex block, a 48-byte footer with the magic number,
  and a 5-byte trailer after every block (compression type, masked CRC32C);
- V2 (tensor bundle): `<prefix>.index` holds a BundleHeaderProto under the empty
  key and a BundleEntryProto per tensor; the bytes are in
  `<prefix>.data-NNNNN-of-NNNNN`, each tensor checked by a masked CRC32C; a
  partitioned variable's entry lists its slices, each stored as a tensor under
  the ordered code of its name and extents;
- V1 (tensor slices): one table whose empty key holds a SavedTensorSlices with
  the table of contents and whose other entries hold one SavedSlice each, keyed
  by TensorFlow's ordered code of the name and slice.

Deliberate differences from TensorFlow's writer, to exercise the reader: a small
block size and restart interval (many blocks, many restart points), one index
written Snappy-compressed (as TensorFlow 1.0 could), padding between tensors in
a data shard, a float64, a float16, a bool and a string tensor, and one tensor
saved as two slices.

The values written are recorded in fixtures/tf_checkpoints/expected.json.

Usage: python3 scripts/make_tf_checkpoint_fixtures.py
"""
import json
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "tf_checkpoints")

# ---------------------------------------------------------------- CRC32C


def _crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC_TABLE = _crc_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def mask(crc):
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283

# ---------------------------------------------------------------- protobuf wire format


def varint(n):
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_varint(num, value):
    return varint(num << 3) + varint(value)


def field_bytes(num, data):
    return varint((num << 3) | 2) + varint(len(data)) + data


def field_fixed32(num, value):
    return varint((num << 3) | 5) + struct.pack("<I", value)


def shape_proto(shape):
    # TensorShapeProto: repeated Dim dim = 2 { int64 size = 1 }
    return b"".join(field_bytes(2, field_varint(1, d) if d else b"") for d in shape)


def slice_proto(extents):
    # TensorSliceProto: repeated Extent extent = 1 { int64 start = 1; int64 length = 2 }; None = whole dimension
    out = b""
    for e in extents:
        body = b"" if e is None else field_varint(1, e[0]) + field_varint(2, e[1])
        out += field_bytes(1, body)
    return out


# DataType enum values (types.proto)
DT = {"float": 1, "double": 2, "int32": 3, "string": 7, "int64": 9, "bool": 10, "half": 19}
PACK = {"float": "<f", "double": "<d", "int32": "<i", "int64": "<q", "bool": "<?", "half": "<e"}

# ---------------------------------------------------------------- snappy (raw block format)


def snappy_compress(data):
    """Greedy compressor: literals and 2-byte-offset copies of repeated 4-byte runs."""
    out = bytearray(varint(len(data)))
    i, lit_start, seen = 0, 0, {}

    def literal(chunk):
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        elif n < 256:
            out.extend([60 << 2, n])
        else:
            out.extend([61 << 2, n & 0xFF, n >> 8])
        out.extend(chunk)

    while i + 4 <= len(data):
        key = bytes(data[i:i + 4])
        j = seen.get(key)
        seen[key] = i
        if j is not None and 0 < i - j < 65536:
            length = 4
            while i + length < len(data) and data[j + length] == data[i + length] and length < 64:
                length += 1
            if lit_start < i:
                literal(data[lit_start:i])
            out.append(((length - 1) << 2) | 2)
            out.extend(struct.pack("<H", i - j))
            i += length
            lit_start = i
        else:
            i += 1
    if lit_start < len(data):
        literal(data[lit_start:])
    return bytes(out)


# ---------------------------------------------------------------- sorted table


class TableWriter:
    def __init__(self, block_size=200, restart_interval=3, compress=False):
        self.block_size = block_size
        self.restart_interval = restart_interval
        self.compress = compress
        self.out = bytearray()
        self.index = []  # (last key, handle)
        self.entries = []

    def add(self, key, value):
        self.entries.append((key, value))

    def _block(self, entries, restart_interval):
        body, restarts, prev = bytearray(), [], b""
        for n, (key, value) in enumerate(entries):
            shared = 0
            if n % restart_interval == 0:
                restarts.append(len(body))
            else:
                while shared < min(len(prev), len(key)) and prev[shared] == key[shared]:
                    shared += 1
            body += varint(shared) + varint(len(key) - shared) + varint(len(value)) + key[shared:] + value
            prev = key
        if not restarts:
            restarts = [0]
        body += b"".join(struct.pack("<I", r) for r in restarts) + struct.pack("<I", len(restarts))
        return bytes(body)

    def _write_block(self, contents):
        kind = 0
        if self.compress:
            packed = snappy_compress(contents)
            if len(packed) < len(contents):
                contents, kind = packed, 1
        handle = (len(self.out), len(contents))
        self.out += contents + bytes([kind])
        self.out += struct.pack("<I", mask(crc32c(contents + bytes([kind]))))
        return handle

    def finish(self):
        self.entries.sort(key=lambda kv: kv[0])
        block, size = [], 0
        for key, value in self.entries:
            block.append((key, value))
            size += len(key) + len(value) + 3
            if size >= self.block_size:
                self.index.append((key, self._write_block(self._block(block, self.restart_interval))))
                block, size = [], 0
        if block:
            self.index.append((block[-1][0], self._write_block(self._block(block, self.restart_interval))))
        meta = self._write_block(self._block([], 1))
        index_entries = [(k, varint(h[0]) + varint(h[1])) for k, h in self.index]
        index = self._write_block(self._block(index_entries, 1))
        footer = varint(meta[0]) + varint(meta[1]) + varint(index[0]) + varint(index[1])
        footer += b"\0" * (40 - len(footer))
        footer += struct.pack("<Q", 0xDB4775248B80FB57)
        self.out += footer
        return bytes(self.out)


# ---------------------------------------------------------------- values


def draw(rng, dtype, n):
    if dtype in ("float", "half"):
        # Multiples of 1/64 in [-8, 8): exact in float32 and float16.
        return [rng.randrange(-512, 512) / 64 for _ in range(n)]
    if dtype == "double":
        return [rng.uniform(-1, 1) for _ in range(n)]
    if dtype == "int32":
        return [rng.randrange(-2**31, 2**31) for _ in range(n)]
    if dtype == "int64":
        return [rng.randrange(-2**62, 2**62) for _ in range(n)]
    if dtype == "bool":
        return [rng.random() < 0.5 for _ in range(n)]
    if dtype == "string":
        return ["s%d" % rng.randrange(1000) for _ in range(n)]
    raise ValueError(dtype)


def count(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def raw_bytes(dtype, values):
    return b"".join(struct.pack(PACK[dtype], v) for v in values)


def string_tensor_bytes(values):
    """V2 string layout: varint64 lengths, masked CRC of the lengths (as uint32), the bytes."""
    data = [v.encode() for v in values]
    lengths = b"".join(varint(len(d)) for d in data)
    crc_lengths = crc32c(b"".join(struct.pack("<I", len(d)) for d in data))
    length_check = struct.pack("<I", mask(crc_lengths))
    body = lengths + length_check + b"".join(data)
    crc = crc32c(b"".join(struct.pack("<I", len(d)) for d in data) + length_check + b"".join(data))
    return body, crc


def expected_entry(dtype, shape, values):
    return {"dtype": dtype, "shape": shape, "values": [v if dtype != "int64" else str(v) for v in values]}


# ---------------------------------------------------------------- V2


def sub_block(shape, values, extents):
    """The row-major values of the block `extents` ((start, length) or None per dimension)."""
    spans = [range(d) if e is None else range(e[0], e[0] + e[1]) for d, e in zip(shape, extents)]
    strides = [count(shape[i + 1:]) for i in range(len(shape))]
    out = []

    def walk(dim, base):
        if dim == len(shape):
            out.append(values[base])
            return
        for i in spans[dim]:
            walk(dim + 1, base + i * strides[dim])

    walk(0, 0)
    return out


def write_v2(prefix, tensors, num_shards=1, shard_of=lambda name: 0, align=1, compress=False, partitioned=None):
    """`partitioned[name]` lists the extents of the slices a partitioned variable is saved as."""
    shards = [bytearray() for _ in range(num_shards)]
    index = TableWriter(compress=compress)
    header = field_varint(1, num_shards) + field_bytes(3, field_varint(1, 1))  # num_shards, version{producer: 1}
    index.add(b"", header)
    placed = {}
    stored = {}
    for name, (dtype, shape, values) in tensors.items():
        parts = (partitioned or {}).get(name)
        if not parts:
            stored[name] = (name.encode(), dtype, shape, values)
            continue
        # The full tensor's entry has dtype, shape and the slice list; each slice is stored as a tensor.
        full = field_varint(1, DT[dtype]) + field_bytes(2, shape_proto(shape))
        for extents in parts:
            full += field_bytes(7, slice_proto(extents))
            part_shape = [d if e is None else e[1] for d, e in zip(shape, extents)]
            stored["%s/slice%s" % (name, extents)] = (slice_key(name, extents), dtype, part_shape, sub_block(shape, values, extents))
        index.add(name.encode(), full)
    for name, (key, dtype, shape, values) in stored.items():
        shard = shard_of(name)
        data = shards[shard]
        if dtype == "string":
            body, crc = string_tensor_bytes(values)
        else:
            body = raw_bytes(dtype, values)
            crc = crc32c(body)
        offset = len(data)
        placed[name] = (shard, offset)
        data += body
        data += b"\0" * (-len(data) % align)
        entry = field_varint(1, DT[dtype]) + field_bytes(2, shape_proto(shape))
        if shard:
            entry += field_varint(3, shard)
        if offset:
            entry += field_varint(4, offset)
        entry += field_varint(5, len(body)) + field_fixed32(6, mask(crc))
        index.add(key, entry)
    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    with open(prefix + ".index", "wb") as f:
        f.write(index.finish())
    for i, data in enumerate(shards):
        with open("%s.data-%05d-of-%05d" % (prefix, i, num_shards), "wb") as f:
            f.write(data)
    return placed


def flip_byte(src, dst, offset):
    with open(src, "rb") as f:
        data = bytearray(f.read())
    data[offset] ^= 0x40
    with open(dst, "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- V1


def num_increasing(n):
    """Ordered code of a non-negative integer: a length byte, then big-endian bytes."""
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return bytes([len(body)]) + body


def string_increasing(s):
    return s.replace(b"\xff", b"\xff\x00").replace(b"\x00", b"\x00\xff") + b"\x00\x01"


# Leading header bits of the first two bytes, per encoded length (1 to 10 bytes).
SIGNED_HEADER = [(0, 0), (0x80, 0), (0xC0, 0), (0xE0, 0), (0xF0, 0), (0xF8, 0), (0xFC, 0), (0xFE, 0), (0xFF, 0),
                 (0xFF, 0x80), (0xFF, 0xC0)]


def signed_increasing(n):
    """Ordered code of a signed integer: n bytes carry 7n - 1 bits of magnitude and the length in the leading bits."""
    magnitude = ~n if n < 0 else n
    length = 1
    while magnitude >= 1 << (7 * length - 1):
        length += 1
    length = min(length, 10)
    body = bytearray((n & ((1 << (8 * length)) - 1)).to_bytes(length, "big"))
    body[0] ^= SIGNED_HEADER[length][0]
    if length > 1:
        body[1] ^= SIGNED_HEADER[length][1]
    return bytes(body)


assert signed_increasing(0) == b"\x80" and signed_increasing(-1) == b"\x7f" and signed_increasing(64) == b"\xc0\x40"


def slice_key(name, extents):
    key = num_increasing(0) + string_increasing(name.encode()) + num_increasing(len(extents))
    for e in extents:
        start, length = (0, -1) if e is None else e
        key += signed_increasing(start) + signed_increasing(length)
    return key


def tensor_proto(dtype, values):
    # TensorProto: the values only, in the typed repeated field (packed), as V1 writers store them.
    field = {"float": 5, "double": 6, "int32": 7, "string": 8, "int64": 10, "bool": 11, "half": 13}[dtype]
    if dtype == "string":
        return b"".join(field_bytes(8, v.encode()) for v in values)
    if dtype == "float":
        body = raw_bytes("float", values)
    elif dtype == "double":
        body = raw_bytes("double", values)
    elif dtype == "half":
        body = b"".join(varint(struct.unpack("<H", struct.pack("<e", v))[0]) for v in values)
    else:
        body = b"".join(varint(int(v)) for v in values)
    return field_bytes(field, body)


def write_v1(path, tensors, slices):
    """`slices[name]` is a list of (extents, values) for tensors saved in parts."""
    table = TableWriter(block_size=256, restart_interval=2)
    meta = b""
    for name, (dtype, shape, values) in tensors.items():
        parts = slices.get(name, [([None] * len(shape), values)])
        body = field_bytes(1, name.encode()) + field_bytes(2, shape_proto(shape)) + field_varint(3, DT[dtype])
        for extents, part in parts:
            body += field_bytes(4, slice_proto(extents))
            saved = field_bytes(1, name.encode()) + field_bytes(2, slice_proto(extents)) + field_bytes(3, tensor_proto(dtype, part))
            table.add(slice_key(name, extents), field_bytes(2, saved))
        meta += field_bytes(1, body)
    meta += field_bytes(2, field_varint(1, 24))  # versions{producer: 24}
    table.add(b"", field_bytes(1, meta))
    with open(path, "wb") as f:
        f.write(table.finish())


# ---------------------------------------------------------------- the fixtures


def main():
    rng = random.Random(20261202)
    expected = {}

    def make(spec):
        out = {}
        for name, (dtype, shape) in spec.items():
            out[name] = (dtype, shape, draw(rng, dtype, count(shape)))
        return out

    # slim's vgg_16 names, with a tiny channel count and a 5-class fc8.
    vgg = {
        "vgg_16/conv1/conv1_1/weights": ("float", [3, 3, 3, 4]),
        "vgg_16/conv1/conv1_1/biases": ("float", [4]),
        "vgg_16/conv1/conv1_2/weights": ("float", [3, 3, 4, 4]),
        "vgg_16/conv1/conv1_2/biases": ("float", [4]),
        "vgg_16/fc8/weights": ("float", [1, 1, 4, 5]),
        "vgg_16/fc8/biases": ("float", [5]),
        "global_step": ("int64", []),
    }
    extra = {
        "extra/moving_variance_f64": ("double", [3]),
        "extra/counts": ("int32", [2, 3]),
        "extra/mask": ("bool", [5]),
        "extra/half": ("half", [4]),
        "extra/labels": ("string", [2]),
        "extra/empty": ("float", [0, 3]),
    }

    v2 = make({**vgg, **extra, "vgg_16/fc7/weights": ("float", [1, 1, 4, 6])})
    # fc7 as a partitioned variable: three slices of its output dimension, one of them past the one-byte code.
    placed = write_v2(os.path.join(OUT, "v2", "model.ckpt-12"), v2,
                      partitioned={"vgg_16/fc7/weights": [[None, None, None, (0, 2)], [None, None, None, (2, 1)],
                                                          [None, None, (0, 4), (3, 3)]]})
    expected["v2/model.ckpt-12"] = {k: expected_entry(*v) for k, v in v2.items()}

    sharded = make({"net/a/weights": ("float", [2, 3]), "net/b/weights": ("float", [4]), "net/steps": ("int64", [3]),
                    "net/c/biases": ("float", [2]), "net/part/weights": ("float", [70, 2])})
    # A partitioned variable with one slice in each shard; starts of 64 and more take two-byte codes.
    write_v2(os.path.join(OUT, "v2_sharded", "model.ckpt"), sharded, num_shards=2,
             shard_of=lambda name: 1 if name in ("net/b/weights", "net/steps") or "(66" in name else 0, align=16,
             partitioned={"net/part/weights": [[(0, 66), None], [(66, 4), None]]})
    expected["v2_sharded/model.ckpt"] = {k: expected_entry(*v) for k, v in sharded.items()}

    snappy = make({"repeat/%02d/weights" % i: ("float", [2]) for i in range(12)})
    write_v2(os.path.join(OUT, "v2_snappy", "model.ckpt"), snappy, compress=True)
    expected["v2_snappy/model.ckpt"] = {k: expected_entry(*v) for k, v in snappy.items()}

    v1 = make({**vgg, **extra})
    # fc8's weights as two slices along the output dimension, the way a partitioned variable is saved.
    fc8 = v1["vgg_16/fc8/weights"][2]
    rows = [fc8[i * 5:(i + 1) * 5] for i in range(4)]
    parts = [([None, None, None, (0, 2)], [v for r in rows for v in r[0:2]]),
             ([None, None, None, (2, 3)], [v for r in rows for v in r[2:5]])]
    write_v1(os.path.join(OUT, "vgg_16.ckpt"), v1, {"vgg_16/fc8/weights": parts})
    expected["vgg_16.ckpt"] = {k: expected_entry(*v) for k, v in v1.items()}

    # A V1 checkpoint saved in two files, each with its own table of contents.
    v1_sharded = make({"net/a/weights": ("float", [2, 3]), "net/steps": ("int64", [2]), "net/b/biases": ("float", [3])})
    os.makedirs(os.path.join(OUT, "v1_sharded"), exist_ok=True)
    write_v1(os.path.join(OUT, "v1_sharded", "model.ckpt-00000-of-00002"), {"net/a/weights": v1_sharded["net/a/weights"]}, {})
    write_v1(os.path.join(OUT, "v1_sharded", "model.ckpt-00001-of-00002"),
             {k: v for k, v in v1_sharded.items() if k != "net/a/weights"}, {})
    expected["v1_sharded/model.ckpt"] = {k: expected_entry(*v) for k, v in v1_sharded.items()}

    # Damaged copies: one data byte of a tensor (caught by the tensor's CRC32C), one byte
    # of the V1 file's first data block (caught by the block's CRC32C).
    victim = "vgg_16/conv1/conv1_1/biases"
    os.makedirs(os.path.join(OUT, "v2_corrupt"), exist_ok=True)
    src = os.path.join(OUT, "v2", "model.ckpt-12")
    dst = os.path.join(OUT, "v2_corrupt", "model.ckpt-12")
    with open(src + ".index", "rb") as f, open(dst + ".index", "wb") as g:
        g.write(f.read())
    flip_byte(src + ".data-00000-of-00001", dst + ".data-00000-of-00001", placed[victim][1] + 1)
    flip_byte(os.path.join(OUT, "vgg_16.ckpt"), os.path.join(OUT, "vgg_16_corrupt_block.ckpt"), 20)
    expected["corrupt"] = {
        "v2_corrupt/model.ckpt-12": {"tensor": victim, "file": "model.ckpt-12.data-00000-of-00001", "offset": placed[victim][1]},
        "vgg_16_corrupt_block.ckpt": {"block_offset": 0},
    }

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
