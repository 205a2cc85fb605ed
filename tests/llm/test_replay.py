"""Replaying the paper's recorded answers, matched by the presented instances."""

from __future__ import annotations

import numpy as np
import pytest

from activellm_modal import ActiveLLM, ReplayMissError
from activellm_modal.llm.base import LLMRequest
from activellm_modal.llm.replay import (
    Recording,
    ReplayBackend,
    load_recordings,
    read_prompt_blocks,
    recorded_sampler,
)
from activellm_modal.parts import UniformPresenter
from activellm_modal.query.parsing import parse_selection


@pytest.fixture(scope="module")
def gpt4_sst2(shared_dir):
    recordings = load_recordings(shared_dir / "paper", task="sst2", llm="gpt-4")
    return [r for r in recordings if r.source.startswith("answers/sst2/10/")]


def test_recorded_prompts_parse_to_their_shown_blocks(shared_dir):
    blocks = read_prompt_blocks(shared_dir / "paper/prompts/sst2/10/prompt_50000_1.txt", 201)
    assert [b[0] for b in blocks] == list(range(201))
    assert blocks[0][2] == 34869 and blocks[0][1].startswith("is dark , brooding")


def test_replay_through_the_strategy_reproduces_the_authors_lists(
    gpt4_sst2, sst2_train, shared_dir
):
    assert sorted(r.run for r in gpt4_sst2) == [1, 2, 3, 4, 5]
    pool = sst2_train["text"].to_numpy(dtype=object)
    for recording in gpt4_sst2:
        # The dataset's texts are the prompt's texts at their [ID] rows.
        assert [pool[i].strip() for i in recording.ids[:5]] == [
            t.strip() for t in recording.texts[:5]
        ]
        strategy = ActiveLLM(
            backend=ReplayBackend([recording]),
            random_state=0,
            presenter=UniformPresenter(
                n_presented=len(recording.ids),
                skip_duplicates=False,
                sampler=recorded_sampler(recording.ids),
            ),
        )
        idx, _ = strategy(None, pool, n_instances=32)
        listed = (shared_dir / "paper" / recording.source.replace("answer_", "list_")).read_text()
        positions = [int(p) for p in listed.strip().rstrip(".").split(",")][:32]
        assert idx.tolist() == [recording.ids[p] for p in positions]
        assert strategy.last_query_.cached and strategy.usage_["calls"] == 0


def test_unknown_presentation_is_a_clear_miss(gpt4_sst2):
    backend = ReplayBackend(gpt4_sst2)
    with pytest.raises(ReplayMissError, match="recorded_sampler"):
        backend.complete(LLMRequest(messages=[], instances=("not", "recorded")))


def test_conflicting_recordings_are_refused():
    a = Recording("t", "a", 1, 1, (1,), ("x",), "0", "a.txt")
    b = Recording("t", "b", 1, 1, (1,), ("x",), "1", "b.txt")
    with pytest.raises(ValueError, match="one LLM per backend"):
        ReplayBackend([a, b])


def test_recorded_sampler_needs_the_full_pool():
    with pytest.raises(ReplayMissError, match="full dataset"):
        recorded_sampler([5, 50])(10, 2, np.random.default_rng())


def test_every_recorded_llm_answer_for_sst2_parses(shared_dir):
    for recording in load_recordings(shared_dir / "paper", task="sst2"):
        assert parse_selection(recording.answer, len(recording.ids), recording.k), recording.source
