#!/usr/bin/python3
"""Validates ONNX models with onnx's own checker, independently of slimtrain.

Usage: /usr/bin/python3 scripts/check_onnx.py MODEL.onnx [MORE.onnx ...]

Runs onnx.checker.check_model(path, full_check=True) on each file: the structural
check plus strict shape and type inference, so a node whose declared attributes,
input types or shapes disagree with the ONNX spec for the model's opset fails here
even if ONNX Runtime happens to accept it. Needs Debian's python3-onnx (1.12).
Exits 1 if any model fails, naming the file and the checker's message.
"""
import collections
import sys

import onnx


def check(path):
    onnx.checker.check_model(path, full_check=True)
    model = onnx.load(path)
    ops = collections.Counter(node.op_type for node in model.graph.node)
    opsets = ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in model.opset_import)
    summary = ", ".join(f"{op} {n}" for op, n in sorted(ops.items()))
    print(f"ok {path}: IR {model.ir_version}, opset {opsets}, {len(model.graph.node)} nodes ({summary})")


def main(paths):
    if not paths:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    failed = 0
    for path in paths:
        try:
            check(path)
        except Exception as err:  # the checker raises several exception types
            failed += 1
            print(f"FAIL {path}: {type(err).__name__}: {err}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
