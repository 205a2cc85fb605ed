"""The label store: one transaction per label, no lost or doubled rows, nothing overwritten."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from activellm_modal.exceptions import LabelConflictError, LabellingError
from activellm_modal.labelling import load_labels, load_learner
from activellm_modal.labelling.store import LabelStore

LABELS = ["neg", "pos"]


def _store(path: Path, fingerprint: str = "f") -> LabelStore:
    return LabelStore.open(path, fingerprint=fingerprint, labels=LABELS, source="toy", n_texts=9)


@pytest.fixture
def store(tmp_path: Path) -> LabelStore:
    store = _store(tmp_path / "labels.sqlite")
    store.add_batch(
        0, [(10, "great"), (11, "dull"), (12, "fine")], strategy="random", picked_by="random"
    )
    yield store
    store.close()


def test_wal_and_full_sync(store: LabelStore) -> None:
    assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_label_skip_undo_per_client(store: LabelStore) -> None:
    store.label(10, "pos", client="a")
    store.label(11, None, client="b")  # skip
    assert [item.row for item in store.pending()] == [12]
    assert store.counts() == {"neg": 0, "pos": 1} and store.n_skipped() == 1
    assert store.undo("a") == 10  # a's label, not b's later skip
    assert store.undo("a") is None
    assert [item.row for item in store.pending()] == [10, 12]
    store.label(10, "neg", client="a")
    rows = {row["row"]: row for row in store.labelled(include_skipped=True)}
    assert rows[10]["label"] == "neg" and rows[10]["round"] == 0 and rows[11]["label"] is None
    actions = [a for (a,) in store._conn.execute("SELECT action FROM events ORDER BY id")]
    assert actions == ["label", "skip", "undo", "label"]


def test_refuses_conflicts_unknown_rows_and_labels(store: LabelStore) -> None:
    store.label(10, "pos", client="a")
    with pytest.raises(LabelConflictError, match="already labelled 'pos'"):
        store.label(10, "neg", client="b")
    with pytest.raises(LabellingError, match="in no batch"):
        store.label(999, "neg", client="a")
    with pytest.raises(LabellingError, match="unknown label 'maybe'"):
        store.label(11, "maybe", client="a")
    assert store.counts() == {"neg": 0, "pos": 1}


def test_a_round_is_stored_once(store: LabelStore) -> None:
    assert not store.add_batch(0, [(13, "again")], strategy="random", picked_by="random")
    assert store.n_rounds() == 1 and 13 not in store.picked_rows()


def test_concurrent_labels_no_lost_or_doubled_rows(tmp_path: Path) -> None:
    store = _store(tmp_path / "labels.sqlite")
    store.add_batch(0, [(i, f"text {i}") for i in range(200)], strategy="r", picked_by="r")
    confirmed: dict[str, list[int]] = {"a": [], "b": []}

    def tab(client: str) -> None:
        while pending := store.pending():
            try:
                store.label(pending[0].row, "pos", client=client)
                confirmed[client].append(pending[0].row)
            except LabelConflictError:
                continue

    threads = [threading.Thread(target=tab, args=(c,)) for c in confirmed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    both = confirmed["a"] + confirmed["b"]
    assert sorted(both) == list(range(200))  # every row once: none lost, none twice
    assert [row["row"] for row in store.labelled()] == list(range(200))
    events = store._conn.execute("SELECT COUNT(*), COUNT(DISTINCT row) FROM events").fetchone()
    assert events == (200, 200)
    store.close()


def test_reopen_checks_data_and_labels_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "labels.sqlite"
    store = _store(path)
    store.add_batch(0, [(1, "a")], strategy="r", picked_by="r")
    store.label(1, "pos", client="x")
    store.close()
    before = path.read_bytes()
    with pytest.raises(LabellingError, match="made for other data"):
        _store(path, fingerprint="other")
    with pytest.raises(LabellingError, match="labelled with --labels neg,pos, not a,b"):
        LabelStore.open(path, fingerprint="f", labels=["a", "b"], source="toy")
    wal = Path(f"{path}-wal")  # a read-only look may leave an empty log, never content
    assert path.read_bytes() == before and (not wal.exists() or wal.stat().st_size == 0)
    reopened = _store(path)
    assert reopened.counts() == {"neg": 0, "pos": 1}
    reopened.close()


def test_foreign_files_are_left_alone(tmp_path: Path) -> None:
    text = tmp_path / "notes.sqlite"
    text.write_text("my thesis, do not overwrite")
    with pytest.raises(LabellingError, match="no SQLite database"):
        _store(text)
    assert text.read_text() == "my thesis, do not overwrite"
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    with pytest.raises(LabellingError, match="no labelling database"):
        _store(other)
    assert other.read_bytes() == before and not Path(f"{other}-wal").exists()


def test_export_and_load_back_into_modal(store: LabelStore, tmp_path: Path) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    store.label(10, "pos", client="a")
    store.label(11, "neg", client="a")
    store.label(12, None, client="a")
    csv_text = store.export(tmp_path / "out.csv").read_text().splitlines()
    assert csv_text[0] == (
        "row,text,label,round,position,strategy,picked_by,time,suggestion,suggested_by"
    )
    assert csv_text[1].startswith("10,great,pos,0,0,random,random,")
    lines = store.export(tmp_path / "out.jsonl").read_text().splitlines()
    assert [json.loads(line)["label"] for line in lines] == ["pos", "neg"]
    with pytest.raises(LabellingError, match=r"\.csv or \.jsonl"):
        store.export(tmp_path / "out.xlsx")
    frame = load_labels(store.path)
    assert frame["row"].tolist() == [10, 11] and frame["text"].tolist() == ["great", "dull"]
    learner = load_learner(store.path, make_pipeline(TfidfVectorizer(), LogisticRegression()))
    assert learner.y_training.tolist() == ["pos", "neg"]
    assert learner.predict(["great"]).tolist() == ["pos"]
    with pytest.raises(LabellingError, match="No labelling database"):
        load_labels(tmp_path / "missing.sqlite")
