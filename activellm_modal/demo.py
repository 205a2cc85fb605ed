"""The offline demo: a modAL loop whose query is answered by GPT-4's recorded picks.

For each of the paper's five SST-2 pool draws, a plain modAL ``ActiveLearner``
(frozen embeddings of the default encoder, all-mpnet-base-v2, + logistic regression)
asks ActiveLLM for 32 instances. The LLM is replaced by the paper's recorded GPT-4
answer to the same 201 presented sentences, so the demo needs no network and no key.
The random baseline takes the first 32 presented sentences, as the paper did.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from activellm_modal.data import read_split
from activellm_modal.embeddings import Encoder
from activellm_modal.embeddings.models import encoder_label
from activellm_modal.llm.replay import ReplayBackend, load_recordings, recorded_sampler
from activellm_modal.parts import UniformPresenter
from activellm_modal.presets import make_strategy

K = 32


def run_demo(shared_dir: Path) -> list[dict[str, object]]:
    """Train on 32 random vs 32 GPT-4-chosen SST-2 sentences, per recorded run."""
    from modAL.models import ActiveLearner

    from activellm_modal.loop.compat import patch_modal

    patch_modal()
    train = read_split(shared_dir / "datasets", "sst2", "train")
    test = read_split(shared_dir / "datasets", "sst2", "test")
    X_pool = train["text"].to_numpy(dtype=object)
    y_pool = train["label"].to_numpy()
    if not (train["idx"].to_numpy() == np.arange(len(train))).all():
        raise ValueError("sst2/train.tsv must list rows in idx order for the replay to map ids.")
    rows = []
    recordings = [
        r
        for r in load_recordings(shared_dir / "paper", task="sst2", llm="gpt-4")
        if r.source.startswith("answers/sst2/10/")  # the five 32-label runs, not the budget study
    ]

    def classifier():
        # C=10: with 32 unit-norm embeddings the default C=1 shrinks the model to the prior.
        # The encoder's cache embeds the 872 test sentences once, not once per run.
        embedder = Encoder("default")
        return make_pipeline(embedder, LogisticRegression(C=10.0, max_iter=1000))

    X_test, y_test = test["text"].to_numpy(dtype=object), test["label"].to_numpy()
    from activellm_modal.experiments.runner import progress

    bar = progress(len(recordings), "recorded runs", unit="run")
    for recording in recordings:
        strategy = make_strategy(
            "paper",  # the paper's method replays the paper's answers
            backend=ReplayBackend([recording]),
            presenter=UniformPresenter(
                len(recording.ids), skip_duplicates=False, sampler=recorded_sampler(recording.ids)
            ),
            random_state=recording.run,
        )
        learner = ActiveLearner(
            estimator=classifier(),
            query_strategy=strategy,
        )
        picked, _ = learner.query(X_pool, n_instances=K)
        learner.teach(X_pool[picked], y_pool[picked])
        llm_acc = learner.score(X_test, y_test)

        first = np.asarray(recording.ids[:K])
        random_acc = classifier().fit(X_pool[first], y_pool[first]).score(X_test, y_test)
        rows.append(
            {
                "run": recording.run,
                "random": random_acc,
                "gpt4": llm_acc,
                "random_pos": int(y_pool[first].sum()),
                "gpt4_pos": int(y_pool[picked].sum()),
                "filled": strategy.last_query_.n_filled,
            }
        )
        bar.update()
    bar.close()
    return rows


def print_table(rows: list[dict[str, object]]) -> None:
    """Print the per-run comparison and the means."""
    print(
        f"SST-2, {K} labels, {encoder_label('default')} embeddings + logistic regression, "
        "accuracy on the 872 test sentences"
    )
    print("| run | random (first 32) | positives | ActiveLLM (GPT-4, replayed) | positives |")
    print("|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['run']} | {row['random']:.4f} | {row['random_pos']}/{K} "
            f"| {row['gpt4']:.4f} | {row['gpt4_pos']}/{K} |"
        )
    mean_random = np.mean([row["random"] for row in rows])
    mean_llm = np.mean([row["gpt4"] for row in rows])
    print(f"| mean | {mean_random:.4f} | | {mean_llm:.4f} | |")


def main(shared_dir: Path) -> int:
    """Run the demo on ``shared_dir`` (datasets/ and paper/) and print the table."""
    start = time.perf_counter()
    rows = run_demo(shared_dir)
    print_table(rows)
    print(f"({time.perf_counter() - start:.1f} s, no LLM called: answers replayed from the paper)")
    return 0
