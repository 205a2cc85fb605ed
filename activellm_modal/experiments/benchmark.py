"""``activellm-modal benchmark``: ActiveLLM against classic strategies, over several rounds.

Any classification task of ``shared/datasets`` (pair tasks included) or a
user's own files. Where GPT-4's answers were recorded for every requested run
(SST-2 and RTE runs 1-5, other GLUE tasks run 1), pools are built around them:
the pool holds the 201 instances shown in every requested run plus
``pool_size`` other train rows (0: all of train), so the ActiveLLM arm can
replay the run's recorded answer in round 1. Elsewhere the pool is
``pool_size`` seeded train rows and the LLM arms need a live endpoint
(``--base-url``); without one they are left out. Each arm labels ``batch_size`` instances per round
for ``rounds`` rounds; after every round the classifier is refitted and scored
on the test split. One job is one learning curve (arm × run × seed).
"""

from __future__ import annotations

import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from activellm_modal.embeddings.models import encoder_label
from activellm_modal.experiments.embedding_table import CachedEmbedder, EmbeddingTable
from activellm_modal.experiments.grid import BenchmarkJob
from activellm_modal.experiments.metrics import area_under_curve, mean_std, n_positive, scores
from activellm_modal.experiments.paper import arm_by_name, recordings_for
from activellm_modal.experiments.reproduce import model_label
from activellm_modal.experiments.runner import check_scheduler, run_jobs
from activellm_modal.experiments.store import ResultStore
from activellm_modal.experiments.strategies import (
    STRATEGIES,
    LLMSettings,
    available_strategies,
    check_strategies,
    first_strategy,
    later_strategy,
    random_strategy,
)

KEY_COLUMNS = ("strategy", "run", "seed")


@dataclass
class BenchmarkConfig:
    """Everything ``benchmark`` needs; the CLI fills it from its options."""

    data_dir: Path
    paper_dir: Path
    out: Path
    model: str
    strategies: list[str] | None = None
    runs: list[int] | None = None
    seeds: list[int] | None = None
    rounds: int = 5
    batch_size: int = 32
    pool_size: int = 5000
    classifier: str = "embed"
    epochs: int | None = None
    max_length: int = 64
    #: Frozen encoder of the embedding classifier and of embedding k-means.
    encoder: str = "default"
    base_url: str | None = None
    model_name: str | None = None
    test_size: int | None = None
    backend: str = "joblib"
    n_jobs: int = 2
    scheduler: str | None = None
    quiet: bool = False
    task: str = "sst2"
    train: Path | None = None
    test: Path | None = None
    text_column: str = "text"
    pair_column: str | None = None
    label_column: str = "label"


@dataclass
class BenchmarkData:
    """The read-only inputs every job shares (sent to each worker once)."""

    texts: np.ndarray
    labels: np.ndarray
    test_texts: np.ndarray
    test_labels: np.ndarray
    table: EmbeddingTable
    llm: dict[int, LLMSettings]
    config: BenchmarkConfig
    n_classes: int = 2


def build_pool(n_train: int, recorded: list[np.ndarray], pool_size: int) -> np.ndarray:
    """Train row ids of the pool: every recorded presentation plus ``pool_size`` others.

    The extra rows are drawn with a fixed seed, so every arm, run and seed sees the same pool.
    """
    shown = np.unique(np.concatenate(recorded)) if recorded else np.zeros(0, dtype=np.intp)
    if pool_size <= 0 or pool_size >= n_train - len(shown):
        return np.arange(n_train)
    others = np.setdiff1d(np.arange(n_train), shown)
    extra = np.random.default_rng(0).choice(others, size=pool_size, replace=False)
    return np.sort(np.concatenate([shown, extra]))


def load_data(config: BenchmarkConfig) -> Any:
    """The task (pairs rendered as the paper did, so its answers replay) or the user's files."""
    from activellm_modal.experiments.tasks import PAPER_PAIR, load_files, load_task

    if config.train is not None or config.test is not None:
        if config.train is None or config.test is None:
            raise ValueError("own data needs both --train (the pool) and --test (to score on).")
        return load_files(
            config.train,
            config.test,
            text_column=config.text_column,
            pair_column=config.pair_column,
            label_column=config.label_column,
        )
    return load_task(config.data_dir, config.task, pair_template=PAPER_PAIR)


