"""Reads the proxy datasets written by server/src/train/datasets.ts: per split a JSON header
plus raw uint8 image and label files, loaded with numpy without copying through JSON.
Any channel count is read (mnist, fashion-mnist and idx 1, folder and cifar10 1 or 3); when the header has per-channel
statistics (`channelMean`/`channelStd`) each channel is normalized with its own."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Mapping, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

FORMAT = "mnas-dataset-v1"


class DataError(ValueError):
    """A dataset that cannot be read or does not fit the arch."""


@dataclass(frozen=True)
class Split:
    images: Tensor  # uint8, N x C x H x W
    labels: Tensor  # int64, N
    classes: int
    scale: float
    mean: float
    std: float
    channel_mean: tuple[float, ...] | None = None
    channel_std: tuple[float, ...] | None = None

    @property
    def count(self) -> int:
        return int(self.labels.shape[0])


def _field(h: Mapping[str, object], key: str, path: str) -> object:
    if key not in h:
        raise DataError(f"{path}: header has no '{key}'")
    return h[key]


def _channel_stats(h: Mapping[str, object], key: str, channels: int, path: str) -> tuple[float, ...] | None:
    raw = h.get(key)
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) != channels or not all(isinstance(v, (int, float)) for v in raw):
        raise DataError(f"{path}: '{key}' must be a list of {channels} numbers")
    return tuple(float(v) for v in raw)


def _plain_file_in(folder: str, name: object) -> str:
    """folder/name when name is a plain file name (no separator, not '.' or '..', not absolute)
    whose real path stays in folder; else ValueError saying why (server/src/util/plainFile.ts)."""
    if not isinstance(name, str) or name == "":
        raise ValueError("is not a file name")
    if name in (".", "..") or any(ch in name for ch in "/\\\0") or os.path.isabs(name):
        raise ValueError('is not a plain file name (no "/", "\\" or "..", not absolute)')
    root = os.path.abspath(folder)
    path = os.path.abspath(os.path.join(root, name))
    if os.path.dirname(path) != root:
        raise ValueError(f"resolves outside {root}")
    if os.path.exists(path):
        real = os.path.realpath(path)
        if os.path.dirname(real) != os.path.realpath(root):
            raise ValueError(f"leads outside {root} through a symbolic link (to {real})")
    return path


def _data_file(base: str, h: Mapping[str, object], key: str, header_path: str) -> str:
    # A header comes from another process (datasets/write.ts): it may only name files beside it.
    name = _field(h, key, header_path)
    try:
        return _plain_file_in(base, name)
    except ValueError as e:
        example = f"{os.path.splitext(os.path.basename(header_path))[0]}-{key}.u8"
        raise DataError(f"{header_path}: '{key}' {json.dumps(name)} {e}. A dataset header names only files beside it "
                        f"(here {json.dumps(example)}); this one is damaged or was written by something else: "
                        f"delete {base} and run again.") from None


def load_split(header_path: str) -> Split:
    try:
        with open(header_path, encoding="utf-8") as f:
            raw: object = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise DataError(f"cannot read dataset header {header_path}: {e}") from e
    if not isinstance(raw, dict):
        raise DataError(f"{header_path}: header is not a JSON object")
    h = cast(Mapping[str, object], raw)
    if h.get("format") != FORMAT:
        raise DataError(f"{header_path}: format {h.get('format')!r}, expected {FORMAT!r}")
    shape = cast(list[int], _field(h, "shape", header_path))
    count = int(cast(int, _field(h, "count", header_path)))
    base = os.path.dirname(os.path.abspath(header_path))
    images_path = _data_file(base, h, "images", header_path)
    labels_path = _data_file(base, h, "labels", header_path)
    c, hh, ww = (int(v) for v in shape)
    images = np.fromfile(images_path, dtype=np.uint8)
    labels = np.fromfile(labels_path, dtype=np.uint8)
    if images.size != count * c * hh * ww or labels.size != count:
        raise DataError(f"{header_path}: files hold {images.size} pixels / {labels.size} labels, "
                        f"header says {count} images of {c}x{hh}x{ww}")
    classes = int(cast(int, _field(h, "classes", header_path)))
    if count and int(labels.max()) >= classes:
        raise DataError(f"{header_path}: label {int(labels.max())} >= classes {classes}")
    return Split(
        images=torch.from_numpy(images.reshape(count, c, hh, ww)),
        labels=torch.from_numpy(labels.astype(np.int64)),
        classes=classes,
        scale=float(cast(float, h.get("scale", 255))),
        mean=float(cast(float, _field(h, "mean", header_path))),
        std=float(cast(float, _field(h, "std", header_path))),
        channel_mean=_channel_stats(h, "channelMean", c, header_path),
        channel_std=_channel_stats(h, "channelStd", c, header_path),
    )


def prepare(images: Tensor, norm: Split, size: tuple[int, int], channels: int) -> Tensor:
    """uint8 batch -> normalized float batch at the arch's input size and channel count
    (statistics of the training split, bilinear resize, grey repeated to RGB)."""
    x = images.to(torch.float32).div_(norm.scale)
    if norm.channel_mean is not None and norm.channel_std is not None and len(norm.channel_mean) == x.shape[1]:
        mean = torch.tensor(norm.channel_mean, dtype=torch.float32).view(1, -1, 1, 1)
        std = torch.tensor(norm.channel_std, dtype=torch.float32).clamp_(min=1e-6).view(1, -1, 1, 1)
        x = x.sub_(mean).div_(std)
    else:
        x = x.sub_(norm.mean).div_(norm.std)
    if (x.shape[2], x.shape[3]) != size:
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    if x.shape[1] != channels:
        x = x.repeat(1, channels, 1, 1)
    return x


def check_fit(split: Split, h: int, w: int, c: int, classes: int) -> None:
    dc = int(split.images.shape[1])
    if not (dc == c or (dc == 1 and c == 3)):
        hint = " (prepare the dataset with `channels 1`)" if c == 1 and dc == 3 else ""
        raise DataError(f"arch input has {c} channels but the data has {dc} (only 1 -> 3 is converted){hint}")
    if classes < split.classes:
        raise DataError(f"arch.head.classes is {classes} but the dataset has {split.classes} classes")
    del h, w  # any size: images are resized
