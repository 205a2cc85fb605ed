"""The floor of cold-start selection: what a weak LLM's picks are worth, per presentation.

An LLM that answers the first k positions (position bias) or random positions
adds no judgement of its own; what it returns is decided by what it is shown
and how its nominations are narrowed down. This script measures that floor,
offline, on sst2, cola, emotion, sst5, mrpc and rte:

* pools of up to 3,000 train rows (``--draws`` seeded draws per task, default 8;
  3 seeds each), 32 labels, frozen embeddings of ``--encoder`` (default: the
  package's, all-mpnet-base-v2) + LogisticRegression(C=10),
  accuracy and macro-F1 on each task's test split;
* baselines: random 32 from the whole pool (10 draws per pool and seed), and
  typicality (k-means with 32 clusters on the pool, the point nearest each
  centre);
* presentations of 200 texts: ``uniform`` (the paper's: a random sample in
  random order), ``cov-shuffled`` and ``cov-ordered`` (CoveragePresenter:
  typical members of 200 clusters of a 2,000-row subsample, shuffled or in
  coverage order);
* simulated LLMs: ``first`` (names positions 0, 1, 2, ...) and ``random``;
  ``m`` = nominations per label needed (m > 1: nominate m*k, keep k by
  :func:`~activellm_modal.query.diversify.diversify`).

Run from the repository root (embeddings are cached in .activellm-cache/):

    PYTHONPATH=$PWD:$PWD/benchmarks OMP_NUM_THREADS=1 python benchmarks/bench_cold_start.py

It prints one table per LLM (accuracy, difference to random-from-pool in
points), then every difference as a mean with a paired 95 % bootstrap interval
over draws (per task and for the six-task mean; ``paired_interval``), and
writes results/bench_cold_start/floor-<encoder>.csv (resumable by task and draw). A second part
(``--budget``) replays GPT-4's SST-2 budget-study answers (k = 40..100 of the
same 201 shown, run 1) narrowed to 32 by diversify.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

from activellm_modal.query.coverage import local_density, present_with_coverage, typical_points
from activellm_modal.query.diversify import diversify

sys.path.insert(0, str(Path(__file__).parent))
from _cold_start_data import TASKS, task_subset

K = 32
SHOWN = 200
SUBSAMPLE = 2000
POOL = 3000
OUT = Path("results/bench_cold_start")


def fit_score(X: np.ndarray, y: np.ndarray, X_test: np.ndarray, y_test: np.ndarray) -> dict:
    """Accuracy / macro-F1 of LR(C=10) trained on the selection (constant if one class)."""
    if len(np.unique(y)) < 2:
        pred = np.full(len(y_test), y[0])
    else:
        pred = LogisticRegression(C=10.0, max_iter=1000).fit(X, y).predict(X_test)
    return {
        "accuracy": accuracy_score(y_test, pred),
        "macro_f1": f1_score(y_test, pred, average="macro", zero_division=0),
        "n_classes": len(np.unique(y)),
    }


def nominate(llm: str, n_shown: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Positions a simulated LLM names, in its order."""
    n = min(n, n_shown)
    if llm == "first":
        return np.arange(n)
    return rng.choice(n_shown, size=n, replace=False)


def arms_for_pool(
    V: np.ndarray, y: np.ndarray, Vt: np.ndarray, yt: np.ndarray, seed: int
) -> list[dict]:
    """Every arm on one pool and seed."""
    rows = []
    rng = np.random.default_rng(seed)

    def add(arm: str, picked: np.ndarray, **extra: object) -> None:
        picked = np.asarray(picked, dtype=np.intp)
        rows.append({"arm": arm, **extra, **fit_score(V[picked], y[picked], Vt, yt)})

    for _ in range(10):
        add("random-pool", rng.choice(len(V), size=K, replace=False))
    typ, _ = typical_points(V, K, np.random.default_rng(seed))
    add("typicality (k-means centre)", typ)
    typ, _ = typical_points(V, K, np.random.default_rng(seed), density=local_density(V, 5))
    add("typicality (densest, knn=5)", typ)
    # Presentations: rows shown (pool indices), mass and density of each.
    shown = {}
    uniform = rng.choice(len(V), size=SHOWN, replace=False)
    shown["uniform"] = (uniform, np.ones(SHOWN), None)
    sub = np.sort(rng.choice(len(V), size=min(SUBSAMPLE, len(V)), replace=False))
    for name, order, knn in (
        ("cov-ordered", "coverage", 5),
        ("cov-shuffled", "shuffled", 5),
        ("cov-ordered-centre", "coverage", None),
    ):
        idx, mass, dens = present_with_coverage(
            V[sub], SHOWN, K, np.random.default_rng(seed), order, knn
        )
        shown[name] = (sub[idx], mass, dens)
    for name, (rows_shown, mass, dens) in shown.items():
        for llm in ("first", "random"):
            for m, method in ((1, None), (2, "kmeans"), (3, "kmeans"), (2, "kcenter")):
                nominated = nominate(llm, len(rows_shown), m * K, np.random.default_rng(seed + 7))
                if method is None:
                    keep = nominated[:K]
                else:
                    kept = diversify(
                        V[rows_shown[nominated]],
                        K,
                        weights=mass[nominated],
                        method=method,
                        rng=np.random.default_rng(seed),
                        density=None if dens is None else dens[nominated],
                    )
                    keep = nominated[kept]
                arm = f"{name} m={m}" + (f" {method}" if method and method != "kmeans" else "")
                add(arm, rows_shown[keep], llm=llm)
    return rows