def plan(config: BenchmarkConfig) -> tuple[list[BenchmarkJob], BenchmarkData]:
    """Load data and recordings, build the pool and the embedding table, list the jobs."""
    names = config.strategies or available_strategies()
    check_strategies(names)
    if config.classifier not in ("embed", "bert", "setfit"):
        raise ValueError(f"classifier={config.classifier!r}: use 'embed', 'bert' or 'setfit'.")
    runs, seeds = config.runs or [1, 2, 3, 4, 5], config.seeds or [42, 109, 27]
    task = load_data(config)
    test_texts, test_labels = task.test_texts, task.test_labels
    if config.test_size is not None:
        test_texts, test_labels = test_texts[: config.test_size], test_labels[: config.test_size]
    recordings = {}
    if config.train is None:
        recordings = recordings_for(config.paper_dir, task.name, arm_by_name("gpt-4"))
    replay = all(run in recordings for run in runs)
    llm_arms = {"activellm", "hybrid"}
    if not replay and not config.base_url:
        asked = sorted(llm_arms & set(config.strategies or []))
        if asked:
            recorded = ",".join(map(str, sorted(recordings))) or "none"
            raise ValueError(
                f"arm(s) {asked} need GPT-4's recorded answer for every run (recorded for "
                f"{task.name}: {recorded}) or a live endpoint: pass --runs with recorded runs, "
                "or --base-url and --model-name."
            )
        names = [name for name in names if name not in llm_arms]
    where = {int(i): r for r, i in enumerate(task.train_ids)}
    recorded = (
        [np.asarray([where[int(i)] for i in recordings[run].ids]) for run in runs]
        if (replay)
        else []
    )
    pool_ids = build_pool(len(task.train_texts), recorded, config.pool_size)
    texts = task.train_texts[pool_ids].copy()
    for run, rows in zip(runs, recorded, strict=False):
        # The recording's own rendering of its instances (the shared TSVs keep CSV-style
        # quoting in a few RTE texts), so that replay finds the very texts it showed.
        texts[np.searchsorted(pool_ids, rows)] = np.asarray(recordings[run].texts, dtype=object)
    llm = {}
    for i, run in enumerate(runs):
        llm[run] = LLMSettings(
            recording=recordings[run] if replay else None,
            presented=np.searchsorted(pool_ids, recorded[i]) if replay else None,
            base_url=config.base_url,
            model_name=config.model_name,
            cache_dir=str(config.out / "llm-cache"),
            labels=list(task.label_names),
            task_description=None if task.name == "sst2" else f"the {task.name} task",
        )
    table = EmbeddingTable.build(
        np.concatenate([texts, test_texts]),
        config.encoder,
        max_length=config.max_length,
        cache_dir=config.out / "embeddings",
        show_progress=not config.quiet,
    )
    data = BenchmarkData(
        texts=texts,
        labels=task.train_labels[pool_ids],
        test_texts=test_texts,
        test_labels=test_labels,
        table=table,
        llm=llm,
        config=config,
        n_classes=task.n_classes,
    )
    order = [name for name in STRATEGIES if name in names]
    jobs = [BenchmarkJob(name, run, seed) for run in runs for seed in seeds for name in order]
    return jobs, data


def make_classifier(
    config: BenchmarkConfig, table: EmbeddingTable, seed: int, n_classes: int = 2
) -> Any:
    """Frozen embeddings + logistic regression (fast), or a BertClassifier / SetFitClassifier."""
    classes = list(range(n_classes))
    if config.classifier == "bert":
        from activellm_modal.classifiers import BertClassifier

        epochs = {} if config.epochs is None else {"max_epochs": config.epochs}
        return BertClassifier(
            config.model,
            max_length=config.max_length,
            classes=classes,
            random_state=seed,
            iterator_valid__batch_size=128,
            **epochs,
        )
    if config.classifier == "setfit":
        from activellm_modal.classifiers import SetFitClassifier

        return SetFitClassifier(
            config.model, max_length=config.max_length, classes=classes, random_state=seed
        )
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    # C=10: few unit-norm embeddings; the default C=1 shrinks the model to the prior.
    return make_pipeline(CachedEmbedder(table), LogisticRegression(C=10.0, max_iter=1000))


