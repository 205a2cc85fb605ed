"""Labelled text-classification data for ``evaluate`` and ``benchmark``.

A task is either a folder of ``shared/datasets`` (``<task>/{train,test}.tsv``
with ``labels.json``; pair tasks have ``text_a``/``text_b``) or a user's own
files (CSV, TSV, JSONL or Parquet) whose text, optional second text and label
columns are named by options. Texts are rendered the way ActiveLLM shows them
to the LLM (pairs as ``Sentence 1: a | Sentence 2: b``), and the same string is
embedded, so the classifier, the LLM and the coverage sampler see one text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from activellm_modal.data import FORMATS, _read, read_split
from activellm_modal.query.pool import TextPool


@dataclass
class TaskData:
    """A labelled train split (the pool) and test split, texts already rendered.

    Attributes
    ----------
    name : str
        Task name (folder name, or the train file's stem).
    train_texts, test_texts : ndarray of object
        Rendered texts (pairs joined as the LLM sees them).
    train_labels, test_labels : ndarray
        Integer class ids.
    train_ids : ndarray of int
        The dataset's ``idx`` of every train row (row number when absent).
    label_names : list of str
        Name of each class id.
    is_pair : bool
        Whether instances are sentence pairs.
    """

    name: str
    train_texts: np.ndarray
    train_labels: np.ndarray
    test_texts: np.ndarray
    test_labels: np.ndarray
    train_ids: np.ndarray
    label_names: list[str] = field(default_factory=list)
    is_pair: bool = False

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return len(self.label_names)


def shared_tasks(data_dir: str | Path) -> list[str]:
    """Classification tasks of ``data_dir`` that have both splits (regression skipped)."""
    found = []
    for folder in sorted(Path(data_dir).iterdir()) if Path(data_dir).is_dir() else []:
        meta = folder / "labels.json"
        if not meta.is_file() or json.loads(meta.read_text()).get("labels") is None:
            continue
        if all(any((folder / f"{s}.{e}").is_file() for e in FORMATS) for s in ("train", "test")):
            found.append(folder.name)
    return found


#: How the paper rendered sentence pairs (NOTES.md 1.4); replaying its answers needs it.
PAPER_PAIR = "Sentence 1: {a} \n Sentence 2: {b}"


def load_task(data_dir: str | Path, task: str, pair_template: str | None = None) -> TaskData:
    """A task of ``shared/datasets`` (any classification folder, pair tasks included).

    ``pair_template`` (e.g. :data:`PAPER_PAIR`) renders pairs instead of
    ActiveLLM's ``Sentence 1: a | Sentence 2: b``.

    Examples
    --------
    >>> load_task("/nonexistent", "sst2")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: No task 'sst2' in /nonexistent: ...
    """
    folder = Path(data_dir) / task
    if not folder.is_dir():
        known = ", ".join(shared_tasks(data_dir)) or "none"
        raise FileNotFoundError(
            f"No task {task!r} in {data_dir}: choose one of {known}, or pass your own files "
            "with --train/--test and --text-column/--label-column."
        )
    meta_path = folder / "labels.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    if meta and meta.get("labels") is None:
        raise ValueError(f"task {task!r} is a regression task; evaluate needs class labels.")
    train = read_split(data_dir, task, "train")
    test = read_split(data_dir, task, "test")
    pair = ("text_a", "text_b") if "text_a" in train.columns else None
    return _build(task, train, test, "text", pair, "label", meta.get("labels"), pair_template)


def load_files(
    train: str | Path,
    test: str | Path,
    *,
    text_column: str = "text",
    pair_column: str | None = None,
    label_column: str = "label",
) -> TaskData:
    """A user's own labelled files (CSV/TSV/JSONL/Parquet, by extension).

    ``pair_column`` names the second text of a sentence pair. Labels may be
    strings or numbers; class ids follow their sorted order.
    """
    frames = [_read_file(Path(p)) for p in (train, test)]
    pair = (text_column, pair_column) if pair_column else None
    for path, frame in zip((train, test), frames, strict=True):
        needed = [c for c in (text_column, pair_column, label_column) if c]
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise ValueError(
                f"{path} has no column(s) {missing}; it has {list(frame.columns)}. Name them "
                "with --text-column, --pair-column and --label-column."
            )
    return _build(Path(train).stem, frames[0], frames[1], text_column, pair, label_column, None)


def _read_file(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist.")
    ext = path.suffix.lstrip(".").lower()
    if ext not in FORMATS:
        raise ValueError(f"{path}: unknown format {ext!r}; use one of {', '.join(FORMATS)}.")
    return _read(path, ext)


def _build(
    name: str,
    train: pd.DataFrame,
    test: pd.DataFrame,
    text_column: str,
    pair: tuple[str, str] | None,
    label_column: str,
    label_names: list[str] | None,
    pair_template: str | None = None,
) -> TaskData:
    def render(frame: pd.DataFrame) -> np.ndarray:
        columns = frame[list(pair)] if pair else frame[text_column]
        if pair and pair_template:
            a, b = (frame[c].astype(str).tolist() for c in pair)
            return np.asarray(
                [pair_template.format(a=x, b=y) for x, y in zip(a, b, strict=True)], dtype=object
            )
        if pair:
            columns = columns.astype(str)
            pool = TextPool(columns, pair_columns=pair)
        else:
            pool = TextPool(columns.astype(str))
        return np.asarray(pool.texts(np.arange(len(frame))), dtype=object)

    raw_train, raw_test = train[label_column].to_numpy(), test[label_column].to_numpy()
    if label_names is None:
        classes = sorted(set(raw_train.tolist()) | set(raw_test.tolist()), key=str)
        label_names = [str(c) for c in classes]
        lookup = {c: i for i, c in enumerate(classes)}
        y_train = np.asarray([lookup[v] for v in raw_train], dtype=np.int64)
        y_test = np.asarray([lookup[v] for v in raw_test], dtype=np.int64)
    else:
        y_train, y_test = raw_train.astype(np.int64), raw_test.astype(np.int64)
    if len(label_names) < 2:
        raise ValueError(f"{name}: the labels hold one class only; evaluate needs at least two.")
    ids = train["idx"].to_numpy() if "idx" in train.columns else np.arange(len(train))
    return TaskData(
        name=name,
        train_texts=render(train),
        train_labels=y_train,
        test_texts=render(test),
        test_labels=y_test,
        train_ids=np.asarray(ids, dtype=np.int64),
        label_names=list(label_names),
        is_pair=pair is not None,
    )
