"""One labelling session: rounds of picks, the store, and retraining in the background.

The web page only reads :meth:`LabellingSession.state` and posts labels; all
slow work (embedding the pool, fitting the classifier, asking the strategy for
the next batch, cross-validation) runs on one worker thread, so a label is
stored and confirmed without waiting for any of it.

A batch is stored the moment the strategy picks it, so a restarted session
shows the same remaining texts. The next batch depends only on the labels in
the database, the round number and the seed (the strategy's state is stored
with each batch), so it is the same whether or not the server was restarted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from activellm_modal.labelling.dataset import LabelData
from activellm_modal.labelling.store import BatchItem, LabelStore
from activellm_modal.labelling.strategies import (
    StrategyContext,
    build_strategy,
    describe,
    needs_model,
)
from activellm_modal.labelling.suggest import Suggester, selection_guesses

logger = logging.getLogger(__name__)


class LabellingSession:
    """Rounds of a human-in-the-loop modAL loop, backed by a :class:`LabelStore`.

    Parameters
    ----------
    data : LabelData
        The pool.
    store : LabelStore
        The session's database (opened for ``data``).
    strategy : str, default="default"
        A name of :data:`~activellm_modal.labelling.strategies.STRATEGIES`.
    batch_size : int, default=10
        Texts per round.
    classifier : scikit-learn classifier, optional
        Trained on the frozen embeddings (the default encoder) of the labelled texts after each
        batch; default ``LogisticRegression(C=10, max_iter=1000)``.
    context : StrategyContext, optional
        Seed and LLM settings for the strategy.
    embed_model : str, optional
        Encoder name or folder (default: the package's default encoder).
    cache_dir : str or Path, optional
        Where pool embeddings are kept between runs.
    min_cv_labels : int, default=10
        Labels needed before the cross-validated accuracy is shown.
    suggester : Suggester, optional
        Asks an LLM for a suggested label of every picked text (one call per
        batch, on the worker), unless the selection call already guessed one.
    """

    def __init__(
        self,
        data: LabelData,
        store: LabelStore,
        *,
        strategy: str = "default",
        batch_size: int = 10,
        classifier: Any = None,
        context: StrategyContext | None = None,
        embed_model: str | None = None,
        cache_dir: str | Path | None = None,
        min_cv_labels: int = 10,
        suggester: Suggester | None = None,
    ) -> None:
        self.data = data
        self.store = store
        self.strategy = strategy
        self.batch_size = batch_size
        self.classifier = classifier
        self.context = context or StrategyContext()
        self.embed_model = embed_model
        self.cache_dir = cache_dir
        self.min_cv_labels = min_cv_labels
        self.suggester = suggester
        # Rounds whose suggestion call failed: not asked again until "Try again" (kick).
        self._suggest_failed: set[int] = set()
        self._suggest_note = ""
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._status = "starting"
        self._message = ""
        self._accuracy: dict[str, Any] | None = None
        self._trained_on = -1
        self._table: Any = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> LabellingSession:
        """Start the worker: it embeds the pool, picks a batch if none is pending, retrains."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="labelling-worker", daemon=True)
            self._thread.start()
        self.kick()
        return self

    def stop(self) -> None:
        """Stop the worker after its current step."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def kick(self, retry: bool = False) -> None:
        """Ask the worker to check for work (a finished batch, labels to retrain on).

        ``retry`` also asks again for the suggestions of batches whose call failed.
        """
        if retry:
            with self._lock:
                self._suggest_failed.clear()
                self._suggest_note = ""  # asked again: pending until the call answers or fails
        self._idle.clear()
        self._wake.set()

    def wait_idle(self, timeout: float = 120.0) -> bool:
        """Block until the worker has nothing left to do (for tests and scripts)."""
        return self._idle.wait(timeout)

    # -- what the page sees and does -----------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything the page shows, as JSON-ready data (no settings, no secrets)."""
        pending = self.store.pending()
        item = None
        if pending:
            first = pending[0]
            batch = self.store.batch(first.round)
            item = {
                "row": first.row,
                "text": first.text,
                "round": first.round + 1,
                "position": first.position + 1,
                "batch_size": len(batch),
                "left_in_batch": sum(1 for other in pending if other.round == first.round),
                "picked_by": f"{first.strategy}: {first.picked_by}",
                "pair": self.data.pair_of(first.row),
                "suggestion": self._suggestion_of(first.row),
            }
        counts = self.store.counts()
        with self._lock:
            status = "labelling" if item else self._status
            message = self._message
            accuracy = dict(self._accuracy) if self._accuracy else None
        return {
            "status": status,
            "message": message,
            "item": item,
            "labels": self.store.labels,
            "counts": counts,
            "n_labelled": sum(counts.values()),
            "n_skipped": self.store.n_skipped(),
            "n_pool": len(self.data),
            "rounds": self.store.n_rounds(),
            "strategy": self.strategy,
            "accuracy": accuracy,
            "accuracy_note": self._accuracy_note(counts),
            "curve": self.store.curve(),
            "suggestions": self._suggestions_state(),
        }

    def _suggestion_of(self, row: int) -> dict[str, Any] | None:
        if self.suggester is None:
            return None
        found = self.store.suggestion(row)
        if found is None:
            with self._lock:
                failed = bool(self._suggest_note)
            note = "the LLM call failed (see the note below)" if failed else ""
            return {"label": None, "by": self.suggester.name, "note": note, "pending": not failed}
        return {
            "label": found["label"],
            "by": found["source"],
            "note": found["note"],
            "pending": False,
        }

    def _suggestions_state(self) -> dict[str, Any]:
        if self.suggester is None:
            return {"enabled": False}
        with self._lock:
            note = self._suggest_note
        return {
            "enabled": True,
            "by": self.suggester.name,
            "note": note,
            "agreement": self.store.agreement(),
        }

    def label(self, row: int, label: str | None, client: str) -> int:
        """Store one label (``None`` = skip); the worker is woken when a batch is done."""
        event = self.store.label(row, label, client=client)
        if not self.store.pending():
            self.kick()
        return event

    def undo(self, client: str) -> int | None:
        """Take back ``client``'s last label; returns the row, which is shown again."""
        return self.store.undo(client)

    # -- the worker ----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self._step()
            except Exception as error:  # shown on the page; the labels stay safe in the store
                logger.exception("labelling worker failed")
                self._set("error", f"{type(error).__name__}: {error}")
            if not self._wake.is_set():
                self._idle.set()

    def _set(self, status: str, message: str = "") -> None:
        with self._lock:
            self._status, self._message = status, message

    def _step(self) -> None:
        if not self.store.pending():
            if len(self.store.picked_rows()) >= len(self.data):
                self._set("done", "Every text of the pool has been shown.")
            else:
                self._set("preparing", "Picking the next batch...")
                self.next_batch()
        self._suggest()
        labelled = self.store.labelled()
        if len(labelled) != self._trained_on:
            self._set(self._status, "Retraining the classifier...")
            self._cross_validate(labelled)
            self._trained_on = len(labelled)
        self._set(self._status, "")

    def next_batch(self) -> list[BatchItem]:
        """Ask the strategy for the next round and store it (nothing happens if one is pending)."""
        from activellm_modal.loop.compat import patch_modal

        patch_modal()
        round_ = self.store.n_rounds()
        picked = self.store.picked_rows()
        keep = np.asarray([int(row) not in picked for row in self.data.rows.tolist()])
        positions = np.flatnonzero(keep)
        if positions.size == 0:
            return []
        X_pool = np.asarray([self.data.texts[i] for i in positions], dtype=object)
        if needs_model(self.strategy):
            self._embeddings()
        context = StrategyContext(**{**vars(self.context), "embed": self._embed_lookup()})
        strategy = build_strategy(self.strategy, context)
        state = self.store.meta("strategy_state")
        if state and hasattr(strategy, "load_state_dict"):
            strategy.load_state_dict(json.loads(state))
        learner = self._learner(strategy, self.store.labelled())
        chosen, _ = learner.query(X_pool, n_instances=min(self.batch_size, len(X_pool)))
        chosen = np.asarray(chosen, dtype=int).tolist()
        items = [(int(self.data.rows[positions[i]]), self.data.texts[positions[i]]) for i in chosen]
        self.store.add_batch(
            round_,
            items,
            strategy=self.strategy,
            picked_by=describe(strategy),
            state=strategy.state_dict() if hasattr(strategy, "state_dict") else None,
        )
        guesses = selection_guesses(strategy, chosen, self.store.labels)
        if guesses and self.suggester is not None:
            # The selection call already guessed these labels: no second call for them.
            self.store.add_suggestions(
                [(int(self.data.rows[positions[i]]), label, "") for i, label in guesses.items()],
                source=f"{self.suggester.name} (selection call)",
            )
        return self.store.batch(round_)

    # -- suggestions ---------------------------------------------------------------------

    def _suggest(self) -> None:
        """Ask for the suggestions of every picked text without one, one call per batch.

        A failed call is logged without its details' secrets (the backend's
        errors never hold the key), noted on the page, and not repeated until
        "Try again": the texts stay labellable all along.
        """
        if self.suggester is None:
            return
        by_round: dict[int, list[BatchItem]] = {}
        for item in self.store.unsuggested():
            by_round.setdefault(item.round, []).append(item)
        for round_, items in by_round.items():
            with self._lock:
                if round_ in self._suggest_failed:
                    continue
            self._set(self._status, f"Asking {self.suggester.name} for suggestions...")
            try:
                answers = self.suggester.suggest([item.text for item in items])
            except Exception as error:  # any failure: the page stays usable and says so
                logger.warning("suggestion call failed: %s: %s", type(error).__name__, error)
                with self._lock:
                    self._suggest_failed.add(round_)
                    self._suggest_note = (
                        f"LLM suggestions unavailable for batch {round_ + 1} "
                        f"({type(error).__name__}: {_first_line(error)}); label as usual, "
                        "or press Try again."
                    )
                continue
            self.store.add_suggestions(
                [
                    (item.row, answer.label, answer.note)
                    for item, answer in zip(items, answers, strict=True)
                ],
                source=self.suggester.name,
            )
            with self._lock:
                if not self._suggest_failed:
                    self._suggest_note = ""

    # -- the classifier ------------------------------------------------------------------

    def _estimator(self) -> Any:
        from sklearn.base import clone
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        from activellm_modal.experiments.embedding_table import CachedEmbedder

        # C=10: with few unit-norm embeddings the default C=1 shrinks the model to the prior.
        classifier = self.classifier or LogisticRegression(C=10.0, max_iter=1000)
        return make_pipeline(CachedEmbedder(self._embeddings()), clone(classifier))

    def _learner(self, strategy: Any, labelled: list[dict[str, Any]]) -> Any:
        from modAL.models import ActiveLearner

        X, y = _training(labelled)
        if not needs_model(self.strategy) or len(set(y.tolist())) < 2:
            # Nothing to fit yet (or the strategy never asks the model): an unfitted learner.
            return ActiveLearner(estimator=_Unfitted(), query_strategy=strategy)
        return ActiveLearner(
            estimator=self._estimator(), query_strategy=strategy, X_training=X, y_training=y
        )

    def _cross_validate(self, labelled: list[dict[str, Any]]) -> None:
        from sklearn.model_selection import StratifiedKFold, cross_val_score

        X, y = _training(labelled)
        _, per_class = np.unique(y, return_counts=True) if len(y) else ([], np.array([0]))
        folds = int(min(5, per_class.min())) if len(per_class) >= 2 else 0
        if len(y) < self.min_cv_labels or folds < 2:
            return
        started = time.perf_counter()
        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
        scores = cross_val_score(self._estimator(), X, y, cv=cv)
        # One point of the learning curve per retraining, kept with the labels.
        rounds = [row["round"] for row in labelled]
        self.store.add_curve_point(
            len(y), float(scores.mean()), float(scores.std()), folds, max(rounds) + 1
        )
        with self._lock:
            self._accuracy = {
                "mean": float(scores.mean()),
                "std": float(scores.std()),
                "folds": folds,
                "n": len(y),
                "seconds": round(time.perf_counter() - started, 3),
            }

    def _accuracy_note(self, counts: dict[str, int]) -> str:
        if self._accuracy:
            return ""
        return (
            f"shown once {self.min_cv_labels} texts are labelled, at least 2 in each of two "
            "classes (after a finished batch)"
        )

    # -- embeddings ----------------------------------------------------------------------

    def _embed_lookup(self) -> Any:
        def embed(X: Any) -> np.ndarray:
            return self._embeddings().lookup(X)

        return embed

    def _embeddings(self) -> Any:
        if self._table is None:
            self._set(self._status, f"Embedding {len(self.data)} texts (once; then cached)...")
            self._table = embedding_table(self.data.texts, self.embed_model, self.cache_dir)
        return self._table


def _first_line(error: BaseException, limit: int = 200) -> str:
    text = str(error).strip().splitlines()
    return text[0][:limit] if text else ""


class _Unfitted:
    """The estimator of a learner that has no labels to fit yet (cold start)."""

    def fit(self, X: Any, y: Any) -> _Unfitted:
        return self


def _training(labelled: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray([row["text"] for row in labelled], dtype=object)
    y = np.asarray([row["label"] for row in labelled], dtype=object)
    return X, y


def embedding_table(
    texts: list[str], model: str | None = None, cache_dir: str | Path | None = None
) -> Any:
    """Frozen embeddings of the distinct ``texts`` (default encoder), cached on disk atomically.

    The cache file is named by a hash of the model and the texts; it is written
    to a temporary file and renamed, so a killed server never leaves half of one.
    """
    from activellm_modal.experiments.embedding_table import EmbeddingTable

    if model is None:
        from activellm_modal.embeddings import encoder_path

        model = encoder_path("default")
    unique = sorted(set(texts))
    digest = hashlib.sha1(f"{Path(model).name}\x00{64}".encode())
    for text in unique:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\x00")
    path = Path(cache_dir) / f"labelling-{digest.hexdigest()[:16]}.npy" if cache_dir else None
    if path is not None and path.is_file():
        try:
            return EmbeddingTable(unique, np.load(path))
        except (ValueError, OSError):
            logger.warning("embedding cache %s unreadable; recomputing", path)
    from activellm_modal.embeddings import SentenceEmbedder

    vectors = SentenceEmbedder(model, max_length=64).fit(["."]).transform(unique)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npy")
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, vectors)
        os.replace(tmp, path)
    return EmbeddingTable(unique, vectors)
