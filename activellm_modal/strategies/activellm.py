"""ActiveLLM as a modAL query strategy."""

from __future__ import annotations

import inspect
import logging
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral
from os import PathLike
from typing import Any, ClassVar

import numpy as np
from sklearn.utils._param_validation import HasMethods, Interval

from activellm_modal.exceptions import LLMEndpointError, SelectionWarning
from activellm_modal.llm.base import Completion, LLMBackend
from activellm_modal.llm.cache import AnswerCache, CachedBackend
from activellm_modal.llm.secrets import mask
from activellm_modal.loop.learners import labelled_data
from activellm_modal.parts.narrowers import FirstK, Narrower
from activellm_modal.parts.presenters import Presenter, RegionPresenter
from activellm_modal.parts.prompt import Prompt
from activellm_modal.query.balance import Picks
from activellm_modal.query.coverage import CoveragePresenter
from activellm_modal.query.fill import fill_rows
from activellm_modal.query.planning import Plan
from activellm_modal.query.pool import TextPool
from activellm_modal.query.presentation import Shown
from activellm_modal.query.reader import read_nominations
from activellm_modal.query.recap import Labelled, labelled_from
from activellm_modal.query.selection import is_degenerate
from activellm_modal.strategies.base import QueryStrategy
from activellm_modal.strategies.moved import MOVED, moved_message, refuse_moved
from activellm_modal.strategies.records import QueryBookkeeping, QueryRecord

logger = logging.getLogger(__name__)


@dataclass
class _Answer:
    """The LLM step's outcome: what was shown and asked, the answer, what it nominates."""

    shown: Shown
    plan: Plan
    completion: Completion
    seconds: float
    picks: Picks  # prompt positions, as read
    nominated: list[tuple[int, str | None]]  # pool rows (recaps dropped), label guesses
    ask_k: int
    n_calls: int
    notes: list[str]


