"""Weights for TFLite export (`export` request) and the PyTorch reference output that an
exported model is checked against (`forward` request). docs/worker-protocol.md, docs/device.md.

`export` returns every constant of the network in the order of the cost model's ops, with
BatchNorm folded into the preceding conv as the TFLite converter does (eval mode, running
statistics, eps = BN_EPS):

    scale = gamma / sqrt(running_var + eps)
    W'    = W * scale  (per output channel)
    b'    = beta - running_mean * scale

and in TFLite layouts: regular conv OHWI, depthwise 1HWO (depth multiplier 1), fully
connected [out, in]. Values are little-endian float32, inline as base64 or written to one raw
file (`outPath`) with each tensor's offset."""

from __future__ import annotations

import base64
import math
import os
import pickle
from typing import Mapping, Optional, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from .arch import Arch, parse_arch
from .builder import BN_EPS, ConvBnAct, Head, Layer, Net, SqueezeExcite, build, count_params
from .request import seed_of

FORMAT = "mnas-weights-f32le-v1"


class ExportError(ValueError):
    """A request that cannot be served as given; the message says how to fix it."""


def randomize_bn(net: nn.Module, seed: int) -> None:
    """Random BN statistics and affine parameters (seeded), so that a randomly initialised
    network exercises BN folding; freshly built BN layers are identities (mean 0, var 1)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=gen))
                m.bias.copy_(0.1 * torch.randn(c, generator=gen))
                running_mean = m.running_mean
                running_var = m.running_var
                assert running_mean is not None and running_var is not None
                running_mean.copy_(0.1 * torch.randn(c, generator=gen))
                running_var.copy_(0.5 + 1.5 * torch.rand(c, generator=gen))


def load_state_dict(weights_path: str) -> object:
    """A weights file unpickled with `weights_only=True`: tensors, dicts, lists and numbers only.
    A plain `torch.load` runs any callable the pickle names (`__reduce__`), and weights.pt files
    arrive from queue workers and run folders, so nothing else is ever unpickled here."""
    try:
        return torch.load(weights_path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        # torch's message suggests weights_only=False; keep only what it found.
        found = str(e).rpartition("WeightsUnpickler error:")[2].strip() or type(e).__name__
        raise ExportError(f"weightsPath {weights_path}: refused, it holds more than tensors ({found}). Only a state_dict saved "
                          "by the worker's `train` (plain tensors) is loaded; nothing in the file was run.") from e
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same advice
        raise ExportError(f"weightsPath {weights_path}: cannot read it as a PyTorch state_dict ({type(e).__name__}: {e}).") from e


def make_net(arch: Arch, weights_path: Optional[str], seed: int) -> tuple[Net, str]:
    """The eval-mode network: trained weights from a state_dict file, or a seeded random
    initialisation (builder init, then randomized BN). Returns it with a description."""
    if weights_path is not None:
        if not os.path.isfile(weights_path):
            raise ExportError(f"weightsPath {weights_path}: no such file. Pass the weights.pt a `train` request wrote (children/<id>/weights.pt).")
        net = build(arch, check=False)
        state = load_state_dict(weights_path)
        if not isinstance(state, dict):
            raise ExportError(f"weightsPath {weights_path}: not a state_dict (got {type(state).__name__}).")
        missing, unexpected = _key_diff(net, state)
        if missing or unexpected:
            raise ExportError(
                f"weightsPath {weights_path} does not fit this arch: missing {', '.join(missing[:5]) or 'none'}; "
                f"unexpected {', '.join(unexpected[:5]) or 'none'}. Export the arch the weights were trained with "
                "(the proxy arch in children/<id>/arch.json).")
        try:
            net.load_state_dict(state)
        except RuntimeError as e:
            raise ExportError(f"weightsPath {weights_path} does not fit this arch (shape mismatch): {str(e).splitlines()[-1].strip()}. "
                              "Export the arch the weights were trained with (children/<id>/arch.json).") from e
        source = f"weights {os.path.abspath(weights_path)}"
    else:
        torch.manual_seed(seed)
        net = build(arch, check=False)
        randomize_bn(net, seed)
        source = f"random init, seed {seed} (BN statistics randomized)"
    net.eval()
    return net, source


def _key_diff(net: nn.Module, state: Mapping[object, object]) -> tuple[list[str], list[str]]:
    want = set(net.state_dict().keys())
    have = {k for k in state.keys() if isinstance(k, str)}
    return sorted(want - have), sorted(have - want)


def fold(m: ConvBnAct) -> tuple[Tensor, Tensor]:
    """BN folded into the conv: (weight OIHW, bias), in float64."""
    w = m.conv.weight.detach().double()
    bn = m.bn
    assert bn.running_mean is not None and bn.running_var is not None
    scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + BN_EPS)
    bias = bn.bias.detach().double() - bn.running_mean.double() * scale
    return w * scale.view(-1, 1, 1, 1), bias


Entry = tuple[str, Tensor]


def _conv(prefix: str, m: ConvBnAct, depthwise: bool, out: list[Entry]) -> None:
    w, b = fold(m)
    # OIHW -> OHWI (regular) or [C, 1, kh, kw] -> [1, kh, kw, C] (depthwise).
    out.append((f"{prefix}.weight", w.permute(1, 2, 3, 0) if depthwise else w.permute(0, 2, 3, 1)))
    out.append((f"{prefix}.bias", b))


def _se(prefix: str, m: SqueezeExcite, out: list[Entry]) -> None:
    for name, conv in (("reduce", m.reduce), ("expand", m.expand)):
        assert conv.bias is not None
        out.append((f"{prefix}.{name}.weight", conv.weight.detach().double().permute(0, 2, 3, 1)))
        out.append((f"{prefix}.{name}.bias", conv.bias.detach().double()))


def tflite_tensors(net: Net) -> list[Entry]:
    """Every constant, in the order of the cost model's ops (stem, per layer: expand, main,
    SE, project, shortcut; head conv, FC), named by the module path of the state_dict."""
    out: list[Entry] = []
    if net.stem is not None:
        _conv("stem", net.stem, False, out)
    for b, block in enumerate(net.blocks):
        assert isinstance(block, nn.Sequential)
        for i, layer in enumerate(block):
            assert isinstance(layer, Layer)
            p = f"blocks.{b}.{i}"
            if layer.expand is not None:
                _conv(f"{p}.expand", layer.expand, False, out)
            _conv(f"{p}.main", layer.main, layer.project is not None, out)
            if layer.se is not None:
                _se(f"{p}.se", layer.se, out)
            if layer.project is not None:
                _conv(f"{p}.project", layer.project, False, out)
            if layer.shortcut is not None and layer.shortcut.proj is not None:
                _conv(f"{p}.shortcut.proj", layer.shortcut.proj, False, out)
    head = net.head
    if isinstance(head, Head):
        if head.conv is not None:
            _conv("head.conv", head.conv, False, out)
        if head.fc is not None:
            out.append(("head.fc.weight", head.fc.weight.detach().double()))
            out.append(("head.fc.bias", head.fc.bias.detach().double()))
    return out


def _f32le(t: Tensor) -> bytes:
    data: bytes = t.detach().to(torch.float32).contiguous().numpy().astype("<f4", copy=False).tobytes()
    return data


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _weights_path(req: Mapping[str, object]) -> Optional[str]:
    v = req.get("weightsPath")
    if v is None:
        return None
    if not isinstance(v, str) or not v:
        raise ExportError("weightsPath must be a non-empty string (a weights.pt file) or absent (random init with seed)")
    return v


def export_request(req: Mapping[str, object]) -> dict[str, object]:
    arch = parse_arch(req.get("arch"))
    net, source = make_net(arch, _weights_path(req), seed_of(req, ExportError))
    entries = tflite_tensors(net)
    out_path = req.get("outPath")
    tensors: list[dict[str, object]] = []
    reply: dict[str, object] = {"format": FORMAT, "source": source, "params": count_params(net), "bnEps": BN_EPS}
    if out_path is None:
        for name, t in entries:
            tensors.append({"name": name, "shape": list(t.shape), "data": _b64(_f32le(t))})
    else:
        if not isinstance(out_path, str) or not out_path:
            raise ExportError("outPath must be a non-empty string (a file to write) or absent (inline base64)")
        offset = 0
        os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
        with open(out_path, "wb") as f:
            for name, t in entries:
                data = _f32le(t)
                f.write(data)
                n = len(data) // 4
                tensors.append({"name": name, "shape": list(t.shape), "offset": offset, "length": n})
                offset += n
        reply["path"] = os.path.abspath(out_path)
        reply["bytes"] = offset * 4
    reply["tensors"] = tensors
    return reply


def _shape(v: object, where: str) -> list[int]:
    if not isinstance(v, list) or not all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in v):
        raise ExportError(f"{where} must be a list of positive integers, got {v!r}")
    return [int(x) for x in v]


def forward_request(req: Mapping[str, object]) -> dict[str, object]:
    """Eval-mode PyTorch output for one input batch; 4-D tensors in the input's layout."""
    arch = parse_arch(req.get("arch"))
    net, source = make_net(arch, _weights_path(req), seed_of(req, ExportError))
    raw = req.get("input")
    if not isinstance(raw, dict):
        raise ExportError('input must be an object {"data": base64 float32 LE, "shape": [N, H, W, C], "layout": "nhwc" | "nchw"}')
    layout = raw.get("layout", "nhwc")
    if layout not in ("nhwc", "nchw"):
        raise ExportError(f'input.layout must be "nhwc" or "nchw", got {layout!r}')
    shape = _shape(raw.get("shape"), "input.shape")
    data = raw.get("data")
    if not isinstance(data, str):
        raise ExportError("input.data must be a base64 string of little-endian float32 values")
    buf = base64.b64decode(data)
    i = arch.input
    want: Sequence[int] = (shape[0], i.h, i.w, i.c) if layout == "nhwc" else (shape[0], i.c, i.h, i.w)
    if len(shape) != 4 or tuple(shape) != tuple(want):
        raise ExportError(f"input.shape {shape} does not match the arch input {i.h}x{i.w}x{i.c} in layout {layout} (expected {list(want)})")
    if len(buf) != 4 * math.prod(shape):
        raise ExportError(f"input.data has {len(buf)} bytes; shape {shape} needs {4 * math.prod(shape)}")
    x = torch.from_numpy(np.frombuffer(buf, dtype="<f4").astype(np.float32).reshape(shape))
    if layout == "nhwc":
        x = x.permute(0, 3, 1, 2)
    with torch.no_grad():
        y = net(x.contiguous())
    if y.dim() == 4 and layout == "nhwc":
        y = y.permute(0, 2, 3, 1)
    return {"output": {"data": _b64(_f32le(y)), "shape": list(y.shape), "layout": layout if y.dim() == 4 else "nc"}, "source": source}
