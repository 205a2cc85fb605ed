"""Which classifier learns from 32 labels: BertClassifier, SetFitClassifier, frozen embeddings.

SST-2, 32 labels drawn at random from the training split (draw ``d`` uses
``numpy.random.default_rng(d)``), several draws x training seeds. On the same draws it
trains, side by side:

* ``bert``: :class:`BertClassifier` with its defaults (batch "auto" = 8 at 32 labels,
  at least 120 optimiser steps);
* ``bert-paper``: :meth:`BertClassifier.paper_recipe` (25 full-batch steps, the
  paper's recipe);
* ``setfit``: :class:`SetFitClassifier` with its defaults;
* ``bert-balanced`` / ``setfit-balanced``: the same with ``class_weight="balanced"``;
* ``embed-lr``: frozen mean-pooled embeddings of ``--encoder`` + logistic regression
  (C=10, as ``make demo`` and ``activellm-modal benchmark``); deterministic, so one fit
  per draw; ``embed-lr-minilm``: the same on all-MiniLM-L6-v2 (the encoder's effect).

Fine-tuning uses the offline all-MiniLM-L6-v2 (``--model``), embed-lr the default
encoder (``--encoder``: all-mpnet-base-v2), at max_length 64. The CSV holds one
encoder's embed-lr rows: pass another ``--csv`` for another ``--encoder``. It prints,
per classifier, the mean accuracy and macro-F1 over fits, the worst fit, how many fits
have macro-F1 <= 0.5 (a model at or near the majority class), and the seconds to fit 32
labels and to score the test set, then each classifier's accuracy minus embed-lr's on
the same draws as a mean with a paired 95 % bootstrap interval over draws (``--draws``,
default 5). Rows go to a CSV as they finish, so an interrupted run resumes where it
stopped, and the table is printed from whatever the CSV holds.

Usage::

    python benchmarks/bench_classifiers.py [--draws 5] [--seeds 0,1,2]
        [--classifiers embed-lr,setfit,bert,bert-paper] [--test-size N]
        [--threads 1] [--csv results/bench_classifiers.csv] [--table-only]
        [--encoder default|minilm|mpnet|FOLDER] [--model FOLDER]

Targets (issue 16): bert mean accuracy >= 0.65, setfit >= 0.70, macro-F1 > 0.5 in
every fit, both above embed-lr.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
K = 32
MAX_LENGTH = 64
CLASSIFIERS = (
    "embed-lr",
    "setfit",
    "bert",
    "bert-paper",
    "bert-balanced",
    "setfit-balanced",
    "embed-lr-minilm",
)
COLUMNS = (
    "classifier",
    "draw",
    "seed",
    "accuracy",
    "macro_f1",
    "n_positive",
    "fit_s",
    "predict_s",
    "threads",
    "n_test",
)


def make(name: str, model: str, seed: int, encoder: str = "default") -> object:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from activellm_modal.classifiers import BertClassifier, SetFitClassifier
    from activellm_modal.embeddings import Encoder

    if name == "bert":
        return BertClassifier(model, max_length=MAX_LENGTH, random_state=seed)
    if name == "bert-balanced":
        return BertClassifier(
            model, max_length=MAX_LENGTH, class_weight="balanced", random_state=seed
        )
    if name == "setfit-balanced":
        return SetFitClassifier(
            model, max_length=MAX_LENGTH, class_weight="balanced", random_state=seed
        )
    if name == "bert-paper":
        return BertClassifier.paper_recipe(model, max_length=MAX_LENGTH, random_state=seed)
    if name == "setfit":
        return SetFitClassifier(model, max_length=MAX_LENGTH, random_state=seed)
    if name == "embed-lr-minilm":  # the encoder's effect: frozen MiniLM on the same draws
        return make_pipeline(
            Encoder("minilm", max_length=MAX_LENGTH), LogisticRegression(C=10.0, max_iter=1000)
        )
    if name == "embed-lr":
        return make_pipeline(
            Encoder(encoder, max_length=MAX_LENGTH),
            LogisticRegression(C=10.0, max_iter=1000),
        )
    raise ValueError(f"unknown classifier {name!r}; choose from {', '.join(CLASSIFIERS)}")


def draw_rows(n_train: int, draw: int) -> np.ndarray:
    """The 32 training rows of draw ``draw`` (plain random: the balance varies)."""
    return np.sort(np.random.default_rng(draw).choice(n_train, size=K, replace=False))


def read_done(path: Path) -> pd.DataFrame:
    if not path.is_file():
        return pd.DataFrame(columns=list(COLUMNS))
    return pd.read_csv(path)


def run(args: argparse.Namespace) -> None:
    import torch
    from sklearn.metrics import accuracy_score, f1_score

    from activellm_modal.data import read_split
    from activellm_modal.embeddings import default_model_path

    torch.set_num_threads(args.threads)
    shared = Path(os.environ.get("ACTIVELLM_SHARED", REPO.parent / "shared"))
    train = read_split(shared / "datasets", "sst2", "train")
    test = read_split(shared / "datasets", "sst2", "test")
    if args.test_size:
        test = test.iloc[: args.test_size]
    X_test = test["text"].to_numpy(dtype=object)
    y_test = test["label"].to_numpy()
    model = args.model or default_model_path()
    done = read_done(args.csv)
    seen = {(r.classifier, int(r.draw), int(r.seed)) for r in done.itertuples()}
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    new_file = not args.csv.is_file()
    with args.csv.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        if new_file:
            writer.writeheader()
        # Seeds outermost: a run stopped early still covers every draw.
        for seed in args.seeds:
            for draw in range(1, args.draws + 1):
                rows = draw_rows(len(train), draw)
                X = train["text"].to_numpy(dtype=object)[rows]
                y = train["label"].to_numpy()[rows]
                for name in args.classifiers:
                    fit_seed = 0 if name.startswith("embed-lr") else seed
                    if (name, draw, fit_seed) in seen:
                        continue
                    clf = make(name, model, fit_seed, args.encoder)
                    start = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        clf.fit(X, y)
                    fit_s = time.perf_counter() - start
                    start = time.perf_counter()
                    predicted = clf.predict(X_test)
                    predict_s = time.perf_counter() - start
                    row = {
                        "classifier": name,
                        "draw": draw,
                        "seed": fit_seed,
                        "accuracy": round(accuracy_score(y_test, predicted), 4),
                        "macro_f1": round(f1_score(y_test, predicted, average="macro"), 4),
                        "n_positive": int(y.sum()),
                        "fit_s": round(fit_s, 1),
                        "predict_s": round(predict_s, 1),
                        "threads": args.threads,
                        "n_test": len(y_test),
                    }
                    writer.writerow(row)
                    handle.flush()
                    seen.add((name, draw, fit_seed))
                    print(
                        f"{name:10s} draw {draw} seed {fit_seed}: acc {row['accuracy']:.4f} "
                        f"F1 {row['macro_f1']:.4f} ({row['n_positive']}/32 positive) "
                        f"fit {fit_s:.0f} s, predict {predict_s:.0f} s",
                        flush=True,
                    )


def table(frame: pd.DataFrame, order: Sequence[str]) -> str:
    lines = [
        "| classifier | fits | accuracy mean ± sd | worst accuracy | macro-F1 mean "
        "| worst macro-F1 | fits with F1 <= 0.5 | fit s / 32 labels | predict s / test set |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in order:
        rows = frame[frame["classifier"] == name]
        if rows.empty:
            continue
        acc, f1 = rows["accuracy"], rows["macro_f1"]
        lines.append(
            f"| {name} | {len(rows)} | {acc.mean():.3f} ± {acc.std(ddof=0):.3f} "
            f"| {acc.min():.3f} | {f1.mean():.3f} | {f1.min():.3f} | {(f1 <= 0.5).sum()} "
            f"| {rows['fit_s'].median():.0f} | {rows['predict_s'].median():.0f} |"
        )
    return "\n".join(lines)


def interval_table(frame: pd.DataFrame, order: Sequence[str], baseline: str = "embed-lr") -> str:
    """Accuracy points vs ``baseline`` on the same draws: paired 95 % bootstrap intervals.

    A draw's difference is the classifier's accuracy (mean over its seeds on that draw)
    minus the baseline's on the same 32 labels; "better" needs the interval above 0.
    """
    from activellm_modal.experiments.intervals import paired_interval

    per_draw = frame.groupby(["classifier", "draw"])["accuracy"].mean().unstack("classifier")
    if baseline not in per_draw:
        return f"(no {baseline} rows: no paired differences)"
    lines = [
        f"| classifier | draws | accuracy points vs {baseline} [95% CI] | draws for ±0.5 |",
        "|---|---:|---:|---:|",
    ]
    for name in order:
        if name == baseline or name not in per_draw:
            continue
        diff = (per_draw[name] - per_draw[baseline]).dropna()
        interval = paired_interval(diff)
        need = interval.draws_for(0.005)
        lines.append(f"| {name} | {interval.n} | {interval.points()} | {need if need else '–'} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=5, help="random 32-label draws (1..N)")
    parser.add_argument(
        "--seeds", default="0,1,2", help="training seeds (comma list; default 0,1,2)"
    )
    parser.add_argument("--classifiers", default=",".join(CLASSIFIERS))
    parser.add_argument("--test-size", type=int, default=0, help="first N test rows (0: all)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument(
        "--csv", type=Path, default=REPO / "results" / "bench_classifiers.csv", help="rows"
    )
    parser.add_argument("--table-only", action="store_true", help="print the table, fit nothing")
    parser.add_argument(
        "--encoder",
        default="default",
        help="frozen encoder of embed-lr: default (all-mpnet-base-v2), minilm, or a folder",
    )
    parser.add_argument(
        "--model", help="BertClassifier / SetFit model (default: offline all-MiniLM-L6-v2)"
    )
    args = parser.parse_args(argv)
    from activellm_modal.embeddings.models import encoder_label

    args.seeds = [int(part) for part in args.seeds.split(",") if part.strip()]
    args.classifiers = [part.strip() for part in args.classifiers.split(",") if part.strip()]
    unknown = sorted(set(args.classifiers) - set(CLASSIFIERS))
    if unknown:
        parser.error(f"unknown classifier(s) {unknown}; choose from {', '.join(CLASSIFIERS)}")
    if not args.table_only:
        run(args)
    frame = read_done(args.csv)
    frame = frame[frame["draw"].between(1, args.draws)]
    print(
        f"\nSST-2, {K} random labels, draws 1-{args.draws}, seeds {args.seeds}; embed-lr on "
        f"{encoder_label(args.encoder)}, fine-tuning on {encoder_label(args.model or 'minilm')}; "
        f"max_length {MAX_LENGTH}, test rows {int(frame['n_test'].max()) if len(frame) else 0}; "
        f"times on {int(frame['threads'].max()) if len(frame) else args.threads} thread(s), "
        "median per fit:\n"
    )
    print(table(frame, args.classifiers))
    print("\nPaired by draw (the same 32 labels):\n")
    print(interval_table(frame, args.classifiers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
