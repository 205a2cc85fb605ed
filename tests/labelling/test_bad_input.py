"""Bad input to ``activellm-modal label``: one clear line, exit status 2, nothing overwritten."""

from __future__ import annotations

from pathlib import Path

import pytest

from activellm_modal.cli import main
from activellm_modal.labelling.dataset import load_data


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["label", *argv])
    return code, capsys.readouterr().err


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        (
            "id,review\n1,great\n",
            [],
            "has no column 'text' (columns: id, review): pass --text-column",
        ),
        ("", [], "is empty"),
        ("text\n", [], "holds no text to label"),
        ("text\n\n  \n", [], "holds no text to label"),
        ("text\ngreat\n", ["--labels", "pos,neg,pos"], "--labels lists 'pos' twice"),
        ("text\ngreat\n", ["--labels", "pos"], "needs at least two label names"),
        ("text\ngreat\n", ["--labels", "a,b", "--classifier", "sklearn.nope.X"], "cannot create"),
        (
            "text\ngreat\n",
            ["--labels", "a,b", "--classifier", "sklearn.decomposition.PCA"],
            "no scikit-learn classifier",
        ),
        (
            "text\ngreat\n",
            ["--labels", "a,b", "--classifier", "sklearn.svm.LinearSVC"],
            "has no predict_proba",
        ),
        ("text\ngreat\n", ["--labels", "a,b", "--batch-size", "0"], "--batch-size 0"),
        ("text\ngreat\n", ["--labels", "a,b", "--base-url", "http://x"], "both --base-url and"),
    ],
)
def test_bad_data_and_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, extra: list[str], message: str
) -> None:
    data = _csv(tmp_path / "data.csv", content)
    extra = extra if "--labels" in extra else ["--labels", "neg,pos", *extra]
    code, err = _run([str(data), *extra, "--db", str(tmp_path / "l.sqlite")], capsys)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "l.sqlite").exists()


def test_missing_labels_and_unknown_data(tmp_path: Path, capsys) -> None:
    data = _csv(tmp_path / "data.csv", "text\ngreat\n")
    code, err = _run([str(data)], capsys)
    assert code == 2 and "pass --labels" in err
    code, err = _run(["no-such-file.csv", "--labels", "a,b", "--data-dir", str(tmp_path)], capsys)
    assert code == 2 and "is no data file nor a task folder" in err


def test_paper_needs_an_endpoint_or_recordings(tmp_path: Path, capsys) -> None:
    data = _csv(tmp_path / "data.csv", "text\ngreat\nawful\n")
    db = tmp_path / "l.sqlite"
    code, err = _run([str(data), "--labels", "a,b", "--strategy", "paper", "--db", str(db)], capsys)
    assert code == 2 and "need an LLM: pass --base-url URL --model NAME" in err
    assert not db.exists()


def test_database_of_other_data_is_refused_and_kept(tmp_path: Path, capsys) -> None:
    first = _csv(tmp_path / "first.csv", "text\ngreat\nawful\n")
    second = _csv(tmp_path / "second.csv", "text\nsomething else\n")
    db = tmp_path / "labels.sqlite"
    out = tmp_path / "out.csv"
    assert (
        main(["label", str(first), "--labels", "a,b", "--db", str(db), "--export", str(out)]) == 0
    )
    before = db.read_bytes()
    code, err = _run([str(second), "--labels", "a,b", "--db", str(db)], capsys)
    assert code == 2 and "was made for other data" in err and "nothing was changed" in err
    code, err = _run([str(first), "--labels", "b,a", "--db", str(db)], capsys)
    assert code == 2 and "was labelled with --labels a,b, not b,a" in err
    code, err = _run([str(first), "--labels", "a,b", "--limit", "1", "--db", str(db)], capsys)
    assert code == 2 and "was made for other data" in err
    assert db.read_bytes() == before
    not_a_db = _csv(tmp_path / "thesis.sqlite", "chapter one")
    code, err = _run([str(first), "--labels", "a,b", "--db", str(not_a_db)], capsys)
    assert code == 2 and "no SQLite database" in err
    assert not_a_db.read_text() == "chapter one"


def test_formats_and_rows(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("first\n\nthird\n", encoding="utf-8")
    data = load_data(tmp_path / "a.txt")
    assert data.texts == ["first", "third"] and data.rows.tolist() == [0, 2]
    (tmp_path / "a.jsonl").write_text('{"text": "x"}\n{"text": "y"}\n', encoding="utf-8")
    assert load_data(tmp_path / "a.jsonl").texts == ["x", "y"]
    (tmp_path / "a.tsv").write_text('text\tlabel\n"quoted" word\t1\n', encoding="utf-8")
    assert load_data(tmp_path / "a.tsv").texts == ['"quoted" word']


def test_shared_task_slice_keeps_the_recorded_rows(shared_dir: Path) -> None:
    data = load_data("sst2", limit=20, data_dir=shared_dir / "datasets", keep_rows=[67254, 5])
    assert data.rows.tolist() == [*range(20), 67254]
    assert data.labels == ["negative", "positive"] and data.task == "sst2"
    assert (
        data.fingerprint
        != load_data("sst2", limit=20, data_dir=shared_dir / "datasets").fingerprint
    )
