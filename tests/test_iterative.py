"""Iterative ActiveLLM: recap modes, no labelled instance twice, balance-aware picks."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest

from activellm_modal import ActiveLLM, SelectionWarning
from activellm_modal.parts import LabelQuotas, Prompt, RegionPresenter
from activellm_modal.query.prompt import sanitize
from tests.loops import scripted_llm, text_learner
from tests.openai_server import Reply, pick_longest, shown_positions

N = 8
LABELS = ["negative", "positive"]
_LINE = re.compile(r"^\[(\d+)\] (.*)$", re.MULTILINE)


def llm(server, **params) -> ActiveLLM:
    presenter = RegionPresenter(n_presented=40)
    return scripted_llm(server, **{"presenter": presenter, "labels": LABELS, **params})


learner_for = text_learner


def two_rounds(server, pool, **params):
    """Round 1 (nothing labelled), teach, round 2; return strategy, learner, both prompts."""
    X, y = pool
    server.default = lambda body: pick_longest(body, N)
    strategy = llm(server, **params)
    learner = learner_for(strategy)
    idx, _ = learner.query(X, n_instances=N)
    learner.teach(X[idx], y[idx])
    X_pool = np.delete(X, idx)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SelectionWarning)
        idx2, _ = learner.query(X_pool, n_instances=N)
    bodies = [r["body"] for r in server.chat_requests]
    assert len(bodies) == 2  # one call per query, recap or not
    return strategy, learner, bodies, X_pool[idx2]


def system(body) -> str:
    return body["messages"][0]["content"]


def user(body) -> str:
    return body["messages"][1]["content"]


def test_first_round_prompt_is_the_plain_paper_prompt_in_every_mode(llm_server, pool):
    firsts = []
    for mode in ("none", "texts", "indices", "labels"):
        llm_server.reset()
        _, _, bodies, _ = two_rounds(llm_server, pool, prompt=Prompt(recap=mode))
        firsts.append(bodies[0]["messages"])
    assert all(messages == firsts[0] for messages in firsts)
    assert "<labelled>" not in user({"messages": firsts[0]})


def test_recap_none_says_nothing_about_labels(llm_server, pool):
    _, _, bodies, _ = two_rounds(llm_server, pool, prompt=Prompt(recap="none"))
    assert "<labelled>" not in user(bodies[1]) and "already labelled" not in system(bodies[1])
    assert len(shown_positions(bodies[1])) == 40


def test_recap_texts_shows_labelled_texts_unnumbered_in_their_own_fence(llm_server, pool):
    strategy, learner, bodies, _ = two_rounds(llm_server, pool, prompt=Prompt(recap="texts"))
    text = user(bodies[1])
    recap, instances = text.split("</labelled>\n")
    lines = recap.splitlines()
    assert lines[0] == "<labelled>"
    assert lines[1:] == [f"- {sanitize(t)}" for t in learner.X_training]  # oldest first
    assert instances.startswith("<instances>") and instances.endswith("</instances>")
    assert len(shown_positions(bodies[1])) == 40  # the recap takes no numbered place
    assert "already labelled 8 instances" in system(bodies[1])
    assert "positive" not in recap and "negative" not in recap
    assert strategy.last_query_.n_recap == 8 and strategy.last_query_.recap == "texts"


def test_recap_labels_shows_each_label_and_the_counts(llm_server, pool):
    _, learner, bodies, _ = two_rounds(llm_server, pool, prompt=Prompt(recap="labels"))
    recap = user(bodies[1]).split("</labelled>")[0].splitlines()[1:]
    expected = [
        f"- ({LABELS[label]}) {sanitize(text)}"
        for text, label in zip(learner.X_training, learner.y_training, strict=True)
    ]
    assert recap == expected
    counts = {name: int((learner.y_training == i).sum()) for i, name in enumerate(LABELS)}
    tally = ", ".join(f"{n}: {c}" for n, c in sorted(counts.items(), key=lambda kv: -kv[1]))
    assert f"Labels so far: {tally}." in system(bodies[1])
    assert "balance the labels" in system(bodies[1])


def test_recap_indices_shows_labelled_again_and_lists_their_positions(llm_server, pool):
    strategy, learner, bodies, picked = two_rounds(llm_server, pool, prompt=Prompt(recap="indices"))
    shown = dict((int(p), t) for p, t in _LINE.findall(user(bodies[1])))
    assert len(shown) == 40 + 8
    listed = re.search(r"already labelled: ([\d, ]+)\.", system(bodies[1])).group(1)
    taken = [int(p) for p in listed.split(", ")]
    assert sorted(shown[p] for p in taken) == sorted(sanitize(t) for t in learner.X_training)
    record = strategy.last_query_
    assert [p for p, row in enumerate(record.prompt_rows) if row == -1] == taken
    # Nothing labelled comes back, even where the LLM named a recapped position.
    assert not set(picked) & set(learner.X_training)
    assert "<labelled>" not in user(bodies[1])


def test_llm_reselecting_a_recap_position_is_dropped_and_filled(llm_server, pool):
    X, y = pool
    strategy = llm(llm_server, prompt=Prompt(recap="indices"))
    learner = learner_for(strategy)
    llm_server.push(Reply("Answer: 0, 1, 2, 3"))
    idx, _ = learner.query(X, n_instances=4)
    learner.teach(X[idx], y[idx])

    def name_the_labelled(body):
        listed = re.search(r"already labelled: ([\d, ]+)\.", system(body)).group(1)
        new = [p for p in shown_positions(body) if str(p) not in listed.split(", ")]
        return Reply(f"Answer: {listed}, {new[0]}")

    llm_server.default = name_the_labelled
    with pytest.warns(SelectionWarning, match="already-labelled"):
        idx2, _ = learner.query(X, n_instances=4)  # labelled rows kept in the pool
    record = strategy.last_query_
    # All four recapped positions dropped; the LLM's one new pick kept, 3 filled.
    assert record.n_recap_picks == 4 and record.n_filled == 3
    assert not set(X[idx2]) & set(learner.X_training)
    assert len(set(idx2.tolist())) == 4
    assert idx2[0] == record.prompt_rows[record.positions[-1]]  # the one new pick comes first


@pytest.mark.parametrize("mode", ["none", "texts", "indices", "labels"])
def test_labelled_texts_kept_in_the_pool_are_never_returned(llm_server, pool, mode):
    # pick_longest would name the same longest texts every round if they were shown again.
    X, y = pool
    X, y = X[:120], y[:120]
    llm_server.default = lambda body: pick_longest(body, N)
    strategy = llm(
        llm_server, presenter=RegionPresenter(n_presented=200), prompt=Prompt(recap=mode)
    )
    learner = learner_for(strategy)
    for _ in range(4):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SelectionWarning)
            idx, _ = learner.query(X, n_instances=N)  # the pool is never shrunk
        labelled = set() if learner.X_training is None else set(learner.X_training)
        assert not set(X[idx]) & labelled and len(set(idx.tolist())) == N
        learner.teach(X[idx], y[idx])
    assert len(set(learner.X_training)) == 4 * N
    assert len(llm_server.chat_requests) == 4


def test_recap_is_capped_to_the_most_recent(llm_server, pool):
    X, y = pool
    llm_server.default = lambda body: pick_longest(body, N)
    strategy = llm(llm_server, prompt=Prompt(recap="texts", max_recap=5))
    learner = learner_for(strategy)
    learner.teach(X[:30], y[:30])
    strategy(learner, X[30:], n_instances=N)
    recap = user(llm_server.chat_requests[0]["body"]).split("</labelled>")[0].splitlines()[1:]
    assert recap == [f"- {sanitize(t)}" for t in X[25:30]]


def test_state_dict_round_trip_repeats_the_next_query(llm_server, pool):
    X, _ = pool
    llm_server.default = lambda body: pick_longest(body, N)
    first = llm(llm_server, prompt=Prompt(recap="labels"))
    first(None, X, n_instances=N)
    state = json.loads(json.dumps(first.state_dict()))  # plain data
    a, _ = first(None, X, n_instances=N)
    second = llm(llm_server, prompt=Prompt(recap="labels")).load_state_dict(state)
    b, _ = second(None, X, n_instances=N)
    assert a.tolist() == b.tolist() and second.n_queries_ == 2
    assert second.history_[0].indices == first.history_[0].indices


# -- balance-aware selection ----------------------------------------------------------------


def picks_reply(body, truth, take=None):
    """An LLM that guesses each shown text's true label and names candidates in order."""
    items = _LINE.findall(user(body))
    picks = [{"position": int(p), "label": LABELS[truth[t]]} for p, t in items][:take]
    return Reply(json.dumps({"reasoning": "varied", "picks": picks}))


