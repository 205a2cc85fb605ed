"""Locating and reading the project's datasets (``<data-dir>/<task>/{train,test}.tsv``)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

#: Where the shared data folder is looked for when no path is given.
SHARED_ENV = "ACTIVELLM_SHARED"


def default_shared_dir() -> Path:
    """``$ACTIVELLM_SHARED``, else ``../shared`` beside the current directory."""
    return Path(os.environ.get(SHARED_ENV, Path.cwd().parent / "shared"))


def read_split(data_dir: str | Path, task: str, split: str) -> pd.DataFrame:
    """One split of a task as a DataFrame (columns ``idx``, text column(s), ``label``).

    Examples
    --------
    >>> read_split("/nonexistent", "sst2", "train")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: No /nonexistent/sst2/train.tsv: pass the folder that holds ...
    """
    path = Path(data_dir) / task / f"{split}.tsv"
    if not path.is_file():
        raise FileNotFoundError(
            f"No {path}: pass the folder that holds <task>/train.tsv and <task>/test.tsv "
            f"(e.g. shared/datasets), or set {SHARED_ENV}."
        )
    # quoting=3 (QUOTE_NONE): the texts contain bare quotes; keep_default_na: "null" is a word.
    return pd.read_csv(path, sep="\t", quoting=3, keep_default_na=False)
