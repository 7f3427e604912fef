"""Writes fixtures/torch_oracle/vgg_small.json: PyTorch's answer for one training
step (and a second) of a small VGG-shaped network, the outside oracle that
test/torch_oracle_test.ts holds slimtrain's whole train step to.

Everything is float32 on the CPU with deterministic kernels, as slimtrain runs it.
Weights are in ONNX/PyTorch layout [out, in, kh, kw], images NCHW. The network
(channel counts fixed; spatial sizes for the 16x16 input of case "vgg_small"):

  conv1 3->8 3x3 SAME + bias + ReLU              16x16
  conv2 8->8 3x3 SAME + bias + ReLU              16x16
  pool1 max 2x2 stride 2                          8x8
  conv3 8->16 3x3 SAME + ReLU (no bias)           8x8
  conv4 16->16 3x3 stride 2 TF-SAME (no bias,     4x4  pads [top 0, left 0,
        no activation)                                  bottom 1, right 1]
  pool2 max 2x2 stride 2                          2x2
  fc6   2x2 VALID conv 16->32 + bias + ReLU       1x1
  fc7   1x1 conv 32->32 + bias + ReLU             1x1
  fc8   1x1 conv 32->10 + bias                    1x1 -> squeeze to [N, 10]

  loss = mean softmax cross-entropy + 0.0005 * sum over the seven conv weights
         of sum(w^2) / 2 (TF's l2_loss; biases are not decayed)

Two variants change one layer each and keep every variable's shape, so all cases
share one set of initial weights and one pair of batches:
  "overlap_pool": pool1 is MaxPool2d(3, 2) (overlapping windows; 16 -> 7), which
                  slimtrain differentiates by its scatter path; conv4 then pads
                  [1, 1, 1, 1] on its 7x7 input.
  "valid_conv":   conv2 is a stride-1 VALID conv (16 -> 14), pool1 gives 7x7.

Per case it records the loss and every parameter's gradient at the initial
weights on batch 1 and the loss on batch 2 after one SGD step (lr 0.05); the main
case also records the parameters after that step and after a second one on batch 2.
Gradients are also computed in float64 from the same float32 inputs and the
worst float32-vs-float64 relative error is printed, to size the test tolerances.

Usage: /usr/bin/python3 scripts/make_torch_oracle.py
"""
import json
import math
import os

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "torch_oracle", "vgg_small.json")

SEED = 20240611
BATCH, IMAGE, CLASSES = 2, 16, 10
LEARNING_RATE = 0.05
WEIGHT_DECAY = 0.0005

# name, [out, in, kh, kw], has bias
LAYERS = [
    ("conv1", [8, 3, 3, 3], True),
    ("conv2", [8, 8, 3, 3], True),
    ("conv3", [16, 8, 3, 3], False),
    ("conv4", [16, 16, 3, 3], False),
    ("fc6", [32, 16, 2, 2], True),
    ("fc7", [32, 32, 1, 1], True),
    ("fc8", [CLASSES, 32, 1, 1], True),
]

# Only the main case stores the parameters after each step: the variants differ in
# layers, not in the update, and their step-2 loss already proves the carry-over.
CASES = {
    "vgg_small": {"pool1": (2, 2), "conv2_padding": "SAME", "store_params": True},
    "overlap_pool": {"pool1": (3, 2), "conv2_padding": "SAME", "store_params": False},
    "valid_conv": {"pool1": (2, 2), "conv2_padding": "VALID", "store_params": False},
}

# The test's tolerance: |got - want| <= ATOL + RTOL * |want| elementwise.
RTOL, ATOL = 1e-4, 1e-5


def param_names():
    names = []
    for name, _shape, has_bias in LAYERS:
        names.append(f"{name}/weights")
        if has_bias:
            names.append(f"{name}/biases")
    return names