def run_job(job: BenchmarkJob, data: BenchmarkData) -> list[dict[str, object]]:
    """One learning curve: ``rounds`` queries, a refit and a test score after each."""
    from modAL.models import ActiveLearner

    from activellm_modal.loop.compat import patch_modal

    patch_modal()
    config = data.config
    rng = np.random.default_rng([job.seed, job.run])
    embed = data.table.lookup
    llm = data.llm[job.run]
    first = first_strategy(job.strategy, embed, rng, llm, job.seed, job.run)
    if job.strategy == "hybrid" or (job.strategy == "activellm" and llm.base_url):
        later = first  # it answers every round itself
    else:
        later = later_strategy(job.strategy, embed, rng, llm)
    fallback = random_strategy(rng)
    learner = ActiveLearner(estimator=make_classifier(config, data.table, job.seed, data.n_classes))
    labelled = np.zeros(len(data.texts), dtype=bool)
    fitted = False
    rows = []
    for round_ in range(1, config.rounds + 1):
        available = np.flatnonzero(~labelled)
        if available.size == 0:
            break
        # Classic strategies need a fitted model; until then (one class so far) draw at random.
        strategy = first if round_ == 1 else later if fitted else fallback
        learner.query_strategy = strategy
        llm_before = _llm_seconds(strategy)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # filled LLM picks are counted, not printed
            picked, _ = learner.query(
                data.texts[available], n_instances=min(config.batch_size, available.size)
            )
        select_s = time.perf_counter() - start
        llm_s = _llm_seconds(strategy) - llm_before
        labelled[available[np.asarray(picked, dtype=np.intp)]] = True
        y_known = data.labels[labelled]
        start = time.perf_counter()
        # BertClassifier and SetFitClassifier accept one class (they predict it).
        fitted = np.unique(y_known).size > 1 or config.classifier != "embed"
        if fitted:
            learner.fit(data.texts[labelled], y_known)
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        if fitted:
            predicted = learner.predict(data.test_texts)
        else:
            predicted = np.full(len(data.test_labels), y_known[0])
        eval_s = time.perf_counter() - start
        rows.append(
            {
                **job.as_dict(),
                "round": round_,
                "n_labelled": int(labelled.sum()),
                **scores(data.test_labels, predicted),
                "n_positive": n_positive(y_known),
                "picked_by": _name(strategy, fallback),
                "llm_s": round(llm_s, 4),
                "train_s": round(train_s, 4),
                "infer_s": round(select_s - llm_s + eval_s, 4),
                "select_s": round(select_s, 4),
                "eval_s": round(eval_s, 4),
                "classifier": config.classifier,
                "pool": len(data.texts),
                "n_test": len(data.test_labels),
            }
        )
    return rows


def _llm_seconds(strategy: Any) -> float:
    # HybridStrategy keeps its ActiveLLM (and so the LLM's clock) in cold_start.
    usage = getattr(getattr(strategy, "cold_start", strategy), "usage_", None)
    return float(usage["seconds"]) if usage else 0.0


