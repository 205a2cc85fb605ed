"""``benchmark`` beyond SST-2: a recorded pair task, an unrecorded task, a user's own files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from activellm_modal.cli import main

pytestmark = pytest.mark.slow

TINY = ["--runs", "1", "--seeds", "42", "--rounds", "2", "--batch-size", "8", "--jobs", "1"]
TINY += ["--pool-size", "40", "--test-size", "40", "--max-length", "32", "--quiet"]


def _dirs(shared_dir: Path) -> list[str]:
    return ["--data-dir", str(shared_dir / "datasets"), "--paper-dir", str(shared_dir / "paper")]


def test_rte_replays_gpt4_on_sentence_pairs(shared_dir: Path, tmp_path: Path) -> None:
    argv = ["benchmark", "--task", "rte", "--strategies", "random,activellm", *TINY]
    assert main([*argv, *_dirs(shared_dir), "--out", str(tmp_path)]) == 0
    frame = pd.read_csv(tmp_path / "results.csv")
    first = frame[frame["round"] == 1].set_index("strategy")
    assert first.loc["activellm", "picked_by"] == "ActiveLLM"
    assert first.loc["activellm", "pool"] == 201 + 40
    assert "on rte" in (tmp_path / "RESULTS.md").read_text()


def test_unrecorded_task_runs_without_llm_arms(shared_dir: Path, tmp_path: Path, capsys) -> None:
    argv = ["benchmark", "--task", "emotion", "--strategies", "random,kmeans", *TINY]
    assert main([*argv, *_dirs(shared_dir), "--out", str(tmp_path)]) == 0
    frame = pd.read_csv(tmp_path / "results.csv")
    assert set(frame["strategy"]) == {"random", "kmeans"}
    assert frame["pool"].iloc[0] == 40
    argv = ["benchmark", "--task", "emotion", "--strategies", "activellm", *TINY]
    assert main([*argv, *_dirs(shared_dir), "--out", str(tmp_path / "x")]) == 2
    assert "--base-url" in capsys.readouterr().err


def test_own_files(shared_dir: Path, tmp_path: Path) -> None:
    train = pd.read_csv(
        shared_dir / "datasets" / "mrpc" / "train.tsv", sep="\t", quoting=3, keep_default_na=False
    )
    train.iloc[:300].to_json(tmp_path / "pool.jsonl", orient="records", lines=True)
    train.iloc[300:360].to_csv(tmp_path / "dev.csv", index=False)
    argv = [
        "benchmark",
        "--train",
        str(tmp_path / "pool.jsonl"),
        "--test",
        str(tmp_path / "dev.csv"),
    ]
    argv += ["--text-column", "text_a", "--pair-column", "text_b", "--strategies", "random"]
    assert main([*argv, *TINY, *_dirs(shared_dir), "--out", str(tmp_path / "out")]) == 0
    frame = pd.read_csv(tmp_path / "out" / "results.csv")
    assert frame["n_test"].iloc[0] == 40 and len(frame) == 2
