"""Selections recorded before ActiveLLM became a composition of parts (commit 22abb82).

The same ``random_state`` must give the same indices with the parts as with the
old keywords: ``make reproduce`` and ``benchmarks/bench_cold_start.py`` depend
on it. A scripted backend with a deterministic preference stands in for the
LLM, and a toy embedder for the sentence encoder (so that a change of the
default encoder does not move these numbers). Three queries each, teaching
what was chosen in between (recap and exclusion take part).
"""

from __future__ import annotations

import json
import warnings
import zlib

import numpy as np
import pytest

from activellm_modal import ActiveLLM, SelectionWarning
from activellm_modal.llm import Completion
from activellm_modal.parts import LabelQuotas, Prompt, RegionPresenter, UniformPresenter
from activellm_modal.presets import make_strategy
from activellm_modal.query.coverage import CoveragePresenter

TOPICS = ["film", "food", "car", "phone", "book", "song"]
POOL = np.array(
    [
        f"a {'great' if (i * 7) % 5 < 2 else 'dull'} {TOPICS[i % 6]} review number {i} "
        + "!" * (i % 3)
        for i in range(300)
    ],
    dtype=object,
)
Y = np.array([int((i * 7) % 5 < 2) for i in range(300)])


def toy_embed(texts):
    out = []
    for text in texts:
        words = text.split()
        vector = np.zeros(8)
        vector[TOPICS.index(words[2])] = 3.0
        vector[6] = 1.0 if words[1] == "great" else -1.0
        vector[7] = (zlib.crc32(text.encode()) % 1000) / 1000.0
        out.append(vector)
    return np.asarray(out)


class Scripted:
    """Prefers texts by a hash: a deterministic LLM with a "judgement"."""

    def __init__(self, guesses: bool = False) -> None:
        self.guesses = guesses

    def complete(self, request):
        n, k = len(request.instances), request.k
        order = sorted(range(n), key=lambda p: zlib.crc32(request.instances[p].encode()))
        chosen = order[: k + 2]  # a few more than asked for
        if self.guesses:
            picks = [
                {
                    "position": p,
                    "label": ["neg", "pos"][zlib.crc32(request.instances[p].encode()) % 2],
                }
                for p in chosen
            ]
            return Completion(json.dumps({"picks": picks}))
        # ... and one invented position, which the fallback must fill
        return Completion("Let me think. Final answer: " + ", ".join(map(str, [*chosen, n + 5])))


def run(strategy, rounds: int = 3, k: int = 8) -> list[list[int]]:
    out, taken = [], np.ones(len(POOL), bool)
    X_labelled: list[str] = []
    y_labelled: list[int] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SelectionWarning)
        for _ in range(rounds):
            rows = np.flatnonzero(taken)
            idx, _ = strategy.select(
                POOL[rows], k, X_labelled=X_labelled or None, y_labelled=y_labelled or None
            )
            got = rows[idx]
            out.append([int(x) for x in got])
            X_labelled += POOL[got].tolist()
            y_labelled += Y[got].tolist()
            taken[got] = False
    return out


def regions() -> RegionPresenter:
    return RegionPresenter(regions=CoveragePresenter(embedder=toy_embed, subsample=200))


CONFIGS = {
    "default": lambda: make_strategy(
        "coverage", backend=Scripted(), presenter__regions=regions().regions, random_state=0
    ),
    "ActiveLLM()": lambda: ActiveLLM(backend=Scripted(), presenter=regions(), random_state=0),
    "paper": lambda: make_strategy("paper", backend=Scripted(), random_state=0),
    "paper_recap_labels": lambda: make_strategy(
        "paper",
        backend=Scripted(),
        random_state=3,
        prompt=Prompt(guidance=None, recap="labels"),
        labels=["neg", "pos"],
        presenter__n_presented=50,
    ),
    "diverse": lambda: make_strategy(
        "diverse", backend=Scripted(), presenter__regions=regions().regions, random_state=0
    ),
    "local": lambda: make_strategy(
        "local", backend=Scripted(), presenter__regions=regions().regions, random_state=0
    ),
    "balance": lambda: make_strategy(
        "paper",
        backend=Scripted(True),
        random_state=1,
        narrower=LabelQuotas(balance="equal"),
        labels=["neg", "pos"],
        presenter__n_presented=60,
    ),
    "paper_small_pool": lambda: make_strategy(
        "paper",
        backend=Scripted(),
        random_state=5,
        presenter=UniformPresenter(n_presented=10, max_chars=30),
    ),
}

# Recorded on commit 22abb82 with the old keywords (presentation=, n_presented=, ...).
RECORDED = {
    "default": [
        [115, 153, 222, 104, 244, 178, 194, 8],
        [123, 229, 55, 184, 282, 35, 167, 183],
        [252, 4, 77, 281, 213, 7, 182, 87],
    ],
    "ActiveLLM()": [
        [115, 153, 222, 104, 244, 178, 194, 8],
        [123, 229, 55, 184, 282, 35, 167, 183],
        [252, 4, 77, 281, 213, 7, 182, 87],
    ],
    "paper": [
        [123, 115, 55, 184, 104, 244, 194, 8],
        [229, 252, 153, 178, 282, 183, 4, 64],
        [222, 77, 281, 213, 182, 273, 230, 132],
    ],
    "paper_recap_labels": [
        [55, 104, 64, 182, 173, 280, 206, 38],
        [229, 178, 194, 8, 162, 102, 33, 192],
        [282, 35, 23, 52, 274, 27, 63, 188],
    ],
    "diverse": [
        [115, 104, 178, 8, 183, 64, 77, 162],
        [229, 222, 244, 194, 35, 281, 87, 93],
        [55, 184, 153, 167, 7, 182, 230, 102],
    ],
    "local": [
        [115, 153, 178, 77, 213, 33, 52, 187],
        [222, 162, 93, 272, 280, 57, 27, 176],
        [35, 4, 7, 148, 293, 97, 215, 56],
    ],
    "balance": [
        [229, 184, 244, 194, 213, 273, 280, 293],
        [167, 183, 4, 23, 52, 63, 188, 207],
        [123, 115, 35, 7, 87, 1, 217, 29],
    ],
    "paper_small_pool": [
        [227, 38, 188, 80, 14, 283, 13, 147],
        [213, 6, 287, 161, 152, 130, 10, 193],
        [285, 209, 17, 284, 290, 50, 72, 113],
    ],
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_selection_is_unchanged_by_the_composition(name):
    assert run(CONFIGS[name]()) == RECORDED[name]
