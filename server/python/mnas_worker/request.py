"""Request fields that several handlers read (train, trainFull, export, forward), checked in one
place; each caller passes the error class its messages use."""

from __future__ import annotations

from typing import Mapping

# The driver sends JSON numbers from JavaScript: integers are exact up to 2**53 - 1.
MAX_SEED = (1 << 53) - 1


class RequestError(ValueError):
    """A request that cannot be served as given; the message says how to fix it."""


def seed_of(req: Mapping[str, object], error: type[ValueError] = RequestError) -> int:
    """`seed` (default 0): a whole number in 0..2**53-1, else `error` naming the value."""
    seed = req.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise error(f"seed must be a whole number in 0..{MAX_SEED}, got {seed!r}")
    return seed
