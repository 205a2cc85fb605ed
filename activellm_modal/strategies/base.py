"""The base of the strategy family: what every modAL query strategy here shares.

:class:`~activellm_modal.ActiveLLM`, :class:`~activellm_modal.HybridStrategy`,
:class:`~activellm_modal.LLMReRanker` and
:class:`~activellm_modal.SubsampledStrategy` are all called by modAL as
``strategy(learner, X_pool, n_instances)``. They share:

* the **retry guard**: modAL's ``query`` calls a strategy a second time when the
  first call raises (a bare ``except``). Whatever failed (an endpoint error, a
  warning turned into an error, a bad fallback), the second call re-raises the
  same error instead of paying for the work (an LLM call) again;
* modAL's compatibility fixes, applied on first use
  (:func:`~activellm_modal.loop.compat.auto_patch`);
* a **random stream per query**: with an int ``random_state``, query ``i``
  draws from the seed ``(random_state, i)``, so a rerun (or a resumed session)
  repeats every query and successive queries differ;
* the **state** of a session: ``n_queries_``, ``history_``,
  :meth:`~QueryStrategy.state_dict` / :meth:`~QueryStrategy.load_state_dict`
  (plain JSON data), and pickling without transient parts (a failure's
  traceback, a client holding sockets);
* declarative parameter validation (``_parameter_constraints``, scikit-learn's
  own machinery), run at query time before anything is paid for.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from activellm_modal.loop.compat import auto_patch

__all__ = ["QueryStrategy", "query_rng"]


def query_rng(random_state: Any, n_done: int) -> np.random.Generator:
    """The generator of query number ``n_done`` (0-based) for ``random_state``.

    A Generator is used as it is (its state is the stream); None draws fresh
    entropy; an int gives the stream ``(random_state, n_done)``.

    Examples
    --------
    >>> a = query_rng(0, 3).integers(1000)
    >>> bool(a == query_rng(0, 3).integers(1000)), bool(a == query_rng(0, 4).integers(1000))
    (True, False)
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None:
        return np.random.default_rng()
    return np.random.default_rng([int(random_state), int(n_done)])


class QueryStrategy(BaseEstimator):
    """Base class of the modAL query strategies of this package.

    Subclasses implement :meth:`_query` and declare ``_record_type`` (the
    dataclass of their ``history_`` entries); they may add state through
    :meth:`_extra_state` / :meth:`_load_extra_state`.

    Attributes
    ----------
    n_queries_ : int
        Queries answered so far.
    history_ : list
        One record per query.
    """

    _record_type: ClassVar[type | None] = None

    def __new__(cls, *args: Any, **kwargs: Any) -> QueryStrategy:
        # modAL checks the first teach's input before any query: patch on creation.
        auto_patch()
        return super().__new__(cls)

    #: Attributes that never go into a pickle (rebuilt on demand).
    _transient: ClassVar[tuple[str, ...]] = ("_failure",)

    def __call__(
        self, learner: Any, X_pool: Any, n_instances: int = 1, **kwargs: Any
    ) -> tuple[np.ndarray, Any]:
        """Select ``n_instances`` rows of ``X_pool``; the modAL strategy signature."""
        auto_patch()
        replay = self._pending_failure(X_pool, n_instances)
        if replay is not None:
            raise replay
        try:
            return self._query(learner, X_pool, n_instances, **kwargs)
        except BaseException as error:
            if isinstance(error, Exception):
                self._failure = (id(X_pool), n_instances, error)
            raise

    def _query(
        self, learner: Any, X_pool: Any, n_instances: int, **kwargs: Any
    ) -> tuple[np.ndarray, Any]:
        raise NotImplementedError

    def _pending_failure(self, X_pool: Any, n_instances: int) -> Exception | None:
        """The error to re-raise when modAL retries the query that just failed."""
        failure = getattr(self, "_failure", None)
        self._failure = None
        if failure is None or failure[:2] != (id(X_pool), n_instances):
            return None
        # Skip this package's __call__ frames (a subclass may wrap the base's) to find
        # whoever called the strategy.
        frame = sys._getframe(1)
        while (
            frame is not None
            and frame.f_code.co_name == "__call__"
            and frame.f_globals.get("__name__", "").startswith("activellm_modal")
        ):
            frame = frame.f_back
        caller = "" if frame is None else frame.f_globals.get("__name__", "")
        return failure[2] if caller.startswith("modAL") else None

    # -- state ---------------------------------------------------------------------------

    def _start_state(self) -> None:
        if not hasattr(self, "n_queries_"):
            self.n_queries_ = 0
            self.history_: list[Any] = []
            self._init_state()

    def _init_state(self) -> None:
        """Set the subclass's own fitted attributes to their start values."""

    def _rng(self, random_state: Any) -> np.random.Generator:
        self._start_state()
        return query_rng(random_state, self.n_queries_)

    def _append(self, record: Any) -> None:
        self.history_.append(record)
        self.n_queries_ += 1
        self._failure = None

    def state_dict(self) -> dict[str, Any]:
        """What the queries so far have changed, as plain (JSON-serialisable) data.

        Restored into a strategy built with the same parameters (and seeds), the
        next queries are those the original would have made. Parameters (and
        API keys) are not part of it.
        """
        self._start_state()
        state: dict[str, Any] = {
            "n_queries": self.n_queries_,
            "history": [asdict(record) for record in self.history_],
        }
        state.update(self._extra_state())
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> QueryStrategy:
        """Restore what :meth:`state_dict` returned; returns ``self``."""
        for name in [n for n in vars(self) if n.endswith("_") and not n.startswith("_")]:
            delattr(self, name)
        self._start_state()
        self.n_queries_ = int(state.get("n_queries", 0))
        record_type = self._record_type
        self.history_ = [
            record_type(**record) if record_type is not None else record
            for record in state.get("history", [])
        ]
        self._load_extra_state(state)
        return self

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        pass

    # -- pickling ------------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        for name in self._transient:
            state.pop(name, None)  # an exception holds frames; a client holds sockets
        return state
