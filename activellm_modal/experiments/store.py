"""``results.csv``: appended as jobs finish, read back to skip finished jobs."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd


class ResultStore:
    """A CSV of result rows, keyed by some of its columns.

    Rows are appended and flushed to disk as soon as a job finishes, so an
    interrupted experiment loses at most the jobs that were running.

    Parameters
    ----------
    path : str or Path
        The CSV file; created with a header on the first append.
    key_columns : sequence of str
        The columns that identify a job (``ReproduceJob.key()`` order).
    """

    def __init__(self, path: str | Path, key_columns: Sequence[str]) -> None:
        self.path = Path(path)
        self.key_columns = list(key_columns)

    def read(self) -> pd.DataFrame:
        """Every row so far (empty frame when there is no file yet)."""
        if not self.path.is_file() or self.path.stat().st_size == 0:
            return pd.DataFrame()
        # keep_default_na=False: the random baseline's empty ``llm`` must stay "".
        return pd.read_csv(self.path, keep_default_na=False)

    def done_keys(self) -> set[tuple[str, ...]]:
        """The keys of the jobs that already have rows."""
        frame = self.read()
        if frame.empty:
            return set()
        missing = [c for c in self.key_columns if c not in frame.columns]
        if missing:
            raise ValueError(
                f"{self.path} lacks the columns {missing}: it was written by another "
                "experiment; pass another --out folder."
            )
        keys = frame[self.key_columns].astype(str)
        return set(map(tuple, keys.to_numpy().tolist()))

    def append(self, rows: Iterable[dict[str, object]]) -> None:
        """Append rows (all with the same columns as the file's header)."""
        rows = list(rows)
        if not rows:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.is_file() or self.path.stat().st_size == 0
        if new:
            fields = list(rows[0])
        else:
            with self.path.open(newline="", encoding="utf-8") as handle:
                fields = next(csv.reader(handle))
        with self.path.open("a", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerows(rows)
            handle.flush()
            os.fsync(handle.fileno())
