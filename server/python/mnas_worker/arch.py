"""The resolved network (TypeScript `Arch`, server/src/language/arch.ts) parsed and validated
from JSON into typed dataclasses, so the builder never sees malformed values."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Mapping, Optional, cast

OpName = Literal["conv", "sepconv", "mbconv"]
ActName = Literal["relu", "relu6", "swish", "hswish"]
SkipName = Literal["identity", "pool", "none"]
PoolName = Literal["avg", "max"]

OPS: tuple[OpName, ...] = ("conv", "sepconv", "mbconv")
ACTS: tuple[ActName, ...] = ("relu", "relu6", "swish", "hswish")
SKIPS: tuple[SkipName, ...] = ("identity", "pool", "none")
POOLS: tuple[PoolName, ...] = ("avg", "max")

# Keeps a typo'd arch (f=1e6) from allocating gigabytes inside the worker.
MAX_FILTERS = 1 << 14
MAX_SIDE = 4096


class ArchError(ValueError):
    """An Arch that cannot be built; the message names the offending field."""


@dataclass(frozen=True)
class InputShape:
    h: int
    w: int
    c: int


@dataclass(frozen=True)
class Stem:
    k: int
    s: int
    f: int
    act: ActName


@dataclass(frozen=True)
class Block:
    name: str
    op: OpName
    e: float
    k: int
    s: int
    f: int
    x: int
    se: float
    skip: SkipName
    act: ActName


@dataclass(frozen=True)
class Head:
    f: Optional[int]
    pool: PoolName
    classes: Optional[int]
    dropout: float
    # Not in the TS Arch today; see head_act().
    act: Optional[ActName]


@dataclass(frozen=True)
class Arch:
    name: str
    input: InputShape
    stem: Optional[Stem]
    blocks: tuple[Block, ...]
    head: Optional[Head]

    def head_act(self) -> ActName:
        """The head conv's activation: Arch carries no model-level act, so use the head's own
        if given, else the last block's, else the stem's (they all default to the model's)."""
        if self.head is not None and self.head.act is not None:
            return self.head.act
        if self.blocks:
            return self.blocks[-1].act
        if self.stem is not None:
            return self.stem.act
        return "relu"


def _obj(v: object, where: str) -> Mapping[str, object]:
    if not isinstance(v, dict):
        raise ArchError(f"{where} must be an object")
    return cast(Mapping[str, object], v)


def _int(o: Mapping[str, object], key: str, where: str, lo: int = 1, hi: int = MAX_FILTERS) -> int:
    v = o.get(key)
    # bool is an int subclass in Python; reject it explicitly.
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not float(v).is_integer():
        raise ArchError(f"{where}.{key} must be an integer, got {v!r}")
    n = int(v)
    if n < lo or n > hi:
        raise ArchError(f"{where}.{key} must be in {lo}..{hi}, got {n}")
    return n


def _num(o: Mapping[str, object], key: str, where: str, lo: float, hi: float) -> float:
    v = o.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
        raise ArchError(f"{where}.{key} must be a number, got {v!r}")
    x = float(v)
    if x < lo or x > hi:
        raise ArchError(f"{where}.{key} must be in [{lo}, {hi}], got {x}")
    return x


def _enum(o: Mapping[str, object], key: str, where: str, allowed: tuple[str, ...]) -> str:
    v = o.get(key)
    if not isinstance(v, str) or v not in allowed:
        raise ArchError(f"{where}.{key} must be one of {', '.join(allowed)}; got {v!r}")
    return v


def parse_arch(raw: object) -> Arch:
    o = _obj(raw, "arch")
    name = o.get("name", "")
    if not isinstance(name, str):
        raise ArchError("arch.name must be a string")
    i = _obj(o.get("input"), "arch.input")
    shape = InputShape(
        h=_int(i, "h", "arch.input", hi=MAX_SIDE),
        w=_int(i, "w", "arch.input", hi=MAX_SIDE),
        c=_int(i, "c", "arch.input", hi=MAX_FILTERS),
    )
    stem: Optional[Stem] = None
    if o.get("stem") is not None:
        s = _obj(o.get("stem"), "arch.stem")
        stem = Stem(
            k=_int(s, "k", "arch.stem", hi=31),
            s=_int(s, "s", "arch.stem", hi=8),
            f=_int(s, "f", "arch.stem"),
            act=cast(ActName, _enum(s, "act", "arch.stem", ACTS)),
        )
    rb = o.get("blocks")
    if not isinstance(rb, list):
        raise ArchError("arch.blocks must be an array")
    blocks: list[Block] = []
    for n, item in enumerate(cast(list[object], rb)):
        b = _obj(item, f"arch.blocks[{n}]")
        where = f"arch.blocks[{n}]"
        bname = b.get("name", f"b{n}")
        op = cast(OpName, _enum(b, "op", where, OPS))
        blocks.append(Block(
            name=bname if isinstance(bname, str) else f"b{n}",
            op=op,
            # e only means something for mbconv (toArch sets 1 elsewhere).
            e=_num(b, "e", where, 0.01, 64.0) if op == "mbconv" else 1.0,
            k=_int(b, "k", where, hi=31),
            s=_int(b, "s", where, hi=8),
            f=_int(b, "f", where),
            x=_int(b, "x", where, hi=64),
            se=_num(b, "se", where, 0.0, 1.0),
            skip=cast(SkipName, _enum(b, "skip", where, SKIPS)),
            act=cast(ActName, _enum(b, "act", where, ACTS)),
        ))
    head: Optional[Head] = None
    if o.get("head") is not None:
        h = _obj(o.get("head"), "arch.head")
        act_raw = h.get("act")
        head = Head(
            f=None if h.get("f") is None else _int(h, "f", "arch.head"),
            pool=cast(PoolName, _enum(h, "pool", "arch.head", POOLS)),
            classes=None if h.get("classes") is None else _int(h, "classes", "arch.head", hi=1 << 20),
            dropout=_num(h, "dropout", "arch.head", 0.0, 0.99) if h.get("dropout") is not None else 0.0,
            act=None if act_raw is None else cast(ActName, _enum(h, "act", "arch.head", ACTS)),
        )
    return Arch(name=name, input=shape, stem=stem, blocks=tuple(blocks), head=head)
