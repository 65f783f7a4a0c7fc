"""Surrogate accuracy model of bench/search-quality.bench.ts (the NAS-Bench-301 method).

Fits regressors from architecture encodings to the proxy accuracy of really trained children,
reports how well each predicts children it never saw, then answers predictions with the chosen one.

    /usr/bin/python3 bench/lib/surrogate.py

Protocol (JSON lines on stdin and stdout):
  1. in:  {"rows": [{"x": [float...], "y": float, "group": str}], "seed": int, "model"?: str}
     (with "model": that model fitted on all rows, no scores: what a second process of a search uses)
     out: {"chosen": str, "models": {name: {"cv_spearman", "test_spearman", "test_r2", "test_rmse"}},
           "train": int, "test": int, "groups": int, "noise_sd": float, "pairs": int}
  2. in:  {"x": [[float...], ...]}        out: {"y": [float...]}   (repeat; EOF ends)

Rows sharing a `group` (the same architecture trained more than once) stay on one side of every
split, so a score never comes from an architecture seen in training. Model choice uses 5-fold CV
Spearman on the training part only; the held-out test part (20% of the architectures) is scored
once, for every model, and reported as is. `noise_sd` is the seed-to-seed standard deviation of
one training (from architectures trained twice or more: pooled within-group variance), which a
caller may add to predictions as NAS-Bench-301's noisy surrogate does.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np
from scipy.stats import spearmanr
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
from sklearn.linear_model import RidgeCV
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.model_selection import GroupKFold, GroupShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def models(seed: int) -> dict[str, Any]:
    return {
        "ridge": make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13))),
        "gbt": GradientBoostingRegressor(
            n_estimators=300, learning_rate=0.03, max_depth=3, subsample=0.8, min_samples_leaf=5, random_state=seed
        ),
        "gp": make_pipeline(
            StandardScaler(),
            GaussianProcessRegressor(
                kernel=ConstantKernel(1.0) * RBF(length_scale=5.0) + WhiteKernel(0.1),
                normalize_y=True,
                random_state=seed,
            ),
        ),
    }


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    r = spearmanr(a, b).correlation
    return float(r) if np.isfinite(r) else 0.0


def noise_sd(y: np.ndarray, groups: np.ndarray) -> tuple[float, int]:
    """Pooled within-architecture standard deviation (architectures trained at least twice)."""
    ss = 0.0
    dof = 0
    repeated = 0
    for g in np.unique(groups):
        v = y[groups == g]
        if len(v) >= 2:
            ss += float(((v - v.mean()) ** 2).sum())
            dof += len(v) - 1
            repeated += 1
    return (float(np.sqrt(ss / dof)) if dof else 0.0), repeated


def fit(rows: list[dict[str, Any]], seed: int) -> tuple[Any, dict[str, Any]]:
    x = np.array([r["x"] for r in rows], dtype=float)
    y = np.array([r["y"] for r in rows], dtype=float)
    groups = np.array([r["group"] for r in rows])
    if len(np.unique(groups)) < 10:
        raise ValueError(f"need at least 10 distinct architectures, got {len(np.unique(groups))}")
    split = GroupShuffleSplit(n_splits=1, test_size=0.2, random_state=seed)
    tr, te = next(split.split(x, y, groups))
    report: dict[str, Any] = {}
    folds = GroupKFold(n_splits=5)
    for name, model in models(seed).items():
        cv_pred = np.zeros(len(tr))
        for a, b in folds.split(x[tr], y[tr], groups[tr]):
            m = models(seed)[name]
            m.fit(x[tr][a], y[tr][a])
            cv_pred[b] = m.predict(x[tr][b])
        model.fit(x[tr], y[tr])
        pred = model.predict(x[te])
        report[name] = {
            "cv_spearman": spearman(cv_pred, y[tr]),
            "test_spearman": spearman(pred, y[te]),
            "test_r2": float(r2_score(y[te], pred)),
            "test_rmse": float(np.sqrt(mean_squared_error(y[te], pred))),
        }
    chosen = max(report, key=lambda k: report[k]["cv_spearman"])
    final = models(seed)[chosen]
    final.fit(x, y)
    sd, pairs = noise_sd(y, groups)
    summary = {
        "chosen": chosen,
        "models": report,
        "train": int(len(tr)),
        "test": int(len(te)),
        "groups": int(len(np.unique(groups))),
        "noise_sd": sd,
        "pairs": pairs,
    }
    return final, summary


def refit(rows: list[dict[str, Any]], seed: int, name: str) -> tuple[Any, dict[str, Any]]:
    """The named model fitted on every row, without scoring (a second process of the same search)."""
    x = np.array([r["x"] for r in rows], dtype=float)
    y = np.array([r["y"] for r in rows], dtype=float)
    groups = np.array([r["group"] for r in rows])
    model = models(seed)[name]
    model.fit(x, y)
    sd, pairs = noise_sd(y, groups)
    return model, {"chosen": name, "models": {}, "train": len(rows), "test": 0, "groups": int(len(np.unique(groups))), "noise_sd": sd, "pairs": pairs}


def main() -> None:
    first = sys.stdin.readline()
    if not first:
        raise SystemExit("surrogate.py: no input")
    req = json.loads(first)
    seed = int(req.get("seed", 0))
    model, summary = refit(req["rows"], seed, req["model"]) if req.get("model") else fit(req["rows"], seed)
    print(json.dumps(summary), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        x = np.array(json.loads(line)["x"], dtype=float)
        print(json.dumps({"y": [float(v) for v in model.predict(x)]}), flush=True)


if __name__ == "__main__":
    main()
