"""Writes fixtures/nets_oracle/<net>.json: one SGD training step of slim's
resnet_v1_50, mobilenet_v2 and inception_v1, computed in float64 with PyTorch
following TF-Slim's semantics, the outside oracle for test/nets_oracle_test.ts.

The nets are re-implemented here from slim's definitions, not taken from
torchvision, because slim differs from torchvision where it matters:
  - padding: TF's SAME pads a strided convolution or pool by
    max((out-1)*stride + k - in, 0) with the smaller half before (so a 3x3
    stride-2 convolution of an even map pads 0 before and 1 after, where
    PyTorch's padding=1 pads 1 on both sides); SAME max pools pad with -inf.
    slim's ResNets pad strided convolutions explicitly instead (conv2d_same:
    (k-1)//2 before, the rest after, then VALID), and subsample with a 1x1
    stride-2 max pool; their blocks stride in the last unit, torchvision's in
    the first.
  - batch norm: training normalizes with the batch mean and biased variance;
    the moving statistics update as moving -= (moving - batch) * (1 - decay)
    (PyTorch's momentum is 1 - decay), and the variance that feeds
    moving_variance carries Bessel's correction n/(n-1) (slim's default fused
    kernel, as PyTorch's running_var). Each net's decay and epsilon are slim's:
    resnet 0.997 / 1e-5 with scale; mobilenet_v2 0.997 / 0.001 with scale;
    inception_v1 0.9997 / 0.001 without scale (beta only).
  - the loss is the mean softmax cross-entropy plus slim's weight decay,
    wd * sum(w^2)/2 over every variable whose name ends in "/weights" (the
    conv2d weights and the logits: resnet 1e-4, mobilenet_v2 and inception_v1
    4e-5; mobilenet_v2's depthwise filters are not decayed).

Weights are too large to commit, so both sides compute them from a formula: for
a variable `name` in slim's layout (e.g. [kh, kw, in, out]) element i (row-major)
gets v = fmix32(((i+1) * 0x9E3779B1 mod 2^32) xor fnv1a32(name)) >> 8, scaled
to [-1, 1) as v / 2^23 - 1 (exact in float32), then by variable kind:
  weights            v * s, s the largest power of two with s^2 <= 6/fan_in
                     (fan_in = kh*kw*in, or in for [in, out])
  depthwise_weights  the same with fan_in = kh*kw
  biases             v / 16       beta      v / 8       gamma  1 + v / 4
  moving_mean        v / 8        moving_variance          1 + v / 2
each computed exactly in float64 and rounded once to float32 (the values the
test feeds slimtrain). The images use name "images" (values v) in NHWC
[2, 64, 64, 3]; the labels are [3, 7] of 10 classes. The step is plain SGD with
learning rate 0.05; dropout keep probability is 1 (mobilenet_v2, inception_v1).

Each quantity also carries PyTorch's own float32 error against these float64
values (the same step run in float32): batch norm over small batches makes some
gradients ill-conditioned (a channel whose batch variance is small amplifies
rounding), so the test's tolerances are multiples of what float32 PyTorch
itself misses by, per variable.

Recorded per net: the loss; for every trainable variable the gradient's norm and
six sampled entries (flat indices into slim's layout, given), the parameter
after the step at those entries and its norm; for every moving statistic its
value after the step at the sampled entries and its norm; and the eval-mode
logits (moving statistics normalize) with the initial parameters and the moving
statistics after the step.

Usage: /usr/bin/python3 scripts/make_nets_oracle.py [resnet_v1_50|mobilenet_v2|inception_v1 ...]
       /usr/bin/python3 scripts/make_nets_oracle.py --float32-error [net ...]
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "nets_oracle")

BATCH, IMAGE, CLASSES = 2, 64, 10
LABELS = [3, 7]
LEARNING_RATE = 0.05
SAMPLES = 6
DTYPE = torch.float64  # float32 only to measure PyTorch's own float32 error (--float32-error)


def fnv1a32(s):
    h = 0x811C9DC5
    for b in s.encode("utf-8"):
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def pattern(name, n):
    """n values in [-1, 1), multiples of 2^-23, from the name's hash (float64)."""
    i = np.arange(1, n + 1, dtype=np.uint64)
    h = ((i * np.uint64(0x9E3779B1)) & np.uint64(0xFFFFFFFF)) ^ np.uint64(fnv1a32(name))
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(16)
    return (h >> np.uint64(8)).astype(np.float64) / 2.0**23 - 1.0


