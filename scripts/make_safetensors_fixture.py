"""Writes fixtures/checkpoint/tiny.safetensors with nothing but the standard library.

An independent writer for the safetensors format, so the TypeScript decoder is
checked against bytes it did not produce. The layout deliberately differs from
slimtrain's own encoder: Python's default JSON separators (with spaces), the
int64 tensor placed first and the header keys unsorted.

Usage: python3 scripts/make_safetensors_fixture.py
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "checkpoint", "tiny.safetensors")

# Values checked by src/checkpoint/safetensors_test.ts; all exactly representable.
STEPS = [7, -3, 5000000000]
WEIGHT = [0.5, -1.25, 3.0, 1024.0625]


def main():
    steps = struct.pack("<3q", *STEPS)
    weight = struct.pack("<4f", *WEIGHT)
    header = {
        "weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [len(steps), len(steps) + len(weight)]},
        "__metadata__": {"writer": "make_safetensors_fixture.py"},
        "steps": {"dtype": "I64", "shape": [3], "data_offsets": [0, len(steps)]},
    }
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(OUT, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        f.write(steps)
        f.write(weight)


if __name__ == "__main__":
    main()
