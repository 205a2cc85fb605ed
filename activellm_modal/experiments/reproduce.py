"""``activellm-modal reproduce``: the paper's few-shot SST-2 experiment, offline.

For each recorded pool draw (*run*) the random baseline takes the first 32
instances the LLM was shown (as the paper did) and ActiveLLM takes the LLM's
recorded picks, replayed through a modAL ``ActiveLearner`` exactly as the demo
does. Each selection trains a classifier once per seed, scored on the 872 SST-2
test sentences. ``classifier`` picks it: ``bert-paper`` fine-tunes
:class:`BertClassifier` with the paper's recipe (25 epochs, lr 5e-5, 5 warm-up
steps, weight decay 0.01, one full batch of 32: the full grid's default, where
the figures stand beside the paper's), ``bert`` with its few-label defaults (the
main job, ``--quick``), ``setfit`` trains :class:`SetFitClassifier` and
``embed`` fits a logistic regression on frozen embeddings.
"""

from __future__ import annotations

import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from activellm_modal.data import read_split
from activellm_modal.experiments.grid import ReproduceJob
from activellm_modal.experiments.metrics import mean_std, n_positive, scores
from activellm_modal.experiments.paper import (
    PAPER_RANDOM_RUN1,
    PAPER_SOURCE,
    RANDOM_LABEL,
    SST2_ARMS,
    K,
    arm_by_name,
    check_task,
    recordings_for,
)
from activellm_modal.experiments.runner import run_jobs
from activellm_modal.experiments.store import ResultStore
from activellm_modal.llm.replay import Recording

KEY_COLUMNS = ("strategy", "llm", "run", "seed")
#: Settings that must match between a results.csv and the run that resumes it.
SETTING_COLUMNS = ("classifier", "model", "max_length", "epochs", "n_test")
#: ``--classifier`` choices, and what each trains (for RESULTS.md).
CLASSIFIERS = {
    "bert-paper": "BertClassifier with the paper's recipe (batch = all 32, {epochs} epochs, "
    "lr 5e-5, warm-up 5, weight decay 0.01)",
    "bert": "BertClassifier with its few-label defaults (batch 8, {epochs} epochs: at least "
    "120 optimiser steps)",
    "setfit": "SetFitClassifier (contrastive tuning on 20 pairs per text, batch 16, one epoch; "
    "logistic-regression head)",
    "embed": "frozen mean-pooled embeddings + logistic regression (C=10), no fine-tuning",
}
#: The classifier of rows written before ``classifier`` was a column.
LEGACY_CLASSIFIER = "bert-paper"


@dataclass
class ReproduceConfig:
    """Everything ``reproduce`` needs; the CLI fills it from its options."""

    data_dir: Path
    paper_dir: Path
    out: Path
    model: str
    task: str = "sst2"
    runs: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 5])
    seeds: list[int] = field(default_factory=lambda: [42, 109, 27, 158, 77])
    llms: list[str] = field(default_factory=lambda: [arm.name for arm in SST2_ARMS])
    classifier: str = "bert-paper"
    #: None: the classifier's own (25 for bert-paper, the floor of 120 steps for bert).
    epochs: int | None = None
    max_length: int = 128
    lr: float = 5e-5
    warmup_steps: int = 5
    weight_decay: float = 0.01
    test_size: int | None = None
    n_jobs: int = 1
    quiet: bool = False


@dataclass
class ReproduceData:
    """The read-only inputs every job shares."""

    X_pool: np.ndarray
    y_pool: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    recordings: dict[tuple[str, int], Recording]
    config: ReproduceConfig


