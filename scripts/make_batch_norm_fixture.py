"""Writes fixtures/torch_oracle/batch_norm.json: PyTorch's float64 answer for one
SGD step of a small batch-normalized network, the oracle that
src/layers/normalization_test.ts holds slimtrain's batchNorm to (normalization,
gradients through the batch statistics, and the moving-average updates).

The network, in slim's terms (NHWC images [4, 6, 6, 2], every layer NHWC):
  conv1  3x3 SAME, 3 outputs, no biases, batch norm (scale, decay 0.9), ReLU
  conv2  1x1, 4 outputs, no biases, batch norm (no scale, decay 0.9), ReLU
  mean over height and width -> [4, 4]
  logits fully connected 4 -> 3 with biases
  loss = mean softmax cross-entropy against one-hot labels; SGD, learning rate 0.1

slim's batch norm with decay d is PyTorch's with momentum 1 - d; both normalize
with the biased batch variance and feed the Bessel-corrected one into the moving
variance (slim through its fused kernel), and epsilon 0.001 is passed explicitly.
Weights are stored in slim's layouts ([kh, kw, in, out], [in, out]).

It records the initial values, both batches, the loss at the initial values, every
variable after the step (moving statistics included), and the logits of the
evaluation network (moving statistics) on batch 2 after the step.

Usage: /usr/bin/python3 scripts/make_batch_norm_fixture.py
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(7)
D = torch.float64
DECAY, EPS, LR = 0.9, 1e-3, 0.1


def draw(*shape, lo=-1.0, hi=1.0):
    return (torch.rand(*shape, dtype=D) * (hi - lo) + lo)


init = {
    "conv1/weights": draw(3, 3, 2, 3),
    "conv1/BatchNorm/beta": draw(3),
    "conv1/BatchNorm/gamma": draw(3, lo=0.5, hi=1.5),
    "conv1/BatchNorm/moving_mean": draw(3),
    "conv1/BatchNorm/moving_variance": draw(3, lo=0.5, hi=2.0),
    "conv2/weights": draw(1, 1, 3, 4),
    "conv2/BatchNorm/beta": draw(4),
    "conv2/BatchNorm/moving_mean": draw(4),
    "conv2/BatchNorm/moving_variance": draw(4, lo=0.5, hi=2.0),
    "logits/weights": draw(4, 3),
    "logits/biases": draw(3),
}
batches = [
    {"images": draw(4, 6, 6, 2), "labels": torch.tensor([0, 2, 1, 2])},
    {"images": draw(4, 6, 6, 2), "labels": torch.tensor([1, 0, 2, 0])},
]
trainable = [k for k in init if "moving" not in k]


def forward(v, images, training):
    x = images.permute(0, 3, 1, 2)
    x = F.conv2d(x, v["conv1/weights"].permute(3, 2, 0, 1), padding=1)
    x = F.batch_norm(x, v["conv1/BatchNorm/moving_mean"], v["conv1/BatchNorm/moving_variance"],
                     v["conv1/BatchNorm/gamma"], v["conv1/BatchNorm/beta"], training=training, momentum=1 - DECAY, eps=EPS)
    x = F.relu(x)
    x = F.conv2d(x, v["conv2/weights"].permute(3, 2, 0, 1))
    x = F.batch_norm(x, v["conv2/BatchNorm/moving_mean"], v["conv2/BatchNorm/moving_variance"],
                     None, v["conv2/BatchNorm/beta"], training=training, momentum=1 - DECAY, eps=EPS)
    x = F.relu(x).mean(dim=(2, 3))
    return x @ v["logits/weights"] + v["logits/biases"]


values = {k: t.clone().requires_grad_(k in trainable) for k, t in init.items()}
logits = forward(values, batches[0]["images"], True)  # updates the moving statistics in place
loss = F.cross_entropy(logits, batches[0]["labels"])
loss.backward()
after = {}
with torch.no_grad():
    for k, t in values.items():
        after[k] = t - LR * t.grad if k in trainable else t.clone()
    eval_logits = forward(after, batches[1]["images"], False)


def dump(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.detach().reshape(-1)]}


out = {
    "note": "written by scripts/make_batch_norm_fixture.py (PyTorch %s, float64)" % torch.__version__,
    "decay": DECAY, "epsilon": EPS, "learning_rate": LR,
    "initial": {k: dump(t) for k, t in init.items()},
    "batches": [{"images": dump(b["images"]), "labels": [int(l) for l in b["labels"]]} for b in batches],
    "loss": float(loss),
    "after": {k: dump(t) for k, t in after.items()},
    "eval_logits": dump(eval_logits),
}
path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "torch_oracle", "batch_norm.json")
with open(path, "w") as f:
    json.dump(out, f, indent=None)
print("wrote", os.path.normpath(path), "loss", float(loss))
