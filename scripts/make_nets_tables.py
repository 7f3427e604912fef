"""Writes fixtures/nets/<net>.json: the variables (name, shape, trainable) that
TF-Slim's nets create, laid out here a second time, independently of
src/nets, from the architecture facts of slim's definitions
(research/slim/nets/*.py: scopes, kernel sizes, depths, which convolutions carry
batch norm and which carry biases, batch norm's center/scale settings in each
net's arg scope). src/nets/*_test.ts build each net and compare.

Also records torchvision's trainable parameter counts where the architecture is
the same (resnet50 for resnet_v1_50, mobilenet_v2), so the tests can hold the
counts to an outside number.

Usage: /usr/bin/python3 scripts/make_nets_tables.py
"""
import json
import math
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "nets")


class Table:
    """Variables in creation order; conv() and bn() follow slim's layer functions."""

    def __init__(self):
        self.rows = []

    def var(self, name, shape, trainable=True):
        self.rows.append([name, list(shape), trainable])

    def bn(self, scope, depth, center=True, scale=False):
        """A batch_norm in `scope`: a conv's normalizer sits in <conv>/BatchNorm, a
        standalone one (resnet v2's preact, postnorm) directly in its own scope."""
        # slim's batch_norm creates beta, gamma, then the moving statistics.
        if center:
            self.var(f"{scope}/beta", [depth])
        if scale:
            self.var(f"{scope}/gamma", [depth])
        self.var(f"{scope}/moving_mean", [depth], False)
        self.var(f"{scope}/moving_variance", [depth], False)

    def conv(self, scope, k, cin, cout, bn=None):
        """bn: None for biases, else a dict of batch_norm's center/scale."""
        kh, kw = (k, k) if isinstance(k, int) else k
        self.var(f"{scope}/weights", [kh, kw, cin, cout])
        if bn is None:
            self.var(f"{scope}/biases", [cout])
        else:
            self.bn(f"{scope}/BatchNorm", cout, **bn)

    def depthwise(self, scope, k, cin, bn, multiplier=1):
        self.var(f"{scope}/depthwise_weights", [k, k, cin, multiplier])
        self.bn(f"{scope}/BatchNorm", cin * multiplier, **bn)

    def fc(self, scope, cin, cout):
        self.var(f"{scope}/weights", [cin, cout])
        self.var(f"{scope}/biases", [cout])


# resnet_arg_scope: batch norm with scale; inception_arg_scope: without.
RESNET_BN = {"center": True, "scale": True}
INCEPTION_BN = {"center": True, "scale": False}
MOBILENET_BN = {"center": True, "scale": True}

RESNET_UNITS = {"50": [3, 4, 6, 3], "101": [3, 4, 23, 3], "152": [3, 8, 36, 3]}


def resnet(version, depth, classes):
    t = Table()
    s = f"resnet_{version}_{depth}"
    # v2's conv1 has neither normalizer nor activation, so it gets biases.
    t.conv(f"{s}/conv1", 7, 3, 64, RESNET_BN if version == "v1" else None)
    depth_in = 64
    for b, (base, units) in enumerate(zip([64, 128, 256, 512], RESNET_UNITS[depth])):
        for u in range(units):
            p = f"{s}/block{b + 1}/unit_{u + 1}/bottleneck_{version}"
            out = base * 4
            if version == "v1":
                if out != depth_in:
                    t.conv(f"{p}/shortcut", 1, depth_in, out, RESNET_BN)
                t.conv(f"{p}/conv1", 1, depth_in, base, RESNET_BN)
                t.conv(f"{p}/conv2", 3, base, base, RESNET_BN)
                t.conv(f"{p}/conv3", 1, base, out, RESNET_BN)
            else:
                t.bn(f"{p}/preact", depth_in, **RESNET_BN)
                if out != depth_in:
                    t.conv(f"{p}/shortcut", 1, depth_in, out)
                t.conv(f"{p}/conv1", 1, depth_in, base, RESNET_BN)
                t.conv(f"{p}/conv2", 3, base, base, RESNET_BN)
                t.conv(f"{p}/conv3", 1, base, out)
            depth_in = out
    if version == "v2":
        t.bn(f"{s}/postnorm", depth_in, **RESNET_BN)
    t.conv(f"{s}/logits", 1, depth_in, classes)
    return t


MOBILENET_V1_DEPTHS = [(2, 32), (1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512)] + [(1, 512)] * 5 + [(2, 1024), (1, 1024)]


