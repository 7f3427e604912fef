#!/usr/bin/env python3
"""PyTorch's side of the benchmark: the same VGG-16 training step (slim's layout,
SGD, fixed random batch) timed in this process, printed as one JSON line. With
--net resnet_v1_50 or mobilenet_v2 it trains torchvision's resnet50 or
mobilenet_v2 instead (train mode: batch statistics and running averages), with
inputs in NCHW as PyTorch wants them, and counts the forward multiply-adds of its
convolutions and linear layers (forward_macs) for the FLOP comparison.

Usage: torch_step.py [--net vgg_16|resnet_v1_50|mobilenet_v2] --batch 2 --size 224 --classes 1000 --steps 3 --warmup 1 [--device cpu|cuda] [--threads N]
           [--fc-padding VALID|SAME] [--channels 3] [--tf32] [--optimizer sgd|adam|momentum] [--weight-decay 0.0005]
           [--checkpoint]
With --checkpoint fc6 keeps its full 7x7 kernel (slimtrain's checkpoint holds it too;
on a 1x1 map only its centre tap is used and trained) and one torch.save of the
model and optimizer state is timed after the steps (checkpoint_ms).
"""
import argparse, json, os, resource, sys, tempfile, time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Vgg16(nn.Module):
    """slim's vgg_16: 13 3x3 convs in 5 blocks, fc6 7x7 (as a conv), fc7 and fc8 1x1."""

    def __init__(self, classes, channels, fc_padding, size, full_fc6=False):
        super().__init__()
        widths = [(channels, 64), (64, 64), None, (64, 128), (128, 128), None,
                  (128, 256), (256, 256), (256, 256), None, (256, 512), (512, 512), (512, 512), None,
                  (512, 512), (512, 512), (512, 512), None]
        layers = []
        for w in widths:
            layers.append(nn.MaxPool2d(2, 2) if w is None else nn.Conv2d(w[0], w[1], 3, padding=1))
        self.features = nn.ModuleList(layers)
        final = size // 32
        # fc6 'SAME' on a 1x1 map only ever touches the kernel's centre tap: a 1x1 conv does the same work.
        centre_only = fc_padding == "SAME" and final == 1
        self.fc6 = nn.Conv2d(512, 4096, 1 if centre_only and not full_fc6 else 7,
                             padding=0 if fc_padding == "VALID" or final == 1 else 3)
        self.fc6_centre = centre_only and full_fc6
        self.fc7 = nn.Conv2d(4096, 4096, 1)
        self.fc8 = nn.Conv2d(4096, classes, 1)

    def forward(self, x):
        for layer in self.features:
            x = layer(x) if isinstance(layer, nn.MaxPool2d) else F.relu(layer(x))
        if self.fc6_centre:
            x = F.conv2d(x, self.fc6.weight[:, :, 3:4, 3:4], self.fc6.bias)
        else:
            x = self.fc6(x)
        x = F.dropout(F.relu(x), 0.5, self.training)
        x = F.dropout(F.relu(self.fc7(x)), 0.5, self.training)
        x = self.fc8(x)
        return x.mean(dim=(2, 3)) if x.shape[2] != 1 else x.flatten(1)


def torchvision_net(name, classes):
    """torchvision's counterpart of a slim net (same trainable parameter count at 1,000 classes)."""
    import torchvision
    if name == "resnet_v1_50":
        return torchvision.models.resnet50(num_classes=classes)
    if name == "mobilenet_v2":
        return torchvision.models.mobilenet_v2(num_classes=classes)
    raise SystemExit(f"torch_step.py: unknown --net {name} (known: vgg_16, resnet_v1_50, mobilenet_v2)")


def forward_macs(model, x):
    """Multiply-adds of every Conv2d and Linear in one forward pass over x."""
    total = [0]

    def conv_hook(m, _inp, out):
        total[0] += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m, _inp, out):
        total[0] += out.numel() * m.in_features

    hooks = [m.register_forward_hook(conv_hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    hooks += [m.register_forward_hook(linear_hook) for m in model.modules() if isinstance(m, nn.Linear)]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model(x)
    model.load_state_dict(state)  # the counting pass must not move the running statistics
    for h in hooks:
        h.remove()
    return total[0]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--fc-padding", default="VALID")
    p.add_argument("--tf32", action="store_true")
    p.add_argument("--optimizer", default="sgd")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--checkpoint", action="store_true")
    p.add_argument("--net", default="vgg_16")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.backends.cudnn.allow_tf32 = a.tf32
    torch.manual_seed(0)
    dev = torch.device(a.device)
    if a.net == "vgg_16":
        model = Vgg16(a.classes, a.channels, a.fc_padding, a.size, full_fc6=a.checkpoint)
    else:
        model = torchvision_net(a.net, a.classes)
    model = model.to(dev).train()
    if a.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=1e-4, weight_decay=a.weight_decay)
    elif a.optimizer == "momentum":
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=a.weight_decay)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.001, weight_decay=a.weight_decay)
    x = torch.rand(a.batch, a.channels, a.size, a.size, device=dev)
    y = torch.randint(0, a.classes, (a.batch,), device=dev)
    macs = forward_macs(model, x)
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    sync = (lambda: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda: None)
    for _ in range(a.warmup):
        step()
    sync()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        sync()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    checkpoint_ms = None
    if a.checkpoint:
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, os.path.join(d, "ckpt.pt"))
            checkpoint_ms = (time.perf_counter() - t0) * 1000
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "engine": f"pytorch {torch.__version__} ({a.device}, {torch.get_num_threads()} threads)",
        "ms_per_step": times[len(times) // 2], "all_ms": times, "peak_rss_mb": rss_mb, "checkpoint_ms": checkpoint_ms,
        "forward_macs": macs, "trainable_params": params,
    }))


if __name__ == "__main__":
    sys.exit(main())
