"""``activellm-modal evaluate``: is a selection better than random k of what was shown?

For every selection, the question a user paying per LLM call needs answered:
trained on these ``k`` labels, is the classifier better than on ``k`` random
texts **of the same presented set**? Each selection unit (one presented set
and the selections made from it) is scored with

* the LLM's selection (a recorded answer, or a live endpoint's),
* ``first-k``: the first ``k`` presented (the paper's baseline),
* ``typicality``: k-means with ``k`` clusters on the presented set's
  embeddings, the text nearest each centre (needs no LLM),
* ``R`` random ``k``-subsets of the presented set (default 200),

and every strategy gets its percentile in that random distribution. Units are
the paper's recorded selections (``answers/INDEX.tsv``, every task whose ids
map to a dataset in ``shared/datasets``), or, with ``--base-url``, live
queries on any task or on the user's own files.

The default classifier is frozen embeddings of the default encoder
(all-mpnet-base-v2; ``--encoder``; computed once, cached on disk) +
``LogisticRegression(C=10)``; ``--classifier bert`` fine-tunes ``--model``
instead, with fewer random subsets. Every difference to random is reported with
a paired 95 % bootstrap interval over the units
(:func:`~activellm_modal.experiments.intervals.paired_interval`). Results go to ``results.csv``
(resumable: finished units are skipped), ``RESULTS.md`` (a table per task and
overall) and one PNG per task.
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

from activellm_modal.experiments.intervals import Interval, paired_interval
from activellm_modal.experiments.store import ResultStore
from activellm_modal.experiments.tasks import TaskData, load_files, load_task
from activellm_modal.query.sampling import duplicate_key

KEY_COLUMNS = ("unit", "classifier")
#: Strategies scored on every unit besides the random subsets, in table order.
BASELINES = ("first-k", "typicality")


@dataclass
class EvaluateConfig:
    """Everything ``evaluate`` needs; the CLI fills it from its options."""

    data_dir: Path
    paper_dir: Path
    out: Path
    model: str
    tasks: list[str] | None = None
    llms: list[str] | None = None
    ks: list[int] = field(default_factory=lambda: [32])
    n_random: int | None = None
    classifier: str = "lr"
    seed: int = 0
    max_length: int = 128
    epochs: int = 25
    #: Frozen encoder of the ``lr`` classifier.
    encoder: str = "default"
    # Live mode: a user's endpoint on a task of data_dir or on their own files.
    base_url: str | None = None
    model_name: str | None = None
    api_key: str | None = None
    task: str | None = None
    train: Path | None = None
    test: Path | None = None
    text_column: str = "text"
    pair_column: str | None = None
    label_column: str = "label"
    presets: list[str] = field(default_factory=lambda: ["paper", "coverage"])
    repeats: int = 1
    k: int = 32
    n_presented: int | None = None
    quiet: bool = False

    @property
    def live(self) -> bool:
        return self.base_url is not None

    @property
    def n_subsets(self) -> int:
        if self.n_random is not None:
            return self.n_random
        return 20 if self.classifier == "bert" else 200


@dataclass
class Unit:
    """One presented set and the selections made from it.

    Attributes
    ----------
    name : str
        Unique key (the answer file, or ``live:<preset>:<repeat>``).
    task, llm : str
    run, k : int
    rows : ndarray of int
        Train rows of the presented instances, in presentation order.
    selections : dict
        Strategy name -> positions (into ``rows``) it selected.
    note : str
        Anything about the mapping (dropped positions).
    """

    name: str
    task: str
    llm: str
    run: int
    k: int
    rows: np.ndarray
    selections: dict[str, list[int]]
    note: str = ""


def _positions_from_list(path: Path, n: int, k: int) -> tuple[list[int], int]:
    raw = path.read_text(encoding="utf-8").strip().strip(".").replace("\n", ",")
    listed = [int(x) for x in raw.split(",") if x.strip().lstrip("-").isdigit()]
    valid = [p for p in dict.fromkeys(listed[:k]) if 0 <= p < n]
    return valid, min(k, len(listed)) - len(valid)


def recorded_units(
    config: EvaluateConfig, tasks: dict[str, TaskData]
) -> tuple[list[Unit], list[str]]:
    """The paper's recorded selections whose presented ids map to a dataset."""
    from activellm_modal.llm.replay import load_recordings

    notes: list[str] = []
    units: list[Unit] = []
    index = pd.read_csv(config.paper_dir / "answers" / "INDEX.tsv", sep="\t")
    by_source = {r.source: r for r in load_recordings(config.paper_dir)}
    for row in index.itertuples():
        if int(row.k) not in config.ks:
            continue
        if config.tasks and row.task not in config.tasks:
            continue
        if config.llms and row.llm not in config.llms:
            continue
        data = tasks.get(row.task)
        if data is None:
            continue
        recording = by_source[row.answer_path]
        rows = _map_ids(data, recording.ids, recording.texts)
        if rows is None:
            notes.append(f"{row.answer_path}: the prompt's ids do not map to {row.task} train")
            continue
        positions, dropped = _positions_from_list(
            config.paper_dir / row.list_path, len(rows), int(row.k)
        )
        note = f"{dropped} listed position(s) outside the {len(rows)} shown dropped" * bool(dropped)
        units.append(
            Unit(
                name=row.answer_path,
                task=row.task,
                llm=row.llm,
                run=recording.run,
                k=int(row.k),
                rows=rows,
                selections={"llm": positions},
                note=note,
            )
        )
    return units, notes


