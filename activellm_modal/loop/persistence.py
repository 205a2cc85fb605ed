"""Saving a whole active-learning loop and resuming it where it stopped.

modAL has no save/load; pickling a learner by hand loses the strategy's state
or, worse, writes the API key to disk. :func:`save_loop` keeps everything a loop
needs to go on with identical next queries: the learner (its estimator and
labelled data), the query strategy with its counters, usage and history
(ActiveLLM's random streams are derived from ``random_state`` and the query
count, so they continue exactly), the labelled pool indices, and anything else
you pass. API keys and HTTP clients are never written: after loading, the key
comes from ``OPENAI_API_KEY`` again (or ``set_params(api_key=...)``).
"""

from __future__ import annotations

import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_FORMAT = 1


@dataclass
class SavedLoop:
    """What :func:`load_loop` returns.

    Attributes
    ----------
    learner : object
        The modAL learner, with its ``query_strategy``.
    labelled : list of int
        Pool indices labelled so far, in labelling order.
    extra : dict
        Anything else passed to :func:`save_loop` (e.g. the remaining pool mask).
    versions : dict
        Package versions when the loop was saved.
    """

    learner: Any
    labelled: list[int] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def strategy(self) -> Any:
        """The learner's query strategy (ActiveLLM, HybridStrategy, ...)."""
        return getattr(self.learner, "query_strategy", None)


def save_loop(
    path: str | os.PathLike[str],
    learner: Any,
    labelled: list[int] | None = None,
    **extra: Any,
) -> Path:
    """Write a loop to ``path`` atomically (a crash never leaves half a file).

    Parameters
    ----------
    path : str or Path
        Target file; its folder is created.
    learner : modAL learner
        ``ActiveLearner``, ``Committee`` or any picklable learner; its
        ``query_strategy`` is saved with it.
    labelled : list of int, optional
        Pool indices labelled so far.
    **extra
        Further picklable state to keep (e.g. ``pool_mask=mask``).

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import tempfile, os
    >>> from activellm_modal import ActiveLLM
    >>> from modAL.models import ActiveLearner
    >>> from sklearn.linear_model import LogisticRegression
    >>> learner = ActiveLearner(LogisticRegression(), query_strategy=ActiveLLM(api_key="sk-x"))
    >>> path = save_loop(os.path.join(tempfile.mkdtemp(), "loop.pkl"), learner, [4, 2], note="hi")
    >>> loop = load_loop(path)
    >>> loop.labelled, loop.extra, loop.strategy.api_key
    ([4, 2], {'note': 'hi'}, None)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = SavedLoop(learner, list(labelled or []), dict(extra), _versions())
    payload = {"format": _FORMAT, "loop": state}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(payload, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_loop(path: str | os.PathLike[str]) -> SavedLoop:
    """Read a loop written by :func:`save_loop`.

    Only load files you wrote yourself: like every pickle, the file can run code.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No saved loop at {path}: pass the file save_loop() wrote.")
    with path.open("rb") as handle:
        payload = pickle.load(handle)
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise ValueError(
            f"{path} is not a loop saved by activellm_modal.save_loop (format {_FORMAT})."
        )
    return payload["loop"]


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("activellm-modal", "modAL-python", "scikit-learn", "numpy", "torch"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found