def mobilenet_v1(multiplier, classes, min_depth=8):
    t = Table()
    depth = lambda d: max(int(d * multiplier), min_depth)
    s = "MobilenetV1"
    cin = depth(32)
    t.conv(f"{s}/Conv2d_0", 3, 3, cin, MOBILENET_BN)
    for i, (_stride, d) in enumerate(MOBILENET_V1_DEPTHS[1:], start=1):
        t.depthwise(f"{s}/Conv2d_{i}_depthwise", 3, cin, MOBILENET_BN)
        t.conv(f"{s}/Conv2d_{i}_pointwise", 1, cin, depth(d), MOBILENET_BN)
        cin = depth(d)
    t.conv(f"{s}/Logits/Conv2d_1c_1x1", 1, cin, classes)
    return t


def make_divisible(v, divisor, min_value=None):
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


# (stride, outputs) of the expanded_conv layers after the first one.
MOBILENET_V2_BLOCKS = [(2, 24), (1, 24), (2, 32), (1, 32), (1, 32), (2, 64), (1, 64), (1, 64), (1, 64),
                       (1, 96), (1, 96), (1, 96), (2, 160), (1, 160), (1, 160), (1, 320)]


def mobilenet_v2(multiplier, classes):
    t = Table()
    s = "MobilenetV2"
    m = lambda d: make_divisible(d * multiplier, 8, 8)
    cin = m(32)
    t.conv(f"{s}/Conv", 3, 3, cin, MOBILENET_BN)
    # The first block expands by 1 (divisible by 1): no expansion convolution.
    t.depthwise(f"{s}/expanded_conv/depthwise", 3, cin, MOBILENET_BN)
    t.conv(f"{s}/expanded_conv/project", 1, cin, m(16), MOBILENET_BN)
    cin = m(16)
    for i, (_stride, d) in enumerate(MOBILENET_V2_BLOCKS, start=1):
        p = f"{s}/expanded_conv_{i}"
        inner = make_divisible(cin * 6, 8)
        t.conv(f"{p}/expand", 1, cin, inner, MOBILENET_BN)
        t.depthwise(f"{p}/depthwise", 3, inner, MOBILENET_BN)
        t.conv(f"{p}/project", 1, inner, m(d), MOBILENET_BN)
        cin = m(d)
    t.conv(f"{s}/Conv_1", 1, cin, m(1280), MOBILENET_BN)
    t.conv(f"{s}/Logits/Conv2d_1c_1x1", 1, m(1280), classes)
    return t


# Mixed blocks of inception_v1: b0 1x1; b1 1x1 -> 3x3; b2 1x1 -> 3x3; b3 pool -> 1x1.
INCEPTION_V1_MIXED = [
    ("Mixed_3b", [64, 96, 128, 16, 32, 32]), ("Mixed_3c", [128, 128, 192, 32, 96, 64]),
    ("Mixed_4b", [192, 96, 208, 16, 48, 64]), ("Mixed_4c", [160, 112, 224, 24, 64, 64]),
    ("Mixed_4d", [128, 128, 256, 24, 64, 64]), ("Mixed_4e", [112, 144, 288, 32, 64, 64]),
    ("Mixed_4f", [256, 160, 320, 32, 128, 128]), ("Mixed_5b", [256, 160, 320, 32, 128, 128]),
    ("Mixed_5c", [384, 192, 384, 48, 128, 128]),
]


def inception_v1(classes):
    t = Table()
    s = "InceptionV1"
    bn = INCEPTION_BN
    t.conv(f"{s}/Conv2d_1a_7x7", 7, 3, 64, bn)
    t.conv(f"{s}/Conv2d_2b_1x1", 1, 64, 64, bn)
    t.conv(f"{s}/Conv2d_2c_3x3", 3, 64, 192, bn)
    cin = 192
    for name, (a, b1, b2, c1, c2, d) in INCEPTION_V1_MIXED:
        p = f"{s}/{name}"
        t.conv(f"{p}/Branch_0/Conv2d_0a_1x1", 1, cin, a, bn)
        t.conv(f"{p}/Branch_1/Conv2d_0a_1x1", 1, cin, b1, bn)
        t.conv(f"{p}/Branch_1/Conv2d_0b_3x3", 3, b1, b2, bn)
        t.conv(f"{p}/Branch_2/Conv2d_0a_1x1", 1, cin, c1, bn)
        # slim names Mixed_5b's second branch-2 convolution Conv2d_0a_3x3.
        t.conv(f"{p}/Branch_2/Conv2d_0{'a' if name == 'Mixed_5b' else 'b'}_3x3", 3, c1, c2, bn)
        t.conv(f"{p}/Branch_3/Conv2d_0b_1x1", 1, cin, d, bn)
        cin = a + b2 + c2 + d
    t.conv(f"{s}/Logits/Conv2d_0c_1x1", 1, cin, classes)
    return t


