"""Datasets as TSV, CSV or JSONL in the <data-dir>/<task>/<split>.<ext> layout."""

from __future__ import annotations

import pandas as pd
import pytest

from activellm_modal.data import read_split

FRAME = pd.DataFrame(
    {"idx": [0, 1, 2], "text": ['he said "null"', "a, b", "tab\\tfree"], "label": [1, 0, 1]}
)


@pytest.mark.parametrize("ext", ["tsv", "csv", "jsonl"])
def test_each_format_reads_back_the_same_frame(tmp_path, ext):
    folder = tmp_path / "toy"
    folder.mkdir()
    path = folder / f"train.{ext}"
    if ext == "tsv":
        FRAME.to_csv(path, sep="\t", index=False, quoting=3)
    elif ext == "csv":
        FRAME.to_csv(path, index=False)
    else:
        FRAME.to_json(path, orient="records", lines=True)
    pd.testing.assert_frame_equal(read_split(tmp_path, "toy", "train"), FRAME)


def test_missing_split_names_every_format_and_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"\.csv, \.jsonl, \.parquet.*ACTIVELLM_SHARED"):
        read_split(tmp_path, "toy", "test")


def test_the_shared_sst2_split(shared_dir):
    train = read_split(shared_dir / "datasets", "sst2", "train")
    assert list(train.columns) == ["idx", "text", "label"] and len(train) == 67_349
