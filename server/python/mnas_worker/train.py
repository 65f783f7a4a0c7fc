"""Proxy training of one child: seeded init and data order, a short run with the requested
optimizer, BN statistics recomputed before held-out evaluation, weights saved."""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from typing import Callable, Literal, Mapping, Optional, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .arch import Arch, ArchError
from .builder import build, count_params
from .data import Split, check_fit, prepare

OptimizerName = Literal["sgd", "adam", "rmsprop"]
Emit = Callable[[dict[str, object]], None]


class RecipeError(ValueError):
    pass


@dataclass(frozen=True)
class Recipe:
    epochs: int
    batch_size: int
    lr: float
    optimizer: OptimizerName
    momentum: float
    weight_decay: float
    bn_momentum: float
    label_smoothing: float
    schedule: Literal["cosine", "constant"]
    bn_recalibration_batches: int
    loss_every: Optional[int]
    eval_batch_size: int


def _num(o: Mapping[str, object], key: str, default: Optional[float], lo: float, hi: float) -> float:
    v = o.get(key, default)
    if v is None:
        raise RecipeError(f"recipe.{key} is required")
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
        raise RecipeError(f"recipe.{key} must be a number, got {v!r}")
    if not lo <= float(v) <= hi:
        raise RecipeError(f"recipe.{key} must be in [{lo}, {hi}], got {v}")
    return float(v)


def _int(o: Mapping[str, object], key: str, default: Optional[int], lo: int, hi: int) -> int:
    x = _num(o, key, default, lo, hi)
    if not x.is_integer():
        raise RecipeError(f"recipe.{key} must be an integer, got {x}")
    return int(x)


def parse_recipe(raw: object) -> Recipe:
    if not isinstance(raw, dict):
        raise RecipeError("recipe must be an object")
    o = cast(Mapping[str, object], raw)
    opt = o.get("optimizer", "sgd")
    if opt not in ("sgd", "adam", "rmsprop"):
        raise RecipeError(f"recipe.optimizer must be sgd, adam or rmsprop; got {opt!r}")
    sched = o.get("schedule", "constant")
    if sched not in ("cosine", "constant"):
        raise RecipeError(f"recipe.schedule must be cosine or constant; got {sched!r}")
    loss_every = o.get("lossEvery")
    return Recipe(
        epochs=_int(o, "epochs", None, 1, 10_000),
        batch_size=_int(o, "batchSize", None, 1, 1 << 16),
        lr=_num(o, "lr", None, 0.0, 100.0),
        optimizer=cast(OptimizerName, opt),
        momentum=_num(o, "momentum", 0.9, 0.0, 0.9999),
        weight_decay=_num(o, "weightDecay", 0.0, 0.0, 1.0),
        bn_momentum=_num(o, "bnMomentum", 0.1, 0.0, 1.0),
        label_smoothing=_num(o, "labelSmoothing", 0.0, 0.0, 0.999),
        schedule=cast(Literal["cosine", "constant"], sched),
        bn_recalibration_batches=_int(o, "bnRecalibrationBatches", 10, 0, 1 << 20),
        loss_every=None if loss_every is None else _int(o, "lossEvery", None, 1, 1 << 30),
        eval_batch_size=_int(o, "evalBatchSize", 256, 1, 1 << 16),
    )


def make_optimizer(model: nn.Module, r: Recipe) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if r.optimizer == "sgd":
        return torch.optim.SGD(params, lr=r.lr, momentum=r.momentum, weight_decay=r.weight_decay)
    if r.optimizer == "adam":
        return torch.optim.Adam(params, lr=r.lr, weight_decay=r.weight_decay)
    # TF MnasNet's RMSProp: decay 0.9, epsilon 1e-3.
    return torch.optim.RMSprop(params, lr=r.lr, alpha=0.9, eps=1e-3, momentum=r.momentum,
                               weight_decay=r.weight_decay)


def batches(n: int, size: int, gen: Optional[torch.Generator]) -> list[Tensor]:
    order = torch.randperm(n, generator=gen) if gen is not None else torch.arange(n)
    out = list(torch.split(order, size))
    # A 1-image batch can fail BN on a 1x1 feature map; drop it (training only).
    if gen is not None and len(out) > 1 and out[-1].numel() == 1:
        out.pop()
    return out