def _name(strategy: Any, fallback: Any) -> str:
    if strategy is fallback:
        return "random (model not fitted yet)"
    history = getattr(strategy, "history_", None)
    if history and hasattr(history[-1], "strategy"):
        return f"{type(strategy).__name__}:{history[-1].name}"  # which part of the hybrid
    return getattr(strategy, "__name__", type(strategy).__name__)


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per arm: final accuracy, area under the learning curve, round-1 balance, time per round."""
    curves = []
    for (strategy, _run, _seed), rows in frame.groupby(["strategy", "run", "seed"]):
        rows = rows.sort_values("round")
        curves.append(
            {
                "strategy": strategy,
                "final": rows["accuracy"].iloc[-1],
                "first": rows["accuracy"].iloc[0],
                "aulc": area_under_curve(rows["n_labelled"], rows["accuracy"]),
                "first_positive": rows["n_positive"].iloc[0],
                "first_n": rows["n_labelled"].iloc[0],
            }
        )
    per_curve = pd.DataFrame(curves)
    out = []
    for strategy in [name for name in STRATEGIES if name in set(per_curve["strategy"])]:
        curve = per_curve[per_curve["strategy"] == strategy]
        rows = frame[frame["strategy"] == strategy]
        out.append(
            {
                "strategy": strategy,
                "curves": len(curve),
                "first": mean_std(curve["first"]),
                "final": mean_std(curve["final"]),
                "aulc": mean_std(curve["aulc"]),
                "first_positive": (
                    f"{curve['first_positive'].mean():.1f}/{curve['first_n'].iloc[0]}"
                ),
                "llm_s": rows["llm_s"].mean(),
                "train_s": rows["train_s"].mean(),
                "infer_s": rows["infer_s"].mean(),
            }
        )
    return pd.DataFrame(out)


def summary_table(frame: pd.DataFrame) -> str:
    """The markdown table of :func:`summary`."""
    n_first = int(frame["n_labelled"].min())
    n_last = int(frame["n_labelled"].max())
    lines = [
        f"| strategy | curves | accuracy at {n_first} | accuracy at {n_last} "
        "| AULC (mean acc. over budget) | positives in round 1 "
        "| s/round: LLM | training | inference |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in summary(frame).itertuples():
        lines.append(
            f"| {row.strategy} | {row.curves} | {row.first[0]:.4f} ± {row.first[1]:.4f} "
            f"| {row.final[0]:.4f} ± {row.final[1]:.4f} | **{row.aulc[0]:.4f}** ± "
            f"{row.aulc[1]:.4f} | {row.first_positive} | {row.llm_s:.3f} | {row.train_s:.3f} "
            f"| {row.infer_s:.3f} |"
        )
    return "\n".join(lines)


def write_report(frame: pd.DataFrame, config: BenchmarkConfig) -> tuple[Path, Path]:
    """RESULTS.md and learning_curves.png from the rows of this grid."""
    from activellm_modal.experiments.plots import plot_learning_curves

    png = plot_learning_curves(frame, config.out / "learning_curves.png")
    llm = (
        f"live `{config.model_name}` at {config.base_url}"
        if config.base_url
        else ("GPT-4's recorded answer to the run's 201 shown instances (replayed)")
    )
    epochs = "default schedule" if config.epochs is None else f"{config.epochs} epochs"
    classifier = {
        "bert": f"BertClassifier `{model_label(config.model)}` ({epochs})",
        "setfit": f"SetFitClassifier `{model_label(config.model)}`",
    }.get(config.classifier, f"frozen `{encoder_label(config.encoder)}` embeddings + LR")
    text = [
        "# Benchmark: ActiveLLM vs classic active learning on "
        + (config.train.name if config.train else config.task),
        "",
        f"{classifier}; {int(frame['pool'].iloc[0])} pool rows (every recorded presentation "
        f"plus random train rows), {config.batch_size} labels per round, test accuracy on "
        f"{int(frame['n_test'].iloc[0])} sentences. Mean ± sd over runs × seeds.",
        "",
        f"Round 1: ActiveLLM = {llm}; kmeans = the instance nearest each of "
        f"{config.batch_size} k-means centroids of the pool embeddings; the classic "
        "strategies (uncertainty, margin, entropy, ranked batch) need a model, so they start "
        "from a random seed set. Later rounds: the arm's own strategy; hybrid "
        "(HybridStrategy) and kmeans continue with uncertainty sampling (the paper's "
        "cold-start use); activellm asks the LLM again when it is live, and samples at "
        "random after round 1 when it is replayed (one query per run was recorded).",
        "",
        "AULC = area under the accuracy curve divided by its width (mean accuracy over the "
        "budget). Times are seconds per round: LLM call, classifier fit, inference "
        "(selection scoring + test prediction).",
        "",
        summary_table(frame),
        "",
        f"![learning curves]({png.name})",
        "",
    ]
    md = config.out / "RESULTS.md"
    md.write_text("\n".join(text), encoding="utf-8")
    return md, png


def main(config: BenchmarkConfig) -> int:
    """Run the curves missing from ``results.csv``, then print the table and the plot path."""
    start = time.perf_counter()
    if config.backend == "dask":
        check_scheduler(config.scheduler)
    config.out.mkdir(parents=True, exist_ok=True)
    jobs, data = plan(config)
    store = ResultStore(config.out / "results.csv", KEY_COLUMNS)
    done = store.done_keys()
    todo = [job for job in jobs if job.key() not in done]
    print(
        f"benchmark: {len(jobs)} learning curves, {len(jobs) - len(todo)} already in "
        f"{store.path}, {len(todo)} to run ({config.backend})",
        file=sys.stderr,
    )
    run_jobs(
        run_job,
        todo,
        data,
        lambda job, rows: store.append(rows),
        backend=config.backend,
        n_jobs=config.n_jobs,
        scheduler=config.scheduler,
        desc="learning curves",
        quiet=config.quiet,
    )
    frame = store.read()
    keys = frame[list(KEY_COLUMNS)].astype(str).apply(tuple, axis=1)
    frame = frame[keys.isin({job.key() for job in jobs})]
    md, png = write_report(frame, config)
    print(summary_table(frame))
    print(f"\nresults: {store.path}\nreport:  {md}\nplot:    {png}")
    print(f"({time.perf_counter() - start:.0f} s)")
    return 0
