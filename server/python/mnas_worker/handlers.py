"""One function per request type; each returns the reply fields (without id/ok) or raises.
Errors a caller can fix (bad arch, recipe, data) are ValueError subclasses."""

from __future__ import annotations

import os
import platform
import time
from typing import Callable, Mapping, cast

import torch

from . import PROTOCOL_VERSION
from .arch import parse_arch
from .builder import build, count_params
from .data import Split, load_split
from .export import export_request, forward_request
from .full import ARCH_FULL, parse_full_recipe, train_full
from .request import RequestError, seed_of
from .train import Emit, parse_recipe, save_arch, train


Handler = Callable[[Mapping[str, object], Emit], dict[str, object]]


def default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def apply_threads(req: Mapping[str, object]) -> None:
    t = req.get("threads")
    if t is None:
        return
    if isinstance(t, bool) or not isinstance(t, int) or t < 1:
        raise RequestError(f"threads must be a positive integer, got {t!r}")
    torch.set_num_threads(t)


def hello(req: Mapping[str, object], emit: Emit) -> dict[str, object]:
    apply_threads(req)
    return {
        "backend": f"torch {torch.__version__} cpu",
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "protocol": PROTOCOL_VERSION,
    }


def count(req: Mapping[str, object], emit: Emit) -> dict[str, object]:
    arch = parse_arch(req.get("arch"))
    return {"params": count_params(build(arch))}


def _str(o: Mapping[str, object], key: str, where: str) -> str:
    v = o.get(key)
    if not isinstance(v, str) or not v:
        raise RequestError(f"{where}.{key} must be a non-empty string")
    return v


def _data(req: Mapping[str, object]) -> Mapping[str, object]:
    data = req.get("data")
    if not isinstance(data, dict):
        raise RequestError("data must be an object with trainPath and testPath")
    return cast(Mapping[str, object], data)


def _splits(d: Mapping[str, object]) -> tuple[Split, Split]:
    """The prepared train and test splits a request's `data` names."""
    return load_split(_str(d, "trainPath", "data")), load_split(_str(d, "testPath", "data"))


def train_request(req: Mapping[str, object], emit: Emit) -> dict[str, object]:
    apply_threads(req)
    arch = parse_arch(req.get("arch"))
    recipe = parse_recipe(req.get("recipe"))
    d = _data(req)
    seed = seed_of(req)
    out_dir = _str(req, "outDir", "request")
    train_set, test_set = _splits(d)
    result = train(arch, train_set, test_set, recipe, seed, out_dir, emit)
    save_arch(req.get("arch"), out_dir)
    return result


def train_full_request(req: Mapping[str, object], emit: Emit) -> dict[str, object]:
    """Full training with checkpoints (mnas_worker/full.py); `resume` continues a checkpoint."""
    apply_threads(req)
    arch = parse_arch(req.get("arch"))
    recipe = parse_full_recipe(req.get("recipe"))
    d = _data(req)
    seed = seed_of(req)
    resume = req.get("resume", False)
    if not isinstance(resume, bool):
        raise RequestError(f"resume must be true or false, got {resume!r}")
    out_dir = _str(req, "outDir", "request")
    train_set, test_set = _splits(d)
    save_arch(req.get("arch"), out_dir, ARCH_FULL)
    return train_full(arch, req.get("arch"), train_set, test_set, recipe, seed, out_dir, resume, emit)


def _int(req: Mapping[str, object], key: str, default: int, lo: int, hi: int) -> int:
    v = req.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise RequestError(f"{key} must be an integer in [{lo}, {hi}], got {v!r}")
    return v


def latency(req: Mapping[str, object], emit: Emit) -> dict[str, object]:
    """Times one forward pass of the full-size network on this CPU (eval mode, batch 1).

    The paper measures on one big core; `threads` defaults to 1 for the same reason.
    Returns the trimmed mean (10% cut at each end) with the spread, in milliseconds."""
    torch.set_num_threads(_int(req, "threads", 1, 1, 256))
    warmup = _int(req, "warmup", 5, 0, 1000)
    repeats = _int(req, "repeats", 20, 3, 10000)
    arch = parse_arch(req.get("arch"))
    net = build(arch).eval()
    x = torch.randn(1, arch.input.c, arch.input.h, arch.input.w)
    samples: list[float] = []
    with torch.no_grad():
        for _ in range(warmup):
            net(x)
        for _ in range(repeats):
            t0 = time.perf_counter_ns()
            net(x)
            samples.append((time.perf_counter_ns() - t0) / 1e6)
    ordered = sorted(samples)
    cut = len(ordered) // 10
    kept = ordered[cut:len(ordered) - cut]
    mean = sum(kept) / len(kept)
    return {
        "ms": mean,
        "median": ordered[len(ordered) // 2],
        "min": ordered[0],
        "max": ordered[-1],
        "p10": ordered[len(ordered) // 10],
        "p90": ordered[(len(ordered) * 9) // 10],
        "samples": samples,
        "threads": torch.get_num_threads(),
        "runtime": f"torch {torch.__version__} cpu",
    }


def export(req: Mapping[str, object], emit: Emit) -> dict[str, object]:
    """BN-folded constants of every op in TFLite layout (mnas_worker/export.py)."""
    apply_threads(req)
    return export_request(req)


def forward(req: Mapping[str, object], emit: Emit) -> dict[str, object]:
    """Eval-mode PyTorch output on one input: the reference for exported models."""
    apply_threads(req)
    return forward_request(req)


HANDLERS: dict[str, Handler] = {"hello": hello, "count": count, "train": train_request, "latency": latency,
                                "export": export, "forward": forward, "trainFull": train_full_request}
