"""Shared data for bench_cold_start.py: a fixed embedded subset of each task."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from activellm_modal.data import default_shared_dir
from activellm_modal.experiments.embedding_table import EmbeddingTable
from activellm_modal.experiments.tasks import TaskData, load_task

TASKS = ("sst2", "cola", "emotion", "sst5", "mrpc", "rte")
#: Train rows embedded per task (pools are drawn from them).
SUBSET = 6000
CACHE = Path(".activellm-cache/embeddings")


def task_subset(
    task: str, data_dir: Path | None = None, encoder: str = "default"
) -> tuple[TaskData, np.ndarray, EmbeddingTable]:
    """The task, the embedded train rows (seeded) and the embedding table of ``encoder``."""
    data = load_task(data_dir or default_shared_dir() / "datasets", task)
    n = len(data.train_texts)
    rows = np.sort(np.random.default_rng(0).choice(n, size=min(n, SUBSET), replace=False))
    texts = np.concatenate([data.train_texts[rows], data.test_texts])
    table = EmbeddingTable.build(texts, encoder, max_length=128, cache_dir=CACHE)
    return data, rows, table


if __name__ == "__main__":
    import time

    for task in TASKS:
        start = time.time()
        task_subset(task)
        print(task, f"{time.time() - start:.0f} s", flush=True)
