"""A minimal, plain PyTorch training loop: the reference side of bench/train-throughput.bench.ts.

The same network as the search worker (built from the same arch JSON with mnas_worker's builder,
so the model is identical), the same prepared dataset files, batch size, optimizer, learning rate,
thread count and epochs; but none of the worker's machinery: the training split is decoded and
normalized once up front, and the loop is just shuffle -> forward -> loss -> backward -> step.

    /usr/bin/python3 bench/lib/plain_train.py '<json config>'

config: {"workerDir", "archs": [arch.json paths], "trainPath", "batch", "epochs", "lr",
"bnMomentum", "threads", "seed", "warmupSteps"}. Prints one JSON line per arch:
{"arch", "imagesPerSecond", "trainSeconds", "images", "loss"}.
"""

from __future__ import annotations

import json
import sys
import time

import torch
import torch.nn.functional as F


def load_train(header_path: str) -> tuple[torch.Tensor, torch.Tensor]:
    # The worker's reader (checked header, files only beside it), normalized once up front.
    from mnas_worker.data import load_split  # noqa: E402

    s = load_split(header_path)
    x = s.images.to(torch.float32).div_(s.scale).sub_(s.mean).div_(s.std)
    return x, s.labels


def main() -> None:
    cfg = json.loads(sys.argv[1])
    sys.path.insert(0, cfg["workerDir"])
    from mnas_worker.arch import parse_arch  # noqa: E402
    from mnas_worker.builder import build  # noqa: E402

    torch.set_num_threads(int(cfg["threads"]))
    x, y = load_train(cfg["trainPath"])
    n = x.shape[0]
    batch, epochs = int(cfg["batch"]), int(cfg["epochs"])

    def train(arch_path: str, max_steps: int | None) -> dict[str, object]:
        with open(arch_path, encoding="utf-8") as f:
            arch = parse_arch(json.load(f))
        torch.manual_seed(int(cfg["seed"]))
        model = build(arch, float(cfg["bnMomentum"]))
        opt = torch.optim.Adam(model.parameters(), lr=float(cfg["lr"]))
        gen = torch.Generator().manual_seed(int(cfg["seed"]))
        model.train()
        seen, steps, loss = 0, 0, torch.zeros(())
        t0 = time.perf_counter()
        for _ in range(epochs):
            for idx in torch.randperm(n, generator=gen).split(batch):
                if idx.numel() < 2:
                    continue
                loss = F.cross_entropy(model(x[idx]), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                seen += int(idx.numel())
                steps += 1
                if max_steps is not None and steps >= max_steps:
                    break
        seconds = time.perf_counter() - t0
        return {"arch": arch_path, "imagesPerSecond": seen / seconds, "trainSeconds": seconds, "images": seen,
                "loss": float(loss.item())}

    # Warm-up (thread pool, allocator, first-call overheads), as the worker is warm in the search.
    train(cfg["archs"][0], int(cfg.get("warmupSteps", 5)))
    for a in cfg["archs"]:
        print(json.dumps(train(a, None)), flush=True)


if __name__ == "__main__":
    main()
