"""``activellm-modal benchmark`` on a tiny grid, with joblib and on a loopback Dask cluster."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from activellm_modal.cli import main

pytestmark = pytest.mark.slow

ARMS = "random,uncertainty,ranked-batch,kmeans,activellm,hybrid"
TINY = ["--runs", "1", "--seeds", "42", "--rounds", "2", "--batch-size", "8"]
TINY += ["--pool-size", "40", "--test-size", "40", "--max-length", "32", "--quiet"]


def _dirs(shared_dir: Path) -> list[str]:
    return ["--data-dir", str(shared_dir / "datasets"), "--paper-dir", str(shared_dir / "paper")]


@pytest.fixture(scope="module")
def joblib_run(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    out = tmp_path_factory.mktemp("bench-joblib")
    argv = ["benchmark", "--strategies", ARMS, *TINY, *_dirs(shared_dir), "--out", str(out)]
    assert main([*argv, "--backend", "joblib", "--jobs", "2"]) == 0
    return out, argv


def test_joblib_grid_writes_curves_table_and_plot(joblib_run: tuple[Path, list]) -> None:
    out, _ = joblib_run
    frame = pd.read_csv(out / "results.csv")
    assert len(frame) == 6 * 2
    assert sorted(frame["n_labelled"].unique().tolist()) == [8, 16]
    for column in ("llm_s", "train_s", "infer_s", "accuracy", "macro_f1", "picked_by"):
        assert column in frame.columns
    first = frame[frame["round"] == 1].set_index("strategy")["picked_by"]
    assert first["activellm"] == "ActiveLLM" and first["kmeans"] == "KMeansColdStart"
    assert first["hybrid"].startswith("HybridStrategy:ActiveLLM")
    later = frame[frame["round"] == 2].set_index("strategy")["picked_by"]
    assert later["uncertainty"] == "uncertainty_sampling"
    assert later["hybrid"] == "HybridStrategy:uncertainty_sampling"
    report = (out / "RESULTS.md").read_text()
    assert "AULC" in report and "| hybrid |" in report
    assert (out / "learning_curves.png").read_bytes()[:4] == b"\x89PNG"


def test_rerun_skips_finished_curves(joblib_run: tuple[Path, list], capsys) -> None:
    out, argv = joblib_run
    before = (out / "results.csv").read_text()
    assert main([*argv, "--jobs", "1"]) == 0
    assert "6 already in" in capsys.readouterr().err
    assert (out / "results.csv").read_text() == before


def test_dask_cluster_on_loopback_gives_the_same_curves(
    joblib_run: tuple[Path, list], shared_dir: Path, tmp_path: Path
) -> None:
    distributed = pytest.importorskip("distributed")
    reference, _ = joblib_run
    # Reuse the embeddings the joblib run computed: the test is about the backend.
    shutil.copytree(reference / "embeddings", tmp_path / "embeddings")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        argv = ["benchmark", "--strategies", "random,activellm", *TINY, *_dirs(shared_dir)]
        argv += ["--out", str(tmp_path), "--backend", "dask"]
        assert main([*argv, "--scheduler", cluster.scheduler_address]) == 0
    ours = pd.read_csv(tmp_path / "results.csv").sort_values(["strategy", "round"])
    theirs = pd.read_csv(reference / "results.csv")
    theirs = theirs[theirs["strategy"].isin(["random", "activellm"])].sort_values(
        ["strategy", "round"]
    )
    columns = ["strategy", "round", "n_labelled", "accuracy", "n_positive"]
    pd.testing.assert_frame_equal(
        ours[columns].reset_index(drop=True), theirs[columns].reset_index(drop=True)
    )


def test_unreachable_scheduler_is_a_clear_error(shared_dir: Path, tmp_path: Path, capsys) -> None:
    argv = ["benchmark", "--strategies", "random", *TINY, *_dirs(shared_dir)]
    argv += ["--out", str(tmp_path), "--backend", "dask", "--scheduler", "tcp://127.0.0.1:9"]
    assert main(argv) == 2
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err


def test_live_endpoint_answers_every_activellm_round(
    joblib_run: tuple[Path, list], shared_dir: Path, tmp_path: Path, llm_server
) -> None:
    from tests.openai_server import Reply, shown_positions

    reference, _ = joblib_run
    shutil.copytree(reference / "embeddings", tmp_path / "embeddings")
    # Every fifth text shown: a spread that holds both classes, so round 2 has a model.
    llm_server.default = lambda body: Reply(", ".join(map(str, shown_positions(body)[::5][:8])))
    argv = ["benchmark", "--strategies", "activellm,hybrid", *TINY, *_dirs(shared_dir)]
    argv += ["--out", str(tmp_path), "--jobs", "1", "--base-url", llm_server.url]
    assert main([*argv, "--model-name", "scripted"]) == 0
    # activellm asks in both rounds; hybrid's cold start is the same prompt as activellm's
    # round 1, so the shared answer cache serves it without a call.
    assert len(llm_server.chat_requests) == 2
    frame = pd.read_csv(tmp_path / "results.csv").set_index(["strategy", "round"])
    assert frame.loc[("activellm", 2), "picked_by"] == "ActiveLLM"
    assert frame.loc[("hybrid", 2), "picked_by"] == "HybridStrategy:uncertainty_sampling"
    assert "live `scripted`" in (tmp_path / "RESULTS.md").read_text()
