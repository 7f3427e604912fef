#!/usr/bin/env python3
"""PyTorch's side of the GPU benchmark: the train steps slimtrain times in
gpu_step.ts (slim's VGG-16 and resnet_v1_50 layouts, softmax cross-entropy, plain
SGD at lr 0.001, a fixed random batch resident on the device), in three precision
modes on the same GPU:

  fp32  TF32 off for convolutions and matmuls (the strict float32 baseline)
  tf32  TF32 allowed (what PyTorch users get with allow_tf32 set)
  amp   autocast to float16 with GradScaler (dynamic loss scaling), TF32 off

Each step reads its loss back (loss.item()), as slimtrain's step does. Prints one
JSON line per (net, mode).

Usage: torch_gpu.py [--nets vgg_16,resnet_v1_50] [--modes fp32,tf32,amp] [--batch 32] [--size 224]
                    [--classes 1000] [--steps 20] [--warmup 3] [--device cuda|cpu]
--device cpu (fp32 only) proves the script on a machine without a GPU.
"""
import argparse
import contextlib
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Vgg16(nn.Module):
    """slim's vgg_16: 13 3x3 convs in 5 blocks, fc6 7x7 as a conv (SAME below 224x224), fc7, fc8 1x1, dropout 0.5."""

    def __init__(self, classes, size):
        super().__init__()
        plan = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
        layers, c = [], 3
        for p in plan:
            if p == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(c, p, 3, padding=1), nn.ReLU(inplace=True)]
                c = p
        self.features = nn.Sequential(*layers)
        self.fc6 = nn.Conv2d(512, 4096, 7, padding=0 if size >= 224 else 3)
        self.fc7 = nn.Conv2d(4096, 4096, 1)
        self.fc8 = nn.Conv2d(4096, classes, 1)

    def forward(self, x):
        x = self.features(x)
        x = F.dropout(F.relu(self.fc6(x)), 0.5, self.training)
        x = F.dropout(F.relu(self.fc7(x)), 0.5, self.training)
        return self.fc8(x).mean(dim=(2, 3))


def conv_bn(c_in, c_out, k, stride=1, relu=True):
    layers = [nn.Conv2d(c_in, c_out, k, stride, padding=k // 2, bias=False), nn.BatchNorm2d(c_out, eps=1e-5, momentum=0.003)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if relu else nn.Sequential(*layers)


class Bottleneck(nn.Module):
    """slim's bottleneck_v1: 1x1, 3x3 (carrying the stride), 1x1; projection or subsampled shortcut."""

    def __init__(self, c_in, depth, bottleneck, stride):
        super().__init__()
        self.stride = stride
        self.shortcut = None if c_in == depth else conv_bn(c_in, depth, 1, stride, relu=False)
        self.residual = nn.Sequential(conv_bn(c_in, bottleneck, 1), conv_bn(bottleneck, bottleneck, 3, stride),
                                      conv_bn(bottleneck, depth, 1, relu=False))

    def forward(self, x):
        if self.shortcut is not None:
            short = self.shortcut(x)
        else:
            short = x if self.stride == 1 else F.max_pool2d(x, 1, self.stride)
        return F.relu(short + self.residual(x))


class ResnetV1_50(nn.Module):
    """slim's resnet_v1_50: root 7x7/2 + 3x3/2 max pool, blocks of 3, 4, 6, 3 units striding at each block's last unit."""

    def __init__(self, classes):
        super().__init__()
        units, c = [], 64
        for depth, count, stride in [(64, 3, 2), (128, 4, 2), (256, 6, 2), (512, 3, 1)]:
            for i in range(count):
                units.append(Bottleneck(c, depth * 4, depth, stride if i == count - 1 else 1))
                c = depth * 4
        self.root = conv_bn(3, 64, 7, 2)
        self.blocks = nn.Sequential(*units)
        self.logits = nn.Conv2d(c, classes, 1)

    def forward(self, x):
        x = F.max_pool2d(self.root(x), 3, 2, padding=1)
        x = self.blocks(x).mean(dim=(2, 3), keepdim=True)
        return self.logits(x).flatten(1)


NETS = {"vgg_16": lambda classes, size: Vgg16(classes, size), "resnet_v1_50": lambda classes, size: ResnetV1_50(classes)}


def set_tf32(allowed):
    torch.backends.cuda.matmul.allow_tf32 = allowed
    torch.backends.cudnn.allow_tf32 = allowed


def time_steps(net_name, mode, args, device):
    set_tf32(mode == "tf32")
    torch.manual_seed(0)
    model = NETS[net_name](args.classes, args.size).to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.001)
    amp = mode == "amp"
    scaler = None
    if amp:  # torch.amp.GradScaler since 2.3; the cuda alias before
        scaler = torch.amp.GradScaler("cuda") if hasattr(torch.amp, "GradScaler") else torch.cuda.amp.GradScaler()
    images = torch.rand(args.batch, 3, args.size, args.size, device=device)
    labels = (torch.arange(args.batch, device=device) * 7) % args.classes

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, dtype=torch.float16) if amp else contextlib.nullcontext():
            loss = F.cross_entropy(model(images), labels)
        if amp:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
        return loss.item()

    t0 = time.perf_counter()
    loss = step()
    first_ms = (time.perf_counter() - t0) * 1000
    for _ in range(args.warmup - 1):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loss = step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    ms = (time.perf_counter() - t0) * 1000 / args.steps
    return {
        "impl": "pytorch", "mode": f"{device.type} {mode}", "net": net_name, "batch": args.batch, "size": args.size,
        "classes": args.classes, "steps": args.steps, "ms_per_step": round(ms, 2),
        "images_per_s": round(1000 * args.batch / ms, 2), "first_step_ms": round(first_ms, 2), "loss": loss,
        "runtime": f"torch {torch.__version__}" + (f" on {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""),
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nets", default="vgg_16,resnet_v1_50")
    p.add_argument("--modes", default="fp32,tf32,amp")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--device", default="cuda")
    args = p.parse_args()
    device = torch.device(args.device)
    torch.backends.cudnn.benchmark = True
    modes = args.modes.split(",") if device.type == "cuda" else ["fp32"]
    for net_name in args.nets.split(","):
        for mode in modes:
            try:
                print(json.dumps(time_steps(net_name, mode, args, device)), flush=True)
            except Exception as err:  # one failing mode must not hide the others' numbers
                print(json.dumps({"impl": "pytorch", "mode": f"{device.type} {mode}", "net": net_name, "error": str(err).splitlines()[0]}), flush=True)
            if device.type == "cuda":
                torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