def recalibrate_bn(model: nn.Module, run: Callable[[], None]) -> None:
    """Replaces BN running statistics with a cumulative average over a few training batches
    computed with the final weights (short runs otherwise evaluate with stale statistics)."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # type: ignore[assignment]  # None = cumulative average (documented)
    model.train()
    with torch.no_grad():
        run()
    for m, mom in zip(bns, saved):
        m.momentum = mom


def train(arch: Arch, train_set: Split, test_set: Split, recipe: Recipe, seed: int,
          out_dir: str, emit: Emit) -> dict[str, object]:
    if arch.head is None or arch.head.classes is None:
        raise ArchError("arch has no classifier (head or head.classes is null); cannot train it")
    size = (arch.input.h, arch.input.w)
    check_fit(train_set, arch.input.h, arch.input.w, arch.input.c, arch.head.classes)
    check_fit(test_set, arch.input.h, arch.input.w, arch.input.c, arch.head.classes)
    if train_set.count == 0 or test_set.count == 0:
        raise RecipeError("train and test splits must not be empty")

    torch.manual_seed(seed)
    model = build(arch, recipe.bn_momentum)
    opt = make_optimizer(model, recipe)
    gen = torch.Generator().manual_seed(seed)
    steps_per_epoch = len(batches(train_set.count, recipe.batch_size, torch.Generator().manual_seed(0)))
    total = steps_per_epoch * recipe.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, (lambda s: 0.5 * (1 + math.cos(math.pi * s / total))) if recipe.schedule == "cosine"
        else (lambda s: 1.0))
    every = recipe.loss_every or max(1, total // 20)

    def inputs(idx: Tensor, of: Split) -> Tensor:
        return prepare(of.images[idx], train_set, size, arch.input.c)

    losses: list[float] = []
    epoch_losses: list[float] = []
    window: list[float] = []
    seen = correct = 0
    diverged = False
    step = 0
    t0 = time.perf_counter()
    model.train()
    for epoch in range(recipe.epochs):
        ep_sum, ep_n, correct, seen_epoch = 0.0, 0, 0, 0
        for idx in batches(train_set.count, recipe.batch_size, gen):
            x, y = inputs(idx, train_set), train_set.labels[idx]
            logits: Tensor = model(x)
            loss = F.cross_entropy(logits, y, label_smoothing=recipe.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            sched.step()
            step += 1
            v = float(loss.item())
            if not math.isfinite(v):
                diverged = True
                break
            window.append(v)
            ep_sum, ep_n = ep_sum + v, ep_n + 1
            seen += int(idx.numel())
            seen_epoch += int(idx.numel())
            correct += int((logits.argmax(1) == y).sum().item())
            if len(window) == every:
                losses.append(sum(window) / len(window))
                window = []
                emit({"event": "progress", "epoch": epoch + 1, "step": step, "steps": total,
                      "loss": losses[-1]})
        if diverged:
            break
        epoch_losses.append(ep_sum / max(1, ep_n))
    if window:
        losses.append(sum(window) / len(window))
    train_seconds = time.perf_counter() - t0
    train_accuracy = correct / max(1, seen_epoch) if not diverged else 0.0

    t1 = time.perf_counter()
    if recipe.bn_recalibration_batches > 0 and not diverged:
        cal = batches(train_set.count, recipe.batch_size, torch.Generator().manual_seed(seed + 1))
        cal = cal[: recipe.bn_recalibration_batches]

        def forward_cal() -> None:
            for i in cal:
                model(inputs(i, train_set))

        recalibrate_bn(model, forward_cal)
    model.eval()
    hits = 0
    with torch.no_grad():
        for idx in batches(test_set.count, recipe.eval_batch_size, None):
            pred = model(inputs(idx, test_set)).argmax(1)
            hits += int((pred == test_set.labels[idx]).sum().item())
    eval_seconds = time.perf_counter() - t1

    os.makedirs(out_dir, exist_ok=True)
    weights_path = os.path.abspath(os.path.join(out_dir, "weights.pt"))
    torch.save(model.state_dict(), weights_path)
    return {
        "accuracy": hits / test_set.count,
        "trainAccuracy": train_accuracy,
        "loss": losses,
        "epochLoss": epoch_losses,
        "lossEvery": every,
        "steps": step,
        "diverged": diverged,
        "trainSeconds": train_seconds,
        "evalSeconds": eval_seconds,
        "imagesPerSecond": seen / train_seconds if train_seconds > 0 else 0.0,
        "params": count_params(model),
        "weightsPath": weights_path,
        "threads": torch.get_num_threads(),
    }


def save_arch(raw_arch: object, out_dir: str, name: str = "arch.json") -> None:
    """Keeps the arch next to its weights so an exporter can rebuild the module."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
        json.dump(raw_arch, f, indent=2)
