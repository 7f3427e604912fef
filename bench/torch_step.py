#!/usr/bin/env python3
"""PyTorch's side of the benchmark: the same VGG-16 training step (slim's layout,
SGD, fixed random batch) timed in this process, printed as one JSON line.

Usage: torch_step.py --batch 2 --size 224 --classes 1000 --steps 3 --warmup 1 [--device cpu|cuda] [--threads N]
           [--fc-padding VALID|SAME] [--channels 3] [--tf32]
"""
import argparse, json, resource, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Vgg16(nn.Module):
    """slim's vgg_16: 13 3x3 convs in 5 blocks, fc6 7x7 (as a conv), fc7 and fc8 1x1."""

    def __init__(self, classes, channels, fc_padding, size):
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
        self.fc6 = nn.Conv2d(512, 4096, 1 if (fc_padding == "SAME" and final == 1) else 7,
                             padding=0 if fc_padding == "VALID" or final == 1 else 3)
        self.fc7 = nn.Conv2d(4096, 4096, 1)
        self.fc8 = nn.Conv2d(4096, classes, 1)

    def forward(self, x):
        for layer in self.features:
            x = layer(x) if isinstance(layer, nn.MaxPool2d) else F.relu(layer(x))
        x = F.dropout(F.relu(self.fc6(x)), 0.5, self.training)
        x = F.dropout(F.relu(self.fc7(x)), 0.5, self.training)
        x = self.fc8(x)
        return x.mean(dim=(2, 3)) if x.shape[2] != 1 else x.flatten(1)


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
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.backends.cudnn.allow_tf32 = a.tf32
    torch.manual_seed(0)
    dev = torch.device(a.device)
    model = Vgg16(a.classes, a.channels, a.fc_padding, a.size).to(dev).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.001)
    x = torch.rand(a.batch, a.channels, a.size, a.size, device=dev)
    y = torch.randint(0, a.classes, (a.batch,), device=dev)

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
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "engine": f"pytorch {torch.__version__} ({a.device}, {torch.get_num_threads()} threads)",
        "ms_per_step": times[len(times) // 2], "all_ms": times, "peak_rss_mb": rss_mb,
    }))


if __name__ == "__main__":
    sys.exit(main())
