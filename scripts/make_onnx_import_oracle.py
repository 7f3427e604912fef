"""Builds fixtures/onnx_import/: two torchvision nets exported by torch.onnx in
training mode, and one SGD step on a fixed batch computed in float64.

Run with Debian's python3-torch, python3-torchvision and python3-onnx:

    /usr/bin/python3 scripts/make_onnx_import_oracle.py

Nets (random weights, seeded; 10 classes; input [4, 3, 64, 64]):
- resnet18_w16: torchvision's ResNet forward and BasicBlock with resnet18's
  layout ([2, 2, 2, 2]) at a quarter of its width (stages 16/32/64/128 channels),
  so the file stays small.
- mobilenet_v2_w025: torchvision's MobileNetV2(width_mult=0.25, dropout=0.0):
  depthwise convolutions and ReLU6 (Clip); dropout off so that the step is
  deterministic.

torch.onnx.export(training=TRAINING, do_constant_folding=False) keeps the
parameter names (`layer1.0.conv1.weight`) and writes BatchNormalization in its
training form (batch statistics; running-statistics outputs).

The oracle: the float32 weights in the file, promoted to float64, one step of
plain SGD (learning rate LR) on mean softmax cross-entropy with fixed labels.
Recorded: the loss, for every parameter the updated value (all elements when
small, otherwise its L2 norm, sum and sampled entries; always its largest
magnitude), and each batch norm's new running mean and running variance.

Tolerances: one step with random weights moves some small parameters (a
depthwise filter of magnitude 0.007) by up to 0.7, and PyTorch's own float32
step then differs from this float64 one by up to 2.7e-5 of the tensor's largest
magnitude (MobileNetV2). The test therefore holds each updated tensor to 1e-4
of its largest magnitude (relative error in the max norm) and its L2 norm to
1e-4 relative.

Running variance convention: the ONNX spec (BatchNormalization-15, training
mode) fixes running_var = input_var * momentum + current_var * (1 - momentum)
with current_var the *population* variance (divided by N). PyTorch's own
BatchNorm updates its running_var with the unbiased variance (N - 1), so the
oracle computes the ONNX convention itself from each layer's float64 input,
with the ONNX momentum attribute (1 - PyTorch's momentum).
"""
import base64
import json
import os

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn
import torchvision
from torchvision.models.resnet import BasicBlock, ResNet

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "onnx_import")
BATCH, SIZE, CLASSES, LR = 4, 64, 10, 0.1
FULL_LIMIT = 1024  # parameters with more elements are recorded as norms + samples
SAMPLES = 48


class NarrowResNet(ResNet):
    """torchvision's ResNet forward with resnet18's block layout at a chosen width."""

    def __init__(self, width, layers, num_classes):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes, self.dilation, self.groups, self.base_width = width, 1, 1, 64
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(BasicBlock, width, layers[0])
        self.layer2 = self._make_layer(BasicBlock, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(BasicBlock, width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(BasicBlock, width * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 8, num_classes)


def randomize_bn(model, gen):
    """Non-trivial affine parameters and running statistics, so every term shows."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.data = 1 + 0.2 * torch.randn(m.weight.shape, generator=gen)
            m.bias.data = 0.1 * torch.randn(m.bias.shape, generator=gen)
            m.running_mean.data = 0.1 * torch.randn(m.running_mean.shape, generator=gen)
            m.running_var.data = 1 + 0.5 * torch.rand(m.running_var.shape, generator=gen)


def record(values, rng):
    flat = values.reshape(-1)
    max_abs = float(np.abs(flat).max())
    if flat.size <= FULL_LIMIT:
        return {"shape": list(values.shape), "max_abs": max_abs, "values": flat.tolist()}
    idx = np.sort(rng.choice(flat.size, SAMPLES, replace=False))
    return {
        "shape": list(values.shape),
        "max_abs": max_abs,
        "l2": float(np.sqrt((flat ** 2).sum())),
        "sum": float(flat.sum()),
        "indices": idx.tolist(),
        "samples": flat[idx].tolist(),
    }


def build(name, model, seed):
    gen = torch.Generator().manual_seed(seed)
    randomize_bn(model, gen)
    images = torch.randn(BATCH, 3, SIZE, SIZE, generator=gen)
    labels = torch.randint(0, CLASSES, (BATCH,), generator=gen)
    path = os.path.join(OUT, f"{name}.onnx")
    model.train()
    torch.onnx.export(
        model, images, path, input_names=["images"], output_names=["logits"],
        training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False, opset_version=14,
    )
    # Export runs the model once in training mode; reload the weights in the file.
    m = onnx.load(path)
    stored = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    params = dict(model.named_parameters())
    buffers = dict(model.named_buffers())
    model = model.double()
    with torch.no_grad():
        for k, p in params.items():
            p.copy_(torch.from_numpy(stored[k].astype(np.float64)))
        for k, b in buffers.items():
            if k in stored and b.dtype == torch.float64:
                b.copy_(torch.from_numpy(stored[k].astype(np.float64)))
    running = {}
    inputs = {}
    for mod_name, mod in model.named_modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.register_forward_hook(lambda m, i, o, n=mod_name: inputs.__setitem__(n, i[0].detach()))
            running[mod_name] = (mod.running_mean.clone(), mod.running_var.clone(), 1 - mod.momentum)
    model.zero_grad()
    logits = model(images.double())
    loss = nn.functional.cross_entropy(logits, labels)
    loss.backward()
    rng = np.random.default_rng(seed)
    updated = {}
    with torch.no_grad():
        for k, p in params.items():
            updated[k] = record((p - LR * p.grad).numpy(), rng)
    stats = {}
    for mod_name, (mean0, var0, momentum) in running.items():
        x = inputs[mod_name]
        mean = x.mean(dim=(0, 2, 3))
        var = x.var(dim=(0, 2, 3), unbiased=False)
        stats[f"{mod_name}.running_mean"] = record((mean0 * momentum + mean * (1 - momentum)).numpy(), rng)
        stats[f"{mod_name}.running_var"] = record((var0 * momentum + var * (1 - momentum)).numpy(), rng)
    return {
        "model": f"{name}.onnx",
        "opset": 14,
        "learning_rate": LR,
        "images_shape": list(images.shape),
        "images_f32_base64": base64.b64encode(images.numpy().astype("<f4").tobytes()).decode(),
        "labels": labels.tolist(),
        "loss": loss.item(),
        "logits": logits.detach().reshape(-1).tolist(),
        "updated_parameters": updated,
        "running_statistics": stats,
        "file_bytes": os.path.getsize(path),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    cases = [
        build("resnet18_w16", NarrowResNet(16, [2, 2, 2, 2], CLASSES), 1),
        build("mobilenet_v2_w025", torchvision.models.MobileNetV2(num_classes=CLASSES, width_mult=0.25, dropout=0.0), 2),
    ]
    for c in cases:
        with open(os.path.join(OUT, c["model"].replace(".onnx", ".json")), "w") as f:
            json.dump(c, f)
        print(c["model"], c["file_bytes"], "bytes, loss", c["loss"])


if __name__ == "__main__":
    main()
