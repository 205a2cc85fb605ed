"""A labelling page for the loop: a human labels what the strategy picks.

``activellm-modal label DATA --labels neg,pos`` starts it (see
:mod:`activellm_modal.labelling.command`). This package's modules:

``dataset``     the texts to label and their fingerprint
``store``       SQLite: every label committed the moment it is given
``suggest``     the LLM's suggested labels (one batched call per batch)
``strategies``  the ``--strategy`` registry
``session``     rounds, the strategy, retraining in the background
``app``         the FastAPI routes; ``static/`` holds the page

The web parts (FastAPI, uvicorn) are the ``[label]`` extra; reading a
database back needs neither.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from activellm_modal.labelling.store import LabelStore

__all__ = ["LabelStore", "load_labels", "load_learner"]


def load_labels(db: str | Path) -> Any:
    """The labels of a labelling database as a DataFrame (skips left out).

    Columns: ``row`` (the text's row in its source), ``text``, ``label`` (the
    person's), ``round``, ``position``, ``strategy``, ``picked_by``, ``time``,
    ``suggestion`` and ``suggested_by`` (the LLM's label, kept apart; None where
    there was none).
    """
    import pandas as pd

    from activellm_modal.labelling.store import EXPORT_FIELDS

    store = _open_existing(db)
    try:
        return pd.DataFrame(store.labelled(), columns=list(EXPORT_FIELDS))
    finally:
        store.close()


def load_learner(db: str | Path, estimator: Any, query_strategy: Any = None) -> Any:
    """A modAL ``ActiveLearner`` taught every label of the database ``db``.

    Parameters
    ----------
    db : str or Path
        A database written by ``activellm-modal label``.
    estimator : scikit-learn classifier
        Fitted on the labelled texts (so it must take raw texts, e.g. a
        ``make_pipeline(TfidfVectorizer(), LogisticRegression())``).
    query_strategy : callable, optional
        The learner's strategy (modAL's default: uncertainty sampling).

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> path = os.path.join(tempfile.mkdtemp(), "labels.sqlite")
    >>> store = LabelStore.open(path, fingerprint="toy", labels=["neg", "pos"], source="toy")
    >>> store.add_batch(0, [(0, "great fun"), (1, "dull and slow")], strategy="random",
    ...                 picked_by="random")
    True
    >>> _ = store.label(0, "pos", client="me"), store.label(1, "neg", client="me")
    >>> store.close()
    >>> learner = load_learner(path, make_pipeline(TfidfVectorizer(), LogisticRegression()))
    >>> learner.predict(["great"]).tolist(), len(learner.y_training)
    (['pos'], 2)
    """
    import numpy as np
    from modAL.models import ActiveLearner

    from activellm_modal.loop.compat import patch_modal

    patch_modal()
    frame = load_labels(db)
    X = np.asarray(frame["text"].tolist(), dtype=object)
    y = np.asarray(frame["label"].tolist(), dtype=object)
    kwargs = {} if query_strategy is None else {"query_strategy": query_strategy}
    if len(y) == 0:
        return ActiveLearner(estimator=estimator, **kwargs)
    return ActiveLearner(estimator=estimator, X_training=X, y_training=y, **kwargs)


def _open_existing(db: str | Path) -> LabelStore:
    from activellm_modal.exceptions import LabellingError
    from activellm_modal.labelling.store import _read_meta

    path = Path(db)
    if not path.is_file():
        raise LabellingError(f"No labelling database at {path}: pass the --db file of a session.")
    _read_meta(path)  # refuses files that are no labelling database, without writing
    return LabelStore(path)