def floor(tasks: list[str], draws: int, seeds: list[int], encoder: str = "default") -> pd.DataFrame:
    from activellm_modal.embeddings.models import encoder_label

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"floor-{encoder_label(encoder)}.csv"
    done = pd.read_csv(path) if path.is_file() else pd.DataFrame()
    for task in tasks:
        have = set() if done.empty else set(done.loc[done["task"] == task, "draw"])
        todo = [draw for draw in range(draws) if draw not in have]
        if not todo:
            continue
        start = time.time()
        data, rows, table = task_subset(task, encoder=encoder)
        V_all = table.lookup(data.train_texts[rows])
        y_all = data.train_labels[rows]
        Vt = table.lookup(data.test_texts)
        yt = data.test_labels
        out = []
        pool_size = min(POOL, int(0.8 * len(rows)))
        for draw in todo:
            pool = np.random.default_rng(1000 + draw).choice(len(rows), pool_size, replace=False)
            for seed in seeds:
                for row in arms_for_pool(V_all[pool], y_all[pool], Vt, yt, seed):
                    out.append({"task": task, "draw": draw, "seed": seed, **row})
        frame = pd.DataFrame(out)
        frame["llm"] = frame["llm"].fillna("-")
        done = pd.concat([done, frame], ignore_index=True)
        done.to_csv(path, index=False)
        print(f"{task}: {time.time() - start:.0f} s", file=sys.stderr, flush=True)
    return done


def floor_tables(frame: pd.DataFrame) -> str:
    tasks = [t for t in TASKS if t in set(frame["task"])]
    mean = frame.groupby(["task", "arm", "llm"])["accuracy"].mean().unstack("task")[tasks]
    mean["mean"] = mean[tasks].mean(axis=1)
    base = mean.xs("random-pool", level="arm").iloc[0]
    single = (
        frame[frame["task"].isin(["sst2", "cola", "mrpc", "rte"])]
        .assign(single=lambda f: f["n_classes"] < 2)
        .groupby(["arm", "llm"])["single"]
        .sum()
    )
    lines = []
    for llm in ("-", "first", "random"):
        part = mean.xs(llm, level="llm")
        title = {"-": "baselines", "first": "LLM answers the first k", "random": "random LLM"}
        lines += [
            f"\n### {title[llm]} (accuracy; in brackets: points vs random from the pool)\n",
            "| arm | " + " | ".join(tasks) + " | mean | single-class draws (2-class) |",
            "|---|" + "---:|" * (len(tasks) + 2),
        ]
        for arm, values in part.iterrows():
            cells = [f"{values[t]:.3f} ({100 * (values[t] - base[t]):+.1f})" for t in tasks]
            m = f"{values['mean']:.3f} ({100 * (values['mean'] - base['mean']):+.1f})"
            lines.append(
                f"| {arm} | " + " | ".join(cells) + f" | **{m}** | {int(single[arm, llm])} |"
            )
    return "\n".join(lines)


def interval_tables(frame: pd.DataFrame) -> tuple[str, dict]:
    """Points vs random from the pool, with a paired 95 % bootstrap interval over draws.

    A draw is one pool (its seeds averaged): each arm's accuracy minus the mean of the
    random-from-pool selections on the same pool and seeds. The six-task mean is taken
    per draw before bootstrapping, so its interval is paired too.
    """
    from activellm_modal.experiments.intervals import paired_interval

    tasks = [t for t in TASKS if t in set(frame["task"])]
    per_draw = frame.groupby(["task", "draw", "arm", "llm"])["accuracy"].mean()
    base = per_draw.xs("random-pool", level="arm").xs("-", level="llm")
    diff = (per_draw - base.reindex(per_draw.droplevel(["arm", "llm"]).index).to_numpy()).rename(
        "diff"
    )
    diff = diff.reset_index()
    lines = [
        "| arm | LLM | " + " | ".join(tasks) + " | six-task mean | draws |",
        "|---|---|" + "---:|" * (len(tasks) + 2),
    ]
    summary = {}
    for (arm, llm), rows in diff.groupby(["arm", "llm"], sort=False):
        if arm == "random-pool":
            continue
        wide = rows.pivot(index="draw", columns="task", values="diff")[tasks].dropna()
        cells = [paired_interval(wide[t]).points() for t in tasks]
        mean = paired_interval(wide.mean(axis=1))
        summary[(arm, llm)] = mean
        lines.append(
            f"| {arm} | {llm} | " + " | ".join(cells) + f" | **{mean.points()}** | {mean.n} |"
        )
    return "\n".join(lines), summary


