"""The texts to label: a data file, or a task of the shared datasets folder.

Every text keeps the row it has in its source (``row``), so a label in the
database names the line of the user's file, and a database made for other data
is recognised by a fingerprint of the rows and texts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from activellm_modal.exceptions import LabellingError

#: File endings read as data files, and how.
READERS = {".tsv": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet", ".txt": "txt"}


@dataclass(frozen=True)
class LabelData:
    """The pool of texts a labelling session works on.

    Attributes
    ----------
    texts : list of str
        The texts, in source order.
    rows : ndarray of int
        The row of each text in its source: the 0-based data row of a file, or
        the ``idx`` column of a shared task.
    source : str
        Where the texts came from (a path or ``task:<name>``).
    labels : list of str or None
        The label names the source declares (a shared task's ``labels.json``).
    task : str or None
        The shared task's name.
    notes : list of str
        What was dropped or added while reading, to show the user.
    pairs : list of (str, str) or None
        For sentence-pair data, the two parts of each text (``texts`` then
        holds both, ``"a: ... | b: ..."``, for the classifier and the LLM).
    pair_columns : (str, str) or None
        The names of the two parts, as shown on the page.
    description : str or None
        What is labelled (a shared task's ``labels.json`` description).
    """

    texts: list[str]
    rows: np.ndarray
    source: str
    labels: list[str] | None = None
    task: str | None = None
    notes: list[str] = field(default_factory=list)
    pairs: list[tuple[str, str]] | None = None
    pair_columns: tuple[str, str] | None = None
    description: str | None = None

    def __len__(self) -> int:
        return len(self.texts)

    @cached_property
    def _position(self) -> dict[int, int]:
        return {int(row): i for i, row in enumerate(self.rows.tolist())}

    def pair_of(self, row: int) -> list[dict[str, str]] | None:
        """The two named parts of source row ``row`` for the page (None for single texts).

        Examples
        --------
        >>> data = LabelData(["a: x | b: y"], np.array([4]), "p.csv", pairs=[("x", "y")],
        ...                  pair_columns=("a", "b"))
        >>> data.pair_of(4)
        [{'name': 'a', 'text': 'x'}, {'name': 'b', 'text': 'y'}]
        """
        if self.pairs is None or self.pair_columns is None:
            return None
        parts = self.pairs[self._position[int(row)]]
        return [
            {"name": name, "text": text}
            for name, text in zip(self.pair_columns, parts, strict=True)
        ]

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the rows and texts: the same data gives the same fingerprint.

        Examples
        --------
        >>> a = LabelData(["good", "bad"], np.array([0, 1]), "a.csv")
        >>> b = LabelData(["good", "bad"], np.array([0, 1]), "copy.csv")
        >>> c = LabelData(["bad"], np.array([1]), "a.csv")
        >>> a.fingerprint == b.fingerprint, a.fingerprint == c.fingerprint
        (True, False)
        """
        digest = hashlib.sha256()
        for row, text in zip(self.rows.tolist(), self.texts, strict=True):
            digest.update(f"{row}\x1f{text}\x1e".encode("utf-8", "surrogatepass"))
        return digest.hexdigest()


def load_data(
    data: str | Path,
    *,
    text_column: str = "text",
    limit: int | None = None,
    data_dir: str | Path | None = None,
    keep_rows: Iterable[int] = (),
    pair_columns: tuple[str, str] | None = None,
) -> LabelData:
    """Read the texts to label.

    Parameters
    ----------
    data : str or Path
        A ``.csv``, ``.tsv``, ``.jsonl``, ``.parquet`` file with a text column,
        a ``.txt`` file with one text per line, or the name of a task folder in
        ``data_dir`` (e.g. ``"sst2"``: its ``train`` split).
    text_column : str, default="text"
    limit : int, optional
        Keep the first ``limit`` texts only (a slice for a quick session).
    data_dir : str or Path, optional
        The shared datasets folder, for task names.
    keep_rows : iterable of int
        Source rows kept beyond ``limit`` (the rows a recorded LLM answer shows).
    pair_columns : (str, str), optional
        Two text columns of sentence pairs (e.g. MRPC's ``text_a``, ``text_b``):
        both are shown side by side, and a pair with an empty part is left out.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "reviews.csv")
    >>> _ = open(path, "w").write("id,review\\n1,great\\n2,\\n3,awful\\n")
    >>> data = load_data(path, text_column="review")
    >>> data.texts, data.rows.tolist(), data.notes
    (['great', 'awful'], [0, 2], ['1 empty text(s) left out'])
    >>> load_data(path)
    Traceback (most recent call last):
    ...
    activellm_modal.exceptions.LabellingError: ... has no column 'text' (columns: id, review): ...
    """
    path = Path(data)
    labels = task = description = None
    if path.is_file():
        frame = _read_file(path, text_column)
        rows = np.arange(len(frame))
        source = str(path)
    elif data_dir is not None and (Path(data_dir) / str(data)).is_dir():
        from activellm_modal.data import read_split

        task = str(data)
        frame = read_split(data_dir, task, "train")
        rows = frame["idx"].to_numpy() if "idx" in frame else np.arange(len(frame))
        labels, description = _task_meta(Path(data_dir) / task)
        source = f"task:{task}"
    else:
        where = f" nor a task folder in {data_dir}" if data_dir is not None else ""
        raise LabellingError(
            f"{data} is no data file{where}: pass a .csv/.tsv/.jsonl/.parquet file with a text "
            "column, a .txt file with one text per line, or a task name such as sst2."
        )
    pairs = None
    if pair_columns is not None:
        frame, text_column, pairs = _pair_frame(frame, pair_columns, source)
    if text_column not in frame.columns:
        columns = ", ".join(map(str, frame.columns))
        raise LabellingError(
            f"{source} has no column {text_column!r} (columns: {columns}): pass --text-column NAME."
        )
    texts = frame[text_column]
    present = texts.notna().to_numpy() & (texts.astype(str).str.strip() != "").to_numpy()
    notes = []
    if not present.all():
        notes.append(f"{int((~present).sum())} empty text(s) left out")
    texts = texts[present].astype(str).tolist()
    rows = np.asarray(rows)[present].astype(np.int64)
    if pairs is not None:
        pairs = [pair for pair, kept in zip(pairs, present, strict=True) if kept]
    if not texts:
        raise LabellingError(f"{source} holds no text to label: the file or column is empty.")
    if limit is not None and limit < len(texts):
        keep = np.zeros(len(texts), dtype=bool)
        keep[:limit] = True
        extra = np.isin(rows, np.fromiter(keep_rows, dtype=np.int64)) & ~keep
        if extra.any():
            notes.append(f"{int(extra.sum())} recorded row(s) kept beyond --limit {limit}")
        keep |= extra
        texts = [text for text, kept in zip(texts, keep, strict=True) if kept]
        rows = rows[keep]
        if pairs is not None:
            pairs = [pair for pair, kept in zip(pairs, keep, strict=True) if kept]
    return LabelData(
        texts,
        rows,
        source,
        labels,
        task,
        notes,
        pairs=pairs,
        pair_columns=tuple(pair_columns) if pair_columns is not None else None,
        description=description,
    )


_PAIR_TEXT = "\x00pair"  # the joined column's name: no user column is called that


def _pair_frame(
    frame: pd.DataFrame, columns: tuple[str, str], source: str
) -> tuple[pd.DataFrame, str, list[tuple[str, str]]]:
    """Add the joined text of two columns; a pair with an empty part gets no text."""
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        names = ", ".join(map(str, frame.columns))
        raise LabellingError(
            f"{source} has no column {missing[0]!r} (columns: {names}): pass --pair-columns A,B "
            "with the two text columns of each pair."
        )
    first, second = (frame[name] for name in columns)

    def part(value: object) -> str:
        return "" if pd.isna(value) else str(value)

    pairs = [(part(a), part(b)) for a, b in zip(first, second, strict=True)]
    # The classifier and the LLM read the pair as one text, each part after its column name.
    joined = [
        f"{columns[0]}: {a} | {columns[1]}: {b}" if a.strip() and b.strip() else ""
        for a, b in pairs
    ]
    frame = frame.assign(**{_PAIR_TEXT: joined})
    return frame, _PAIR_TEXT, pairs


def _read_file(path: Path, text_column: str) -> pd.DataFrame:
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise LabellingError(
            f"{path}: unknown file type {path.suffix!r}; use .csv, .tsv, .jsonl, .parquet or .txt."
        )
    if path.stat().st_size == 0:
        raise LabellingError(f"{path} is empty: it holds no text to label.")
    if kind == "txt":
        lines = path.read_text(encoding="utf-8").splitlines()
        return pd.DataFrame({text_column: lines})
    from activellm_modal.data import _read

    try:
        return _read(path, kind)
    except pd.errors.EmptyDataError:
        raise LabellingError(f"{path} is empty: it holds no text to label.") from None
    except (ValueError, pd.errors.ParserError) as error:
        raise LabellingError(f"{path} could not be read as {kind}: {error}") from None


def _task_meta(folder: Path) -> tuple[list[str] | None, str | None]:
    """A shared task's label names and description (``labels.json``), where present."""
    meta = folder / "labels.json"
    if not meta.is_file():
        return None, None
    content = json.loads(meta.read_text(encoding="utf-8"))
    labels = content.get("labels")
    description = content.get("description")
    return ([str(label) for label in labels] if labels else None), (
        str(description) if description else None
    )


def parse_labels(text: str | Iterable[str]) -> list[str]:
    """Label names from ``"neg,pos"`` (or a list): at least two, no repeats.

    Examples
    --------
    >>> parse_labels("negative, positive")
    ['negative', 'positive']
    >>> parse_labels("pos,neg,pos")
    Traceback (most recent call last):
    ...
    activellm_modal.exceptions.LabellingError: --labels lists 'pos' twice: give each label once.
    """
    names = [part.strip() for part in (text.split(",") if isinstance(text, str) else text)]
    names = [name for name in names if name]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise LabellingError(f"--labels lists {name!r} twice: give each label once.")
        seen.add(name)
    if len(names) < 2:
        raise LabellingError(
            f"--labels needs at least two label names, comma-separated (got {names}), "
            "e.g. --labels negative,positive."
        )
    return names
