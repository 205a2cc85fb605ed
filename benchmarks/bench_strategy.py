"""ActiveLLM's own cost per query, without the LLM, and its prompt overhead.

Prints, measured side by side in one run:

* the time of one ``select`` (sampling, rendering, prompt, parsing, filling) on pools of
  10k, 100k and 1M texts, as a numpy array, a list and a pandas Series, with an in-process
  backend that answers instantly (target: under 50 ms at 1M);
* prompt characters spent per presented instance beyond its text, ours against the
  paper's block format (target: at most 8; the paper spends about 25).

Usage: ``python benchmarks/bench_strategy.py [--repeats 15] [--shared-dir ../shared]``
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from activellm_modal import ActiveLLM
from activellm_modal.data import default_shared_dir, read_split
from activellm_modal.llm import Completion
from activellm_modal.parts import UniformPresenter
from activellm_modal.query.prompt import build_messages, render_instances


class InstantBackend:
    """Answers at once with a typical CoT answer naming 32 positions."""

    model = "instant"

    def complete(self, request):
        picks = ", ".join(str(p) for p in range(3, 3 + 6 * request.k, 6))
        return Completion(f"Let me think step by step about diversity...\n\n{picks}")


def pools(texts: np.ndarray, size: int) -> dict[str, object]:
    rows = np.resize(texts, size)  # repeat SST-2 to the wanted size
    rows = np.char.add(rows.astype(str), np.char.mod(" #%d", np.arange(size))).astype(object)
    return {"numpy": rows, "list": rows.tolist(), "pandas": pd.Series(rows)}


def time_select(pool: object, repeats: int) -> float:
    # The paper's presentation: this measures ActiveLLM's own bookkeeping. The default
    # coverage presentation adds embedding a 2,000-text subsample (see README).
    strategy = ActiveLLM(
        backend=InstantBackend(),
        random_state=0,
        presenter=UniformPresenter(),
    )
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(repeats):
            start = time.perf_counter()
            strategy.select(pool, n_instances=32)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def prompt_overhead(texts: list[str], ids: list[int]) -> tuple[float, float]:
    """Characters per instance beyond the text: ours, and the paper's ``#####`` blocks."""
    ours = len(render_instances(texts)) - len("<instances>\n") - len("\n</instances>")
    ours -= sum(len(" ".join(t.split())) for t in texts)
    blocks = enumerate(zip(texts, ids, strict=True))
    paper = sum(len(f"\n ##### \n{p}. {t} [ID: {i}]") - len(t) for p, (t, i) in blocks)
    return ours / len(texts), paper / len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--shared-dir", type=Path, default=None)
    args = parser.parse_args()
    shared = args.shared_dir or default_shared_dir()
    train = read_split(shared / "datasets", "sst2", "train")
    texts = train["text"].to_numpy(dtype=object)

    print("One ActiveLLM query without the LLM (median of", args.repeats, "runs), 200 shown, k=32")
    print(f"| pool size | {' | '.join(pools(texts[:10], 10))} | target |")
    print("|---:|---:|---:|---:|---:|")
    results = {}
    for size in (10_000, 100_000, 1_000_000):
        row = {kind: time_select(pool, args.repeats) for kind, pool in pools(texts, size).items()}
        results[size] = row
        cells = " | ".join(f"{1000 * t:.2f} ms" for t in row.values())
        print(f"| {size:,} | {cells} | < 50 ms |")
    for kind in results[10_000]:
        ratio = results[1_000_000][kind] / results[10_000][kind]
        print(f"{kind}: time at 1M / time at 10k = {ratio:.2f}")

    rng = np.random.default_rng(0)
    rows = rng.choice(len(train), 201, replace=False)
    shown = train["text"].to_numpy(dtype=object)[rows].tolist()
    ours, paper = prompt_overhead(shown, train["idx"].to_numpy()[rows].tolist())
    header = len(build_messages(shown, 32)[0]["content"])
    print()
    print("Prompt characters per presented instance beyond its text (201 SST-2 sentences)")
    print(
        f"ours: {ours:.2f}  paper: {paper:.2f}  ratio paper/ours: {paper / ours:.2f}  target: <= 8"
    )
    print(f"our system message: {header} characters (the paper's header: 572)")


if __name__ == "__main__":
    main()