def budget(paper_dir: Path, data_dir: Path) -> str:
    """GPT-4's SST-2 budget answers (k = 40..100, run-1 draw each) narrowed to 32."""
    from activellm_modal.experiments.embedding_table import EmbeddingTable
    from activellm_modal.experiments.tasks import load_task
    from activellm_modal.llm.replay import read_prompt_blocks

    data = load_task(data_dir, "sst2")
    by_id = {int(i): r for r, i in enumerate(data.train_ids)}
    lines = [
        "| k asked | LLM's first 32 | diversify k-means (densest) -> 32 "
        "| diversify k-center -> 32 "
        "| typicality (densest) of the 201 | random 32 of the 201 (mean of 200) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    results = []
    for k in (40, 50, 60, 70, 80, 90, 100):
        folder = paper_dir / "answers" / f"sst2_{k}" / "10"
        prompt = paper_dir / "prompts" / f"sst2_{k}" / "10" / "prompt_50000_1.txt"
        if not folder.is_dir() or not prompt.is_file():
            continue
        blocks = read_prompt_blocks(prompt, 201)
        rows = np.asarray([by_id[b[2]] for b in blocks])
        listed = [int(x) for x in (folder / "list_1.txt").read_text().strip(" .\n").split(",")]
        positions = [p for p in dict.fromkeys(listed) if 0 <= p < len(rows)][:k]
        table = EmbeddingTable.build(
            np.concatenate([data.train_texts[rows], data.test_texts]),
            "default",
            max_length=128,
            cache_dir=".activellm-cache/embeddings",
            show_progress=False,
        )
        V = table.lookup(data.train_texts[rows])
        y = data.train_labels[rows]
        Vt, yt = table.lookup(data.test_texts), data.test_labels
        pos = np.asarray(positions)
        dens = local_density(V, 5)
        first = fit_score(V[pos[:K]], y[pos[:K]], Vt, yt)["accuracy"]
        div = {}
        for method in ("kmeans", "kcenter"):
            accs = []
            for seed in range(5):
                kept = diversify(
                    V[pos], K, method=method, rng=np.random.default_rng(seed), density=dens[pos]
                )
                accs.append(fit_score(V[pos[kept]], y[pos[kept]], Vt, yt)["accuracy"])
            div[method] = float(np.mean(accs))
        typ = np.mean(
            [
                fit_score(V[t], y[t], Vt, yt)["accuracy"]
                for t in (
                    typical_points(V, K, np.random.default_rng(s), density=dens)[0]
                    for s in range(5)
                )
            ]
        )
        rng = np.random.default_rng(0)
        rand = np.mean(
            [
                fit_score(V[s], y[s], Vt, yt)["accuracy"]
                for s in (rng.choice(len(rows), K, replace=False) for _ in range(200))
            ]
        )
        results.append((first, div["kmeans"], div["kcenter"], typ, rand))
        lines.append(
            f"| {k} | {first:.3f} | {div['kmeans']:.3f} | {div['kcenter']:.3f} | {typ:.3f} "
            f"| {rand:.3f} |"
        )
    if results:
        m = np.mean(results, axis=0)
        lines.append(f"| mean | {m[0]:.3f} | {m[1]:.3f} | {m[2]:.3f} | {m[3]:.3f} | {m[4]:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from activellm_modal.data import default_shared_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument(
        "--draws", type=int, default=8, help="pool draws per task (the bootstrap's units)"
    )
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument(
        "--encoder", default="default", help="default (all-mpnet-base-v2), minilm, or a folder"
    )
    parser.add_argument("--budget", action="store_true", help="also the SST-2 budget replay")
    args = parser.parse_args(argv)
    tasks = args.tasks.split(",")
    frame = floor(tasks, args.draws, [int(s) for s in args.seeds.split(",")], args.encoder)
    frame = frame[frame["task"].isin(tasks) & (frame["draw"] < args.draws)]
    print(floor_tables(frame))
    table, summary = interval_tables(frame)
    print("\n### Points vs random from the pool, paired 95% bootstrap interval over draws\n")
    print(table)
    default = summary.get(("cov-ordered m=1", "first"))
    if default is not None and default.n >= 2:
        need = default.draws_for(0.005)
        print(
            f"\ndefault arm (cov-ordered m=1, first-k LLM): six-task mean interval "
            f"±{100 * default.half_width:.2f} points over {default.n} draws; about {need} "
            "draws give ±0.5."
        )
    if args.budget:
        shared = default_shared_dir()
        print("\n### GPT-4 SST-2 budget study (run-1 draws), narrowed to 32\n")
        print(budget(shared / "paper", shared / "datasets"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
