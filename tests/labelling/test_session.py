"""Labelling sessions in-process: strategies, retraining, cross-validation, resuming."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from activellm_modal.labelling.dataset import LabelData, load_data
from activellm_modal.labelling.session import LabellingSession, embedding_table
from activellm_modal.labelling.store import LabelStore
from activellm_modal.labelling.strategies import StrategyContext, paper_recordings
from activellm_modal.parts import UniformPresenter

LABELS = ["negative", "positive"]


@pytest.fixture(scope="session")
def pool(pool_csv: Path) -> LabelData:
    return load_data(pool_csv)


@pytest.fixture(scope="session")
def truth(sst2_train) -> dict[int, str]:
    return {
        int(i): LABELS[int(y)] for i, y in zip(sst2_train["idx"], sst2_train["label"], strict=True)
    }


def _session(path: Path, data: LabelData, cache: Path, **kwargs) -> LabellingSession:
    store = LabelStore.open(path, fingerprint=data.fingerprint, labels=LABELS, source=data.source)
    return LabellingSession(data, store, cache_dir=cache / "emb", **kwargs)


def _label_pending(session: LabellingSession, truth: dict[int, str]) -> list[int]:
    rows = []
    for item in session.store.pending():
        session.label(item.row, truth.get(item.row, "negative"), client="test")
        rows.append(item.row)
    return rows


def test_default_strategy_kmeans_then_uncertainty_with_cv(
    tmp_path: Path, pool: LabelData, embed_cache: Path, truth: dict[int, str]
) -> None:
    from modAL.uncertainty import uncertainty_sampling
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from activellm_modal.experiments.kmeans import KMeansColdStart

    session = _session(tmp_path / "l.sqlite", pool, embed_cache, batch_size=6).start()
    assert session.wait_idle(300)
    store = session.store
    first = store.batch(0)
    # The same picks as the k-means cold start computed on its own, on the same embeddings.
    table = embedding_table(pool.texts, None, embed_cache / "emb")
    texts = np.asarray(pool.texts, dtype=object)
    expected, _ = KMeansColdStart(table.lookup, random_state=0)(None, texts, n_instances=6)
    assert [item.row for item in first] == pool.rows[expected].tolist()
    assert {item.picked_by for item in first} == {"cold_start: KMeansColdStart"}
    assert session.state()["accuracy"] is None

    labelled = _label_pending(session, truth)
    assert session.wait_idle(120)
    second = store.batch(1)
    assert {item.picked_by for item in second} == {"then: uncertainty_sampling"}
    # Round 2 is modAL's uncertainty sampling with the classifier trained on round 1.
    rest = [i for i, row in enumerate(pool.rows.tolist()) if row not in set(labelled)]
    model = LogisticRegression(C=10.0, max_iter=1000).fit(
        table.lookup([pool.texts[int(np.flatnonzero(pool.rows == r)[0])] for r in labelled]),
        [truth[r] for r in labelled],
    )

    class Learner:  # modAL's uncertainty_sampling only calls predict_proba
        def predict_proba(self, X):
            return model.predict_proba(table.lookup(list(X)))

    picks, _ = uncertainty_sampling(Learner(), texts[rest], n_instances=6)
    assert sorted(item.row for item in second) == sorted(
        pool.rows[np.asarray(rest)[picks]].tolist()
    )

    labelled += _label_pending(session, truth)
    assert session.wait_idle(120)
    state = session.state()
    X = [pool.texts[int(np.flatnonzero(pool.rows == r)[0])] for r in labelled]
    y = [truth[r] for r in labelled]
    folds = min(5, min(y.count(label) for label in LABELS))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    scores = cross_val_score(LogisticRegression(C=10.0, max_iter=1000), table.lookup(X), y, cv=cv)
    assert state["accuracy"]["n"] == 12 and state["accuracy"]["folds"] == folds
    assert state["accuracy"]["mean"] == pytest.approx(scores.mean())
    assert state["n_labelled"] == 12 and state["rounds"] == 3 and state["item"]["round"] == 3
    session.stop()
    store.close()


@pytest.mark.parametrize("strategy", ["default", "random"])
def test_a_restart_gives_the_same_next_batch(
    tmp_path: Path, pool: LabelData, embed_cache: Path, truth: dict[int, str], strategy: str
) -> None:
    straight = _session(tmp_path / "a.sqlite", pool, embed_cache, strategy=strategy, batch_size=5)
    straight.next_batch()
    _label_pending(straight, truth)
    uninterrupted = [item.row for item in straight.next_batch()]
    straight.store.close()

    first = _session(tmp_path / "b.sqlite", pool, embed_cache, strategy=strategy, batch_size=5)
    first.next_batch()
    _label_pending(first, truth)
    first.store.close()  # the server stops here; a new one opens the same database
    resumed = _session(tmp_path / "b.sqlite", pool, embed_cache, strategy=strategy, batch_size=5)
    assert [item.row for item in resumed.next_batch()] == uninterrupted
    resumed.store.close()


def test_paper_replays_gpt4_on_an_sst2_slice(tmp_path: Path, shared_dir: Path, embed_cache) -> None:
    from activellm_modal.llm.replay import ReplayBackend, recorded_sampler
    from activellm_modal.strategies.activellm import ActiveLLM

    recordings = paper_recordings(shared_dir / "paper", "sst2")
    assert [r.run for r in recordings] == [1, 2, 3, 4, 5]
    keep = [row for r in recordings for row in r.ids]
    data = load_data("sst2", limit=100, data_dir=shared_dir / "datasets", keep_rows=keep)
    context = StrategyContext(recordings=recordings, labels=LABELS)
    session = _session(
        tmp_path / "p.sqlite", data, embed_cache, strategy="paper", batch_size=8, context=context
    )
    batch = session.next_batch()
    assert batch[0].picked_by == "ActiveLLM, gpt-4 answer replayed (answers/sst2/10/answer_1.txt)"
    # The same rows as GPT-4's recorded answer replayed on the full SST-2 pool, as the demo does.
    from activellm_modal.data import read_split

    full = read_split(shared_dir / "datasets", "sst2", "train")["text"].to_numpy(dtype=object)
    run1 = recordings[0]
    llm = ActiveLLM(
        backend=ReplayBackend([run1]),
        random_state=run1.run,
        presenter=UniformPresenter(
            n_presented=len(run1.ids), skip_duplicates=False, sampler=recorded_sampler(run1.ids)
        ),
    )
    expected, _ = llm(None, full, n_instances=8)
    assert [item.row for item in batch] == expected.tolist()
    for item in batch:
        session.store.label(item.row, "positive", client="t")
    assert "answer_2.txt" in session.next_batch()[0].picked_by
    session.store.close()


SECRET = "sk-labelling-SECRET-0123456789"


def test_live_endpoint_key_reaches_only_the_header(
    tmp_path: Path, pool: LabelData, embed_cache: Path, llm_server, monkeypatch, caplog
) -> None:
    from tests.openai_server import pick_longest

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    llm_server.default = lambda body: pick_longest(body, 5)
    context = StrategyContext(base_url=llm_server.url, model="scripted", labels=LABELS)
    caplog.set_level(logging.DEBUG)
    session = _session(
        tmp_path / "k.sqlite", pool, embed_cache, strategy="paper", batch_size=5, context=context
    ).start()
    assert session.wait_idle(120)
    batch = session.store.batch(0)
    assert len(batch) == 5 and batch[0].picked_by == "ActiveLLM(scripted)"
    request = llm_server.chat_requests[0]
    assert request["headers"]["authorization"] == f"Bearer {SECRET}"
    shown = request["body"]["messages"][-1]["content"]
    longest = sorted((item.text for item in batch), key=len)
    assert all(text in shown for text in longest)
    state = json.dumps(session.state())
    session.stop()
    session.store.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("k.sqlite*"))
    assert SECRET not in state and SECRET.encode() not in stored and SECRET not in caplog.text
