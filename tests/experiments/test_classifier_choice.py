"""``--classifier``: what reproduce and benchmark train, and that results do not mix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from activellm_modal.classifiers import BertClassifier, SetFitClassifier
from activellm_modal.experiments import benchmark, reproduce


def _config(classifier: str, epochs: int | None = None) -> reproduce.ReproduceConfig:
    return reproduce.ReproduceConfig(
        data_dir=Path("."),
        paper_dir=Path("."),
        out=Path("."),
        model="some/model",
        classifier=classifier,
        epochs=epochs,
        max_length=64,
    )


def test_reproduce_builds_the_chosen_classifier() -> None:
    classes = np.array([0, 1])
    paper = reproduce.make_classifier(_config("bert-paper"), 42, classes)
    assert isinstance(paper, BertClassifier)
    assert (paper.batch_size, paper.max_epochs, paper.min_steps) == (32, 25, 0)
    few = reproduce.make_classifier(_config("bert"), 42, classes)
    assert (few.batch_size, few.min_steps, few.max_length) == ("auto", 120, 64)
    assert reproduce.make_classifier(_config("bert", epochs=3), 42, classes).max_epochs == 3
    setfit = reproduce.make_classifier(_config("setfit"), 42, classes)
    assert isinstance(setfit, SetFitClassifier) and setfit.random_state == 42
    assert list(setfit.classes) == [0, 1]
    assert isinstance(reproduce.make_classifier(_config("embed"), 42, classes), Pipeline)
    with pytest.raises(ValueError, match="use one of bert-paper, bert, setfit, embed"):
        reproduce.make_classifier(_config("svm"), 42, classes)
    assert [reproduce.epochs_label(_config(name)) for name in reproduce.CLASSIFIERS] == [
        "25",
        "30",
        "-",
        "-",
    ]


def test_results_of_another_classifier_are_not_mixed_in(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    config = _config("setfit")
    row = {"model": "some/model", "max_length": 64, "epochs": "-", "n_test": 872}
    reproduce.check_settings(pd.DataFrame([{**row, "classifier": "setfit"}]), config, path, 872)
    with pytest.raises(ValueError, match="classifier=\\['bert'\\]"):
        reproduce.check_settings(pd.DataFrame([{**row, "classifier": "bert"}]), config, path, 872)
    # Rows written before the column existed were the paper's recipe.
    legacy = pd.DataFrame([{**row, "epochs": "25"}])
    reproduce.check_settings(legacy, _config("bert-paper"), path, 872)
    with pytest.raises(ValueError, match="bert-paper"):
        reproduce.check_settings(legacy, config, path, 872)


def test_benchmark_builds_the_chosen_classifier() -> None:
    def config(name: str) -> benchmark.BenchmarkConfig:
        return benchmark.BenchmarkConfig(
            data_dir=Path("."), paper_dir=Path("."), out=Path("."), model="m", classifier=name
        )

    bert = benchmark.make_classifier(config("bert"), None, 7)
    assert isinstance(bert, BertClassifier) and bert.min_steps == 120 and bert.random_state == 7
    setfit = benchmark.make_classifier(config("setfit"), None, 7)
    assert isinstance(setfit, SetFitClassifier) and list(setfit.classes) == [0, 1]


def test_cli_choices(capsys: pytest.CaptureFixture[str]) -> None:
    from activellm_modal.cli import QUICK_CLASSIFIER, build_parser

    parser = build_parser()
    assert parser.parse_args(["reproduce", "--classifier", "bert"]).classifier == "bert"
    assert parser.parse_args(["benchmark", "--classifier", "setfit"]).classifier == "setfit"
    assert parser.parse_args(["benchmark"]).epochs is None
    assert QUICK_CLASSIFIER in reproduce.CLASSIFIERS
    with pytest.raises(SystemExit):
        parser.parse_args(["reproduce", "--classifier", "svm"])
    assert "invalid choice: 'svm'" in capsys.readouterr().err
