"""Query time of modAL uncertainty sampling with and without ``subsampled()``.

Prints, measured side by side in one run, the wall time of one
``uncertainty_sampling`` query (k=32) on pools of 10k, 100k and 1M SST-2 texts
(train sentences repeated, each copy suffixed ``#i`` so that none repeats):

* TF-IDF + logistic regression: unwrapped at every size, and wrapped
  (``subsampled(uncertainty_sampling, n=10_000)``);
* frozen all-MiniLM-L6-v2 embeddings + logistic regression: wrapped at every
  size, unwrapped at 10k (and at 100k with ``--full``); the unwrapped 1M
  figure is **extrapolated** linearly from the largest measured size, since
  embedding a million texts on a CPU takes hours.

Both classifiers are trained on 200 labelled sentences. Target: the wrapped
query at 1M within 2x of the unwrapped query at 10k.

Usage: ``python benchmarks/bench_subsampled.py [--repeats 3] [--full] [--no-minilm]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from modAL.uncertainty import uncertainty_sampling
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from activellm_modal.data import default_shared_dir, read_split
from activellm_modal.strategies.subsample import subsampled

SIZES = (10_000, 100_000, 1_000_000)
K = 32


def make_pool(texts: np.ndarray, size: int) -> np.ndarray:
    """``size`` distinct texts: SST-2 repeated, copy ``i`` suffixed ``#i``."""
    # Python strings, not np.char: a fixed-width unicode array of 1M texts takes ~1 GB.
    n = len(texts)
    pool = np.empty(size, dtype=object)
    pool[:] = [f"{texts[i % n]} #{i // n}" for i in range(size)]
    return pool


def time_query(strategy: Callable[..., Any], clf: Any, pool: Any, repeats: int) -> float:
    """Median seconds of ``strategy(clf, pool, K)``; checks the indices it returns."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        indices, _ = strategy(clf, pool, n_instances=K)
        times.append(time.perf_counter() - start)
        assert len(set(np.asarray(indices).tolist())) == K and 0 <= min(indices) < len(pool)
    return statistics.median(times)


def seconds(value: float | None, extrapolated: bool = False) -> str:
    if value is None:
        return "not run"
    text = f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    return f"~{text} (extrapolated)" if extrapolated else text


def bench(
    name: str,
    clf: Any,
    pools: dict[int, np.ndarray],
    repeats: int,
    unwrapped_sizes: tuple[int, ...],
    n: int,
) -> None:
    wrapped = subsampled(uncertainty_sampling, n=n, random_state=0)
    plain: dict[int, float] = {}
    sub: dict[int, float] = {}
    for size, pool in pools.items():
        if size in unwrapped_sizes:
            # One run at 1M: it is the slow one, and its spread is small next to its size.
            plain[size] = time_query(
                uncertainty_sampling, clf, pool, 1 if size >= 10**6 else repeats
            )
        sub[size] = time_query(wrapped, clf, pool, repeats)
    largest = max(plain)
    extrapolated = {size: plain[largest] * size / largest for size in pools if size not in plain}

    runs = f"median of {repeats}" if repeats > 1 else "one run"
    if max(pools) in plain and repeats > 1:
        runs += f" ({max(pools):,} unwrapped: one run)"
    print(f"\n{name}: one uncertainty_sampling query, k={K}, {runs}")
    print(f"| pool size | unwrapped | subsampled(n={n:,}) | speed-up |")
    print("|---:|---:|---:|---:|")
    for size in pools:
        base = plain.get(size, extrapolated.get(size))
        cell = seconds(base, extrapolated=size not in plain)
        speedup = f"{base / sub[size]:.1f}x" + ("" if size in plain else " (extrap.)")
        print(f"| {size:,} | {cell} | {seconds(sub[size])} | {speedup} |")
    ratio = sub[max(pools)] / plain[min(pools)]
    verdict = "meets" if ratio <= 2 else "MISSES"
    print(
        f"wrapped at {max(pools):,} / unwrapped at {min(pools):,} = {ratio:.2f} "
        f"(target <= 2: {verdict})"
    )
    growth = sub[max(pools)] / sub[min(pools)]
    print(f"wrapped at {max(pools):,} / wrapped at {min(pools):,} = {growth:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n", type=int, default=10_000, help="subsample size")
    parser.add_argument("--full", action="store_true", help="also MiniLM unwrapped at 100k")
    parser.add_argument("--no-minilm", action="store_true")
    parser.add_argument("--shared-dir", type=Path, default=None)
    args = parser.parse_args()
    shared = args.shared_dir or default_shared_dir()
    train = read_split(shared / "datasets", "sst2", "train")
    texts = train["text"].to_numpy(dtype=object)
    labelled = train.sample(200, random_state=0)
    X_train, y_train = labelled["text"].tolist(), labelled["label"].to_numpy()

    full = make_pool(texts, max(SIZES))
    pools = {size: full[:size] for size in SIZES}  # views: no copies
    sizes = ", ".join(f"{size:,}" for size in SIZES)
    print(f"Pools: SST-2 train ({len(texts):,} sentences) repeated to {sizes} texts")
    print(f"CPU threads: {os.cpu_count()}; classifiers trained on {len(X_train)} sentences")

    tfidf = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))
    tfidf.fit(X_train, y_train)
    bench("TF-IDF + LR", tfidf, pools, args.repeats, SIZES, args.n)

    if not args.no_minilm:
        import torch

        from activellm_modal.embeddings import SentenceEmbedder, default_model_path

        torch.set_num_threads(os.cpu_count() or 1)
        minilm = make_pipeline(
            SentenceEmbedder(default_model_path()), LogisticRegression(max_iter=1000)
        )
        minilm.fit(X_train, y_train)
        measured = (10_000, 100_000) if args.full else (10_000,)
        # A MiniLM query embeds every text it scores: one run per cell keeps this to minutes.
        bench("MiniLM (frozen) + LR", minilm, pools, 1, measured, args.n)


if __name__ == "__main__":
    main()
