"""Builds an Arch as a torch.nn.Module that mirrors server/src/cost/model.ts op for op, so
`count` equals costOf(arch).params exactly. Conventions (docs/worker-protocol.md):
convs followed by BN have no bias; SE is two 1x1 convs with bias on the pooled vector;
'same' padding so H_out = ceil(H / stride); linear bottleneck (no act after project)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor, nn

from .arch import ActName, Arch, ArchError, Block

# TF MnasNet's BN epsilon; an exporter folding BN into convs must use the same value.
BN_EPS = 1e-3


@dataclass(frozen=True)
class Shape:
    h: int
    w: int
    c: int


def out_shape(s: Shape, stride: int, c: int) -> Shape:
    return Shape(math.ceil(s.h / stride), math.ceil(s.w / stride), c)


def js_round(x: float) -> int:
    """Math.round of the TS cost model (half up), not Python's banker's rounding."""
    return math.floor(x + 0.5)


def se_width(input_filters: int, ratio: float) -> int:
    return max(1, math.floor(input_filters * ratio))


def make_act(name: ActName) -> nn.Module:
    if name == "relu":
        return nn.ReLU()
    if name == "relu6":
        return nn.ReLU6()
    if name == "swish":
        return nn.SiLU()
    return nn.Hardswish()


def same_padding(size: int, k: int, stride: int) -> tuple[int, int]:
    """TF 'same' padding (before, after) along one axis."""
    total = max((math.ceil(size / stride) - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


class ConvBnAct(nn.Module):
    """k x k conv (no bias) + BN (+ activation). Odd kernels pad k//2 on both sides, which
    gives floor((H - 1) / s) + 1 = ceil(H / s); even kernels pad TF-style (asymmetric)."""

    def __init__(self, inp: Shape, cout: int, k: int, stride: int, act: Optional[ActName],
                 bn_momentum: float, depthwise: bool = False) -> None:
        super().__init__()
        self.pad: nn.Module = nn.Identity()
        padding = k // 2
        if k % 2 == 0:
            top, bottom = same_padding(inp.h, k, stride)
            left, right = same_padding(inp.w, k, stride)
            self.pad = nn.ZeroPad2d((left, right, top, bottom))
            padding = 0
        self.conv = nn.Conv2d(inp.c, cout, k, stride, padding, groups=inp.c if depthwise else 1, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=BN_EPS, momentum=bn_momentum)
        self.act: nn.Module = make_act(act) if act is not None else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        y: Tensor = self.act(self.bn(self.conv(self.pad(x))))
        return y


class SqueezeExcite(nn.Module):
    """Global average pool, 1x1 reduce (bias) + ReLU, 1x1 expand (bias) + sigmoid, scale."""

    def __init__(self, channels: int, inner: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, inner, 1, bias=True)
        self.expand = nn.Conv2d(inner, channels, 1, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        s = x.mean(dim=(2, 3), keepdim=True)
        g: Tensor = self.expand(torch.relu(self.reduce(s)))
        return x * torch.sigmoid(g)


class Shortcut(nn.Module):
    """The `pool` skip when shapes change: average pooling with the layer's stride, then a
    1x1 conv + BN projection when the channel count changes (not counted in mult-adds)."""

    def __init__(self, inp: Shape, cout: int, stride: int, bn_momentum: float) -> None:
        super().__init__()
        # ceil_mode keeps the pooled size at ceil(H / stride), matching the main path.
        self.pool: nn.Module = (nn.AvgPool2d(stride, stride, ceil_mode=True) if stride > 1 else nn.Identity())
        pooled = out_shape(inp, stride, inp.c)
        self.proj: Optional[ConvBnAct] = (
            ConvBnAct(pooled, cout, 1, 1, None, bn_momentum) if inp.c != cout else None)

    def forward(self, x: Tensor) -> Tensor:
        y: Tensor = self.pool(x)
        if self.proj is not None:
            y = self.proj(y)
        return y


class Layer(nn.Module):
    """One repeat of a block, the ops in the order of layerCost()."""

    def __init__(self, block: Block, index: int, inp: Shape, bn_momentum: float) -> None:
        super().__init__()
        stride = block.s if index == 0 else 1
        self.expand: Optional[ConvBnAct] = None
        self.main: ConvBnAct
        self.se: Optional[SqueezeExcite] = None
        self.project: Optional[ConvBnAct] = None
        x = inp
        inner = se_width(inp.c, block.se)
        if block.op == "conv":
            self.main = ConvBnAct(x, block.f, block.k, stride, block.act, bn_momentum)
            x = out_shape(x, stride, block.f)
            if block.se > 0:
                self.se = SqueezeExcite(x.c, inner)
        else:
            if block.op == "mbconv" and block.e != 1:
                expanded = js_round(inp.c * block.e)
                if expanded < 1:
                    raise ArchError(f"block {block.name}: expansion {block.e} of {inp.c} filters rounds to 0")
                self.expand = ConvBnAct(x, expanded, 1, 1, block.act, bn_momentum)
                x = Shape(x.h, x.w, expanded)
            self.main = ConvBnAct(x, x.c, block.k, stride, block.act, bn_momentum, depthwise=True)
            x = out_shape(x, stride, x.c)
            if block.se > 0:
                self.se = SqueezeExcite(x.c, inner)
            self.project = ConvBnAct(x, block.f, 1, 1, None, bn_momentum)
            x = Shape(x.h, x.w, block.f)
        self.out = x
        self.residual = "none"
        self.shortcut: Optional[Shortcut] = None
        if block.skip != "none" and inp == x:
            self.residual = "identity"
        elif block.skip == "pool":
            self.residual = "pool"
            self.shortcut = Shortcut(inp, x.c, stride, bn_momentum)

    def forward(self, x: Tensor) -> Tensor:
        y = x
        if self.expand is not None:
            y = self.expand(y)
        y = self.main(y)
        if self.se is not None:
            y = self.se(y)
        if self.project is not None:
            y = self.project(y)
        if self.residual == "identity":
            y = y + x
        elif self.shortcut is not None:
            y = y + self.shortcut(x)
        return y


class Head(nn.Module):
    def __init__(self, arch: Arch, inp: Shape, bn_momentum: float) -> None:
        super().__init__()
        assert arch.head is not None
        h = arch.head
        x = inp
        self.conv: Optional[ConvBnAct] = None
        if h.f is not None:
            self.conv = ConvBnAct(x, h.f, 1, 1, arch.head_act(), bn_momentum)
            x = Shape(x.h, x.w, h.f)
        self.pool: nn.Module = nn.AdaptiveAvgPool2d(1) if h.pool == "avg" else nn.AdaptiveMaxPool2d(1)
        self.dropout = nn.Dropout(h.dropout)
        self.fc: Optional[nn.Linear] = nn.Linear(x.c, h.classes, bias=True) if h.classes is not None else None
        self.out = Shape(1, 1, h.classes if h.classes is not None else x.c)

    def forward(self, x: Tensor) -> Tensor:
        y = x
        if self.conv is not None:
            y = self.conv(y)
        y = torch.flatten(self.pool(y), 1)
        y = self.dropout(y)
        if self.fc is not None:
            y = self.fc(y)
        return y


class Net(nn.Module):
    """stem -> blocks (each an nn.Sequential of Layers) -> head. Without a head the output is
    the last feature map; with a head but no classes, the pooled feature vector."""

    def __init__(self, arch: Arch, bn_momentum: float = 0.1) -> None:
        super().__init__()
        x = Shape(arch.input.h, arch.input.w, arch.input.c)
        self.stem: Optional[ConvBnAct] = None
        if arch.stem is not None:
            self.stem = ConvBnAct(x, arch.stem.f, arch.stem.k, arch.stem.s, arch.stem.act, bn_momentum)
            x = out_shape(x, arch.stem.s, arch.stem.f)
        blocks: list[nn.Module] = []
        for b in arch.blocks:
            layers: list[nn.Module] = []
            for i in range(b.x):
                layer = Layer(b, i, x, bn_momentum)
                layers.append(layer)
                x = layer.out
            blocks.append(nn.Sequential(*layers))
        self.blocks = nn.Sequential(*blocks)
        self.head: Optional[Head] = Head(arch, x, bn_momentum) if arch.head is not None else None
        self.features = x
        self.out = self.head.out if self.head is not None else x

    def forward(self, x: Tensor) -> Tensor:
        y = x
        if self.stem is not None:
            y = self.stem(y)
        y = self.blocks(y)
        if self.head is not None:
            y = self.head(y)
        return y


def init_weights(net: nn.Module) -> None:
    """torchvision's MNASNet initialisation (He normal, fan-out, for convs): trains faster
    in short proxy runs than PyTorch's default uniform init."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.kaiming_uniform_(m.weight, mode="fan_out", nonlinearity="sigmoid")
            nn.init.zeros_(m.bias)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def build(arch: Arch, bn_momentum: float = 0.1, check: bool = True) -> Net:
    """Builds the module; with `check`, runs one zero image through it in eval mode to prove
    the shapes the cost model predicts (a mismatch is a builder bug, reported as such)."""
    net = Net(arch, bn_momentum)
    init_weights(net)
    if check:
        net.eval()
        with torch.no_grad():
            y = net(torch.zeros(1, arch.input.c, arch.input.h, arch.input.w))
        o = net.out
        want = (1, o.c) if net.head is not None else (1, o.c, o.h, o.w)
        if tuple(y.shape) != want:
            raise RuntimeError(f"builder bug: output shape {tuple(y.shape)}, cost model says {want}")
        net.train()
    return net