def plan(config: ReproduceConfig) -> tuple[list[ReproduceJob], ReproduceData, list[str]]:
    """Load the data and recordings; list every job of the grid, plus notes for the user."""
    check_task(config.task)
    arms = [arm_by_name(name) for name in config.llms]
    train = read_split(config.data_dir, config.task, "train")
    test = read_split(config.data_dir, config.task, "test")
    if not (train["idx"].to_numpy() == np.arange(len(train))).all():
        raise ValueError(f"{config.task}/train.tsv must list rows in idx order (ids map to rows).")
    if config.test_size is not None:
        test = test.iloc[: config.test_size]
    recordings: dict[tuple[str, int], Recording] = {}
    notes = []
    # The random baseline of a run is the first 32 shown in that run's GPT-4 prompt.
    baseline = recordings_for(config.paper_dir, config.task, arm_by_name("gpt-4"))
    for run in config.runs:
        if run not in baseline:
            raise ValueError(
                f"run {run} has no recording for {config.task}; recorded runs: "
                f"{','.join(map(str, sorted(baseline)))}."
            )
        recordings[("", run)] = baseline[run]
    jobs = [ReproduceJob("random", "", run, seed) for run in config.runs for seed in config.seeds]
    for arm in arms:
        found = recordings_for(config.paper_dir, config.task, arm)
        runs = [run for run in config.runs if run in found]
        if len(runs) < len(config.runs):
            missing = sorted(set(config.runs) - set(runs))
            notes.append(f"{arm.name}: no recording for run(s) {missing}; skipped there.")
        for run in runs:
            recordings[(arm.name, run)] = found[run]
            jobs += [ReproduceJob("activellm", arm.name, run, seed) for seed in config.seeds]
    data = ReproduceData(
        X_pool=train["text"].to_numpy(dtype=object),
        y_pool=train["label"].to_numpy(),
        X_test=test["text"].to_numpy(dtype=object),
        y_test=test["label"].to_numpy(),
        recordings=recordings,
        config=config,
    )
    return jobs, data, notes


def make_classifier(config: ReproduceConfig, seed: int, classes: np.ndarray) -> Any:
    """The classifier ``config.classifier`` on ``config.model``, seeded with ``seed``.

    ``classes`` is fixed so a selection that misses a class still gives a model
    (the paper's code would crash).
    """
    if config.classifier not in CLASSIFIERS:
        raise ValueError(f"classifier={config.classifier!r}: use one of {', '.join(CLASSIFIERS)}.")
    if config.classifier == "embed":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        from activellm_modal.embeddings import SentenceEmbedder

        # C=10: few unit-norm embeddings; the default C=1 shrinks the model to the prior.
        return make_pipeline(
            SentenceEmbedder(config.model, max_length=config.max_length),
            LogisticRegression(C=10.0, max_iter=1000),
        )
    if config.classifier == "setfit":
        from activellm_modal.classifiers import SetFitClassifier

        return SetFitClassifier(
            config.model, max_length=config.max_length, classes=classes, random_state=seed
        )
    from activellm_modal.classifiers import BertClassifier

    epochs = {} if config.epochs is None else {"max_epochs": config.epochs}
    if config.classifier == "bert":
        return BertClassifier(
            config.model,
            max_length=config.max_length,
            classes=classes,
            random_state=seed,
            **epochs,
        )
    # The paper's recipe: one optimiser step per epoch (batch = K).
    return BertClassifier.paper_recipe(
        config.model,
        max_length=config.max_length,
        batch_size=K,
        lr=config.lr,
        warmup_steps=config.warmup_steps,
        weight_decay=config.weight_decay,
        classes=classes,
        random_state=seed,
        iterator_valid__batch_size=128,
        **epochs,
    )


def epochs_label(config: ReproduceConfig) -> str:
    """The epochs setting as results.csv records it."""
    if config.epochs is not None:
        return str(config.epochs)
    return {"bert-paper": "25", "bert": "30"}.get(config.classifier, "-")