def power_of_two_scale(fan_in):
    limit = 6.0 / fan_in
    s = 1.0
    while s * s > limit:
        s /= 2
    while (2 * s) * (2 * s) <= limit:
        s *= 2
    return s


def initial_value(name, shape):
    """The formula above, rounded to float32, returned as float64."""
    v = pattern(name, math.prod(shape))
    if name.endswith("/depthwise_weights"):
        v = v * power_of_two_scale(shape[0] * shape[1])
    elif name.endswith("/weights"):
        v = v * power_of_two_scale(math.prod(shape[:-1]))
    elif name.endswith("/biases"):
        v = v / 16
    elif name.endswith("/beta"):
        v = v / 8
    elif name.endswith("/gamma"):
        v = 1 + v / 4
    elif name.endswith("/moving_mean"):
        v = v / 8
    elif name.endswith("/moving_variance"):
        v = 1 + v / 2
    else:
        raise ValueError(f"no initial-value rule for {name}")
    return v.astype(np.float32).astype(np.float64).reshape(shape)


class Net:
    """Creates variables on first use (slim's layout and names) and runs the layers in NCHW."""

    def __init__(self, training, bn_decay, bn_epsilon, bn_scale, values=None):
        self.training = training
        self.decay, self.eps, self.scale = bn_decay, bn_epsilon, bn_scale
        self.values = values  # name -> float64 array (slim layout); None: from the formula
        self.params = {}  # name -> tensor (requires grad when trainable)
        self.order = []
        self.moving_updates = {}

    def var(self, name, shape, trainable=True):
        if name not in self.params:
            data = self.values[name] if self.values is not None else initial_value(name, shape)
            assert list(data.shape) == list(shape), (name, data.shape, shape)
            self.params[name] = torch.tensor(data, dtype=DTYPE, requires_grad=trainable)
            self.order.append((name, list(shape), trainable))
        return self.params[name]

    def bn(self, x, scope, activation=None):
        c = x.shape[1]
        beta = self.var(f"{scope}/beta", [c])
        gamma = self.var(f"{scope}/gamma", [c]) if self.scale else None
        mm = self.var(f"{scope}/moving_mean", [c], False)
        mv = self.var(f"{scope}/moving_variance", [c], False)
        if self.training:
            mean = x.mean(dim=(0, 2, 3))
            var = x.var(dim=(0, 2, 3), unbiased=False)
            n = x.numel() // c
            d = 1 - self.decay
            self.moving_updates[f"{scope}/moving_mean"] = (mm - (mm - mean.detach()) * d)
            self.moving_updates[f"{scope}/moving_variance"] = (mv - (mv - var.detach() * n / (n - 1)) * d)
        else:
            mean, var = mm, mv
        y = (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + self.eps)
        if gamma is not None:
            y = y * gamma[None, :, None, None]
        y = y + beta[None, :, None, None]
        return activation(y) if activation else y

    def conv(self, x, scope, cout, k, stride=1, padding="SAME", rate=1, bn=True, activation=F.relu, explicit_pad=None):
        kh, kw = (k, k) if isinstance(k, int) else k
        cin = x.shape[1]
        w = self.var(f"{scope}/weights", [kh, kw, cin, cout])
        if explicit_pad is not None:
            x = F.pad(x, explicit_pad)
        elif padding == "SAME":
            x = F.pad(x, tf_same_pads(x.shape[2:], (kh, kw), stride, rate))
        y = F.conv2d(x, w.permute(3, 2, 0, 1), stride=stride, dilation=rate)
        if bn:
            y = self.bn(y, f"{scope}/BatchNorm")
        else:
            y = y + self.var(f"{scope}/biases", [cout])[None, :, None, None]
        return activation(y) if activation else y

    def depthwise(self, x, scope, stride=1, activation=None):
        c = x.shape[1]
        w = self.var(f"{scope}/depthwise_weights", [3, 3, c, 1])
        x = F.pad(x, tf_same_pads(x.shape[2:], (3, 3), stride))
        y = F.conv2d(x, w.permute(2, 3, 0, 1), stride=stride, groups=c)
        y = self.bn(y, f"{scope}/BatchNorm")
        return activation(y) if activation else y


