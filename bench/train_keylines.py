"""Train the key-line model on the tune half of the corpora and write it as plain data.

Every labelled log of half `tune` (`bench/corpora.py`; the held-out half is never read here) is scanned
as `mender diagnose` scans it; each line the scan kept (`domain.diagnosis.keylines.scored_lines`) is a
sample, positive when it would be a hit (it occurs inside a line the log's authors marked). Candidate
recall (a positive among the kept lines at all) is printed first. Hyper-parameters (pointwise, pairwise
or listwise logistic models, regularisation, and the two margins: over a rules' line a playbook rule
backs, and over a failing step's line none backs) are chosen by cross-validation grouped by repository
inside `tune` (a repository's logs are never split between training and validation); the score is the
share of logs whose shown line is a hit; ties go to the smallest refit-over-CV gap (`tie_break`). The chosen model is refit on all of `tune` and written to
`domain/diagnosis/models/keyline.json` with the digest of its training data, the date and the CV score.
scikit-learn is needed here only; `mender diagnose` applies the model as a dot product.

Usage: .venv/bin/python bench/train_keylines.py [--dry-run]
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from corpora import HELD_OUT, TUNE, Item, all_items  # noqa: E402
from scipy.optimize import minimize  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GroupKFold  # noqa: E402

from domain.diagnosis.baseline import PassingRun  # noqa: E402
from domain.diagnosis.decision import choose  # noqa: E402
from domain.diagnosis.distill import blocks_from_binary  # noqa: E402
from domain.diagnosis.distilled import displayed  # noqa: E402
from domain.diagnosis.engine import scan  # noqa: E402
from domain.diagnosis.keylines import MODEL_FILE, choose_index, scored_lines  # noqa: E402
from domain.diagnosis.line_features import CLIPPED, FEATURES  # noqa: E402

FOLDS = 5
MARGINS = (0.0, 0.5, 1.0, 2.0, 4.0)
GRID = [
    *(("pointwise", c) for c in (0.001, 0.003)),
    *(("pairwise", c) for c in (0.003, 0.01, 0.03)),
    *(("listwise", c) for c in (0.1, 1.0, 3.0)),
]


class Log:
    """One log's kept lines: feature matrix, hit labels, and whether the rules' line was a hit."""

    def __init__(self, item: Item, use_pass: bool = False) -> None:
        baseline = PassingRun.from_file(item.pass_path) if use_pass and item.pass_path else None
        with item.path.open("rb") as handle:
            outcome = scan(blocks_from_binary(handle), None, None, 80, baseline)
        choice = choose(outcome.candidates, outcome.steps, outcome.exits)
        chosen = choice.capture if choice is not None else None
        lines, vectors = scored_lines(outcome, chosen, baseline.seen if baseline else None)
        self.repository, self.name = item.repository, item.name
        self.bodies = [line.body[:200] for line in lines]
        self.x = np.array(vectors, dtype=float).reshape(len(lines), len(FEATURES))
        self.y = np.array(
            [item.hit(displayed(line.text.removesuffix(CLIPPED))) for line in lines], dtype=bool
        )
        self.cause = (
            chosen is not None and chosen.top is not None and chosen.top.rule.category.value != "code"
        )
        failing = next((step for step in outcome.steps if step.failed), None)
        self.backed = not (  # as `keylines.pick`: a failing step's line no playbook rule backs is weak
            chosen is not None
            and chosen.top is None
            and failing is not None
            and chosen.step_index == failing.index
        )
        self.rules_hit = chosen is not None and item.hit(displayed(chosen.line))
        self.pool_hit = any(item.hit(displayed(c.line)) for c in outcome.candidates)
        self.candidate_hit = self.pool_hit or any(
            item.hit(displayed(c.line)) for c in [*outcome.exits, *([chosen] if chosen else [])]
        )


def digest(items: list[Item]) -> str:
    """SHA-256 of the training logs and their labels (names, bytes, labelled lines)."""
    sha = hashlib.sha256()
    for item in sorted(items, key=lambda i: i.name):
        sha.update(item.name.encode())
        sha.update(hashlib.sha256(item.path.read_bytes()).digest())
        sha.update("\n".join(item.truth).encode())
    return sha.hexdigest()


def standardise(logs: list[Log]) -> tuple[np.ndarray, np.ndarray]:
    stacked = np.vstack([log.x for log in logs])
    mean, scale = stacked.mean(axis=0), stacked.std(axis=0)
    return mean, np.where(scale > 1e-9, scale, 1.0)


def fit(kind: str, c: float, logs: list[Log]) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(mean, scale, weights, bias) of a model fitted on `logs`."""
    mean, scale = standardise(logs)
    if kind == "listwise":
        return mean, scale, listwise([((log.x - mean) / scale, log.y) for log in logs if log.y.any()], c), 0.0
    if kind == "pointwise":
        x = np.vstack([(log.x - mean) / scale for log in logs])
        y = np.concatenate([log.y for log in logs])
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000).fit(x, y)
        return mean, scale, model.coef_[0], float(model.intercept_[0])
    rng = np.random.default_rng(0)
    diffs = []
    for log in logs:
        positives, negatives = np.flatnonzero(log.y), np.flatnonzero(~log.y)
        if not len(positives) or not len(negatives):
            continue
        z = (log.x - mean) / scale
        pairs = min(400, len(positives) * len(negatives))
        pos, neg = rng.choice(positives, pairs), rng.choice(negatives, pairs)
        weight = 1.0 / pairs  # each log counts the same
        diffs.append((z[pos] - z[neg], weight))
    x = np.vstack([d for d, _ in diffs] + [-d for d, _ in diffs])
    weights = np.concatenate([np.full(len(d), w) for d, w in diffs] * 2)
    y = np.concatenate([np.ones(len(x) // 2), np.zeros(len(x) // 2)])
    model = LogisticRegression(C=c, fit_intercept=False, max_iter=2000).fit(
        x, y, sample_weight=weights * len(diffs)
    )
    return mean, scale, model.coef_[0], 0.0


def listwise(logs: list[tuple[np.ndarray, np.ndarray]], c: float) -> np.ndarray:
    """Weights maximising, over logs, the log-probability that a softmax over a log's lines picks a hit
    (each log counts the same), with an L2 penalty of 1 / (2 C)."""

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros_like(w)
        for z, y in logs:
            s = z @ w
            top = s.max()
            every = np.exp(s - top)
            hits = every * y
            total += np.log(every.sum()) - np.log(hits.sum())
            grad += z.T @ (every / every.sum() - hits / hits.sum())
        n = len(logs)
        return total / n + w @ w / (2 * c * n), grad / n + w / (c * n)

    width = logs[0][0].shape[1]
    return minimize(loss, np.zeros(width), jac=True, method="L-BFGS-B").x


def top_hits(
    model: tuple[np.ndarray, np.ndarray, np.ndarray, float], logs: list[Log], margins: tuple[float, float]
) -> int:
    """How many logs' shown line is a hit (`domain.diagnosis.keylines.choose_index`, as at runtime), with
    `margins`: (over a rules' line a playbook rule backs, over a failing step's line none backs)."""
    mean, scale, weights, bias = model
    hits = 0
    for log in logs:
        if not len(log.y):
            continue
        scores = ((log.x - mean) / scale) @ weights + bias
        margin = margins[0] if log.backed else margins[1]
        index = choose_index(list(scores), log.x.tolist(), margin, log.cause)
        hits += log.rules_hit if index is None else bool(log.y[index])
    return hits


def cross_validate(kind: str, c: float, logs: list[Log]) -> dict[tuple[float, float], float]:
    """The CV top-line hit rate for each pair of margins (rule-backed, not backed)."""
    groups = [log.repository for log in logs]
    hits = dict.fromkeys(((m, w) for m in MARGINS for w in MARGINS), 0)
    for train, test in GroupKFold(n_splits=FOLDS).split(logs, groups=groups):
        model = fit(kind, c, [logs[i] for i in train])
        for margins in hits:
            hits[margins] += top_hits(model, [logs[i] for i in test], margins)
    return {margin: value / len(logs) for margin, value in hits.items()}


def tie_break(
    results: list[tuple[float, str, float, tuple[float, float]]], logs: list[Log]
) -> tuple[float, str, float, tuple[float, float], float]:
    """The best CV score; on ties the model that fits `tune` the least above its CV score (refit on all of
    `tune` minus CV: the one that learned the fewest of the tune projects' own habits), then the larger
    margins (the rules' line stays more often), pointwise, the stronger penalty."""
    top = max(r[0] for r in results)
    tied, refits = [r for r in results if r[0] == top], {}
    for _, kind, c, margins in tied:
        if (kind, c) not in refits:
            refits[(kind, c)] = fit(kind, c, logs)
        refit = top_hits(refits[(kind, c)], logs, margins) / len(logs)
        print(f"  tied at CV {top:.3f}: {kind} C={c} margins {margins}, refit on all of tune {refit:.3f}")
    scored = [(*r, top_hits(refits[(r[1], r[2])], logs, r[3]) / len(logs)) for r in tied]
    return max(scored, key=lambda r: (-(r[4] - r[0]), r[3], r[1] == "pointwise", -r[2]))


def recall() -> None:
    """Candidate recall on both halves: how often a labelled line is among the rules' candidates, and
    among all the lines the model scores. Counts only: nothing is fitted or chosen on `held-out`."""
    for half in (TUNE, HELD_OUT):
        logs = [Log(item) for item in all_items() if item.half == half]
        n = len(logs)
        print(
            f"{half:9} {n:4d} logs: rules' key line {sum(log.rules_hit for log in logs) / n:.2f},"
            f" a pooled candidate is a hit {sum(log.pool_hit for log in logs) / n:.2f},"
            f" with the exit and step-back lines {sum(log.candidate_hit for log in logs) / n:.2f},"
            f" a scored line is a hit {sum(bool(log.y.any()) for log in logs) / n:.2f},"
            f" lines scored per log {np.mean([len(log.y) for log in logs]):.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dry-run", action="store_true", help="cross-validate only, write nothing")
    parser.add_argument(
        "--cache", type=Path, help="keep the scanned logs in this pickle (re-used if present)"
    )
    parser.add_argument(
        "--recall", action="store_true", help="only print the recall of both halves (no training, no model)"
    )
    args = parser.parse_args()
    if args.recall:
        recall()
        return
    items = [item for item in all_items() if item.half == TUNE]
    started = time.perf_counter()
    if args.cache and args.cache.is_file():
        logs = pickle.loads(args.cache.read_bytes())
    else:
        logs = [Log(item) for item in items]
        if args.cache:
            args.cache.write_bytes(pickle.dumps(logs))
    n = len(logs)
    print(
        f"scanned {n} tune logs ({len({i.repository for i in items})} repositories) in {time.perf_counter() - started:.1f} s"
    )
    print(f"  rules' key line hit:        {sum(log.rules_hit for log in logs) / n:.2f}")
    print(
        f"  a candidate line is a hit:  {sum(log.candidate_hit for log in logs) / n:.2f}  (candidates, exit and step-back lines)"
    )
    print(
        f"  a kept line is a hit:       {sum(bool(log.y.any()) for log in logs) / n:.2f}  (recall of the lines scored)"
    )
    print(f"  lines scored per log:       {np.mean([len(log.y) for log in logs]):.0f}")
    results = []
    for kind, c in GRID:
        scores = cross_validate(kind, c, logs)
        results += [(score, kind, c, margins) for margins, score in scores.items()]
        best = max(scores.items(), key=lambda kv: (kv[1], kv[0]))
        same = [m for m in MARGINS if (m, m) in scores]
        shown = "  ".join(f"margin {m}: {scores[(m, m)]:.3f}" for m in same)
        print(f"  CV by repository ({FOLDS} folds): {kind:9} C={c:<5} top line hit  {shown}")
        print(f"      best margins (backed, not backed) {best[0]}: {best[1]:.3f}")
    best_score, kind, c, margins, refit = tie_break(results, logs)
    mean, scale, weights, bias = fit(kind, c, logs)
    print(f"chosen: {kind} C={c} margins {margins}, CV {best_score:.3f}; refit on all of tune: {refit:.3f}")
    if args.dry_run:
        return
    model = {
        "about": "Key-line model: a line's score is bias + sum(weights * (x - mean) / scale) over `features`"
        " (domain/diagnosis/line_features.py). Written by bench/train_keylines.py on the tune half only.",
        "trained": {
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "corpus_sha256": digest(items),
            "logs": n,
            "repositories": len({i.repository for i in items}),
            "model": kind,
            "C": c,
            "rules_top_line_hit": round(sum(log.rules_hit for log in logs) / n, 4),
            "cv_top_line_hit": round(best_score, 4),
            "cv": f"GroupKFold({FOLDS}) by repository inside tune",
        },
        "features": FEATURES,
        "mean": [round(float(v), 6) for v in mean],
        "scale": [round(float(v), 6) for v in scale],
        "weights": [round(float(v), 6) for v in weights],
        "bias": round(bias, 6),
        "margin": margins[0],
        "weak_margin": margins[1],
    }
    MODEL_FILE.parent.mkdir(exist_ok=True)
    MODEL_FILE.write_text(json.dumps(model, indent=1) + "\n")
    print(f"wrote {MODEL_FILE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