def test_balance_asks_for_twice_as_many_candidates_with_labels_and_meets_quotas(llm_server, pool):
    X, y = pool
    truth = {sanitize(t): int(label) for t, label in zip(X, y, strict=True)}
    llm_server.default = lambda body: picks_reply(body, truth)
    strategy = llm(
        llm_server, prompt=Prompt(structured_output=True), narrower=LabelQuotas(balance="equal")
    )
    learner = learner_for(strategy)
    idx, _ = learner.query(X, n_instances=6)
    body = llm_server.chat_requests[0]["body"]
    assert "Name 12 candidates" in system(body) and '"picks"' in system(body)
    schema = body["response_format"]["json_schema"]["schema"]["properties"]["picks"]
    assert schema["maxItems"] == 12 and schema["items"]["properties"]["label"]["enum"] == LABELS
    record = strategy.last_query_
    assert record.quota == {"negative": 3, "positive": 3}
    assert sorted(y[idx].tolist()) == [0, 0, 0, 1, 1, 1]  # the guesses were right: balanced
    assert record.guessed_labels == [LABELS[label] for label in y[idx]]
    assert record.n_filled == 0


def test_balance_with_proportions(llm_server, pool):
    X, y = pool
    truth = {sanitize(t): int(label) for t, label in zip(X, y, strict=True)}
    llm_server.default = lambda body: picks_reply(body, truth)
    strategy = llm(
        llm_server, narrower=LabelQuotas(balance={"positive": 2, "negative": 1}, oversample=3)
    )
    idx, _ = strategy(None, X, n_instances=6)
    assert strategy.last_query_.quota == {"negative": 2, "positive": 4}
    assert sorted(y[idx].tolist()) == [0, 0, 1, 1, 1, 1]
    assert "Name 18 candidates" in system(llm_server.chat_requests[0]["body"])


