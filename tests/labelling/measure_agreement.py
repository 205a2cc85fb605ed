"""Agreement of a local LLM's suggestions with SST-2's gold labels, through the page's code.

``python -m tests.labelling.measure_agreement [N] [--batch-size 10]`` starts
SmolLM2-135M-Instruct behind llama.cpp (``tests/llamacpp_server.py``), builds
the suggester exactly as ``activellm-modal label --base-url ... --model ...``
does (:func:`~activellm_modal.labelling.suggest.openai_suggester`, the shared
task's description in the prompt), asks it batch by batch for ``N`` seeded
SST-2 train sentences, and prints the agreement with the gold labels, overall
and per class, plus how many texts got no valid label. Not a test: it takes
minutes on two CPU cores; docs/labelling.rst quotes its output.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> dict:
    """Measure, print and return the agreement table."""
    from activellm_modal.data import default_shared_dir
    from activellm_modal.labelling.dataset import load_data
    from activellm_modal.labelling.suggest import measure_agreement, openai_suggester
    from tests.llamacpp_server import start_smollm2

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=200)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    datasets = default_shared_dir() / "datasets"
    data = load_data("sst2", data_dir=datasets)
    import pandas as pd

    frame = pd.read_csv(datasets / "sst2" / "train.tsv", sep="\t", quoting=3, keep_default_na=False)
    gold_of = dict(zip(frame["idx"], frame["label"], strict=True))
    pick = np.random.default_rng(args.seed).choice(len(data), size=args.n, replace=False)
    texts = [data.texts[i] for i in pick]
    gold = [data.labels[int(gold_of[int(data.rows[i])])] for i in pick]
    log = Path(tempfile.mkdtemp()) / "llamacpp.log"
    with start_smollm2(log, ctx=4096, n_predict=256) as server:
        suggester = openai_suggester(
            "smollm2-135m", server.url, data.labels, data.description, timeout=300
        )
        started = time.perf_counter()
        table = measure_agreement(suggester, texts, gold, batch_size=args.batch_size)
        table["seconds"] = round(time.perf_counter() - started, 1)
    table["gold_share"] = {label: gold.count(label) / len(gold) for label in data.labels}
    print(json.dumps(table, indent=2))
    return table


if __name__ == "__main__":
    main()