def inception_v3(classes):
    t = Table()
    s = "InceptionV3"
    bn = INCEPTION_BN
    c = lambda scope, k, cin, cout: t.conv(f"{s}/{scope}", k, cin, cout, bn)
    c("Conv2d_1a_3x3", 3, 3, 32)
    c("Conv2d_2a_3x3", 3, 32, 32)
    c("Conv2d_2b_3x3", 3, 32, 64)
    c("Conv2d_3b_1x1", 1, 64, 80)
    c("Conv2d_4a_3x3", 3, 80, 192)
    cin = 192
    for name, pool in [("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64)]:
        b1a, b1b = ("Conv2d_0b_1x1", "Conv_1_0c_5x5") if name == "Mixed_5c" else ("Conv2d_0a_1x1", "Conv2d_0b_5x5")
        c(f"{name}/Branch_0/Conv2d_0a_1x1", 1, cin, 64)
        c(f"{name}/Branch_1/{b1a}", 1, cin, 48)
        c(f"{name}/Branch_1/{b1b}", 5, 48, 64)
        c(f"{name}/Branch_2/Conv2d_0a_1x1", 1, cin, 64)
        c(f"{name}/Branch_2/Conv2d_0b_3x3", 3, 64, 96)
        c(f"{name}/Branch_2/Conv2d_0c_3x3", 3, 96, 96)
        c(f"{name}/Branch_3/Conv2d_0b_1x1", 1, cin, pool)
        cin = 64 + 64 + 96 + pool
    c("Mixed_6a/Branch_0/Conv2d_1a_1x1", 3, cin, 384)
    c("Mixed_6a/Branch_1/Conv2d_0a_1x1", 1, cin, 64)
    c("Mixed_6a/Branch_1/Conv2d_0b_3x3", 3, 64, 96)
    c("Mixed_6a/Branch_1/Conv2d_1a_1x1", 3, 96, 96)
    cin = 384 + 96 + cin
    for name, w in [("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)]:
        c(f"{name}/Branch_0/Conv2d_0a_1x1", 1, cin, 192)
        c(f"{name}/Branch_1/Conv2d_0a_1x1", 1, cin, w)
        c(f"{name}/Branch_1/Conv2d_0b_1x7", [1, 7], w, w)
        c(f"{name}/Branch_1/Conv2d_0c_7x1", [7, 1], w, 192)
        c(f"{name}/Branch_2/Conv2d_0a_1x1", 1, cin, w)
        c(f"{name}/Branch_2/Conv2d_0b_7x1", [7, 1], w, w)
        c(f"{name}/Branch_2/Conv2d_0c_1x7", [1, 7], w, w)
        c(f"{name}/Branch_2/Conv2d_0d_7x1", [7, 1], w, w)
        c(f"{name}/Branch_2/Conv2d_0e_1x7", [1, 7], w, 192)
        c(f"{name}/Branch_3/Conv2d_0b_1x1", 1, cin, 192)
        cin = 768
    c("Mixed_7a/Branch_0/Conv2d_0a_1x1", 1, cin, 192)
    c("Mixed_7a/Branch_0/Conv2d_1a_3x3", 3, 192, 320)
    c("Mixed_7a/Branch_1/Conv2d_0a_1x1", 1, cin, 192)
    c("Mixed_7a/Branch_1/Conv2d_0b_1x7", [1, 7], 192, 192)
    c("Mixed_7a/Branch_1/Conv2d_0c_7x1", [7, 1], 192, 192)
    c("Mixed_7a/Branch_1/Conv2d_1a_3x3", 3, 192, 192)
    cin = 320 + 192 + cin
    for name in ["Mixed_7b", "Mixed_7c"]:
        # slim names Mixed_7b's 3x1 branch-1 convolution Conv2d_0b_3x1, Mixed_7c's Conv2d_0c_3x1.
        c(f"{name}/Branch_0/Conv2d_0a_1x1", 1, cin, 320)
        c(f"{name}/Branch_1/Conv2d_0a_1x1", 1, cin, 384)
        c(f"{name}/Branch_1/Conv2d_0b_1x3", [1, 3], 384, 384)
        c(f"{name}/Branch_1/Conv2d_0{'b' if name == 'Mixed_7b' else 'c'}_3x1", [3, 1], 384, 384)
        c(f"{name}/Branch_2/Conv2d_0a_1x1", 1, cin, 448)
        c(f"{name}/Branch_2/Conv2d_0b_3x3", 3, 448, 384)
        c(f"{name}/Branch_2/Conv2d_0c_1x3", [1, 3], 384, 384)
        c(f"{name}/Branch_2/Conv2d_0d_3x1", [3, 1], 384, 384)
        c(f"{name}/Branch_3/Conv2d_0b_1x1", 1, cin, 192)
        cin = 2048
    c("AuxLogits/Conv2d_1b_1x1", 1, 768, 128)
    c("AuxLogits/Conv2d_2a_5x5", 5, 128, 768)
    t.conv(f"{s}/AuxLogits/Conv2d_2b_1x1", 1, 768, classes)
    t.conv(f"{s}/Logits/Conv2d_1c_1x1", 1, 2048, classes)
    return t


def alexnet_v2(classes):
    t = Table()
    s = "alexnet_v2"
    for name, k, cin, cout in [("conv1", 11, 3, 64), ("conv2", 5, 64, 192), ("conv3", 3, 192, 384), ("conv4", 3, 384, 384),
                               ("conv5", 3, 384, 256), ("fc6", 5, 256, 4096), ("fc7", 1, 4096, 4096), ("fc8", 1, 4096, classes)]:
        t.conv(f"{s}/{name}", k, cin, cout)
    return t


def cifarnet(classes):
    t = Table()
    t.conv("CifarNet/conv1", 5, 3, 64)
    t.conv("CifarNet/conv2", 5, 64, 64)
    t.fc("CifarNet/fc3", 8 * 8 * 64, 384)
    t.fc("CifarNet/fc4", 384, 192)
    t.fc("CifarNet/logits", 192, classes)
    return t


def lenet(classes):
    t = Table()
    t.conv("LeNet/conv1", 5, 1, 32)
    t.conv("LeNet/conv2", 5, 32, 64)
    t.fc("LeNet/fc3", 7 * 7 * 64, 1024)
    t.fc("LeNet/fc4", 1024, classes)
    return t


def torchvision_counts():
    try:
        import torchvision.models as tvm
    except ImportError:
        return {}
    trainable = lambda m: sum(p.numel() for p in m.parameters() if p.requires_grad)
    stats = lambda m: sum(b.numel() for n, b in m.named_buffers() if n.endswith(("running_mean", "running_var")))
    out = {}
    for key, make in [("resnet50", tvm.resnet50), ("resnet101", tvm.resnet101), ("resnet152", tvm.resnet152), ("mobilenet_v2", tvm.mobilenet_v2)]:
        m = make()
        out[key] = {"trainable": trainable(m), "moving_statistics": stats(m)}
    return out


# name -> (table, image size, input channels, torchvision model with the same variables)
NETS = {
    "resnet_v1_50": (lambda: resnet("v1", "50", 1000), 224, 3, "resnet50"),
    "resnet_v1_101": (lambda: resnet("v1", "101", 1000), 224, 3, "resnet101"),
    "resnet_v1_152": (lambda: resnet("v1", "152", 1000), 224, 3, "resnet152"),
    "resnet_v2_50": (lambda: resnet("v2", "50", 1000), 224, 3, None),
    "resnet_v2_101": (lambda: resnet("v2", "101", 1000), 224, 3, None),
    "resnet_v2_152": (lambda: resnet("v2", "152", 1000), 224, 3, None),
    "mobilenet_v1": (lambda: mobilenet_v1(1.0, 1000), 224, 3, None),
    "mobilenet_v1_075": (lambda: mobilenet_v1(0.75, 1000), 224, 3, None),
    "mobilenet_v1_050": (lambda: mobilenet_v1(0.50, 1000), 224, 3, None),
    "mobilenet_v1_025": (lambda: mobilenet_v1(0.25, 1000), 224, 3, None),
    # slim's mobilenet_v2 defaults to 1001 classes; the table uses 1000 to line up with torchvision.
    "mobilenet_v2": (lambda: mobilenet_v2(1.0, 1000), 224, 3, "mobilenet_v2"),
    "inception_v1": (lambda: inception_v1(1000), 224, 3, None),
    "inception_v3": (lambda: inception_v3(1000), 299, 3, None),
    "alexnet_v2": (lambda: alexnet_v2(1000), 224, 3, None),
    "cifarnet": (lambda: cifarnet(10), 32, 3, None),
    "lenet": (lambda: lenet(10), 28, 1, None),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    tv = torchvision_counts()
    for name, (make, size, channels, tv_name) in NETS.items():
        rows = make().rows
        numel = lambda r: math.prod(r[1])
        doc = {
            "net": name,
            "num_classes": rows[-1][1][-1],
            "image_shape": [1, size, size, channels],
            "trainable_parameters": sum(numel(r) for r in rows if r[2]),
            "moving_statistics": sum(numel(r) for r in rows if not r[2]),
            "variables": rows,
        }
        if tv_name and tv_name in tv:
            doc["torchvision"] = {"model": tv_name, **tv[tv_name]}
        with open(os.path.join(OUT, f"{name}.json"), "w") as f:
            f.write(json.dumps(doc, separators=(",", ":")).replace('],["', '],\n["') + "\n")
        extra = f" (torchvision {tv_name}: {tv[tv_name]['trainable']:,})" if tv_name and tv_name in tv else ""
        print(f"{name}: {len(rows)} variables, {doc['trainable_parameters']:,} trainable, {doc['moving_statistics']:,} moving statistics{extra}")


if __name__ == "__main__":
    main()
