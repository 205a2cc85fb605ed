"""Locating and reading datasets laid out as ``<data-dir>/<task>/{train,test}.<ext>``.

``<ext>`` is ``tsv`` (the layout of ``shared/datasets``), ``csv``, ``jsonl`` or
``parquet`` (the last needs ``pyarrow``); the first that exists is read.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

#: Where the shared data folder is looked for when no path is given.
SHARED_ENV = "ACTIVELLM_SHARED"


def default_shared_dir() -> Path:
    """``$ACTIVELLM_SHARED``, else ``../shared`` beside the current directory."""
    return Path(os.environ.get(SHARED_ENV, Path.cwd().parent / "shared"))


#: File formats tried, in order.
FORMATS = ("tsv", "csv", "jsonl", "parquet")


def read_split(data_dir: str | Path, task: str, split: str) -> pd.DataFrame:
    """One split of a task as a DataFrame (columns ``idx``, text column(s), ``label``).

    Examples
    --------
    >>> read_split("/nonexistent", "sst2", "train")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: No /nonexistent/sst2/train.tsv (nor .csv, .jsonl, .parquet): pass ...
    """
    folder = Path(data_dir) / task
    for ext in FORMATS:
        path = folder / f"{split}.{ext}"
        if path.is_file():
            return _read(path, ext)
    raise FileNotFoundError(
        f"No {folder / split}.tsv (nor .csv, .jsonl, .parquet): pass the folder that holds "
        f"<task>/train.tsv and <task>/test.tsv (e.g. shared/datasets), or set {SHARED_ENV}."
    )


def _read(path: Path, ext: str) -> pd.DataFrame:
    if ext == "tsv":
        # QUOTE_NONE: the texts contain bare quotes; keep_default_na: "null" is a word.
        return pd.read_csv(path, sep="\t", quoting=3, keep_default_na=False)
    if ext == "csv":
        return pd.read_csv(path, keep_default_na=False)
    if ext == "jsonl":
        return pd.read_json(path, lines=True)
    try:
        return pd.read_parquet(path)
    except ImportError as error:
        raise ImportError(f"Reading {path} needs pyarrow: pip install pyarrow.") from error