def test_balance_falls_back_when_guesses_run_short_or_are_missing(llm_server, pool):
    X, _ = pool
    one_sided = {"picks": [{"position": p, "label": "positive"} for p in range(5)]}
    llm_server.push(Reply(json.dumps(one_sided)), Reply("I would take 4, 7, 9"))
    strategy = llm(llm_server, narrower=LabelQuotas(balance="equal"))
    with pytest.warns(SelectionWarning, match="could not fill the quotas"):
        idx, _ = strategy(None, X, n_instances=4)
    record = strategy.last_query_
    presented = record.presented
    # Two positives in quota, then the other guessed candidates in the LLM's order.
    assert idx.tolist() == [presented[p] for p in (0, 1, 2, 3)]
    assert record.guessed_labels == ["positive"] * 4

    with pytest.warns(SelectionWarning, match="filled at random"):
        idx, _ = strategy(None, X, n_instances=4)
    record = strategy.last_query_
    assert idx[:3].tolist() == [record.presented[p] for p in (4, 7, 9)]
    assert record.n_filled == 1 and len(set(idx.tolist())) == 4


def test_balance_needs_label_names(llm_server):
    with pytest.raises(ValueError, match="labels="):
        llm(llm_server, labels=None, narrower=LabelQuotas(balance="equal"))(
            None, ["a", "b", "c"], 1
        )
    with pytest.raises(ValueError, match="'recap' parameter"):
        llm(llm_server, prompt=Prompt(recap="everything"))(None, ["a", "b", "c"], 1)
    assert llm_server.chat_requests == []
