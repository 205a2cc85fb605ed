"""``activellm-modal evaluate`` on small slices: recordings (WNLI) and a live endpoint."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from activellm_modal.cli import main
from tests.openai_server import pick_longest

pytestmark = pytest.mark.slow


def _dirs(shared_dir: Path) -> list[str]:
    return ["--data-dir", str(shared_dir / "datasets"), "--paper-dir", str(shared_dir / "paper")]


@pytest.fixture(scope="module")
def wnli_run(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    out = tmp_path_factory.mktemp("evaluate")
    argv = ["evaluate", "--tasks", "wnli", "--random-subsets", "8", "--quiet"]
    argv += [*_dirs(shared_dir), "--out", str(out)]
    assert main(argv) == 0
    return out, argv


def test_recorded_selections_get_percentiles_tables_and_plot(wnli_run, capsys) -> None:
    out, _ = wnli_run
    frame = pd.read_csv(out / "results.csv")
    units = frame["unit"].unique()
    assert len(units) >= 5 and all(u.startswith("answers/wnli/") for u in units)
    per_unit = frame.groupby("unit")["strategy"].value_counts().unstack()
    assert (per_unit["random"] == 8).all()
    assert (per_unit[["llm", "first-k", "typicality"]] == 1).all().all()
    assert frame["accuracy"].between(0, 1).all()
    chosen = frame[frame["strategy"] != "random"]
    assert (chosen["n_selected"] <= 32).all()
    report = (out / "RESULTS.md").read_text()
    assert "## Overall" in report and "## wnli" in report
    assert "percentile" in report
    assert (out / "wnli.png").stat().st_size > 1000


def test_rerun_resumes_and_reproduces_exactly(wnli_run, tmp_path, capsys) -> None:
    out, argv = wnli_run
    before = (out / "results.csv").read_text()
    assert main(argv) == 0
    assert (out / "results.csv").read_text() == before  # nothing rescored
    assert "0 to score" in capsys.readouterr().err
    fresh = [a if a != str(out) else str(tmp_path) for a in argv]
    assert main(fresh) == 0
    assert (tmp_path / "results.csv").read_text() == before  # same seeds, same numbers


def test_live_endpoint_on_own_files(shared_dir: Path, tmp_path: Path, llm_server) -> None:
    train = pd.read_csv(
        shared_dir / "datasets" / "sst2" / "train.tsv", sep="\t", quoting=3, keep_default_na=False
    )
    names = {0: "negative", 1: "positive"}
    own = train.iloc[:120].assign(sentiment=lambda f: f["label"].map(names))
    own[["text", "sentiment"]].rename(columns={"text": "review"}).to_csv(
        tmp_path / "pool.csv", index=False
    )
    dev = train.iloc[200:260].assign(sentiment=lambda f: f["label"].map(names))
    dev[["text", "sentiment"]].rename(columns={"text": "review"}).to_json(
        tmp_path / "dev.jsonl", orient="records", lines=True
    )
    llm_server.default = lambda body: pick_longest(body, 16)
    out = tmp_path / "out"
    argv = ["evaluate", "--base-url", llm_server.url, "--model-name", "scripted"]
    argv += ["--train", str(tmp_path / "pool.csv"), "--test", str(tmp_path / "dev.jsonl")]
    argv += ["--text-column", "review", "--label-column", "sentiment", "--budget", "8"]
    argv += ["--n-presented", "40", "--random-subsets", "6", "--quiet", "--out", str(out)]
    assert main([*argv, *_dirs(shared_dir)]) == 0
    assert len(llm_server.chat_requests) == 2  # one query per preset
    frame = pd.read_csv(out / "results.csv")
    assert set(frame["unit"]) == {"live:pool:paper:0", "live:pool:coverage:0"}
    llm_rows = frame[frame["strategy"] == "llm"]
    assert (llm_rows["n_selected"] == 8).all()
    assert "scripted (coverage)" in (out / "RESULTS.md").read_text()


def test_bad_options_fail_with_a_fix(shared_dir: Path, tmp_path: Path, capsys) -> None:
    base = [*_dirs(shared_dir), "--out", str(tmp_path), "--quiet"]
    assert main(["evaluate", "--train", "x.csv", *base]) == 2
    assert "--base-url" in capsys.readouterr().err
    assert main(["evaluate", "--tasks", "nosuchtask", *base]) == 2
    assert "choose one of" in capsys.readouterr().err
    (tmp_path / "p.csv").write_text("text,label\na,0\nb,1\n")
    live = ["--base-url", "http://127.0.0.1:9/v1", "--model-name", "m"]
    argv = [
        "evaluate",
        *live,
        "--train",
        str(tmp_path / "p.csv"),
        "--test",
        str(tmp_path / "p.csv"),
    ]
    assert main([*argv, "--label-column", "y", *base]) == 2
    assert "--label-column" in capsys.readouterr().err
