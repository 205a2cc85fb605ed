"""Every label, in SQLite, the moment it is given.

One database per labelling session. The write-ahead log (WAL) and
``synchronous=FULL`` make each committed transaction durable, and each label is
one transaction: a label the page was told is saved survives the server being
killed the next instant. The schema:

``meta``
    the dataset fingerprint, label names, strategy state (key, value);
``batches``
    each batch the strategy picked: round, position, source row, text, which
    strategy picked it; a row is picked at most once;
``labels``
    the current label of each picked row (``label`` NULL = skipped) with round,
    strategy, time and the tab that gave it; a row is labelled at most once;
``events``
    the append-only history: every label, skip and undo;
``suggestions``
    the LLM's suggested label of a picked row, apart from the human label
    (``label`` NULL = the LLM gave no valid label; ``note`` says why), and who
    suggested it (a model name: never a key or an endpoint);
``curve``
    the learning curve: the cross-validated accuracy after each retraining,
    keyed by the number of labels.

A database of an older schema is brought up to date when it is opened (the
new tables are added; nothing is rewritten).
"""

from __future__ import annotations

import csv
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from activellm_modal.exceptions import LabelConflictError, LabellingError

SCHEMA_VERSION = 2
_SQLITE_MAGIC = b"SQLite format 3\x00"

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE batches (
    round INTEGER NOT NULL,
    position INTEGER NOT NULL,
    row INTEGER NOT NULL UNIQUE,
    text TEXT NOT NULL,
    strategy TEXT NOT NULL,
    picked_by TEXT NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY (round, position)
);
CREATE TABLE labels (
    row INTEGER PRIMARY KEY REFERENCES batches(row),
    label TEXT,
    round INTEGER NOT NULL,
    strategy TEXT NOT NULL,
    labelled_at TEXT NOT NULL,
    client TEXT NOT NULL
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    row INTEGER NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('label', 'skip', 'undo')),
    label TEXT,
    client TEXT NOT NULL,
    at TEXT NOT NULL
);
"""

# Added in schema version 2; IF NOT EXISTS lets the same statements migrate a version-1 file.
_SCHEMA_V2 = """
CREATE TABLE IF NOT EXISTS suggestions (
    row INTEGER PRIMARY KEY REFERENCES batches(row),
    label TEXT,
    source TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS curve (
    n_labels INTEGER PRIMARY KEY,
    accuracy REAL NOT NULL,
    std REAL NOT NULL,
    folds INTEGER NOT NULL,
    round INTEGER NOT NULL,
    created TEXT NOT NULL
);
"""

_LABELLED = """
SELECT b.row, b.text, l.label, l.round, b.position, l.strategy, b.picked_by, l.labelled_at,
       s.label, s.source
FROM labels l JOIN batches b ON b.row = l.row LEFT JOIN suggestions s ON s.row = l.row
ORDER BY l.round, b.position
"""


@dataclass(frozen=True)
class BatchItem:
    """One picked text: its round, position in the batch, source row and text."""

    round: int
    position: int
    row: int
    text: str
    strategy: str
    picked_by: str


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class LabelStore:
    """The SQLite database of one labelling session.

    Use :meth:`open`, which checks that an existing database belongs to the
    same data and labels before anything is written to it.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "labels.sqlite")
    >>> store = LabelStore.open(path, fingerprint="f1", labels=["neg", "pos"], source="toy")
    >>> store.add_batch(0, [(7, "great"), (3, "dull")], strategy="random", picked_by="random")
    True
    >>> store.label(7, "pos", client="tab-1")
    1
    >>> [item.row for item in store.pending()], store.counts()
    ([3], {'neg': 0, 'pos': 1})
    >>> store.close()
    >>> LabelStore.open(path, fingerprint="f2", labels=["neg", "pos"], source="other")
    Traceback (most recent call last):
    ...
    activellm_modal.exceptions.LabellingError: ... was made for other data ...
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        # One connection shared by the server's threads; the lock serialises its use.
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA busy_timeout=10000")

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        fingerprint: str,
        labels: Sequence[str],
        source: str,
        n_texts: int | None = None,
    ) -> LabelStore:
        """Open ``path``, or create it; refuse a database made for other data or labels.

        Nothing is written to an existing file before it has been checked, so a
        refused database (or a file that is no database) is left as it was.
        """
        path = Path(path)
        meta = _read_meta(path) if path.exists() and path.stat().st_size else None
        if meta is not None:
            _check_meta(path, meta, fingerprint, list(labels))
            store = cls(path)
            store._migrate()
            return store
        path.parent.mkdir(parents=True, exist_ok=True)
        store = cls(path)
        values = {
            "schema_version": str(SCHEMA_VERSION),
            "fingerprint": fingerprint,
            "labels": json.dumps(list(labels)),
            "source": source,
            "n_texts": str(n_texts if n_texts is not None else ""),
            "created": _now(),
        }
        with store._transaction() as conn:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.executemany("INSERT INTO meta VALUES (?, ?)", values.items())
        store._migrate()
        return store

    def _migrate(self) -> None:
        """Add the tables of later schema versions (a no-op on an up-to-date file)."""
        with self._transaction() as conn:
            for statement in _SCHEMA_V2.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed into the main file)."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    # -- meta ----------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        """One value of the ``meta`` table."""
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    @property
    def labels(self) -> list[str]:
        """The label names, in key order."""
        return json.loads(self.meta("labels") or "[]")

    # -- batches -------------------------------------------------------------------------

    def add_batch(
        self,
        round_: int,
        items: Sequence[tuple[int, str]],
        *,
        strategy: str,
        picked_by: str,
        state: dict[str, Any] | None = None,
    ) -> bool:
        """Store round ``round_``'s picks ``(row, text)`` and the strategy state, atomically.

        Returns False (and stores nothing) when the round is already stored.
        """
        at = _now()
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM batches WHERE round = ?", (round_,)).fetchone():
                return False
            conn.executemany(
                "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (round_, position, int(row), text, strategy, picked_by, at)
                    for position, (row, text) in enumerate(items)
                ],
            )
            if state is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('strategy_state', ?)", (json.dumps(state),)
                )
        return True

    def n_rounds(self) -> int:
        """Batches stored so far."""
        return int(self._query("SELECT COALESCE(MAX(round) + 1, 0) FROM batches")[0][0])

    def picked_rows(self) -> set[int]:
        """Every row in a batch (labelled, skipped or pending)."""
        return {row for (row,) in self._query("SELECT row FROM batches")}

    def batch(self, round_: int) -> list[BatchItem]:
        """The items of one round, in order."""
        return [
            BatchItem(*row)
            for row in self._query(
                "SELECT round, position, row, text, strategy, picked_by FROM batches "
                "WHERE round = ? ORDER BY position",
                (round_,),
            )
        ]

    def pending(self) -> list[BatchItem]:
        """Picked rows with no label and no skip, oldest round first."""
        return [
            BatchItem(*row)
            for row in self._query(
                "SELECT b.round, b.position, b.row, b.text, b.strategy, b.picked_by "
                "FROM batches b LEFT JOIN labels l ON l.row = b.row WHERE l.row IS NULL "
                "ORDER BY b.round, b.position"
            )
        ]

    # -- labels --------------------------------------------------------------------------

    def label(self, row: int, label: str | None, *, client: str) -> int:
        """Store one label (``None`` = skip) in its own transaction; returns the event id.

        Raises
        ------
        LabelConflictError
            The row is already labelled or skipped (another tab was faster).
        LabellingError
            The row is in no batch, or the label is not one of the label names.
        """
        if label is not None and label not in self.labels:
            raise LabellingError(f"unknown label {label!r}: use one of {self.labels}.")
        at = _now()
        with self._transaction() as conn:
            picked = conn.execute(
                "SELECT round, strategy FROM batches WHERE row = ?", (int(row),)
            ).fetchone()
            if picked is None:
                raise LabellingError(f"row {row} is in no batch: only picked texts are labelled.")
            done = conn.execute("SELECT label FROM labels WHERE row = ?", (int(row),)).fetchone()
            if done is not None:
                what = "skipped" if done[0] is None else f"labelled {done[0]!r}"
                raise LabelConflictError(f"row {row} is already {what} (in another tab?).")
            conn.execute(
                "INSERT INTO labels VALUES (?, ?, ?, ?, ?, ?)",
                (int(row), label, picked[0], picked[1], at, client),
            )
            cursor = conn.execute(
                "INSERT INTO events (row, action, label, client, at) VALUES (?, ?, ?, ?, ?)",
                (int(row), "skip" if label is None else "label", label, client, at),
            )
            return int(cursor.lastrowid)

    def undo(self, client: str) -> int | None:
        """Take back this client's most recent label or skip; returns its row (or None)."""
        with self._transaction() as conn:
            found = conn.execute(
                "SELECT e.row FROM events e JOIN labels l ON l.row = e.row AND l.client = e.client "
                "WHERE e.client = ? AND e.action != 'undo' ORDER BY e.id DESC LIMIT 1",
                (client,),
            ).fetchone()
            if found is None:
                return None
            conn.execute("DELETE FROM labels WHERE row = ?", found)
            conn.execute(
                "INSERT INTO events (row, action, label, client, at) "
                "VALUES (?, 'undo', NULL, ?, ?)",
                (found[0], client, _now()),
            )
            return int(found[0])

    def counts(self) -> dict[str, int]:
        """Labels given per class (all classes, zeros included)."""
        found = dict(
            self._query("SELECT label, COUNT(*) FROM labels WHERE label IS NOT NULL GROUP BY label")
        )
        return {label: int(found.get(label, 0)) for label in self.labels}

    def n_skipped(self) -> int:
        """Rows skipped so far."""
        return int(self._query("SELECT COUNT(*) FROM labels WHERE label IS NULL")[0][0])

    def labelled(self, include_skipped: bool = False) -> list[dict[str, Any]]:
        """Every label with its row, text, suggestion, round, strategy and time, in picking order.

        ``suggestion`` is the LLM's label (None: none was given or asked for),
        ``suggested_by`` who gave it; ``label`` is always the person's.
        """
        rows = [dict(zip(EXPORT_FIELDS, row, strict=True)) for row in self._query(_LABELLED)]
        return [row for row in rows if include_skipped or row["label"] is not None]

    # -- suggestions ---------------------------------------------------------------------

    def add_suggestions(self, items: Sequence[tuple[int, str | None, str]], *, source: str) -> int:
        """Store the LLM's label ``(row, label or None, note)`` of picked rows, in one transaction.

        A row that already has a suggestion keeps it (the first answer shown
        stays the one compared with the person's label). Returns how many were
        stored.
        """
        at = _now()
        with self._transaction() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO suggestions (row, label, source, note, created) "
                "SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM batches WHERE row = ?)",
                [(int(row), label, source, note, at, int(row)) for row, label, note in items],
            )
            return conn.total_changes - before

    def suggestions(self) -> dict[int, dict[str, Any]]:
        """Every stored suggestion by row: ``label`` (or None), ``source``, ``note``."""
        return {
            row: {"label": label, "source": source, "note": note}
            for row, label, source, note in self._query(
                "SELECT row, label, source, note FROM suggestions"
            )
        }

    def suggestion(self, row: int) -> dict[str, Any] | None:
        """The stored suggestion of one row (``label``, ``source``, ``note``), or None."""
        found = self._query(
            "SELECT label, source, note FROM suggestions WHERE row = ?", (int(row),)
        )
        return dict(zip(("label", "source", "note"), found[0], strict=True)) if found else None

    def unsuggested(self) -> list[BatchItem]:
        """Picked rows (labelled or not) with no suggestion yet, oldest round first."""
        return [
            BatchItem(*row)
            for row in self._query(
                "SELECT b.round, b.position, b.row, b.text, b.strategy, b.picked_by "
                "FROM batches b LEFT JOIN suggestions s ON s.row = b.row WHERE s.row IS NULL "
                "ORDER BY b.round, b.position"
            )
        ]

    def agreement(self) -> dict[str, Any]:
        """How often the LLM's suggestion equals the person's label, overall and per class.

        Only labelled rows with a valid suggestion count; ``per_class`` is keyed
        by the person's label (so it is the LLM's recall of that class).
        """
        rows = self._query(
            "SELECT l.label, s.label FROM labels l JOIN suggestions s ON s.row = l.row "
            "WHERE l.label IS NOT NULL AND s.label IS NOT NULL"
        )
        return agreement_table([human for human, _ in rows], [llm for _, llm in rows], self.labels)

    # -- the learning curve --------------------------------------------------------------

    def add_curve_point(
        self, n_labels: int, accuracy: float, std: float, folds: int, round_: int
    ) -> None:
        """Store the cross-validated accuracy after a retraining on ``n_labels`` labels."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO curve VALUES (?, ?, ?, ?, ?, ?)",
                (int(n_labels), float(accuracy), float(std), int(folds), int(round_), _now()),
            )

    def curve(self) -> list[dict[str, Any]]:
        """The learning curve's points, by number of labels."""
        keys = ("n_labels", "accuracy", "std", "folds", "round")
        return [
            dict(zip(keys, row, strict=True))
            for row in self._query(
                "SELECT n_labels, accuracy, std, folds, round FROM curve ORDER BY n_labels"
            )
        ]

    def export(self, path: str | Path, include_skipped: bool = False) -> Path:
        """Write the labels to ``.csv`` or ``.jsonl`` (by the file ending)."""
        path = Path(path)
        rows = self.labelled(include_skipped)
        if path.suffix.lower() == ".jsonl":
            path.write_text(
                "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows),
                encoding="utf-8",
            )
        elif path.suffix.lower() == ".csv":
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=EXPORT_FIELDS)
                writer.writeheader()
                writer.writerows(rows)
        else:
            raise LabellingError(f"{path}: export to a .csv or .jsonl file.")
        return path


