"""Variants of the coverage presentation tried against the default (issue 18, second pass).

Same tasks, pools (3,000 rows, ``--draws`` seeded draws), seeds, classifier
(frozen all-MiniLM-L6-v2 + LogisticRegression(C=10)) and simulated LLMs as
``bench_cold_start.py``; every arm on the same draws as random-from-the-pool
and the typicality baseline. None of these became the default: none beat it by
more than the noise (about 0.5 points on the 6-task mean) for both the first-k
and the random-answer LLM (README, "Cold start: what did not work").

``--round 1``: selectors for what a first-k LLM returns, and fewer texts shown
for a random-answer LLM:

* TypiClust (Hacohen et al. 2022): k-means with k clusters, in each cluster the
  member with the highest 1 / mean distance to its ``knn`` nearest neighbours
  *within the cluster*; over the 2,000-row subsample or the whole pool; also
  2k clusters, the k largest kept;
* ProbCover (Yehuda et al. 2022): greedy max coverage of balls of radius delta,
  delta = median distance to the 20th / 60th nearest neighbour;
* the current presentation with 200 / 100 / 64 texts shown, random LLM naming
  k (m=1) or 2k then diversified to k (m=2).

``--round 2``: the coverage presentation with a TypiClust prefix (the first k
shown are the TypiClust picks of the subsample, largest cluster first; the rest
as today), subsample 2,000 or the whole pool, 200 or 100 shown.

    PYTHONPATH=$PWD:$PWD/benchmarks OMP_NUM_THREADS=1 \
        python benchmarks/bench_cold_start_variants.py --round 1 --draws 8 --seeds 0,1,2

Prints a markdown table (points vs random from the pool; mean over tasks;
fewest labels picked; single-class draws on 2-class tasks) and writes
results/bench_cold_start/variants_round<N>.csv. About 5 (round 1) and 10
(round 2) minutes on one core.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.neighbors import NearestNeighbors

from activellm_modal.query.coverage import local_density, present_with_coverage, typical_points
from activellm_modal.query.diversify import diversify

sys.path.insert(0, str(Path(__file__).parent))
from _cold_start_data import TASKS, task_subset
from bench_cold_start import POOL, SUBSAMPLE, K, fit_score, nominate

OUT = Path("results/bench_cold_start")


def typiclust(
    V: np.ndarray, k: int, seed: int, n_clusters: int | None = None, knn: int = 20
) -> np.ndarray:
    """TypiClust picks, largest cluster first (clusters under 5 members skipped)."""
    n_clusters = n_clusters or k
    lab = KMeans(n_clusters=n_clusters, n_init=1, random_state=seed).fit_predict(V)
    sizes = np.bincount(lab, minlength=n_clusters)
    picks: list[int] = []
    for c in np.argsort(-sizes, kind="stable"):
        if len(picks) == k:
            break
        members = np.flatnonzero(lab == c)
        if len(members) < min(5, sizes.max()):
            continue
        nn = min(knn + 1, len(members))
        if nn < 2:
            picks.append(int(members[0]))
            continue
        d, _ = NearestNeighbors(n_neighbors=nn).fit(V[members]).kneighbors(V[members])
        picks.append(int(members[np.argmax(1 / (d[:, 1:].mean(1) + 1e-9))]))
    return np.asarray(picks)


def probcover(V: np.ndarray, k: int, delta: float) -> np.ndarray:
    """Greedy ProbCover on unit vectors: the ball centre covering most uncovered points."""
    adjacency = np.sqrt(np.maximum(2 - 2 * (V @ V.T), 0)) <= delta
    covered = np.zeros(len(V), bool)
    picks = []
    for _ in range(k):
        i = int(np.argmax((adjacency & ~covered[None, :]).sum(1)))
        picks.append(i)
        covered |= adjacency[i]
    return np.asarray(picks)


def cluster_density(V: np.ndarray, lab: np.ndarray, knn: int = 5) -> np.ndarray:
    """Local density of each point within its own cluster."""
    dens = np.ones(len(V))
    for c in np.unique(lab):
        members = np.flatnonzero(lab == c)
        if len(members) > 1:
            dens[members] = local_density(V[members], knn)
    return dens


def typiclust_prefix(V: np.ndarray, k: int, rng: np.random.Generator, knn: int = 5) -> np.ndarray:
    """k clusters, the in-cluster densest member of each, largest cluster first."""
    lab = KMeans(n_clusters=k, n_init=1, random_state=int(rng.integers(2**31 - 1))).fit_predict(V)
    dens = cluster_density(V, lab, knn)
    picks = [int(np.flatnonzero(lab == c)[np.argmax(dens[lab == c])]) for c in np.unique(lab)]
    sizes = np.bincount(lab)[lab[picks]]
    return np.asarray(picks)[np.argsort(-sizes, kind="stable")]


def present_typiclust_first(
    V: np.ndarray, size: int, k: int, rng: np.random.Generator, knn: int = 5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TypiClust prefix, then the current coverage presentation (minus the prefix)."""
    prefix = typiclust_prefix(V, k, rng, knn)
    shown, _, _ = present_with_coverage(V, size, k, rng, "coverage", knn)
    taken = set(prefix.tolist())
    rest = [int(i) for i in shown if i not in taken][: size - len(prefix)]
    rows = np.concatenate([prefix, np.asarray(rest, dtype=int)])
    near = NearestNeighbors(n_neighbors=1).fit(V[rows]).kneighbors(V, return_distance=False)[:, 0]
    mass = np.bincount(near, minlength=len(rows)).astype(float)
    return rows, mass, local_density(V, knn)[rows]


