"""`python3 -m mnas_worker`: serves line-delimited JSON requests from stdin, one reply line per
request on stdout; everything else (logs, warnings, tracebacks) goes to stderr."""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
import time
import traceback
from typing import Mapping, TextIO, cast

# Must precede the torch import (OpenMP reads it at load). Spinning OpenMP threads made
# 2-thread training up to 8x slower on a loaded 2-core machine; passive waiting does not.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .handlers import HANDLERS, default_threads  # noqa: E402


def _finite(v: object) -> object:
    """JSON has no NaN/Infinity (JSON.parse rejects them): send null instead."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in cast(dict[str, object], v).items()}
    if isinstance(v, list):
        return [_finite(x) for x in cast(list[object], v)]
    return v


class Replier:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def send(self, msg: dict[str, object]) -> None:
        self.out.write(json.dumps(_finite(msg), allow_nan=False) + "\n")
        self.out.flush()


def handle(line: str, reply: Replier) -> None:
    try:
        raw: object = json.loads(line)
    except json.JSONDecodeError as e:
        reply.send({"id": None, "ok": False, "error": f"request is not valid JSON: {e}"})
        return
    if not isinstance(raw, dict):
        reply.send({"id": None, "ok": False, "error": "request must be a JSON object"})
        return
    req = cast(Mapping[str, object], raw)
    rid = req.get("id")
    if not (rid is None or isinstance(rid, (int, str))) or isinstance(rid, bool):
        reply.send({"id": None, "ok": False, "error": "id must be a number or a string"})
        return
    kind = req.get("type")
    handler = HANDLERS.get(kind) if isinstance(kind, str) else None
    if handler is None:
        known = ", ".join(sorted(HANDLERS))
        reply.send({"id": rid, "ok": False, "error": f"unknown request type {kind!r}; known: {known}"})
        return

    def emit(event: dict[str, object]) -> None:
        reply.send({"id": rid, **event})

    try:
        result = handler(req, emit)
    except ValueError as e:  # ArchError, DataError, RecipeError, RequestError
        reply.send({"id": rid, "ok": False, "error": str(e)})
        return
    except Exception as e:  # noqa: BLE001 - keep serving; the traceback goes to stderr
        traceback.print_exc(file=sys.stderr)
        reply.send({"id": rid, "ok": False, "error": f"{kind} failed: {type(e).__name__}: {e}"})
        return
    reply.send({"id": rid, "ok": True, **result})


PARENT_POLL_SECONDS = 0.5


def _exit_with_parent() -> None:
    """Exits within a second when the process that started this worker dies. A parent killed
    with SIGKILL never closes our stdin, and a training in progress reads stdin only when it
    ends: without this the worker would train on for nobody, holding cores. The parent names
    itself in MNAS_WORKER_PARENT; a parent dead before this runs is caught too. getppid() is
    polled rather than PR_SET_PDEATHSIG, which fires when the spawning *thread* ends."""
    parent = os.getppid()
    named = int(os.environ.get("MNAS_WORKER_PARENT", "0") or 0)

    def gone(why: str) -> None:
        try:  # stderr was a pipe to the dead parent: writing may fail, exiting must not
            print(f"mnas_worker: {why}; exiting", file=sys.stderr, flush=True)
        finally:
            os._exit(1)

    if named > 0 and named != parent:
        # A wrapper between us (an interpreter shim that forks) is fine; a dead parent is not.
        try:
            os.kill(named, 0)
        except ProcessLookupError:
            gone(f"the parent process {named} is gone")
        except PermissionError:
            pass

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_SECONDS)
            if os.getppid() != parent:
                gone(f"the parent process {parent} is gone")

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main() -> int:
    # Ctrl-C in a terminal reaches the whole process group. The process that started this worker
    # decides what a stop means (the search journals what finished and kills its workers; `mnas
    # worker` finishes the jobs in hand): a KeyboardInterrupt here would only look like a crash,
    # and the child would be retried on a fresh worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent()
    # Protocol replies own the real stdout; stray prints from libraries land on stderr.
    reply = Replier(sys.stdout)
    sys.stdout = sys.stderr
    import torch

    torch.set_num_threads(default_threads())
    for line in sys.stdin:
        if line.strip():
            handle(line, reply)
    return 0


if __name__ == "__main__":
    sys.exit(main())
