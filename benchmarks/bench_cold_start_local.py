"""A real small local LLM (SmolLM2-135M on llama.cpp) end to end, per ActiveLLM preset.

On SST-2 pools (3,000 train rows per draw), each preset's ActiveLLM asks
SmolLM2-135M-Instruct (``xllamacpp`` server on 127.0.0.1, greedy) for 32
sentences; frozen all-MiniLM-L6-v2 + LogisticRegression(C=10) is trained on
them and scored on the 872 SST-2 test sentences. Random 32 from the pool (mean
of 20 draws) is the reference. Presets:

* ``paper``: 200 sentences, uniform sample in random order (the paper's);
* ``paper-50``: the same with 50 shown and a JSON answer, so the model names positions;
* ``local``: coverage presentation, 50 shown, JSON answer (the preset for small models);
* ``coverage``: the default preset (coverage, 200 shown, nominate 64, keep 32).

Usage (from the repository root; about a minute per query on 2 busy cores)::

    PYTHONPATH=$PWD:$PWD/benchmarks OMP_NUM_THREADS=1 python benchmarks/bench_cold_start_local.py \
        [--draws 3] [--presets paper,paper-50,local,coverage]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _cold_start_data import task_subset
from bench_cold_start import K, fit_score

from activellm_modal.llm import OpenAIBackend
from activellm_modal.presets import make_strategy

VARIANTS = {
    "paper": ("paper", {}),
    "paper-50": (
        "paper",
        {
            "presenter__n_presented": 50,
            "prompt__output": "list",
            "prompt__structured_output": True,
        },
    ),
    "local": ("local", {}),
    "coverage": ("coverage", {}),
}


def main(argv: list[str] | None = None) -> int:
    from activellm_modal.llm.llamacpp import LlamaCppServer, find_smollm2_gguf

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--presets", default=",".join(VARIANTS))
    args = parser.parse_args(argv)
    data, rows, table = task_subset("sst2")
    Vt, yt = table.lookup(data.test_texts), data.test_labels
    lines = [
        "| preset | draw | accuracy | random-pool mean | positives | filled | degenerate | s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    results: dict[str, list[float]] = {}
    with LlamaCppServer(find_smollm2_gguf(), ctx=8192, n_predict=512, threads=1) as server:
        for draw in range(args.draws):
            pool = rows[np.random.default_rng(1000 + draw).choice(len(rows), 3000, replace=False)]
            texts, y = data.train_texts[pool], data.train_labels[pool]
            V = table.lookup(texts)
            rng = np.random.default_rng(draw)
            random_mean = np.mean(
                [
                    fit_score(V[p], y[p], Vt, yt)["accuracy"]
                    for p in (rng.choice(len(pool), K, replace=False) for _ in range(20))
                ]
            )
            results.setdefault("random-pool", []).append(random_mean)
            for name in args.presets.split(","):
                preset, extra = VARIANTS[name]
                strategy = make_strategy(
                    preset,
                    labels=["negative", "positive"],
                    random_state=draw,
                    **extra,
                    prompt__task_description="the sentiment of movie-review sentences",
                    backend=OpenAIBackend(
                        "smollm2", base_url=server.url, temperature=0.0, max_tokens=512
                    ),
                )
                start = time.time()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    picked, _ = strategy.select(list(texts), K)
                seconds = time.time() - start
                record = strategy.last_query_
                acc = fit_score(V[picked], y[picked], Vt, yt)["accuracy"]
                results.setdefault(name, []).append(acc)
                lines.append(
                    f"| {name} | {draw} | {acc:.3f} | {random_mean:.3f} "
                    f"| {int(y[picked].sum())}/{K} | {record.n_filled} | {record.degenerate} "
                    f"| {seconds:.0f} |"
                )
                print(lines[-1], file=sys.stderr, flush=True)
    print("\n".join(lines))
    print("\n| arm | mean accuracy over draws |\n|---|---:|")
    for name, values in results.items():
        print(f"| {name} | {np.mean(values):.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