def random_llm(
    V: np.ndarray, idx: np.ndarray, mass: np.ndarray, dens: np.ndarray, m: int, seed: int
) -> np.ndarray:
    """A random-answer LLM names m*k of the shown; diversify keeps k (m=1: its first k)."""
    nom = nominate("random", len(idx), m * K, np.random.default_rng(seed + 7))
    if m == 1:
        return idx[nom[:K]]
    kept = diversify(
        V[idx[nom]], K, weights=mass[nom], rng=np.random.default_rng(seed), density=dens[nom]
    )
    return idx[nom[kept]]


def arms(round_: int, V, y, Vt, yt, seed: int) -> list[dict]:
    rows = []

    def add(arm: str, picked) -> None:
        picked = np.asarray(picked, dtype=np.intp)
        rows.append({"arm": arm, "n": len(picked), **fit_score(V[picked], y[picked], Vt, yt)})

    rng = np.random.default_rng(seed)
    for _ in range(10):
        add("random-pool", rng.choice(len(V), size=K, replace=False))
    dens_pool = local_density(V, 5)
    add(
        "typicality (densest, knn=5)",
        typical_points(V, K, np.random.default_rng(seed), density=dens_pool)[0],
    )
    sub = np.sort(rng.choice(len(V), size=min(SUBSAMPLE, len(V)), replace=False))
    Vs = V[sub]
    if round_ == 1:
        for size in (200, 100, 64):
            idx, mass, dens = present_with_coverage(
                Vs, size, K, np.random.default_rng(seed), "coverage", 5
            )
            tag = "default (shown 200)" if size == 200 else f"shown {size}"
            add(f"{tag}: first-k LLM", sub[idx[:K]])
            for m in (1, 2):
                add(f"{tag}: random LLM m={m}", sub[random_llm(Vs, idx, mass, dens, m, seed)])
        add("TypiClust knn=20 (sub)", sub[typiclust(Vs, K, seed)])
        add("TypiClust knn=20 (pool)", typiclust(V, K, seed))
        add("TypiClust knn=20, 2k clusters, k largest (sub)", sub[typiclust(Vs, K, seed, 2 * K)])
        add("TypiClust knn=5 (sub)", sub[typiclust(Vs, K, seed, knn=5)])
        add("TypiClust knn=5 (pool)", typiclust(V, K, seed, knn=5))
        d, _ = NearestNeighbors(n_neighbors=61).fit(Vs).kneighbors(Vs)
        for m in (20, 60):
            delta = float(np.median(d[:, m]))
            add(f"ProbCover delta=median d{m}NN (sub)", sub[probcover(Vs, K, delta)])
        return rows
    add("TypiClust knn=5 (pool)", typiclust_prefix(V, K, np.random.default_rng(seed)))
    for subname, s in (("sub2000", sub), ("pool", np.arange(len(V)))):
        for pres in ("default", "TypiClust-first"):
            if pres == "default" and subname == "pool":
                continue
            for size in (200, 100):
                r = np.random.default_rng(seed)
                if pres == "default":
                    idx, mass, dens = present_with_coverage(V[s], size, K, r, "coverage", 5)
                else:
                    idx, mass, dens = present_typiclust_first(V[s], size, K, r)
                tag = f"{pres} {subname} shown {size}"
                add(f"{tag}: first-k LLM", s[idx[:K]])
                for m in (1, 2):
                    add(f"{tag}: random LLM m={m}", s[random_llm(V[s], idx, mass, dens, m, seed)])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--round", type=int, choices=(1, 2), default=1)
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--draws", type=int, default=8)
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args(argv)
    tasks = args.tasks.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    out = []
    for task in tasks:
        start = time.time()
        data, rows, table = task_subset(task)
        V_all = table.lookup(data.train_texts[rows])
        y_all = data.train_labels[rows]
        Vt, yt = table.lookup(data.test_texts), data.test_labels
        pool_size = min(POOL, int(0.8 * len(rows)))
        for draw in range(args.draws):
            pool = np.random.default_rng(1000 + draw).choice(len(rows), pool_size, replace=False)
            for seed in seeds:
                for r in arms(args.round, V_all[pool], y_all[pool], Vt, yt, seed):
                    out.append({"task": task, "draw": draw, "seed": seed, **r})
        print(f"{task}: {time.time() - start:.0f} s", file=sys.stderr, flush=True)
    frame = pd.DataFrame(out)
    OUT.mkdir(parents=True, exist_ok=True)
    frame.to_csv(OUT / f"variants_round{args.round}.csv", index=False)
    ts = [t for t in TASKS if t in tasks]
    mean = frame.groupby(["arm", "task"])["accuracy"].mean().unstack("task")[ts]
    mean["mean"] = mean.mean(axis=1)
    diff = (100 * (mean - mean.loc["random-pool"])).round(1)
    diff["accuracy"] = mean["mean"].round(3)
    diff["fewest labels"] = frame.groupby("arm")["n"].min()
    two = frame[frame["task"].isin(["sst2", "cola", "mrpc", "rte"])]
    diff["single-class draws"] = two.assign(s=two["n_classes"] < 2).groupby("arm")["s"].sum()
    print(diff.sort_values("mean").to_markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
