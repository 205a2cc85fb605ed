"""``activellm-modal reproduce`` on a tiny grid: files written, resumed without retraining."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from activellm_modal.cli import main

pytestmark = pytest.mark.slow

TINY = ["--runs", "1", "--seeds", "42", "--llms", "gpt-4", "--epochs", "1"]
TINY += ["--max-length", "32", "--test-size", "32", "--quiet"]


@pytest.fixture(scope="module")
def reproduced(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    out = tmp_path_factory.mktemp("reproduce")
    dirs = ["--data-dir", str(shared_dir / "datasets"), "--paper-dir", str(shared_dir / "paper")]
    argv = ["reproduce", *TINY, *dirs, "--out", str(out)]
    assert main(argv) == 0
    return out, argv


def test_writes_results_report_and_plot(reproduced: tuple[Path, list]) -> None:
    out, _ = reproduced
    frame = pd.read_csv(out / "results.csv", keep_default_na=False)
    assert sorted(zip(frame["strategy"], frame["llm"], strict=True)) == [
        ("activellm", "gpt-4"),
        ("random", ""),
    ]
    for column in ("run", "seed", "n_labelled", "accuracy", "macro_f1", "n_positive"):
        assert column in frame.columns
    assert set(frame["n_labelled"]) == {32}
    # NOTES.md 9: run 1 GPT-4 picks 16 positives, the first 32 shown hold 14.
    balance = dict(zip(frame["strategy"], frame["n_positive"], strict=True))
    assert balance == {"activellm": 16, "random": 14}
    gpt4 = frame[frame["strategy"] == "activellm"].iloc[0]
    assert gpt4["llm_replayed"] == 1 and gpt4["llm_calls"] == 0 and gpt4["n_filled"] == 0
    report = (out / "RESULTS.md").read_text()
    assert "paper's log, run 1, bert-base-uncased" in report
    assert "0.7314" in report and "0.5603" in report and "all-MiniLM-L6-v2" in report
    assert (out / "reproduce.png").read_bytes()[:4] == b"\x89PNG"


def test_resume_skips_finished_jobs(
    reproduced: tuple[Path, list], monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    out, argv = reproduced
    before = (out / "results.csv").read_text()

    def no_training(*args, **kwargs):
        raise AssertionError("a finished job was trained again")

    monkeypatch.setattr("activellm_modal.experiments.reproduce.run_job", no_training)
    assert main(argv) == 0
    assert "0 to run" in capsys.readouterr().err
    assert (out / "results.csv").read_text() == before


def test_resume_refuses_other_settings(reproduced: tuple[Path, list], capsys) -> None:
    _, argv = reproduced
    changed = [*argv]
    changed[changed.index("--epochs") + 1] = "2"
    assert main(changed) == 2
    assert "pass another --out" in capsys.readouterr().err