def tf_same_pads(size, kernel, stride, rate=1):
    """F.pad's (left, right, top, bottom) for TF's SAME."""
    pads = []
    for n, k in zip(size, kernel):
        k_eff = k + (k - 1) * (rate - 1)
        out = -(-n // stride)
        total = max((out - 1) * stride + k_eff - n, 0)
        pads.append((total // 2, total - total // 2))
    (top, bottom), (left, right) = pads
    return (left, right, top, bottom)


def max_pool_same(x, k, stride):
    x = F.pad(x, tf_same_pads(x.shape[2:], (k, k), stride), value=-math.inf)
    return F.max_pool2d(x, k, stride)


def relu6(x):
    return torch.clamp(x, 0, 6)


def resnet_v1_50(net, x):
    s = "resnet_v1_50"
    # conv2d_same with stride 2: (k-1)//2 = 3 before and 3 after, then VALID.
    x = net.conv(x, f"{s}/conv1", 64, 7, stride=2, padding="VALID", explicit_pad=(3, 3, 3, 3))
    x = max_pool_same(x, 3, 2)  # resnet_arg_scope makes pool1 SAME
    depth_in = 64
    for b, (base, units, stride) in enumerate([(64, 3, 2), (128, 4, 2), (256, 6, 2), (512, 3, 1)]):
        for u in range(units):
            st = stride if u == units - 1 else 1
            p = f"{s}/block{b + 1}/unit_{u + 1}/bottleneck_v1"
            out = base * 4
            if out == depth_in:
                shortcut = x[:, :, ::st, ::st]
            else:
                shortcut = net.conv(x, f"{p}/shortcut", out, 1, stride=st, activation=None)
            r = net.conv(x, f"{p}/conv1", base, 1)
            if st == 1:
                r = net.conv(r, f"{p}/conv2", base, 3)
            else:
                r = net.conv(r, f"{p}/conv2", base, 3, stride=st, padding="VALID", explicit_pad=(1, 1, 1, 1))
            r = net.conv(r, f"{p}/conv3", out, 1, activation=None)
            x = F.relu(shortcut + r)
            depth_in = out
    x = x.mean(dim=(2, 3), keepdim=True)
    x = net.conv(x, f"{s}/logits", CLASSES, 1, bn=False, activation=None)
    return x[:, :, 0, 0]


def make_divisible(v, divisor, min_value=None):
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


MOBILENET_V2_BLOCKS = [(1, 16, 1)] + [(6, d, s) for s, d in [
    (2, 24), (1, 24), (2, 32), (1, 32), (1, 32), (2, 64), (1, 64), (1, 64), (1, 64),
    (1, 96), (1, 96), (1, 96), (2, 160), (1, 160), (1, 160), (1, 320)]]


def mobilenet_v2(net, x):
    s = "MobilenetV2"
    x = net.conv(x, f"{s}/Conv", 32, 3, stride=2, activation=relu6)
    for i, (t, d, stride) in enumerate(MOBILENET_V2_BLOCKS):
        p = f"{s}/expanded_conv" + (f"_{i}" if i else "")
        cin = x.shape[1]
        inner = make_divisible(cin * t, 1 if t == 1 else 8)
        y = x
        if inner > cin:
            y = net.conv(y, f"{p}/expand", inner, 1, activation=relu6)
        y = net.depthwise(y, f"{p}/depthwise", stride, activation=relu6)
        y = net.conv(y, f"{p}/project", d, 1, activation=None)
        x = y + x if stride == 1 and d == cin else y
    x = net.conv(x, f"{s}/Conv_1", 1280, 1, activation=relu6)
    x = x.mean(dim=(2, 3), keepdim=True)  # the full-map VALID average pool
    x = net.conv(x, f"{s}/Logits/Conv2d_1c_1x1", CLASSES, 1, bn=False, activation=None)
    return x[:, :, 0, 0]


INCEPTION_V1_MIXED = [
    ("Mixed_3b", [64, 96, 128, 16, 32, 32]), ("Mixed_3c", [128, 128, 192, 32, 96, 64]), ("MaxPool_4a_3x3", None),
    ("Mixed_4b", [192, 96, 208, 16, 48, 64]), ("Mixed_4c", [160, 112, 224, 24, 64, 64]),
    ("Mixed_4d", [128, 128, 256, 24, 64, 64]), ("Mixed_4e", [112, 144, 288, 32, 64, 64]),
    ("Mixed_4f", [256, 160, 320, 32, 128, 128]), ("MaxPool_5a_2x2", None),
    ("Mixed_5b", [256, 160, 320, 32, 128, 128]), ("Mixed_5c", [384, 192, 384, 48, 128, 128]),
]


def inception_v1(net, x):
    s = "InceptionV1"
    x = net.conv(x, f"{s}/Conv2d_1a_7x7", 64, 7, stride=2)
    x = max_pool_same(x, 3, 2)
    x = net.conv(x, f"{s}/Conv2d_2b_1x1", 64, 1)
    x = net.conv(x, f"{s}/Conv2d_2c_3x3", 192, 3)
    x = max_pool_same(x, 3, 2)
    for name, widths in INCEPTION_V1_MIXED:
        if widths is None:
            k = 2 if name.endswith("2x2") else 3
            x = max_pool_same(x, k, 2)
            continue
        a, b1, b2, c1, c2, d = widths
        p = f"{s}/{name}"
        c2_scope = "Conv2d_0a_3x3" if name == "Mixed_5b" else "Conv2d_0b_3x3"
        br0 = net.conv(x, f"{p}/Branch_0/Conv2d_0a_1x1", a, 1)
        br1 = net.conv(net.conv(x, f"{p}/Branch_1/Conv2d_0a_1x1", b1, 1), f"{p}/Branch_1/Conv2d_0b_3x3", b2, 3)
        br2 = net.conv(net.conv(x, f"{p}/Branch_2/Conv2d_0a_1x1", c1, 1), f"{p}/Branch_2/{c2_scope}", c2, 3)
        br3 = net.conv(max_pool_same(x, 3, 1), f"{p}/Branch_3/Conv2d_0b_1x1", d, 1)
        x = torch.cat([br0, br1, br2, br3], dim=1)
    x = x.mean(dim=(2, 3), keepdim=True)  # globalPool: 64x64 inputs end 2x2, too small for the 7x7 pool
    x = net.conv(x, f"{s}/Logits/Conv2d_0c_1x1", CLASSES, 1, bn=False, activation=None)
    return x[:, :, 0, 0]


# name -> (forward, batch norm decay, epsilon, scale, weight decay)
NETS = {
    "resnet_v1_50": (resnet_v1_50, 0.997, 1e-5, True, 1e-4),
    "mobilenet_v2": (mobilenet_v2, 0.997, 0.001, True, 4e-5),
    "inception_v1": (inception_v1, 0.9997, 0.001, False, 4e-5),
}


def images():
    v = pattern("images", BATCH * IMAGE * IMAGE * 3).astype(np.float32).astype(np.float64)
    return torch.tensor(v.reshape(BATCH, IMAGE, IMAGE, 3), dtype=DTYPE).permute(0, 3, 1, 2)


def loss_of(net, logits, weight_decay):
    ce = F.cross_entropy(logits, torch.tensor(LABELS))
    decay = sum(weight_decay * (p * p).sum() / 2 for name, p in net.params.items() if name.endswith("/weights"))
    return ce + decay, ce


def sample_indices(n):
    return sorted({(k * (n - 1)) // (SAMPLES - 1) for k in range(SAMPLES)})


def flat(t):
    return t.detach().reshape(-1)


def run(name):
    forward, decay, eps, scale, wd = NETS[name]
    net = Net(True, decay, eps, scale)
    logits = forward(net, images())
    loss, ce = loss_of(net, logits, wd)
    trainable = [n for n, _, t in net.order if t]
    grads = torch.autograd.grad(loss, [net.params[n] for n in trainable])
    after = {n: (net.params[n] - LEARNING_RATE * g).detach() for n, g in zip(trainable, grads)}
    after.update({n: u.detach() for n, u in net.moving_updates.items()})

    # Evaluation mode with the initial parameters and the moving statistics after
    # the step. (With the updated parameters the eval-mode logits hang on the
    # ill-conditioned gradient entries: PyTorch's own float32 step moves them by
    # up to half their size for resnet_v1_50, whose eval logits are ~1e10 after one
    # step from these statistics.)
    values = {n: after[n].numpy().reshape(shape) if not t else net.params[n].detach().numpy().reshape(shape) for n, shape, t in net.order}
    eval_net = Net(False, decay, eps, scale, values)
    with torch.no_grad():
        eval_logits = forward(eval_net, images())

    # PyTorch's own float32 run of the same step: how far float32 arithmetic lands
    # from these float64 values, per variable; the test's tolerances scale with it.
    loss32, grads32, values32 = gradients(name, torch.float32)
    eval32 = eval_logits_in(name, values32, torch.float32)

    variables = []
    for (n, shape, is_trainable) in net.order:
        idx = sample_indices(math.prod(shape))
        entry = {"name": n, "shape": shape, "trainable": is_trainable, "index": idx,
                 "after": [float(flat(after[n])[i]) for i in idx], "after_norm": float(flat(after[n]).norm())}
        if is_trainable:
            g = flat(grads[trainable.index(n)])
            entry["grad"] = [float(g[i]) for i in idx]
            entry["grad_norm"] = float(g.norm())
            g32 = grads32[n]
            entry["grad_f32_error"] = float((g32 - g).abs().max())
            entry["grad_norm_f32_error"] = float(abs(g32.norm() - g.norm()))
        variables.append(entry)
    doc = {
        "net": name,
        "images_shape": [BATCH, IMAGE, IMAGE, 3],
        "labels": LABELS,
        "num_classes": CLASSES,
        "learning_rate": LEARNING_RATE,
        "weight_decay": wd,
        "batch_norm": {"decay": decay, "epsilon": eps, "scale": scale},
        "loss": float(loss),
        "loss_f32_error": abs(loss32 - float(loss)),
        "cross_entropy": float(ce),
        "variables": variables,
        "eval_logits": [[float(v) for v in row] for row in eval_logits],
        "eval_logits_f32_error": float((eval32 - eval_logits).abs().max()),
    }
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        f.write(json.dumps(doc, separators=(",", ":")).replace('},{"name"', '},\n{"name"') + "\n")
    print(f"{name}: loss {float(loss):.6f} (cross-entropy {float(ce):.6f}), {len(trainable)} trainable variables, "
          f"{len(net.moving_updates)} moving statistics, eval logits {eval_logits[0, :3].tolist()}")


def gradients(name, dtype):
    global DTYPE
    DTYPE = dtype
    forward, decay, eps, scale, wd = NETS[name]
    net = Net(True, decay, eps, scale)
    loss, _ = loss_of(net, forward(net, images()), wd)
    trainable = [n for n, _, t in net.order if t]
    grads = torch.autograd.grad(loss, [net.params[n] for n in trainable])
    moving = {n: u.detach().double().numpy() for n, u in net.moving_updates.items()}
    DTYPE = torch.float64
    values = {n: moving[n].reshape(shape) if not t else net.params[n].detach().double().numpy().reshape(shape) for n, shape, t in net.order}
    return float(loss), {n: g.detach().double().reshape(-1) for n, g in zip(trainable, grads)}, values


def eval_logits_in(name, values, dtype):
    global DTYPE
    DTYPE = dtype
    forward, decay, eps, scale, _ = NETS[name]
    with torch.no_grad():
        out = forward(Net(False, decay, eps, scale, values), images()).double()
    DTYPE = torch.float64
    return out


def float32_error(name):
    """How far PyTorch's own float32 step lands from float64: the scale of the
    test's tolerances (worst per-variable relative error of the gradient norm,
    and worst sampled-entry error relative to the gradient's rms)."""
    loss64, g64, _ = gradients(name, torch.float64)
    loss32, g32, _ = gradients(name, torch.float32)
    worst_norm = max((abs(g32[n].norm() - g64[n].norm()) / g64[n].norm(), n) for n in g64 if g64[n].norm() > 0)
    worst_entry = max((float((g32[n] - g64[n]).abs().max() / (g64[n].norm() / math.sqrt(g64[n].numel()))), n) for n in g64 if g64[n].norm() > 0)
    print(f"{name}: float32 loss error {abs(loss32 - loss64) / abs(loss64):.2e}; gradient norm worst {float(worst_norm[0]):.2e} ({worst_norm[1]}); "
          f"entry worst {worst_entry[0]:.2e} of rms ({worst_entry[1]})")


def main():
    torch.set_grad_enabled(True)
    args = sys.argv[1:]
    measure = "--float32-error" in args
    for name in [a for a in args if not a.startswith("--")] or list(NETS):
        float32_error(name) if measure else run(name)


if __name__ == "__main__":
    main()
