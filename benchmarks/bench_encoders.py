"""Encoder survey: which frozen sentence encoder should be the default?

Compares local sentence-transformer folders (all-MiniLM-L6-v2, the package's
current default, against larger offline checkpoints) on the questions that
decide a default, all on the same seeded data and draws:

* ``frozen``: frozen embeddings (the package's :class:`SentenceEmbedder`:
  mean pooling, L2-normalised, max_length 128) + LogisticRegression(C=10) on
  32 random labels from a fixed seeded 2,000-row train pool, tested on up to
  1,000 seeded test rows, on sst2, cola, emotion, sst5, mrpc and rte (pairs
  joined as ``"a \\n b"``). The same draws for every encoder; paired 95 %
  bootstrap intervals (resampling draws) of the difference vs MiniLM.
* ``pairs``: on mrpc and rte, the joined text against ``[u, v, |u-v|, u*v]``
  from embedding each side separately (same draws).
* ``coldstart``: typicality (densest member of each of 32 k-means clusters)
  and the default coverage pipeline with a simulated LLM that names the first
  k shown (``present_with_coverage``: 200 shown in coverage order, first 32)
  against random 32 from the pool, each encoder used for both selection and
  classification (same draws; the seed of each draw drives the selection).
* ``setfit``: :class:`SetFitClassifier` (the package's defaults, body = the
  encoder folder) on 32 random SST-2 labels (the first draws of ``frozen``).
* ``speed``: seconds per 1,000 SST-2 sentences, batch 32, max_length 128, on
  the machine's cores, encoders timed interleaved in one process.

Embeddings are cached in ``results/bench_encoders/`` (gitignored), so a rerun
only re-fits the classifiers. Run from the repository root:

    PYTHONPATH=$PWD python benchmarks/bench_encoders.py \\
        --encoder minilm=default --encoder mpnet=/work/encoders/all-mpnet-base-v2 \\
        --parts frozen,pairs,coldstart,speed,setfit --draws 200

Prints one markdown table per part; ``--parts`` picks a subset.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

from activellm_modal.data import default_shared_dir, read_split
from activellm_modal.query.coverage import local_density, present_with_coverage, typical_points

TASKS = ("sst2", "cola", "emotion", "sst5", "mrpc", "rte")
PAIR_TASKS = ("mrpc", "rte")
K = 32
POOL = 2000
TEST = 1000
SHOWN = 200
MAX_LENGTH = 128
BATCH = 32
N_BOOT = 10000
OUT = Path("results/bench_encoders")


# ----------------------------------------------------------------------------- data
def load(task: str) -> dict:
    """The fixed seeded pool (2,000 train rows) and test rows (up to 1,000) of a task."""
    data_dir = default_shared_dir() / "datasets"
    meta = json.loads((data_dir / task / "labels.json").read_text())
    names = [str(n) for n in meta["labels"]]
    out = {"task": task, "labels": names}
    for split, size, seed in (("pool", POOL, 0), ("test", TEST, 1)):
        frame = read_split(data_dir, task, "train" if split == "pool" else "test")
        rows = np.sort(
            np.random.default_rng(seed).choice(len(frame), min(size, len(frame)), replace=False)
        )
        frame = frame.iloc[rows]
        labels = frame["label"].astype(str).to_numpy()
        if not set(labels) <= set(names):  # labels stored as ids
            labels = np.asarray([names[int(x)] for x in labels])
        out[f"{split}_y"] = np.asarray([names.index(x) for x in labels])
        if "text_a" in frame.columns:
            a = frame["text_a"].astype(str).to_numpy()
            b = frame["text_b"].astype(str).to_numpy()
            out[f"{split}_a"], out[f"{split}_b"] = a, b
            out[f"{split}_text"] = np.asarray([f"{x} \n {y}" for x, y in zip(a, b, strict=True)])
        else:
            out[f"{split}_text"] = frame["text"].astype(str).to_numpy()
    return out


# ------------------------------------------------------------------------ encoders
def resolve(path: str) -> str:
    if path == "default":
        from activellm_modal.embeddings import default_model_path

        return default_model_path()
    return path


_MODELS: dict[str, object] = {}


class OnnxEmbedder:
    """Mean-pooled, L2-normalised embeddings from a BERT ONNX export (onnxruntime).

    Same pooling, batching and truncation as :class:`SentenceEmbedder`; the
    tokenizer comes from ``tokenizer_path`` (the ONNX file ships none).
    """

    def __init__(self, onnx_path: str, tokenizer_path: str) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = int(os.environ.get("OMP_NUM_THREADS", "2"))
        self.session = ort.InferenceSession(onnx_path, options)
        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
        self.output = next(
            o.name for o in self.session.get_outputs() if len(o.shape) == 3 and o.shape[2] == 384
        )

    def transform(self, texts: list[str]) -> np.ndarray:
        order = np.argsort([len(t) for t in texts], kind="stable")
        out = None
        for start in range(0, len(texts), BATCH):
            rows = order[start : start + BATCH]
            batch = self.tokenizer(
                [texts[i] for i in rows],
                padding=True,
                truncation=True,
                max_length=MAX_LENGTH,
                return_tensors="np",
            )
            mask = batch["attention_mask"].astype(np.int64)
            (hidden,) = self.session.run(
                [self.output],
                {"input_ids": batch["input_ids"].astype(np.int64), "attention_mask": mask},
            )
            w = mask[..., None].astype(np.float32)
            pooled = (hidden * w).sum(1) / np.clip(w.sum(1), 1e-9, None)
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            if out is None:
                out = np.empty((len(texts), pooled.shape[1]), dtype=np.float32)
            out[rows] = pooled
        return out


def embedder(path: str):
    from activellm_modal.embeddings import SentenceEmbedder

    if path not in _MODELS:
        if path.endswith(".onnx"):
            _MODELS[path] = OnnxEmbedder(path, resolve("default"))
        else:
            _MODELS[path] = SentenceEmbedder(path, batch_size=BATCH, max_length=MAX_LENGTH).fit(
                ["."]
            )
    return _MODELS[path]


def embed(name: str, path: str, texts: np.ndarray) -> np.ndarray:
    """Embeddings of ``texts`` by encoder ``name`` (cached by the texts' hash)."""
    digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    cache = OUT / "emb" / name / f"{digest}-{MAX_LENGTH}.npy"
    if cache.is_file():
        return np.load(cache)
    start = time.time()
    vectors = embedder(path).transform(list(texts))
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    print(
        f"  embedded {len(texts)} texts with {name}: {time.time() - start:.0f} s", file=sys.stderr
    )
    return vectors


def is_cached(name: str, texts: np.ndarray) -> bool:
    digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    return (OUT / "emb" / name / f"{digest}-{MAX_LENGTH}.npy").is_file()


def features(name: str, path: str, data: dict, split: str, kind: str = "joined") -> np.ndarray:
    if kind == "joined":
        return embed(name, path, data[f"{split}_text"])
    u = embed(name, path, data[f"{split}_a"])
    v = embed(name, path, data[f"{split}_b"])
    return np.hstack([u, v, np.abs(u - v), u * v])


# ----------------------------------------------------------------------- scoring
def fit_score(X, y, Xt, yt) -> tuple[float, float]:
    """Accuracy and macro-F1 of LR(C=10) trained on (X, y) (constant if one class)."""
    if len(np.unique(y)) < 2:
        pred = np.full(len(yt), y[0])
    else:
        pred = LogisticRegression(C=10.0, max_iter=2000).fit(X, y).predict(Xt)
    return accuracy_score(yt, pred), f1_score(yt, pred, average="macro", zero_division=0)


def draws_for(task: str, n_draws: int) -> list[np.ndarray]:
    """The 32-label random draws of a task (the same for every encoder)."""
    seed = int(hashlib.sha256(task.encode()).hexdigest()[:8], 16)
    rng = np.random.default_rng(seed)
    return [rng.choice(POOL, K, replace=False) for _ in range(n_draws)]


def boot_ci(diff: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """95 % percentile bootstrap interval of the mean of ``diff`` over draws (axis 0).

    ``diff`` is (draws,) or (draws, tasks); for the latter the statistic is the
    mean over tasks of the per-task means, draws resampled jointly (paired).
    """
    rng = np.random.default_rng(seed)
    n = len(diff)
    idx = rng.integers(0, n, size=(N_BOOT, n))
    stats = diff[idx].mean(axis=1)
    if stats.ndim > 1:
        stats = stats.mean(axis=1)
    lo, hi = np.percentile(stats, [2.5, 97.5])
    return float(lo), float(hi)


def fmt_ci(mean: float, ci: tuple[float, float]) -> str:
    return f"{100 * mean:+.1f} [{100 * ci[0]:+.1f}, {100 * ci[1]:+.1f}]"


def comparison_table(scores: dict[str, np.ndarray], tasks: list[str], base: str, title: str) -> str:
    """Per-task mean ± s.e. and paired difference vs ``base``; six-task mean.

    ``scores[name]`` is (draws, tasks) of one metric.
    """
    names = list(scores)
    lines = [f"\n### {title}\n", "| encoder | " + " | ".join(tasks) + " | mean |", "|---|"]
    lines[-1] += "---:|" * (len(tasks) + 1)
    for name in names:
        s = scores[name]
        se = s.std(axis=0, ddof=1) / np.sqrt(len(s))
        cells = [f"{s[:, j].mean():.3f} ± {se[j]:.3f}" for j in range(len(tasks))]
        mean = s.mean(axis=1)
        cells.append(f"**{mean.mean():.3f} ± {mean.std(ddof=1) / np.sqrt(len(s)):.3f}**")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    others = [n for n in names if n != base]
    if others:
        lines += [
            f"\nDifference vs {base}, points, mean [paired 95 % bootstrap interval]:\n",
            "| encoder | " + " | ".join(tasks) + " | mean |",
            "|---|" + "---:|" * (len(tasks) + 1),
        ]
        for name in others:
            d = scores[name] - scores[base]
            cells = [fmt_ci(d[:, j].mean(), boot_ci(d[:, j])) for j in range(len(tasks))]
            cells.append("**" + fmt_ci(d.mean(), boot_ci(d)) + "**")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------------ parts
def ready_tasks(encoders: dict[str, str], cached_only: bool) -> list[str]:
    """All tasks, or (``cached_only``) those every encoder has embedded."""
    if not cached_only:
        return list(TASKS)
    out = []
    for task in TASKS:
        data = load(task)
        if all(is_cached(n, data[f"{s}_text"]) for n in encoders for s in ("pool", "test")):
            out.append(task)
    return out


def skipped_note(tasks: list[str]) -> str:
    missing = [t for t in TASKS if t not in tasks]
    return f"\n(not embedded by every encoder, left out: {', '.join(missing)})" if missing else ""


def part_frozen(encoders: dict[str, str], n_draws: int, cached_only: bool = False) -> str:
    tasks = ready_tasks(encoders, cached_only)
    acc = {n: np.zeros((n_draws, len(tasks))) for n in encoders}
    f1 = {n: np.zeros((n_draws, len(tasks))) for n in encoders}
    for j, task in enumerate(tasks):
        data = load(task)
        draws = draws_for(task, n_draws)
        for name, path in encoders.items():
            V, Vt = features(name, path, data, "pool"), features(name, path, data, "test")
            for i, d in enumerate(draws):
                acc[name][i, j], f1[name][i, j] = fit_score(
                    V[d], data["pool_y"][d], Vt, data["test_y"]
                )
    base = next(iter(encoders))
    title = f"(a) frozen + LR(C=10), 32 random labels, accuracy, {n_draws} draws"
    return (
        comparison_table(acc, tasks, base, title)
        + comparison_table(f1, tasks, base, "(a) same fits, macro-F1")
        + skipped_note(tasks)
    )


def part_pairs(encoders: dict[str, str], n_draws: int, embed_missing: bool = True) -> str:
    lines = [
        f"\n### (b) pairs: joined text vs [u, v, |u-v|, u*v], accuracy, {n_draws} draws\n",
        "| encoder | task | joined | separate [u,v,|u-v|,u*v] "
        "| separate - joined, points [95 % CI] |",
        "|---|---|---:|---:|---:|",
    ]
    for name, path in encoders.items():
        diffs = []
        datas = [load(task) for task in PAIR_TASKS]
        if not embed_missing and not all(
            is_cached(name, d[f"{s}_{side}"])
            for d in datas
            for s in ("pool", "test")
            for side in "ab"
        ):
            lines.append(f"| {name} | not measured: the pair sides are not embedded | | | |")
            continue
        for task, data in zip(PAIR_TASKS, datas, strict=True):
            res = {}
            for kind in ("joined", "separate"):
                V, Vt = (
                    features(name, path, data, "pool", kind),
                    features(name, path, data, "test", kind),
                )
                res[kind] = np.asarray(
                    [
                        fit_score(V[d], data["pool_y"][d], Vt, data["test_y"])[0]
                        for d in draws_for(task, n_draws)
                    ]
                )
            d = res["separate"] - res["joined"]
            diffs.append(d)
            se = {k: v.std(ddof=1) / np.sqrt(len(v)) for k, v in res.items()}
            lines.append(
                f"| {name} | {task} | {res['joined'].mean():.3f} ± {se['joined']:.3f} "
                f"| {res['separate'].mean():.3f} ± {se['separate']:.3f} "
                f"| {fmt_ci(d.mean(), boot_ci(d))} |"
            )
        d = np.stack(diffs, axis=1)
        lines.append(f"| {name} | **mean** | | | **{fmt_ci(d.mean(), boot_ci(d))}** |")
    return "\n".join(lines)


def coldstart_picks(V: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Pool rows picked by typicality (densest) and by the default coverage pipeline."""
    typ, _ = typical_points(V, K, np.random.default_rng(seed), density=local_density(V, 5))
    idx, _, _ = present_with_coverage(V, SHOWN, K, np.random.default_rng(seed), "coverage", 5)
    return {
        "typicality (densest)": np.asarray(typ),
        "default coverage, first k": np.asarray(idx)[:K],
    }


def part_coldstart(encoders: dict[str, str], n_draws: int, cached_only: bool = False) -> str:
    arms = ("typicality (densest)", "default coverage, first k")
    out = []
    for name, path in encoders.items():
        tasks = ready_tasks({name: path}, cached_only)
        diff = {a: np.zeros((n_draws, len(tasks))) for a in arms}
        base = np.zeros((n_draws, len(tasks)))
        for j, task in enumerate(tasks):
            data = load(task)
            V, Vt = features(name, path, data, "pool"), features(name, path, data, "test")
            y, yt = data["pool_y"], data["test_y"]
            cache = OUT / "picks" / name / f"{task}.npz"
            picks = dict(np.load(cache)) if cache.is_file() else {}
            for i, d in enumerate(draws_for(task, n_draws)):
                base[i, j] = fit_score(V[d], y[d], Vt, yt)[0]
                if f"{arms[0]}|{i}" not in picks:
                    for arm, picked in coldstart_picks(V, 1000 + i).items():
                        picks[f"{arm}|{i}"] = picked
                    cache.parent.mkdir(parents=True, exist_ok=True)
                    np.savez(cache, **picks)
                for arm in arms:
                    picked = picks[f"{arm}|{i}"]
                    diff[arm][i, j] = fit_score(V[picked], y[picked], Vt, yt)[0] - base[i, j]
        out += [
            f"\n### (d) cold start vs random 32, encoder {name}, accuracy, {n_draws} draws\n",
            "| arm | " + " | ".join(tasks) + " | mean |",
            "|---|" + "---:|" * (len(tasks) + 1),
            "| random 32 (accuracy) | "
            + " | ".join(f"{base[:, j].mean():.3f}" for j in range(len(tasks)))
            + f" | {base.mean():.3f} |",
        ]
        for arm in arms:
            d = diff[arm]
            cells = [fmt_ci(d[:, j].mean(), boot_ci(d[:, j])) for j in range(len(tasks))]
            out.append(
                f"| {arm} - random, points | "
                + " | ".join(cells)
                + f" | **{fmt_ci(d.mean(), boot_ci(d))}** |"
            )
        out.append(skipped_note(tasks))
    return "\n".join(out)


def part_setfit(
    encoders: dict[str, str], n_draws: int, tasks: list[str], cached_only: bool = False
) -> str:
    from activellm_modal.classifiers import SetFitClassifier

    lines = [
        f"\n### (c) SetFit (package defaults), 32 random labels, {n_draws} draws\n",
        "| encoder | task | accuracy ± s.e. | macro-F1 ± s.e. | fits with macro-F1 <= 0.5 "
        "| fit s (median) | fits |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for task in tasks:
        data = load(task)
        draws = draws_for(task, n_draws)
        for name, path in encoders.items():
            rows = []
            for i, d in enumerate(draws):
                cache = OUT / "setfit" / f"{name}-{task}-draw{i}.json"
                if cache.is_file():
                    rows.append(json.loads(cache.read_text()))
                    continue
                if cached_only:
                    continue
                clf = SetFitClassifier(resolve(path), random_state=i)
                start = time.time()
                clf.fit(list(data["pool_text"][d]), data["pool_y"][d])
                fit_s = time.time() - start
                pred = clf.predict(list(data["test_text"]))
                rows.append(
                    {
                        "acc": accuracy_score(data["test_y"], pred),
                        "f1": f1_score(data["test_y"], pred, average="macro"),
                        "fit_s": fit_s,
                        "predict_s": time.time() - start - fit_s,
                    }
                )
                print(f"  setfit {name} {task} draw {i}: {rows[-1]}", file=sys.stderr, flush=True)
                cache.parent.mkdir(parents=True, exist_ok=True)
                cache.write_text(json.dumps(rows[-1]))
            if not rows:
                lines.append(f"| {name} | {task} | not measured | | | | 0 |")
                continue
            acc = np.asarray([r["acc"] for r in rows])
            f1 = np.asarray([r["f1"] for r in rows])

            def sd(x: np.ndarray) -> float:
                return x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else float("nan")

            def pm(x: np.ndarray) -> str:
                return f"{x.mean():.3f} ± {sd(x):.3f}" if len(x) > 1 else f"{x.mean():.3f}"

            lines.append(
                f"| {name} | {task} | {pm(acc)} "
                f"| {pm(f1)} | {int((f1 <= 0.5).sum())} "
                f"| {np.median([r['fit_s'] for r in rows]):.0f} | {len(rows)} |"
            )
    return "\n".join(lines)


def part_speed(encoders: dict[str, str], rounds: int, n_texts: int = 1000) -> str:
    import torch

    texts = list(load("sst2")["pool_text"][:n_texts])
    for path in encoders.values():
        embedder(path).transform(texts[:64])  # warm up
    times = {n: [] for n in encoders}
    for _ in range(rounds):
        for name, path in encoders.items():
            start = time.perf_counter()
            embedder(path).transform(texts)
            times[name].append((time.perf_counter() - start) * 1000 / len(texts))
    base = next(iter(encoders))
    lines = [
        f"\n### (e) seconds per 1,000 SST-2 sentences (batch {BATCH}, max_length {MAX_LENGTH}, "
        f"{torch.get_num_threads()} torch threads, {rounds} interleaved rounds of {len(texts)} "
        "sentences, scaled to 1,000)\n",
        f"| encoder | median s | min s | max s | ratio to {base} (median of per-round ratios) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, t in times.items():
        ratio = np.median(np.asarray(t) / np.asarray(times[base]))
        lines.append(f"| {name} | {np.median(t):.1f} | {min(t):.1f} | {max(t):.1f} | {ratio:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--encoder",
        action="append",
        help="name=path of a sentence-transformers folder ('default': the offline MiniLM); "
        "the first is the baseline",
    )
    parser.add_argument("--parts", default="frozen,pairs,coldstart,speed")
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--coldstart-draws", type=int, default=100)
    parser.add_argument("--setfit-draws", type=int, default=5)
    parser.add_argument("--setfit-tasks", default="sst2")
    parser.add_argument(
        "--setfit-cached-only", action="store_true", help="report cached SetFit fits, fit none"
    )
    parser.add_argument("--setfit-encoders", default="", help="names (default: all)")
    parser.add_argument("--speed-rounds", type=int, default=3)
    parser.add_argument("--speed-texts", type=int, default=1000, help="SST-2 texts per round")
    parser.add_argument(
        "--cached-only",
        action="store_true",
        help="embed nothing: leave out tasks (pairs: encoders) not yet embedded",
    )
    parser.add_argument("--embed-only", action="store_true", help="only fill the cache")
    parser.add_argument("--tasks", default=",".join(TASKS), help="tasks to embed (--embed-only)")
    args = parser.parse_args(argv)
    encoders = {}
    for item in args.encoder or ["minilm=default"]:
        name, _, path = item.partition("=")
        encoders[name] = resolve(path)
    parts = args.parts.split(",")
    if args.embed_only:  # joined texts of every task first, then the pair sides
        for kind in ("joined", "separate"):
            for task in [t for t in args.tasks.split(",") if kind == "joined" or t in PAIR_TASKS]:
                data = load(task)
                for name, path in encoders.items():
                    for split in ("pool", "test"):
                        features(name, path, data, split, kind)
        return 0
    print(f"encoders: {json.dumps(encoders)}; torch threads: {os.environ.get('OMP_NUM_THREADS')}")
    steps = {
        "frozen": lambda: part_frozen(encoders, args.draws, args.cached_only),
        "pairs": lambda: part_pairs(encoders, args.draws, not args.cached_only),
        "coldstart": lambda: part_coldstart(encoders, args.coldstart_draws, args.cached_only),
        "speed": lambda: part_speed(encoders, args.speed_rounds, args.speed_texts),
        "setfit": lambda: part_setfit(
            {
                n: p
                for n, p in encoders.items()
                if not args.setfit_encoders or n in args.setfit_encoders.split(",")
            },
            args.setfit_draws,
            args.setfit_tasks.split(","),
            args.setfit_cached_only,
        ),
    }
    for part in parts:
        start = time.time()
        print(steps[part](), flush=True)
        print(f"\n({part}: {time.time() - start:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
