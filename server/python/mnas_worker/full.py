"""Full training of one network (the `trainFull` request): the recipe a practitioner would use
after the search, not the proxy's few steps. SGD with Nesterov momentum, linear warm-up then
cosine decay per step, label smoothing, weight decay on conv/linear weights only, seeded
augmentation (random crop with zero padding, optional horizontal flip), an exponential moving
average (EMA) of the weights, a validation split carved from the training data to pick the best
epoch, and a checkpoint after every epoch so a killed run resumes where it stopped.

The recipe's values are chosen by the caller (server/src/final/recipe.ts, the one place they
live); this module only runs them. Everything random is seeded per epoch, so a resumed run sees
the same batches and augmentations as an uninterrupted one."""

from __future__ import annotations

import copy
import json
import math
import os
import time
from dataclasses import asdict, dataclass
from typing import Callable, Mapping, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .arch import Arch, ArchError
from .builder import build, count_params
from .data import Split, check_fit, prepare
from .train import RecipeError, _int, _num, batches

Emit = Callable[[dict[str, object]], None]

CHECKPOINT = "checkpoint-full.pt"
BEST = "weights-full.pt"
LAST = "weights-full-last.pt"
ARCH_FULL = "arch-full.json"
CHECKPOINT_FORMAT = "mnas-full-checkpoint-v1"


@dataclass(frozen=True)
class FullRecipe:
    epochs: int
    batch_size: int
    lr: float
    momentum: float
    nesterov: bool
    weight_decay: float
    label_smoothing: float
    warmup_epochs: float
    ema_decay: float  # 0 = no EMA
    crop_padding: int
    flip: bool
    val_fraction: float
    bn_momentum: float
    eval_batch_size: int


def parse_full_recipe(raw: object) -> FullRecipe:
    if not isinstance(raw, dict):
        raise RecipeError("recipe must be an object")
    o = cast(Mapping[str, object], raw)
    nesterov = o.get("nesterov", True)
    flip = o.get("flip", False)
    if not isinstance(nesterov, bool) or not isinstance(flip, bool):
        raise RecipeError("recipe.nesterov and recipe.flip must be true or false")
    return FullRecipe(
        epochs=_int(o, "epochs", None, 1, 10_000),
        batch_size=_int(o, "batchSize", None, 1, 1 << 16),
        lr=_num(o, "lr", None, 0.0, 100.0),
        momentum=_num(o, "momentum", 0.9, 0.0, 0.9999),
        nesterov=nesterov,
        weight_decay=_num(o, "weightDecay", 0.0, 0.0, 1.0),
        label_smoothing=_num(o, "labelSmoothing", 0.0, 0.0, 0.999),
        warmup_epochs=_num(o, "warmupEpochs", 0.0, 0.0, 10_000.0),
        ema_decay=_num(o, "emaDecay", 0.0, 0.0, 0.999999),
        crop_padding=_int(o, "cropPadding", 0, 0, 256),
        flip=flip,
        val_fraction=_num(o, "valFraction", 0.1, 0.0, 0.5),
        bn_momentum=_num(o, "bnMomentum", 0.1, 0.0, 1.0),
        eval_batch_size=_int(o, "evalBatchSize", 256, 1, 1 << 16),
    )


def augment(images: Tensor, pad: int, flip: bool, gen: torch.Generator) -> Tensor:
    """Random crop of the zero-padded image back to its size, then a random horizontal flip."""
    n, _, h, w = images.shape
    out = images
    if pad > 0:
        padded = F.pad(images, (pad, pad, pad, pad))
        dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen).tolist()
        dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen).tolist()
        out = torch.stack([padded[i, :, y:y + h, x:x + w] for i, (y, x) in enumerate(zip(dy, dx))])
    if flip:
        mask = torch.rand(n, generator=gen) < 0.5
        out = torch.where(mask.view(n, 1, 1, 1), out.flip(3), out)
    return out