def tf_pads(padding, size, kernel, stride):
    """TF's rule: [top, left, bottom, right], the odd pixel at the bottom/right."""
    if padding == "VALID":
        return [0, 0, 0, 0]
    out = [math.ceil(s / st) for s, st in zip(size, stride)]
    total = [max(0, (o - 1) * st + k - s) for o, st, k, s in zip(out, stride, kernel, size)]
    return [total[0] // 2, total[1] // 2, total[0] - total[0] // 2, total[1] - total[1] // 2]


def conv(x, w, b, stride, padding, log, name):
    pads = tf_pads(padding, list(x.shape[2:]), list(w.shape[2:]), [stride, stride])
    top, left, bottom, right = pads
    if top == bottom and left == right:
        y = F.conv2d(x, w, b, stride=stride, padding=(top, left))
    else:
        # Asymmetric: pad explicitly (F.pad takes left, right, top, bottom).
        y = F.conv2d(F.pad(x, (left, right, top, bottom)), w, b, stride=stride)
    log.append({"layer": name, "op": "conv", "stride": stride, "padding": padding, "pads": pads,
                "input": list(x.shape), "output": list(y.shape)})
    return y


def pool(x, kernel, stride, log, name):
    y = F.max_pool2d(x, kernel, stride)
    log.append({"layer": name, "op": "max_pool", "kernel": kernel, "stride": stride,
                "input": list(x.shape), "output": list(y.shape)})
    return y


def forward(params, images, case):
    p = params
    log = []

    def layer(x, name, stride, padding, relu):
        y = conv(x, p[f"{name}/weights"], p.get(f"{name}/biases"), stride, padding, log, name)
        log[-1]["relu"] = relu
        return F.relu(y) if relu else y

    x = layer(images, "conv1", 1, "SAME", True)
    x = layer(x, "conv2", 1, case["conv2_padding"], True)
    x = pool(x, case["pool1"][0], case["pool1"][1], log, "pool1")
    x = layer(x, "conv3", 1, "SAME", True)
    x = layer(x, "conv4", 2, "SAME", False)
    x = pool(x, 2, 2, log, "pool2")
    x = layer(x, "fc6", 1, "VALID", True)
    x = layer(x, "fc7", 1, "VALID", True)
    x = layer(x, "fc8", 1, "VALID", False)
    assert list(x.shape) == [BATCH, CLASSES, 1, 1], x.shape
    return x.squeeze(3).squeeze(2), log


def total_loss(params, images, labels, case):
    logits, log = forward(params, images, case)
    cross_entropy = F.cross_entropy(logits, labels)
    decay = sum((params[f"{n}/weights"] ** 2).sum() / 2 for n, _s, _b in LAYERS)
    return cross_entropy + WEIGHT_DECAY * decay, log


def grads_at(params, images, labels, case, dtype):
    leaves = {k: v.detach().to(dtype).clone().requires_grad_(True) for k, v in params.items()}
    loss, log = total_loss(leaves, images.to(dtype), labels, case)
    grads = torch.autograd.grad(loss, [leaves[k] for k in param_names()])
    return loss.detach(), dict(zip(param_names(), (g.detach() for g in grads))), log


def initial_params(gen):
    params = {}
    for name, shape, has_bias in LAYERS:
        fan_in = shape[1] * shape[2] * shape[3]
        # He-scaled normals keep activations O(1) through the ReLUs, so no layer is dead.
        # fc8 (no ReLU after it) gets half that, so the softmax is not saturated.
        scale = math.sqrt(2.0 / fan_in) * (0.5 if name == "fc8" else 1.0)
        params[f"{name}/weights"] = torch.randn(shape, generator=gen) * scale
        if has_bias:
            params[f"{name}/biases"] = (torch.rand([shape[0]], generator=gen) - 0.5) * 0.2
    return params


def batch(gen):
    images = torch.randn([BATCH, 3, IMAGE, IMAGE], generator=gen)
    labels = torch.randint(0, CLASSES, [BATCH], generator=gen)
    return images, labels


def exact(t):
    """Every float32 round-trips through 9 significant digits."""
    return [float(f"{v:.9g}") for v in t.reshape(-1).tolist()]


def rel_error(a, b):
    a, b = a.double(), b.double()
    return float(((a - b).abs() / b.abs().clamp_min(1e-30)).max())


def tolerance_used(a, b):
    """The largest fraction of the test's allowance that a's error against b uses."""
    a, b = a.double(), b.double()
    return float(((a - b).abs() / (ATOL + RTOL * b.abs())).max())


def sgd_step(params, images, labels, case):
    """One step of torch.optim.SGD: the reference for slimtrain's gradientDescent."""
    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    opt = torch.optim.SGD([leaves[k] for k in param_names()], lr=LEARNING_RATE)
    opt.zero_grad()
    loss, _log = total_loss(leaves, images, labels, case)
    loss.backward()
    opt.step()
    return loss.detach(), {k: v.detach() for k, v in leaves.items()}


def run_case(name, case, params0, batches):
    (images1, labels1), (images2, labels2) = batches
    loss1, grads, log = grads_at(params0, images1, labels1, case, torch.float32)
    loss64, grads64, _ = grads_at(params0, images1, labels1, case, torch.float64)
    for k in param_names():
        assert grads[k].dtype == torch.float32 and grads[k].abs().max() > 0, k
    print(f"{name}: loss {float(loss1):.7f}; torch float32 vs float64, max elementwise relative error "
          f"(fraction of the test's allowance used): loss {rel_error(loss1, loss64):.1e}, "
          + ", ".join(f"{k} {rel_error(grads[k], grads64[k]):.1e} ({tolerance_used(grads[k], grads64[k]):.3f})"
                      for k in param_names()))

    step1_loss, params1 = sgd_step(params0, images1, labels1, case)
    assert float(step1_loss) == float(loss1)
    step2_loss, params2 = sgd_step(params1, images2, labels2, case)
    for k in param_names():
        assert params1[k].dtype == torch.float32 and params2[k].dtype == torch.float32, k
    out = {
        "name": name,
        "layers": log,
        "loss": float(loss1),
        "gradients": {k: exact(grads[k]) for k in param_names()},
        "loss_step2": float(step2_loss),
    }
    if case["store_params"]:
        out["params_after_step1"] = {k: exact(params1[k]) for k in param_names()}
        out["params_after_step2"] = {k: exact(params2[k]) for k in param_names()}
    return out


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    gen = torch.Generator().manual_seed(SEED)
    params0 = initial_params(gen)
    batches = [batch(gen), batch(gen)]
    cases = [run_case(name, case, params0, batches) for name, case in CASES.items()]

    fixture = {
        "description": "PyTorch float32 oracle for a small VGG-shaped net; see scripts/make_torch_oracle.py",
        "torch_version": torch.__version__,
        "seed": SEED,
        "learning_rate": LEARNING_RATE,
        "weight_decay": WEIGHT_DECAY,
        "num_classes": CLASSES,
        "params": [
            {"name": n, "shape": list(params0[n].shape), "value": exact(params0[n])} for n in param_names()
        ],
        "batches": [
            {"images_shape": list(images.shape), "images": exact(images), "labels": labels.tolist()}
            for images, labels in batches
        ],
        "cases": cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.relpath(OUT)} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