#: Columns of an export, in order: the person's ``label`` and the LLM's ``suggestion`` apart
#: (the suggestion columns last, so the earlier columns keep their places).
EXPORT_FIELDS = (
    "row",
    "text",
    "label",
    "round",
    "position",
    "strategy",
    "picked_by",
    "time",
    "suggestion",
    "suggested_by",
)


def agreement_table(
    human: Sequence[str], llm: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """Agreement of ``llm`` with ``human`` labels: ``n``, ``agree``, ``rate``, and per class.

    Examples
    --------
    >>> table = agreement_table(["neg", "neg", "pos"], ["neg", "pos", "pos"], ["neg", "pos"])
    >>> table["agree"], table["n"], table["per_class"]["neg"]
    (2, 3, {'n': 2, 'agree': 1, 'rate': 0.5})
    """

    def part(pairs: list[tuple[str, str]]) -> dict[str, Any]:
        agree = sum(1 for a, b in pairs if a == b)
        return {"n": len(pairs), "agree": agree, "rate": agree / len(pairs) if pairs else None}

    pairs = list(zip(human, llm, strict=True))
    table = part(pairs)
    table["per_class"] = {label: part([p for p in pairs if p[0] == label]) for label in labels}
    return table


def _read_meta(path: Path) -> dict[str, str]:
    with path.open("rb") as handle:
        if handle.read(16) != _SQLITE_MAGIC:
            raise LabellingError(
                f"{path} exists and is no SQLite database; it was left as it is: "
                "pass --db with a new file name."
            )
    # Read-only: a foreign database must not even get a WAL file switched on.
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError:
        raise LabellingError(
            f"{path} is a SQLite database but no labelling database; it was left as it is: "
            "pass --db with a new file name."
        ) from None
    finally:
        conn.close()


def _check_meta(path: Path, meta: dict[str, str], fingerprint: str, labels: list[str]) -> None:
    version = meta.get("schema_version", "1")
    if not version.isdigit() or int(version) > SCHEMA_VERSION:
        raise LabellingError(
            f"{path} has schema version {version}, newer than this activellm-modal reads "
            f"({SCHEMA_VERSION}); nothing was changed. Update activellm-modal to open it."
        )
    if meta.get("fingerprint") != fingerprint:
        raise LabellingError(
            f"{path} was made for other data ({meta.get('source', '?')}, "
            f"{meta.get('n_texts', '?')} texts); nothing was changed. Pass the same data "
            "(and --limit) again, or --db with a new file name for this data."
        )
    stored = json.loads(meta.get("labels", "[]"))
    if stored != labels:
        raise LabellingError(
            f"{path} was labelled with --labels {','.join(stored)}, not {','.join(labels)}; "
            "nothing was changed. Pass the same labels, or --db with a new file name."
        )