def split_validation(n: int, fraction: float, seed: int) -> tuple[Tensor, Tensor]:
    """Seeded hold-out of the training split for choosing the best epoch (the test split
    is only read once, at the end)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = int(round(n * fraction)) if n >= 20 else 0
    return order[n_val:], order[:n_val]


class Ema:
    """Exponential moving average of every floating tensor of the state (weights and BN
    statistics), with the usual warm-up of the decay: min(decay, (1 + t) / (10 + t))."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        src = model.state_dict()
        for k, v in self.model.state_dict().items():
            s = src[k]
            if v.dtype.is_floating_point:
                v.mul_(d).add_(s.detach(), alpha=1 - d)
            else:
                v.copy_(s)


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, object]]:
    """No weight decay on BN parameters and biases (1-D tensors), as is standard."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    rest = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def lr_at(step: int, total: int, warmup: int, base: float) -> float:
    if warmup > 0 and step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return 0.5 * base * (1 + math.cos(math.pi * min(1.0, t)))


def evaluate(model: nn.Module, split: Split, idx: Tensor, norm: Split, size: tuple[int, int], channels: int,
             batch: int) -> float:
    if idx.numel() == 0:
        return float("nan")
    model.eval()
    hits = 0
    with torch.no_grad():
        for part in torch.split(idx, batch):
            pred = model(prepare(split.images[part], norm, size, channels)).argmax(1)
            hits += int((pred == split.labels[part]).sum().item())
    return hits / int(idx.numel())


def _atomic_save(obj: object, path: str) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    torch.save(obj, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _fingerprint(arch_raw: object, recipe: FullRecipe, seed: int, train_count: int) -> str:
    # Floats are not allowed in a weights_only checkpoint on torch 1.13: JSON text instead.
    return json.dumps({"arch": arch_raw, "recipe": asdict(recipe), "seed": seed, "train": train_count}, sort_keys=True)


def train_full(arch: Arch, arch_raw: object, train_set: Split, test_set: Split, recipe: FullRecipe, seed: int,
               out_dir: str, resume: bool, emit: Emit) -> dict[str, object]:
    if arch.head is None or arch.head.classes is None:
        raise ArchError("arch has no classifier (head or head.classes is null); cannot train it")
    check_fit(train_set, arch.input.h, arch.input.w, arch.input.c, arch.head.classes)
    check_fit(test_set, arch.input.h, arch.input.w, arch.input.c, arch.head.classes)
    if train_set.count == 0 or test_set.count == 0:
        raise RecipeError("train and test splits must not be empty")
    size, channels = (arch.input.h, arch.input.w), arch.input.c
    os.makedirs(out_dir, exist_ok=True)
    ckpt_path = os.path.join(out_dir, CHECKPOINT)
    fingerprint = _fingerprint(arch_raw, recipe, seed, train_set.count)

    torch.manual_seed(seed)
    model = build(arch, recipe.bn_momentum)
    opt = torch.optim.SGD(_param_groups(model, recipe.weight_decay), lr=recipe.lr, momentum=recipe.momentum,
                          nesterov=recipe.nesterov and recipe.momentum > 0)
    ema = Ema(model, recipe.ema_decay) if recipe.ema_decay > 0 else None
    train_idx, val_idx = split_validation(train_set.count, recipe.val_fraction, seed)
    steps_per_epoch = len(batches(int(train_idx.numel()), recipe.batch_size, torch.Generator().manual_seed(0)))
    total = steps_per_epoch * recipe.epochs
    warmup = min(total, int(round(recipe.warmup_epochs * steps_per_epoch)))

    start_epoch, step, best_val, best_epoch, best_source = 0, 0, -1.0, 0, "raw"
    history: list[dict[str, object]] = []
    seconds_before = 0.0
    if os.path.exists(ckpt_path):
        if not resume:
            raise RecipeError(f"{out_dir} already holds a full-training checkpoint ({CHECKPOINT}); "
                              "resume it (--resume) or delete the folder's full-training files to start over")
        # weights_only: a checkpoint is data, never code.
        ck = cast(dict[str, object], torch.load(ckpt_path, map_location="cpu", weights_only=True))
        if ck.get("format") != CHECKPOINT_FORMAT:
            raise RecipeError(f"{ckpt_path}: not a full-training checkpoint (format {ck.get('format')!r})")
        if ck.get("fingerprint") != fingerprint:
            raise RecipeError(f"{ckpt_path} was made for another network, recipe, seed or dataset; "
                              "resume with the same settings, or delete it to start over")
        meta = cast(dict[str, object], json.loads(cast(str, ck["meta"])))
        model.load_state_dict(cast(dict[str, Tensor], ck["model"]))
        if ema is not None:
            ema.model.load_state_dict(cast(dict[str, Tensor], ck["ema"]))
        opt.load_state_dict({"state": ck["opt_state"], "param_groups": meta["param_groups"]})
        start_epoch, step = int(cast(int, meta["epoch"])), int(cast(int, meta["step"]))
        best_val, best_epoch = float(cast(float, meta["best_val"])), int(cast(int, meta["best_epoch"]))
        best_source = str(meta["best_source"])
        history = cast(list[dict[str, object]], meta["history"])
        seconds_before = float(cast(float, meta["seconds"]))
        emit({"event": "resumed", "epoch": start_epoch, "epochs": recipe.epochs})

    def forward_loss(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        logits: Tensor = model(x)
        return F.cross_entropy(logits, y, label_smoothing=recipe.label_smoothing), logits

    t_start = time.perf_counter()
    every = max(1, steps_per_epoch // 10)
    for epoch in range(start_epoch, recipe.epochs):
        t_epoch = time.perf_counter()
        # Per-epoch seeds: a resumed run draws exactly what an uninterrupted one would.
        # Wrapped to torch's 64 bits: a seed up to 2**53 times a million would overflow it.
        torch.manual_seed((seed * 1_000_003 + epoch) % (1 << 64))
        order_gen = torch.Generator().manual_seed((seed * 1_000_003 + epoch) % (1 << 64))
        aug_gen = torch.Generator().manual_seed((seed * 1_000_033 + epoch) % (1 << 64))
        model.train()
        loss_sum, correct, seen, n_batches = 0.0, 0, 0, 0
        for part in batches(int(train_idx.numel()), recipe.batch_size, order_gen):
            idx = train_idx[part]
            raw = augment(train_set.images[idx], recipe.crop_padding, recipe.flip, aug_gen)
            x, y = prepare(raw, train_set, size, channels), train_set.labels[idx]
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total, warmup, recipe.lr)
            loss, logits = forward_loss(x, y)
            v = float(loss.item())
            if not math.isfinite(v):
                raise RecipeError(f"the loss became {v} at epoch {epoch + 1}, step {step + 1}: lower the learning rate")
            opt.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            step += 1
            if ema is not None:
                ema.update(model, step)
            loss_sum, n_batches = loss_sum + v, n_batches + 1
            seen += int(idx.numel())
            correct += int((logits.argmax(1) == y).sum().item())
            if n_batches % every == 0:
                emit({"event": "progress", "epoch": epoch + 1, "epochs": recipe.epochs, "step": n_batches,
                      "steps": steps_per_epoch, "loss": loss_sum / n_batches})
        val_raw = evaluate(model, train_set, val_idx, train_set, size, channels, recipe.eval_batch_size)
        val_ema = (evaluate(ema.model, train_set, val_idx, train_set, size, channels, recipe.eval_batch_size)
                   if ema is not None else float("nan"))
        # Which weights this epoch offers: the EMA when it validates at least as well ("where it helps").
        source = "ema" if ema is not None and not val_ema < val_raw else "raw"
        chosen: nn.Module = ema.model if source == "ema" and ema is not None else model
        val = val_ema if source == "ema" else val_raw
        no_val = val_idx.numel() == 0
        if no_val or val > best_val:
            best_val, best_epoch, best_source = (val if not no_val else -1.0), epoch + 1, source
            _atomic_save(chosen.state_dict(), os.path.join(out_dir, BEST))
        _atomic_save(chosen.state_dict(), os.path.join(out_dir, LAST))
        epoch_seconds = time.perf_counter() - t_epoch
        row: dict[str, object] = {"epoch": epoch + 1, "loss": loss_sum / max(1, n_batches),
                                  "trainAccuracy": correct / max(1, seen), "valAccuracy": None if no_val else val_raw,
                                  "valAccuracyEma": None if ema is None or no_val else val_ema,
                                  "lr": opt.param_groups[0]["lr"], "seconds": epoch_seconds}
        history.append(row)
        elapsed = seconds_before + time.perf_counter() - t_start
        opt_state = opt.state_dict()
        meta = {"epoch": epoch + 1, "step": step, "best_val": best_val, "best_epoch": best_epoch,
                "best_source": best_source, "history": history, "seconds": elapsed,
                "param_groups": opt_state["param_groups"]}
        _atomic_save({"format": CHECKPOINT_FORMAT, "fingerprint": fingerprint, "meta": json.dumps(meta),
                      "model": model.state_dict(), "ema": ema.model.state_dict() if ema is not None else {},
                      "opt_state": opt_state["state"]}, ckpt_path)
        emit({"event": "epoch", **row, "epochs": recipe.epochs, "best": best_epoch, "elapsed": elapsed})

    # The held-out test split, read once: best weights (the deliverable) and last weights.
    t_eval = time.perf_counter()
    test_idx = torch.arange(test_set.count)
    final = build(arch, recipe.bn_momentum)
    final.load_state_dict(cast(dict[str, Tensor], torch.load(os.path.join(out_dir, LAST), map_location="cpu",
                                                              weights_only=True)))
    last_acc = evaluate(final, test_set, test_idx, train_set, size, channels, recipe.eval_batch_size)
    final.load_state_dict(cast(dict[str, Tensor], torch.load(os.path.join(out_dir, BEST), map_location="cpu",
                                                              weights_only=True)))
    best_acc = evaluate(final, test_set, test_idx, train_set, size, channels, recipe.eval_batch_size)
    return {
        "accuracy": best_acc,
        "lastAccuracy": last_acc,
        "valAccuracy": best_val if best_val >= 0 else None,
        "bestEpoch": best_epoch,
        "bestSource": best_source,
        "epochs": history,
        "steps": step,
        "trainImages": int(train_idx.numel()),
        "valImages": int(val_idx.numel()),
        "testImages": test_set.count,
        "trainSeconds": seconds_before + (t_eval - t_start),
        "evalSeconds": time.perf_counter() - t_eval,
        "params": count_params(final),
        "weightsPath": os.path.abspath(os.path.join(out_dir, BEST)),
        "lastWeightsPath": os.path.abspath(os.path.join(out_dir, LAST)),
        "resumedFrom": start_epoch,
        "threads": torch.get_num_threads(),
    }