class ActiveLLM(QueryBookkeeping, QueryStrategy):
    """Let an LLM choose which unlabelled texts to label (Bayer and Reuter, 2024).

    A modAL query strategy: ``ActiveLLM(...)(learner, X_pool, n_instances)``
    returns ``(indices, scores)``. Each query runs one way through four parts:
    the ``presenter`` chooses the texts shown (by default typical texts of
    every region, in an order whose first ``n_instances`` already cover the
    pool), the ``prompt`` says how the LLM is asked, the ``backend`` answers,
    and the ``narrower`` turns the positions read from the answer into
    ``n_instances`` pool rows (by default the LLM's first picks). It needs no
    labels and no trained model, so it works in the very first round, where
    uncertainty sampling cannot. One LLM call per query.

    Whatever the LLM answers, a query returns exactly
    ``min(n_instances, len(X_pool))`` distinct valid indices: refusals, too few,
    repeated or invented positions are filled by the narrower's ``fallback``
    and reported (a :class:`~activellm_modal.exceptions.SelectionWarning` and
    ``last_query_``).

    Parameters
    ----------
    model : str, default="gpt-4o"
        Model name on the endpoint (when ``backend`` is not given).
    base_url : str, optional
        Any OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp server, Azure
        OpenAI's ``.../openai/v1/``). Default: ``OPENAI_BASE_URL``, else OpenAI.
    api_key : str, optional
        Default: the ``OPENAI_API_KEY`` environment variable. Never shown in a
        prompt, log, repr, cache file or error message, and not pickled.
    backend : LLMBackend, optional
        Any object with ``complete(LLMRequest) -> Completion``: an
        :class:`~activellm_modal.llm.OpenAIBackend` with its own settings
        (client, timeout, retries, temperature, prices), a recording replay,
        a local model. Overrides ``model``/``base_url``/``api_key``. A
        ``price_per_million`` attribute on it fills ``usage_["cost"]``.
    presenter : Presenter, optional
        What is shown: :class:`~activellm_modal.parts.RegionPresenter` (the
        default) or :class:`~activellm_modal.parts.UniformPresenter` (the
        paper's); they hold ``n_presented``, ``max_chars`` and ``skip_duplicates``.
    prompt : Prompt, optional
        How it is asked (:class:`~activellm_modal.parts.Prompt`: task
        description, output format, guidance, recap, ...). Default ``Prompt()``.
    narrower : Narrower, optional
        How the answer becomes ``n_instances`` rows and how gaps are filled:
        :class:`~activellm_modal.parts.FirstK` (the default),
        :class:`~activellm_modal.parts.LabelQuotas` or
        :class:`~activellm_modal.parts.Diversify`.
    labels : sequence of str, optional
        Label names, shown after the task description (and keying the quotas
        of a balancing narrower).
    text_column : str, optional
        The text column when ``X_pool`` is a DataFrame.
    pair_columns : tuple of two, optional
        The columns of a sentence pair (DataFrame names or array positions).
    cache_dir : str or Path, optional
        Keep answers on disk keyed by model and prompt: a rerun with the same
        ``random_state`` costs nothing and gives the same selection.
    random_state : int, numpy Generator or None, default=None
        Seeds the sample, the presentation order and the fallback. Each query
        draws afresh, reproducibly for an int.

    Every part's parameters are nested parameters of the strategy
    (``set_params(presenter__n_presented=100)``, ``prompt__recap``, ...). A
    keyword that moved into a part (``n_presented=``, ``recap=``, ...) is
    refused with a message naming its new place. The defaults are the
    pipeline with the best measured evidence (``benchmarks/bench_cold_start.py``);
    ``make_strategy("paper", ...)`` (:mod:`activellm_modal.presets`) is the
    paper's method.

    An instance already in ``learner.X_training`` (the same text; a
    near-duplicate with ``skip_duplicates``) is never returned, whatever the
    recap mode; with modAL such rows are usually deleted from the pool anyway.

    Attributes
    ----------
    last_query_ : QueryRecord
        What the latest query did, including the raw answer.
    history_ : list of QueryRecord
        Every query so far.
    usage_ : dict
        ``calls`` (live LLM calls), ``cache_hits``, ``prompt_tokens``,
        ``completion_tokens``, ``seconds`` and ``cost`` (None without prices).
    n_queries_ : int
        Queries answered so far.

    Examples
    --------
    With modAL, ActiveLLM replaces ``uncertainty_sampling`` in one line:

    >>> from modAL.models import ActiveLearner
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn.linear_model import LogisticRegression
    >>> strategy = ActiveLLM(model="gpt-4o", random_state=0)
    >>> learner = ActiveLearner(
    ...     estimator=make_pipeline(TfidfVectorizer(), LogisticRegression()),
    ...     query_strategy=strategy,
    ... )
    >>> idx, texts = learner.query(X_pool, n_instances=32)  # doctest: +SKIP

    Any backend works, e.g. one that always names the first two positions:

    >>> from activellm_modal.llm import Completion
    >>> class FirstTwo:
    ...     def complete(self, request):
    ...         return Completion("I pick 0, 1")
    >>> strategy = ActiveLLM(backend=FirstTwo(), random_state=0)
    >>> indices, scores = strategy(None, ["good", "bad", "fine", "meh"], n_instances=2)
    >>> len(set(indices.tolist())), scores.tolist()
    (2, [1.0, 0.5])

    Iterative use: with ``Prompt(recap="labels")`` the next prompt shows what is
    labelled so far, with labels, and those texts are never returned again:

    >>> from activellm_modal.parts import Prompt
    >>> class Recorder:
    ...     def complete(self, request):
    ...         self.prompt = request.messages[1]["content"]
    ...         return Completion("Answer: 0")
    >>> backend = Recorder()
    >>> strategy = ActiveLLM(backend=backend, prompt=Prompt(recap="labels"), labels=["neg", "pos"])
    >>> indices, _ = strategy.select(
    ...     ["good", "bad", "fine"], 1, X_labelled=["good"], y_labelled=[1]
    ... )
    >>> print(backend.prompt.splitlines()[1])
    - (pos) good
    >>> indices.tolist() != [0]
    True

    A keyword that moved says where it went:

    >>> ActiveLLM(n_presented=100)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: ActiveLLM(n_presented=...) moved to the presenter part: ...
    """

    _record_type = QueryRecord
    # Clients hold sockets and keys; a pickle (a saved loop) must hold neither.
    _transient = ("_failure", "_backend", "_presenter", "_default_presenter")
    _parameter_constraints: ClassVar[dict] = {
        "model": [str],
        "base_url": [str, None],
        "api_key": [str, None],
        "backend": [HasMethods(["complete"]), None],
        "presenter": [Presenter, None],
        "prompt": [Prompt, None],
        "narrower": [Narrower, None],
        "labels": ["array-like", None],
        "text_column": "no_validation",
        "pair_columns": [tuple, list, None],
        "cache_dir": [str, PathLike, None],
        "random_state": [Interval(Integral, 0, None, closed="left"), np.random.Generator, None],
    }

    @refuse_moved
    def __init__(
        self,
        model: str = "gpt-4o",
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        backend: LLMBackend | None = None,
        presenter: Presenter | None = None,
        prompt: Prompt | None = None,
        narrower: Narrower | None = None,
        labels: Sequence[str] | None = None,
        text_column: str | None = None,
        pair_columns: tuple[Any, Any] | None = None,
        cache_dir: str | None = None,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.model = model
        self.base_url = base_url
        self.api_key = api_key
        self.backend = backend
        self.presenter = presenter
        self.prompt = prompt
        self.narrower = narrower
        self.labels = labels
        self.text_column = text_column
        self.pair_columns = pair_columns
        self.cache_dir = cache_dir
        self.random_state = random_state

    # -- the parts -----------------------------------------------------------------------

    def set_params(self, **params: Any) -> ActiveLLM:
        """Set parameters, nested ones of the parts too (``presenter__n_presented=100``).

        A part left at its default (None) is built first, so its nested
        parameters can be set; a keyword that moved into a part is refused
        with a message naming its new place.
        """
        for name, value in params.items():
            if name in MOVED:
                raise ValueError(moved_message(name, value, "set_params"))
            part = name.split("__", 1)[0]
            if part in _DEFAULT_PARTS and "__" in name and getattr(self, part) is None:
                setattr(self, part, _DEFAULT_PARTS[part]())
        return super().set_params(**params)

    def _presenter_part(self) -> Presenter:
        if self.presenter is not None:
            return self.presenter
        default = self.__dict__.get("_default_presenter")
        if default is None:  # built once: it keeps the embeddings of the pool
            default = self._default_presenter = RegionPresenter()
        return default

    def _prompt_part(self) -> Prompt:
        return self.prompt if self.prompt is not None else _DEFAULT_PROMPT

    def _narrower_part(self) -> Narrower:
        return self.narrower if self.narrower is not None else _DEFAULT_NARROWER

    # -- the modAL contract -------------------------------------------------------------

    def __call__(
        self, learner: Any, X_pool: Any, n_instances: int = 1, **kwargs: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        """Select ``n_instances`` rows of ``X_pool``; the modAL strategy signature.

        The learner's model is not consulted (the LLM needs none); its labelled
        data (``X_training`` / ``y_training``; a committee's first member's) is
        read for the recap and so that no labelled text is returned again. Extra
        keyword arguments are accepted and ignored, as modAL strategies do.

        Returns
        -------
        indices : ndarray of int
            Distinct rows of ``X_pool``, the LLM's picks first in its order.
        scores : ndarray of float
            ``1 - rank / n`` for the LLM's picks, 0 for filled ones.
        """
        return super().__call__(learner, X_pool, n_instances, **kwargs)

    def select(
        self,
        X_pool: Any,
        n_instances: int = 1,
        *,
        X_labelled: Any = None,
        y_labelled: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Select ``n_instances`` rows of ``X_pool`` without a modAL learner.

        ``X_labelled`` / ``y_labelled`` stand in for the learner's labelled
        data (recap and exclusion). See :meth:`__call__` for what is returned.
        """
        return self._select(X_pool, n_instances, None, X_labelled, y_labelled)

    def select_among(
        self,
        X_pool: Any,
        candidates: Sequence[int] | np.ndarray,
        n_instances: int = 1,
        *,
        learner: Any = None,
        notes: Sequence[str] | None = None,
        notes_meaning: str | None = None,
        context: str | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Let the LLM choose ``n_instances`` of the given ``candidates`` rows.

        All candidates are shown (near-duplicates and labelled texts skipped),
        in random order, instead of a sample of the pool: the building block of
        :class:`~activellm_modal.strategies.rerank.LLMReRanker`. ``notes`` (one per
        candidate, e.g. the classifier's uncertainty) are shown next to the
        texts. When no more candidates remain than are asked for, all are
        returned without an LLM call.

        Examples
        --------
        >>> from activellm_modal.llm import Completion
        >>> class Second:
        ...     def complete(self, request):
        ...         return Completion("Answer: 1")
        >>> strategy = ActiveLLM(backend=Second(), random_state=0)
        >>> indices, _ = strategy.select_among(["a", "b", "c", "d"], [3, 1, 0], 1)
        >>> int(indices[0]) in (3, 1, 0)
        True
        """
        candidates = np.asarray(candidates, dtype=np.intp)
        if notes is not None and len(notes) != len(candidates):
            raise ValueError(
                f"notes has {len(notes)} entries for {len(candidates)} candidates; pass one "
                "note per candidate, or none."
            )
        return self._select(
            X_pool,
            n_instances,
            learner,
            candidates=candidates,
            notes=None if notes is None else list(notes),
            notes_meaning=notes_meaning,
            context=context,
        )

    # -- one query: pool -> present -> prompt -> LLM -> read -> narrow -> fill ----------

    def _query(
        self, learner: Any, X_pool: Any, n_instances: int = 1, **kwargs: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        return self._select(X_pool, n_instances, learner)

    def _select(
        self,
        X_pool: Any,
        n_instances: int,
        learner: Any,
        X_labelled: Any = None,
        y_labelled: Any = None,
        *,
        candidates: np.ndarray | None = None,
        notes: list[str] | None = None,
        notes_meaning: str | None = None,
        context: str | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        # Everything that can be wrong with the input is found before anything is paid for.
        self._check(n_instances)
        presenter, narrower = self._presenter_part(), self._narrower_part()
        pair_labels = self._prompt_part().pair_labels
        pool = TextPool(X_pool, self.text_column, self.pair_columns, pair_labels)
        labelled = self._labelled(learner, X_labelled, y_labelled)
        rng = self._rng(self.random_state)
        exclude = labelled.keys(presenter.skip_duplicates)

        shown = presenter.show(pool, n_instances, rng, exclude, candidates, notes)
        target = min(n_instances, len(pool))
        k = min(target, len(shown.rows))
        answer = None
        if len(shown.rows) > k:  # something to choose: ask the LLM
            plan = self._plan(shown, labelled, rng, notes_meaning, context)
            answer = self._answer(shown, plan, labelled, rng, k, notes_meaning, context)
            shown = answer.shown
            guesses = dict(answer.nominated)
            chosen, extra, quota = narrower.narrow(
                answer.nominated, k, shown, self.labels, self._coverage()
            )
        else:  # nothing to choose: every shown row is taken, no call
            chosen, guesses, extra, quota = shown.rows.tolist(), {}, [], None
        indices, fill_notes = fill_rows(
            chosen,
            shown,
            target,
            rng,
            pool,
            exclude,
            fallback=narrower.fill_rule(),
            key=presenter.key,
        )

        n_llm = len(chosen) if answer is not None else 0
        scores = np.zeros(len(indices))
        scores[:n_llm] = 1.0 - np.arange(n_llm) / max(k, 1)
        record = self._make_record(indices, shown, answer, n_llm, guesses)
        record.quota = quota
        record.notes.extend(fill_notes)
        if n_instances > len(pool):
            record.notes.append(
                f"n_instances={n_instances} > the {len(pool)} instances in the pool: all of "
                "them are returned."
            )
        self._report(record, answer.ask_k if answer else k, extra=len(extra))
        return indices, scores

    # -- the steps -----------------------------------------------------------------------

    def _labelled(self, learner: Any, X_labelled: Any, y_labelled: Any) -> Labelled:
        if X_labelled is None and learner is not None:
            X_labelled, y_labelled = labelled_data(learner)
        return labelled_from(
            None,
            X_labelled,
            y_labelled,
            label_names=self.labels,
            text_column=self.text_column,
            pair_columns=self.pair_columns,
            pair_labels=self._prompt_part().pair_labels,
            required=self._prompt_part().recap != "none",
        )

    def _answer(
        self,
        shown: Shown,
        plan: Plan,
        labelled: Labelled,
        rng: np.random.Generator,
        k: int,
        notes_meaning: str | None,
        context: str | None,
    ) -> _Answer:
        """The LLM step and the read step: ask, read, and map positions to pool rows."""
        narrower = self._narrower_part()
        ask_k = narrower.n_ask(k, len(shown.rows))
        budget = k if narrower.guesses else None
        completion, seconds = self._ask(plan, ask_k, budget=budget)
        picks = read_nominations(completion.text, plan.texts, ask_k, guesses=budget is not None)
        n_calls, note = 1, None
        if self._prompt_part().reask_degenerate and (
            picks.copied_list or is_degenerate(picks.positions[:ask_k], ask_k)
        ):
            # A trivial run says nothing about the texts; the same texts in a fresh
            # order give the LLM one more chance to actually choose.
            shown = shown.reordered(rng.permutation(len(shown.rows)))
            plan = self._plan(shown, labelled, rng, notes_meaning, context)
            again, more_seconds = self._ask(plan, ask_k, budget=budget)
            completion = Completion(
                again.text,
                completion.prompt_tokens + again.prompt_tokens,
                completion.completion_tokens + again.completion_tokens,
                again.model,
                cached=completion.cached and again.cached,
            )
            seconds += more_seconds
            picks = read_nominations(again.text, plan.texts, ask_k, guesses=budget is not None)
            n_calls = 2
            note = (
                "The first answer was a trivial run; the LLM was asked once more with the "
                "texts in a fresh order (2 calls for this query)."
            )
        # Positions naming a recapped (already labelled) instance are dropped here, before
        # anything is cut to k, so that the LLM's further picks take their places.
        nominated = [
            (int(shown.rows[plan.new_index[p]]), guess)
            for p, guess in zip(picks.positions, picks.labels, strict=True)
            if plan.new_index[p] >= 0
        ]
        return _Answer(
            shown=shown,
            plan=plan,
            completion=completion,
            seconds=seconds,
            picks=picks,
            nominated=nominated,
            ask_k=ask_k,
            n_calls=n_calls,
            notes=[n for n in (note, picks.note) if n],
        )

    # -- validation ----------------------------------------------------------------------

    def _check(self, n_instances: Any) -> None:
        if isinstance(n_instances, bool) or not isinstance(n_instances, int | np.integer):
            raise TypeError(f"n_instances must be an int, got {n_instances!r}.")
        if n_instances < 1:
            raise ValueError(f"n_instances must be at least 1, got {n_instances}.")
        self._validate_params()
        for part in (self._presenter_part(), self._prompt_part(), self._narrower_part()):
            part._validate_params()
        self._narrower_part().check(self.labels)
        price = self._price()
        if price is not None and len(price) != 2:
            raise ValueError(
                "price_per_million must be (prompt_price, completion_price) in USD per "
                f"million tokens, got {price!r}."
            )

    def _price(self) -> tuple[float, float] | None:
        """The backend's ``price_per_million``, if it declares one (the short form has none)."""
        return getattr(self.backend, "price_per_million", None)

    def _init_state(self) -> None:
        self.usage_ = {
            "calls": 0,
            "cache_hits": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "seconds": 0.0,
            "cost": None if self._price() is None else 0.0,
        }

    def _coverage(self) -> CoveragePresenter:
        """The embedder of a diversifying narrower: the presenter's, else one built once."""
        presenter = self._presenter_part()
        if isinstance(presenter, RegionPresenter):
            return presenter.coverage()
        built = getattr(self, "_presenter", None)
        if built is None:
            built = self._presenter = CoveragePresenter(cache_dir=None)
        return built

    def _plan(
        self,
        shown: Shown,
        labelled: Labelled,
        rng: np.random.Generator,
        notes_meaning: str | None,
        context: str | None,
    ) -> Plan:
        """The prompt step (:meth:`~activellm_modal.parts.Prompt.plan`)."""
        return self._prompt_part().plan(
            shown,
            labelled,
            rng,
            max_chars=self._presenter_part().max_chars,
            notes_meaning=notes_meaning,
            context=context,
        )

    def _ask(self, plan: Plan, k: int, budget: int | None = None) -> tuple[Completion, float]:
        structured = self._prompt_part().structured_output and not getattr(
            self, "schema_rejected_", False
        )
        request = self._prompt_part().request(
            plan, k, labels=self.labels, budget=budget, structured=structured
        )
        backend = self._get_backend()
        start = time.perf_counter()
        try:
            completion = backend.complete(request)
        except LLMEndpointError as error:
            if not structured or getattr(error, "status", None) not in (400, 422):
                raise
            self.schema_rejected_ = True
            warnings.warn(
                f"The endpoint rejected the JSON schema ({error}); asking again in plain text, "
                "and later queries stay with text.",
                SelectionWarning,
                stacklevel=5,
            )
            return self._ask(plan, k, budget)
        return completion, time.perf_counter() - start

    def _get_backend(self) -> LLMBackend:
        # Rebuilt whenever a parameter it depends on changed (set_params after a query).
        key = (
            id(self.backend),
            getattr(self.backend, "model", None),
            self.model,
            self.base_url,
            self.api_key,
            str(self.cache_dir),
        )
        cached = getattr(self, "_backend", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        if self.backend is not None:
            backend = self.backend
        else:
            from activellm_modal.llm.openai_backend import OpenAIBackend

            backend = OpenAIBackend(self.model, base_url=self.base_url, api_key=self.api_key)
        if self.cache_dir is not None:
            model = getattr(self.backend, "model", None) or self.model
            backend = CachedBackend(backend, AnswerCache(self.cache_dir), model=str(model))
        self._backend = (key, backend)
        return backend

    # -- saving and resuming -------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """What the queries so far have changed, as plain data (JSON-serialisable).

        With an int ``random_state``, each query's draws depend only on the seed
        and the number of queries answered, so restoring this state into a
        strategy built with the same parameters repeats the next query exactly.
        Parameters (and the API key) are not part of it.
        """
        return super().state_dict()

    def _extra_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "usage": dict(self.usage_),
            "schema_rejected": bool(getattr(self, "schema_rejected_", False)),
        }
        if isinstance(self.random_state, np.random.Generator):
            state["rng"] = self.random_state.bit_generator.state
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> ActiveLLM:
        """Restore what :meth:`state_dict` returned; returns ``self``."""
        super().load_state_dict(state)
        return self

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        if "usage" in state:
            self.usage_ = dict(state["usage"])
        if self.history_:
            self.last_query_ = self.history_[-1]
        if state.get("schema_rejected"):
            self.schema_rejected_ = True
        if "rng" in state and isinstance(self.random_state, np.random.Generator):
            self.random_state.bit_generator.state = state["rng"]

    # -- scikit-learn plumbing -----------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["api_key"] = None
        return state

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:
        defaults = {
            name: p.default for name, p in inspect.signature(type(self).__init__).parameters.items()
        }
        shown = []
        for name, value in self.get_params(deep=False).items():
            if name == "api_key":
                value = mask(value)
            if _differs(value, defaults.get(name)):
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        # scikit-learn's HTML view lists parameter values; the key must not show there.
        return {"text/plain": repr(self)}


# The parts a strategy uses when it is given none (never mutated: set_params on a
# part left at None builds a fresh one first).
_DEFAULT_PROMPT = Prompt()
_DEFAULT_NARROWER = FirstK()
_DEFAULT_PARTS = {"presenter": RegionPresenter, "prompt": Prompt, "narrower": FirstK}


def _differs(value: Any, default: Any) -> bool:
    try:
        return bool(value != default)
    except (ValueError, TypeError):
        return value is not default
