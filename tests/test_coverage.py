"""CoveragePresenter, diversify and their wiring into ActiveLLM, on small pools."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from activellm_modal import ActiveLLM
from activellm_modal.embeddings.cache import EmbeddingCache
from activellm_modal.llm import Completion
from activellm_modal.parts import Diversify, Prompt, RegionPresenter, UniformPresenter
from activellm_modal.presets import PRESETS, make_strategy, preset_params
from activellm_modal.query.coverage import (
    CoveragePresenter,
    coverage_order,
    local_density,
    present_with_coverage,
    typical_points,
)
from activellm_modal.query.diversify import diversify, diversify_balanced

# Four well-separated topics; a text's topic is its first word.
TOPICS = ("football", "cooking", "finance", "astronomy")
CENTRES = {topic: np.eye(4)[i] * 10 for i, topic in enumerate(TOPICS)}


def blob_texts(n_per_topic: int = 30) -> list[str]:
    return [f"{topic} text {i}" for topic in TOPICS for i in range(n_per_topic)]


def blob_embed(texts: list[str]) -> np.ndarray:
    """Topic centre plus a small deterministic offset per text (a real embedder's role)."""
    out = []
    for text in texts:
        topic, _, number = text.split()
        jitter = np.random.default_rng(int(number)).normal(scale=0.3, size=4)
        out.append(CENTRES[topic] + jitter)
    return np.asarray(out)


class FirstK:
    """Names the first k positions it is asked for (a position-biased LLM)."""

    def complete(self, request):
        self.request = request
        return Completion(", ".join(str(i) for i in range(request.k)))


class RandomPicks:
    """Names k random positions (an LLM with no judgement)."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def complete(self, request):
        self.request = request
        n = len(request.instances)
        picks = self.rng.choice(n, size=min(request.k, n), replace=False)
        return Completion(", ".join(map(str, picks.tolist())))


def topic(text: str) -> str:
    return text.split()[0]


def test_coverage_order_puts_one_per_group_first():
    vectors = blob_embed(blob_texts(10))
    order = coverage_order(vectors, np.ones(len(vectors)), 4, np.random.default_rng(0))
    assert sorted(order.tolist()) == list(range(len(vectors)))
    firsts = {int(np.argmax(vectors[i])) for i in order[:4]}
    assert firsts == {0, 1, 2, 3}


def test_present_with_coverage_shows_every_region_with_mass():
    vectors = blob_embed(blob_texts(25))
    shown, mass, density = present_with_coverage(vectors, 12, 4, np.random.default_rng(1))
    assert len(set(shown.tolist())) == 12
    assert mass.sum() == pytest.approx(len(vectors))
    assert density is not None and len(density) == 12
    assert {int(np.argmax(vectors[i])) for i in shown[:4]} == {0, 1, 2, 3}


def test_local_density_prefers_crowded_points():
    X = np.array([[0.0], [0.01], [0.02], [0.03], [3.0], [7.0]])
    density = local_density(X, knn=2)
    assert density[:4].min() > density[4:].max()


def test_typical_points_is_seeded_and_one_per_cluster():
    vectors = blob_embed(blob_texts(20))
    a, _ = typical_points(vectors, 4, np.random.default_rng(3))
    b, _ = typical_points(vectors, 4, np.random.default_rng(3))
    assert a.tolist() == b.tolist()
    assert {int(np.argmax(vectors[i])) for i in a} == {0, 1, 2, 3}


def test_diversify_keeps_one_per_region_from_lopsided_nominees():
    texts = blob_texts(20)
    # 30 nominees: 24 football, then two of each other topic.
    nominees = [*range(24), 20, 21, 40, 41, 60, 61]
    vectors = blob_embed([texts[i] for i in nominees])
    for method in ("kmeans", "kcenter"):
        kept = diversify(vectors, 4, method=method, rng=np.random.default_rng(0))
        assert len(kept) == 4 and kept.tolist() == sorted(kept.tolist())
        assert {topic(texts[nominees[i]]) for i in kept} == set(TOPICS)


def test_diversify_returns_all_when_few_and_rejects_unknown_method():
    vectors = np.zeros((3, 2))
    assert diversify(vectors, 5).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="kmeans"):
        diversify(vectors, 1, method="dpp")


def test_diversify_balanced_meets_quotas():
    texts = blob_texts(10)
    vectors = blob_embed(texts)
    guesses = ["pos" if i % 2 else "neg" for i in range(len(texts))]
    kept = diversify_balanced(vectors, guesses, {"neg": 3, "pos": 1})
    assert sorted(guesses[i] for i in kept) == ["neg", "neg", "neg", "pos"]
    # A label with too few nominees: the rest comes from the others.
    kept = diversify_balanced(vectors[:3], ["a", "b", "b"], {"a": 2, "b": 1})
    assert len(kept) == 3


def test_embedding_cache_encodes_each_text_once_and_persists(tmp_path):
    calls = []

    def embed(texts):
        calls.append(list(texts))
        return blob_embed(texts)

    cache = EmbeddingCache(embed, cache_dir=tmp_path)
    texts = blob_texts(3)
    first = cache(texts)
    again = EmbeddingCache(embed, cache_dir=tmp_path)(texts[::-1])
    assert len(calls) == 1
    np.testing.assert_allclose(again, first[::-1], rtol=1e-6)
    with pytest.raises(ValueError, match="one row per text"):
        EmbeddingCache(lambda texts: np.zeros((1, 2)))(["a", "b"])


def test_activellm_coverage_first_k_llm_covers_every_topic():
    texts = blob_texts(30)
    backend = FirstK()
    strategy = ActiveLLM(
        backend=backend,
        random_state=0,
        presenter=RegionPresenter(
            n_presented=20, regions=CoveragePresenter(embedder=blob_embed, subsample=100)
        ),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the first-k answer is flagged as degenerate
        indices, _ = strategy(None, texts, n_instances=4)
    assert {topic(texts[i]) for i in indices} == set(TOPICS)
    assert len(backend.request.instances) == 20
    # The uniform presentation gives the same LLM no such guarantee.
    misses = 0
    for seed in range(10):
        uniform = make_strategy(
            "paper", backend=FirstK(), random_state=seed, presenter__n_presented=20
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got, _ = uniform(None, texts, n_instances=4)
        misses += {topic(texts[i]) for i in got} != set(TOPICS)
    assert misses > 0


def test_activellm_diversify_asks_for_more_and_keeps_k():
    texts = blob_texts(30)
    backend = RandomPicks(0)
    strategy = ActiveLLM(
        backend=backend,
        random_state=1,
        presenter=RegionPresenter(
            n_presented=24, regions=CoveragePresenter(embedder=blob_embed, subsample=100)
        ),
        prompt=Prompt(guidance="representative"),
        narrower=Diversify(method="kmeans", nominate=3),
    )
    indices, _ = strategy.select(texts, 4)
    assert backend.request.k == 12
    assert len(set(indices.tolist())) == 4
    assert set(indices.tolist()) <= set(strategy.last_query_.presented)
    assert strategy.last_query_.n_filled == 0
    assert {topic(texts[i]) for i in indices} == set(TOPICS)
    assert "represent the whole set" in backend.request.messages[0]["content"]


def test_activellm_diversify_with_balance_fills_quotas():
    texts = blob_texts(20)

    class Picks:
        def complete(self, request):
            picks = [{"position": p, "label": "pos" if p % 2 else "neg"} for p in range(request.k)]
            import json

            return Completion(json.dumps({"picks": picks}))

    strategy = ActiveLLM(
        backend=Picks(),
        labels=["neg", "pos"],
        random_state=0,
        presenter=RegionPresenter(
            n_presented=20, regions=CoveragePresenter(embedder=blob_embed, subsample=80)
        ),
        narrower=Diversify(method="kmeans", balance="equal"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        indices, _ = strategy.select(texts, 6)
    assert len(set(indices.tolist())) == 6
    guessed = strategy.last_query_.guessed_labels
    assert sorted(guessed) == ["neg"] * 3 + ["pos"] * 3


def test_pipeline_params_are_validated_and_survive_clone_and_pickle():
    strategy = ActiveLLM(
        backend=FirstK(), presenter=RegionPresenter(), narrower=Diversify(method="kcenter")
    )
    assert clone(strategy).get_params()["narrower__method"] == "kcenter"
    assert isinstance(pickle.loads(pickle.dumps(strategy)).presenter, RegionPresenter)
    for bad, match in (
        ({"presenter": CoveragePresenter()}, "presenter"),
        ({"narrower": Diversify(method="dpp")}, "method"),
        ({"narrower": Diversify(nominate=0.5)}, "nominate"),
        ({"prompt": Prompt(guidance="funny")}, "guidance"),
    ):
        with pytest.raises(ValueError, match=match):
            ActiveLLM(backend=FirstK(), **bad).select(["a", "b", "c"], 1)


def test_presets():
    assert isinstance(preset_params("paper")["presenter"], UniformPresenter)
    assert set(PRESETS) >= {"paper", "coverage", "diverse", "local"}
    default = ActiveLLM()
    coverage = make_strategy("coverage")
    # The "coverage" preset is the default composition, spelled out.
    for name in ("presenter", "prompt", "narrower"):
        assert repr(getattr(coverage, name)) == repr(getattr(default, f"_{name}_part")())
    strategy = make_strategy("diverse", backend=FirstK(), presenter__n_presented=50)
    assert strategy.presenter.n_presented == 50 and strategy.narrower.method == "kmeans"
    assert preset_params("paper")["presenter"] is not preset_params("paper")["presenter"]
    with pytest.raises(ValueError, match="unknown preset"):
        preset_params("best")


def test_coverage_presenter_plugs_in_as_a_sampler():
    texts = blob_texts(20)
    presenter = CoveragePresenter(embedder=blob_embed, subsample=60, n_groups=4)
    strategy = ActiveLLM(
        backend=FirstK(),
        random_state=0,
        presenter=UniformPresenter(n_presented=12, sampler=presenter),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        indices, _ = strategy.select(texts, 4)
    assert {topic(texts[i]) for i in indices} == set(TOPICS)
    assert strategy.last_query_.presented[:4] == indices.tolist()