def run_job(job: ReproduceJob, data: ReproduceData) -> dict[str, object]:
    """Select (replayed LLM or first 32), fine-tune with one seed, score on the test split."""
    from modAL.models import ActiveLearner

    from activellm_modal.llm.replay import ReplayBackend, recorded_sampler
    from activellm_modal.loop.compat import patch_modal
    from activellm_modal.parts import UniformPresenter
    from activellm_modal.presets import make_strategy

    patch_modal()
    config = data.config
    recording = data.recordings[(job.llm, job.run)]
    classifier = make_classifier(config, job.seed, np.unique(data.y_pool))
    usage: dict[str, Any] = {}
    n_filled = 0
    start = time.perf_counter()
    if job.strategy == "random":
        picked = np.asarray(recording.ids[:K])
        learner = ActiveLearner(
            estimator=classifier, X_training=data.X_pool[picked], y_training=data.y_pool[picked]
        )
    else:
        strategy = make_strategy(
            "paper",  # the paper's method replays the paper's answers
            backend=ReplayBackend([recording]),
            presenter=UniformPresenter(
                len(recording.ids), skip_duplicates=False, sampler=recorded_sampler(recording.ids)
            ),
            random_state=job.run,
        )
        learner = ActiveLearner(estimator=classifier, query_strategy=strategy)
        with warnings.catch_warnings():
            # A short answer is filled at random and counted in n_filled instead.
            warnings.simplefilter("ignore")
            picked, _ = learner.query(data.X_pool, n_instances=K)
        usage = dict(strategy.usage_)
        n_filled = strategy.last_query_.n_filled
        learner.teach(data.X_pool[picked], data.y_pool[picked])
    trained = time.perf_counter()
    predicted = learner.predict(data.X_test)
    return {
        **dict(zip(KEY_COLUMNS, (job.strategy, job.llm, job.run, job.seed), strict=True)),
        "n_labelled": len(picked),
        **scores(data.y_test, predicted),
        "n_positive": n_positive(data.y_pool[picked]),
        "n_presented": len(recording.ids),
        "n_filled": n_filled,
        "llm_calls": usage.get("calls", 0),
        "llm_replayed": usage.get("cache_hits", 0),
        "prompt_tokens": usage.get("prompt_tokens", 0),
        "completion_tokens": usage.get("completion_tokens", 0),
        "llm_seconds": round(float(usage.get("seconds", 0.0)), 4),
        "train_seconds": round(trained - start, 2),
        "eval_seconds": round(time.perf_counter() - trained, 2),
        "classifier": config.classifier,
        "model": config.model,
        "max_length": config.max_length,
        "epochs": epochs_label(config),
        "n_test": len(data.y_test),
    }


def check_settings(frame: pd.DataFrame, config: ReproduceConfig, path: Path, n_test: int) -> None:
    """Refuse to mix rows made with other settings into one results.csv."""
    if frame.empty:
        return
    wanted = {
        "classifier": config.classifier,
        "model": config.model,
        "max_length": config.max_length,
        "epochs": epochs_label(config),
        "n_test": n_test,
    }
    for column, value in wanted.items():
        if column == "classifier" and column not in frame.columns:
            seen = {LEGACY_CLASSIFIER}
        elif column in frame.columns:
            seen = set(frame[column].astype(str))
        else:
            continue
        if seen != {str(value)}:
            raise ValueError(
                f"{path} holds rows with {column}={sorted(seen)}, this run has "
                f"{column}={value}: pass another --out (or delete the file) to start afresh."
            )


