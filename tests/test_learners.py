"""The shared learner helpers work for a modAL learner, a Committee and no learner."""

from __future__ import annotations

import numpy as np
from modAL.models import ActiveLearner, Committee
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from activellm_modal import ActiveLLM, LabelBudget
from activellm_modal.loop.learners import is_fitted, labelled_data, n_labelled
from tests.loops import CountingBackend

TEXTS = np.array([f"review {c} of a film" for c in "abcdefghij"], dtype=object)
LABELS = np.array([0, 1] * 5)


def committee(n_members: int = 2) -> Committee:
    members = [
        ActiveLearner(
            estimator=make_pipeline(TfidfVectorizer(), LogisticRegression()),
            X_training=TEXTS[:4],
            y_training=LABELS[:4],
        )
        for _ in range(n_members)
    ]
    return Committee(learner_list=members)


def test_committee_counts_and_labelled_data():
    group = committee()
    assert n_labelled(group) == 4 and is_fitted(group)
    assert list(labelled_data(group)[0]) == list(TEXTS[:4])
    assert LabelBudget(4).stop(group)
    assert (n_labelled(None), is_fitted(None), labelled_data(None)) == (0, False, (None, None))


def test_activellm_in_a_committee_never_returns_a_labelled_text():
    backend = CountingBackend("Final: 0, 1, 2")
    group = committee()
    group.query_strategy = ActiveLLM(backend=backend, random_state=0)
    idx, _ = group.query(TEXTS, n_instances=3)
    assert not set(TEXTS[idx]) & set(TEXTS[:4]) and len(set(idx.tolist())) == 3
    assert len(backend.requests[0].instances) == 6  # the 4 labelled texts are not shown