def _map_ids(data: TaskData, ids: tuple[int, ...], texts: tuple[str, ...]) -> np.ndarray | None:
    """Train rows of the recorded ids, or None when the ids do not name these texts."""
    where = {int(i): r for r, i in enumerate(data.train_ids)}
    rows = [where.get(int(i)) for i in ids]
    if any(r is None for r in rows):
        return None
    same = sum(
        duplicate_key(data.train_texts[r]) == duplicate_key(t)
        for r, t in zip(rows, texts, strict=True)
    )
    # A few texts differ in tokenisation between copies; a wrong mapping differs in most.
    return np.asarray(rows, dtype=np.intp) if same >= 0.9 * len(rows) else None


def add_baselines(unit: Unit, vectors: np.ndarray, seed: int) -> None:
    """first-k and typicality on the unit's presented set."""
    from activellm_modal.query.coverage import typical_points

    k = unit.k
    unit.selections.setdefault("first-k", list(range(min(k, len(unit.rows)))))
    chosen, _ = typical_points(vectors, k, np.random.default_rng(seed), n_init=3)
    unit.selections.setdefault("typicality", sorted(int(i) for i in chosen))


class Scorer:
    """Trains the configured classifier on a selection and scores it on the test split."""

    def __init__(self, config: EvaluateConfig, data: TaskData, table: Any) -> None:
        self.config = config
        self.data = data
        self.table = table
        self.classes = np.arange(data.n_classes)
        if config.classifier == "lr":
            self.test_vectors = table.lookup(data.test_texts)

    def __call__(self, rows: np.ndarray, seed: int) -> dict[str, float]:
        from activellm_modal.experiments.metrics import scores

        y = self.data.train_labels[rows]
        if self.config.classifier == "lr":
            from sklearn.linear_model import LogisticRegression

            if len(np.unique(y)) < 2:
                predicted = np.full(len(self.data.test_labels), y[0])
            else:
                model = LogisticRegression(C=10.0, max_iter=1000)
                model.fit(self.table.lookup(self.data.train_texts[rows]), y)
                predicted = model.predict(self.test_vectors)
        else:
            from activellm_modal.classifiers import BertClassifier

            model = BertClassifier(
                self.config.model,
                max_length=self.config.max_length,
                max_epochs=self.config.epochs,
                batch_size=len(rows),
                classes=self.classes,
                random_state=seed,
                iterator_valid__batch_size=128,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(list(self.data.train_texts[rows]), y)
            predicted = model.predict(list(self.data.test_texts))
        return {**scores(self.data.test_labels, predicted), "n_classes": len(np.unique(y))}


def score_unit(unit: Unit, scorer: Scorer, config: EvaluateConfig) -> list[dict[str, Any]]:
    """Rows for one unit: each strategy, then the random subsets."""
    base = {
        "unit": unit.name,
        "classifier": config.classifier,
        "task": unit.task,
        "llm": unit.llm,
        "run": unit.run,
        "k": unit.k,
        "n_presented": len(unit.rows),
        "note": unit.note,
    }
    out = []
    for strategy, positions in unit.selections.items():
        rows = unit.rows[np.asarray(positions, dtype=np.intp)]
        out.append(
            {
                **base,
                "strategy": strategy,
                "subset": -1,
                "n_selected": len(rows),
                **scorer(rows, config.seed),
            }
        )
    rng = np.random.default_rng([config.seed, _stable(unit.name)])
    size = unit.k
    for r in range(config.n_subsets):
        pick = rng.choice(len(unit.rows), size=min(size, len(unit.rows)), replace=False)
        out.append(
            {
                **base,
                "strategy": "random",
                "subset": r,
                "n_selected": len(pick),
                **scorer(unit.rows[pick], config.seed + r),
            }
        )
    return out


def _stable(text: str) -> int:
    import zlib

    return zlib.crc32(text.encode())


def percentiles(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per unit and strategy: accuracy, macro-F1 and percentile among the random."""
    out = []
    for unit, rows in frame.groupby("unit", sort=False):
        random = rows[rows["strategy"] == "random"]
        acc = random["accuracy"].to_numpy()
        for row in rows[rows["strategy"] != "random"].itertuples():
            below = float(np.mean(acc < row.accuracy) + 0.5 * np.mean(acc == row.accuracy))
            out.append(
                {
                    "unit": unit,
                    "task": row.task,
                    "llm": row.llm,
                    "run": row.run,
                    "k": row.k,
                    "n_presented": row.n_presented,
                    "strategy": row.strategy,
                    "accuracy": row.accuracy,
                    "macro_f1": row.macro_f1,
                    "n_classes": row.n_classes,
                    "percentile": 100 * below,
                    "random_mean": acc.mean(),
                    "random_sd": acc.std(),
                    "random_f1": random["macro_f1"].mean(),
                    "beats_random_mean": row.accuracy > acc.mean(),
                }
            )
    return pd.DataFrame(out)


def _strategies(table: pd.DataFrame) -> list[str]:
    names = list(dict.fromkeys(table["strategy"]))
    return [n for n in names if n not in BASELINES] + [n for n in BASELINES if n in names]


def task_table(table: pd.DataFrame) -> str:
    """Markdown: one line per unit, accuracy (percentile) of every strategy."""
    names = _strategies(table)
    lines = [
        "| LLM | run | k | shown | "
        + " | ".join(f"{n} acc (pct)" for n in names)
        + " | random mean ± sd | LLM macro-F1 |",
        "|---|---:|---:|---:|" + "---:|" * (len(names) + 2),
    ]
    for _, rows in table.groupby("unit", sort=False):
        by = rows.set_index("strategy")
        first = rows.iloc[0]
        cells = [
            f"{by.loc[n, 'accuracy']:.3f} ({by.loc[n, 'percentile']:.0f})" if n in by.index else "–"
            for n in names
        ]
        f1 = by.loc[names[0], "macro_f1"] if names[0] in by.index else float("nan")
        lines.append(
            f"| {first.llm} | {first.run} | {first.k} | {first.n_presented} | "
            + " | ".join(cells)
            + f" | {first.random_mean:.3f} ± {first.random_sd:.3f} | {f1:.3f} |"
        )
    return "\n".join(lines)


def overall_table(table: pd.DataFrame) -> str:
    """Markdown: per strategy, means over every unit, and how often it beats the random mean."""
    lines = [
        "| strategy | units | accuracy | vs random, points [95% CI] | macro-F1 "
        "| percentile (mean) | beats random mean | single-class (2-class tasks) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    random_acc = table.groupby("unit")["random_mean"].first()
    random_f1 = table.groupby("unit")["random_f1"].first()
    lines.append(
        f"| random (same shown) | {len(random_acc)} | {random_acc.mean():.3f} | – "
        f"| {random_f1.mean():.3f} | 50 | – | – |"
    )
    two = table["unit"].isin(table.loc[table["task"].isin(TWO_CLASS), "unit"])
    for name in _strategies(table):
        rows = table[table["strategy"] == name]
        single = int(((rows["n_classes"] < 2) & two[rows.index]).sum())
        lines.append(
            f"| {name} | {len(rows)} | {rows['accuracy'].mean():.3f} "
            f"| {vs_random(rows).points()} "
            f"| {rows['macro_f1'].mean():.3f} | {rows['percentile'].mean():.0f} "
            f"| {int(rows['beats_random_mean'].sum())}/{len(rows)} | {single} |"
        )
    return "\n".join(lines)


def vs_random(rows: pd.DataFrame) -> Interval:
    """Accuracy minus the mean of the random subsets of the same shown set, per unit (paired)."""
    return paired_interval(rows["accuracy"].to_numpy() - rows["random_mean"].to_numpy())


def interval_table(table: pd.DataFrame) -> str:
    """Markdown: per strategy and task, points vs random with a paired 95 % bootstrap interval.

    The draws are the units (presented sets): each strategy's accuracy minus the mean
    of the random subsets of the same set. "Better" needs the interval above 0.
    """
    tasks = list(dict.fromkeys(table["task"]))
    lines = [
        "| strategy | " + " | ".join(tasks) + " | all units |",
        "|---|" + "---:|" * (len(tasks) + 1),
    ]
    for name in _strategies(table):
        rows = table[table["strategy"] == name]
        cells = [vs_random(rows[rows["task"] == t]).points() for t in tasks]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {vs_random(rows).points()} |")
    return "\n".join(lines)


#: Filled from the tasks seen, so the single-class column knows which have 2 classes.
TWO_CLASS: set[str] = set()


def plot_task(frame: pd.DataFrame, table: pd.DataFrame, task: str, path: Path) -> Path:
    """The random distribution per unit (box) with each strategy marked."""
    from activellm_modal.experiments.plots import _pyplot

    plt = _pyplot()
    units = list(dict.fromkeys(table.loc[table["task"] == task, "unit"]))
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(units) + 1.5))
    data = [
        frame[(frame["unit"] == u) & (frame["strategy"] == "random")]["accuracy"] for u in units
    ]
    import matplotlib

    # ``vert`` is deprecated from matplotlib 3.10, which added ``orientation``.
    new = tuple(int(x) for x in matplotlib.__version__.split(".")[:2]) >= (3, 10)
    horizontal = {"orientation": "horizontal"} if new else {"vert": False}
    ax.boxplot(data, widths=0.6, showfliers=False, **horizontal)
    markers = {
        "llm": ("o", "tab:red"),
        "first-k": ("s", "tab:gray"),
        "typicality": ("^", "tab:green"),
    }
    for name in _strategies(table):
        marker, colour = markers.get(name, ("D", None))
        rows = table[(table["task"] == task) & (table["strategy"] == name)].set_index("unit")
        ys = [i + 1 for i, u in enumerate(units) if u in rows.index]
        xs = [rows.loc[u, "accuracy"] for u in units if u in rows.index]
        ax.scatter(xs, ys, marker=marker, color=colour, label=name, zorder=3)
    labels = []
    for u in units:
        r = table[table["unit"] == u].iloc[0]
        labels.append(f"{r.llm} run {r.run} ({r.n_presented} shown)")
    ax.set_yticks(range(1, len(units) + 1), labels, fontsize=7)
    ax.set_xlabel("test accuracy (box: random k of the same shown set)")
    ax.set_title(f"{task}: selections vs random subsets of the same presented set")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def live_units(config: EvaluateConfig, data: TaskData) -> list[Unit]:
    """Query the live endpoint with each preset (``repeats`` seeds each)."""
    from activellm_modal.presets import make_strategy

    units = []
    for preset in config.presets:
        for repeat in range(config.repeats):
            strategy = make_strategy(
                preset,
                model=config.model_name or "gpt-4o",
                base_url=config.base_url,
                api_key=config.api_key,
                labels=data.label_names,
                random_state=config.seed + repeat,
                cache_dir=str(config.out / "llm-cache"),
                **({"presenter__n_presented": config.n_presented} if config.n_presented else {}),
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                indices, _ = strategy.select(list(data.train_texts), config.k)
            presented = np.asarray(strategy.last_query_.presented, dtype=np.intp)
            where = {int(r): p for p, r in enumerate(presented)}
            positions = [where[int(i)] for i in indices if int(i) in where]
            units.append(
                Unit(
                    name=f"live:{data.name}:{preset}:{repeat}",
                    task=data.name,
                    llm=f"{config.model_name} ({preset})",
                    run=repeat,
                    k=config.k,
                    rows=presented,
                    selections={"llm": positions},
                    note=f"{strategy.last_query_.n_filled} filled",
                )
            )
    return units


def main(config: EvaluateConfig) -> int:
    """Score the units missing from ``results.csv``, then write and print the tables."""
    from activellm_modal.experiments.embedding_table import EmbeddingTable
    from activellm_modal.experiments.runner import progress
    from activellm_modal.experiments.tasks import shared_tasks

    start = time.perf_counter()
    if config.classifier not in ("lr", "bert"):
        raise ValueError(f"classifier={config.classifier!r}: use 'lr' or 'bert'.")
    config.out.mkdir(parents=True, exist_ok=True)
    tasks: dict[str, TaskData] = {}
    notes: list[str] = []
    if config.live:
        if config.train is not None:
            if config.test is None:
                raise ValueError("--train needs --test (a labelled dev set to score on).")
            data = load_files(
                config.train,
                config.test,
                text_column=config.text_column,
                pair_column=config.pair_column,
                label_column=config.label_column,
            )
        else:
            data = load_task(config.data_dir, config.task or "sst2")
        tasks[data.name] = data
    else:
        wanted = config.tasks or shared_tasks(config.data_dir)
        for task in wanted:
            try:
                tasks[task] = load_task(config.data_dir, task)
            except (FileNotFoundError, ValueError) as error:
                if config.tasks:
                    raise
                notes.append(f"{task}: skipped ({error})")
    TWO_CLASS.update(t for t, d in tasks.items() if d.n_classes == 2)
    store = ResultStore(config.out / "results.csv", KEY_COLUMNS)
    done = {key[0] for key in store.done_keys() if key[1] == config.classifier}
    if config.live:
        units = live_units(config, next(iter(tasks.values())))
    else:
        units, skipped = recorded_units(config, tasks)
        notes += skipped
    if not units:
        raise ValueError("no selection to evaluate: no recording maps to the chosen tasks.")
    todo = [u for u in units if u.name not in done]
    print(
        f"evaluate: {len(units)} selections, {len(units) - len(todo)} already in {store.path}, "
        f"{len(todo)} to score ({config.classifier}, {config.n_subsets} random subsets each)",
        file=sys.stderr,
    )
    by_task: dict[str, list[Unit]] = {}
    for unit in units:
        by_task.setdefault(unit.task, []).append(unit)
    with progress(len(todo), "selections", config.quiet, "unit") as bar:
        for task, task_units in by_task.items():
            data = tasks[task]
            rows = np.unique(np.concatenate([u.rows for u in task_units]))
            table = EmbeddingTable.build(
                np.concatenate([data.train_texts[rows], data.test_texts]),
                config.encoder,
                max_length=config.max_length,
                cache_dir=config.out / "embeddings",
                show_progress=not config.quiet,
            )
            scorer = Scorer(config, data, table)
            for unit in task_units:
                add_baselines(unit, table.lookup(data.train_texts[unit.rows]), config.seed)
                if unit.name in done:
                    continue
                store.append(score_unit(unit, scorer, config))
                bar.update(1)
    frame = store.read()
    frame = frame[
        frame["unit"].isin({u.name for u in units}) & (frame["classifier"] == config.classifier)
    ]
    table = percentiles(frame)
    md = write_report(frame, table, config, notes)
    print(overall_table(table))
    print("\npoints vs random (paired 95% bootstrap interval over the units):\n")
    print(interval_table(table))
    print(f"\nresults: {store.path}\nreport:  {md}")
    print(f"({time.perf_counter() - start:.0f} s)")
    return 0


def write_report(
    frame: pd.DataFrame, table: pd.DataFrame, config: EvaluateConfig, notes: list[str]
) -> Path:
    """RESULTS.md (overall + per task) and one PNG per task."""
    from activellm_modal.embeddings.models import encoder_label

    classifier = (
        f"frozen `{encoder_label(config.encoder)}` embeddings + LogisticRegression(C=10)"
        if config.classifier == "lr"
        else f"fine-tuned `{Path(config.model).name}` ({config.epochs} epochs)"
    )
    text = [
        "# Selection quality vs random subsets of the same presented set",
        "",
        f"Classifier: {classifier}; {config.n_subsets} random k-subsets per selection; "
        "percentile = share of those subsets the strategy beats (ties count half). "
        "first-k = the first k shown (the paper's baseline); typicality = k-means with k "
        "clusters on the shown set, the text nearest each centre.",
        "",
        "## Overall",
        "",
        overall_table(table),
        "",
        "## Points vs random, per task (paired 95% bootstrap interval over the units)",
        "",
        "Each unit is a presented set; the difference is the strategy's accuracy minus the "
        'mean of the random subsets of the same set. A claim of "better" needs the interval '
        "above 0; the units of a task are the recorded draws (live mode: `--repeats`).",
        "",
        interval_table(table),
        "",
    ]
    for task in dict.fromkeys(table["task"]):
        png = plot_task(frame, table, task, config.out / f"{task}.png")
        part = table[table["task"] == task]
        text += [f"## {task}", "", task_table(part), "", f"![{task}]({png.name})", ""]
    if notes:
        text += ["## Skipped", ""] + [f"* {n}" for n in notes] + [""]
    md = config.out / "RESULTS.md"
    md.write_text("\n".join(text), encoding="utf-8")
    return md