def summary_table(frame: pd.DataFrame) -> str:
    """The markdown table: every run separately, then the mean over runs, beside the paper."""
    lines = [
        f"| strategy | run | seeds | positives / {K} | accuracy (mean ± sd over seeds) "
        f"| macro F1 | paper ({PAPER_SOURCE}) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, paper, group in _arm_groups(frame):
        for run, rows in group.groupby("run", sort=True):
            acc, sd = mean_std(rows["accuracy"])
            f1, _ = mean_std(rows["macro_f1"])
            positives = int(rows["n_positive"].iloc[0])
            cited = f"{paper:.4f}" if run == 1 and paper is not None else "–"
            lines.append(
                f"| {label} | {run} | {len(rows)} | {positives}/{K} | {acc:.4f} ± {sd:.4f} "
                f"| {f1:.4f} | {cited} |"
            )
        if group["run"].nunique() > 1:
            per_run = group.groupby("run")["accuracy"].mean()
            acc, sd = mean_std(per_run)
            f1, _ = mean_std(group.groupby("run")["macro_f1"].mean())
            lines.append(
                f"| **{label}** | mean of {len(per_run)} runs | | | **{acc:.4f}** ± {sd:.4f} "
                f"(sd over runs) | {f1:.4f} | |"
            )
    return "\n".join(lines)


def _arm_groups(frame: pd.DataFrame) -> list[tuple[str, float | None, pd.DataFrame]]:
    groups = []
    random = frame[frame["strategy"] == "random"]
    if not random.empty:
        groups.append((RANDOM_LABEL, PAPER_RANDOM_RUN1, random))
    for arm in SST2_ARMS:
        rows = frame[(frame["strategy"] == "activellm") & (frame["llm"] == arm.name)]
        if not rows.empty:
            groups.append((f"ActiveLLM {arm.label}", arm.paper_run1, rows))
    return groups


def model_label(model: str) -> str:
    """A short name for tables: the offline MiniLM's folder is just called ``model``."""
    path = Path(model)
    if path.name == "model" and "minilm" in path.parent.name.lower():
        return "all-MiniLM-L6-v2"
    return path.name or model


def write_report(frame: pd.DataFrame, config: ReproduceConfig, out: Path) -> tuple[Path, Path]:
    """RESULTS.md and reproduce.png from ``results.csv``'s rows."""
    from activellm_modal.experiments.plots import plot_reproduce

    png = plot_reproduce(frame, _arm_groups(frame), out / "reproduce.png")
    model = model_label(config.model)
    n_test = int(frame["n_test"].iloc[0])
    trained = CLASSIFIERS[config.classifier].format(epochs=epochs_label(config))
    text = [
        f"# ActiveLLM on {config.task.upper()}, {K} labels: our reproduction",
        "",
        f"Ours: `{model}` on CPU, max_length {config.max_length}: {trained}. Accuracy and "
        f"macro-F1 on {n_test} test "
        "sentences, one row per pool draw (run). The paper's figures are the "
        f"{PAPER_SOURCE} (mean of seeds 42, 109, 27, 158, 77; no log exists for runs 2-5), "
        "so they are comparable in trend, not in level: ours is a smaller model.",
        "",
        "The random baseline takes the first 32 instances shown to the LLM, as the paper did. "
        "`positives` is the label balance of the selection (1 = positive).",
        "",
        summary_table(frame),
        "",
        f"![accuracy per strategy and run]({png.name})",
        "",
        "Per-seed rows, LLM usage and timings: `results.csv`.",
        "",
    ]
    md = out / "RESULTS.md"
    md.write_text("\n".join(text), encoding="utf-8")
    return md, png


def main(config: ReproduceConfig) -> int:
    """Run what is missing from ``results.csv``, then print the table and the plot's path."""
    start = time.perf_counter()
    jobs, data, notes = plan(config)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    store = ResultStore(config.out / "results.csv", KEY_COLUMNS)
    check_settings(store.read(), config, store.path, len(data.y_test))
    done = store.done_keys()
    todo = [job for job in jobs if job.key() not in done]
    print(
        f"reproduce: {len(jobs)} fine-tunings in the grid, {len(jobs) - len(todo)} already in "
        f"{store.path}, {len(todo)} to run",
        file=sys.stderr,
    )
    run_jobs(
        run_job,
        todo,
        data,
        lambda job, row: store.append([row]),
        backend="joblib",
        n_jobs=config.n_jobs,
        desc="fine-tuning",
        quiet=config.quiet,
    )
    frame = store.read()
    wanted = {job.key() for job in jobs}
    keys = frame[list(KEY_COLUMNS)].astype(str).apply(tuple, axis=1)
    frame = frame[keys.isin(wanted)]
    md, png = write_report(frame, config, config.out)
    print(summary_table(frame))
    print(f"\nresults: {store.path}\nreport:  {md}\nplot:    {png}")
    print(f"({time.perf_counter() - start:.0f} s; no LLM called: answers replayed from the paper)")
    return 0
