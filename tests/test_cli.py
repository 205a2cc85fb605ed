"""The command line: user errors give one clear line and exit status 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from activellm_modal.cli import build_parser, main

REPO = Path(__file__).resolve().parents[1]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("command", ["demo", "reproduce", "benchmark"])
def test_every_subcommand_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = _run([command, "--help"], capsys)
    assert code == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["reproduce", "--seeds", "42,x"], "'x' is not an integer"),
        (["reproduce", "--runs", "5-1"], "is empty"),
        (["reproduce", "--epochs", "0"], "must be at least 1"),
        (["benchmark", "--seeds", ","], "empty"),
        (["benchmark", "--classifier", "svm"], "invalid choice"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_malformed_options_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(argv, capsys)
    assert code == 2
    assert message in err
    assert "usage:" in err and "Traceback" not in err


def test_missing_data_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(["reproduce", "--data-dir", str(tmp_path / "nope")], capsys)
    assert code == 2
    assert err.startswith("activellm-modal: error: --data-dir")
    assert "ACTIVELLM_SHARED" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["reproduce", "--task", "imdb"], "unknown task 'imdb'"),
        (["reproduce", "--llms", "gpt-5"], "unknown LLM 'gpt-5'"),
        (["reproduce", "--runs", "9"], "run 9 has no recording"),
        (["reproduce", "--model", "./no-such-model"], "no such folder"),
        (["benchmark", "--strategies", "random,oracle"], "unknown strategy 'oracle'"),
        (["benchmark", "--backend", "dask"], "needs --scheduler"),
        (["benchmark", "--base-url", "http://127.0.0.1:1/v1"], "--model-name"),
    ],
)
def test_semantic_errors_name_the_fix(
    argv: list[str], message: str, shared_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dirs = ["--data-dir", str(shared_dir / "datasets"), "--paper-dir", str(shared_dir / "paper")]
    code, err = _run([*argv, *dirs], capsys)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_demo_keeps_its_options() -> None:
    args = build_parser().parse_args(["demo", "--shared-dir", "/somewhere"])
    assert args.command == "demo" and args.shared_dir == Path("/somewhere")


def test_python_m_runs_the_cli(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "activellm_modal", "reproduce", "--data-dir", str(tmp_path / "x")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "error: --data-dir" in done.stderr and "Traceback" not in done.stderr
