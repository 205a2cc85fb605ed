"""ActiveLLM as a modAL query strategy."""

from __future__ import annotations

import inspect
import logging
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from activellm_modal.exceptions import LLMEndpointError, SelectionWarning
from activellm_modal.llm.base import Completion, LLMBackend, LLMRequest
from activellm_modal.llm.cache import AnswerCache, CachedBackend
from activellm_modal.llm.secrets import mask
from activellm_modal.parsing import parse_answer
from activellm_modal.pool import DEFAULT_PAIR_LABELS, TextPool
from activellm_modal.prompt import OUTPUT_STYLES, build_messages, selection_schema
from activellm_modal.sampling import Sampler, present, random_sampler
from activellm_modal.selection import Fallback, complete_selection, is_degenerate, random_fallback

logger = logging.getLogger(__name__)


@dataclass
class QueryRecord:
    """What one query did, kept in ``last_query_`` and ``history_``.

    Attributes
    ----------
    indices : list of int
        The pool rows returned, in the order returned.
    presented : list of int
        The pool rows shown to the LLM; prompt position ``p`` is ``presented[p]``.
    answer : str or None
        The LLM's raw answer (None when no call was needed).
    positions : list of int
        The valid positions parsed from the answer, in answer order.
    n_filled : int
        How many instances the fallback had to add.
    degenerate : bool
        The answer was a trivial run such as the first k positions.
    cached : bool
        The answer came from the cache or a recording.
    prompt_tokens, completion_tokens : int
        Token usage of this query.
    seconds : float
        Wall time of the LLM call.
    notes : list of str
        Anything the user was warned about.
    """

    indices: list[int]
    presented: list[int]
    answer: str | None = None
    positions: list[int] = field(default_factory=list)
    n_filled: int = 0
    degenerate: bool = False
    cached: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    model: str = ""
    notes: list[str] = field(default_factory=list)


class ActiveLLM(BaseEstimator):
    """Let an LLM choose which unlabelled texts to label (Bayer and Reuter, 2024).

    A modAL query strategy: ``ActiveLLM(...)(learner, X_pool, n_instances)``
    returns ``(indices, scores)``. Each query shows the LLM a seeded random
    sample of ``n_presented`` texts from the pool, in random order, asks for
    the ``n_instances`` it would label and maps its answer back to pool rows.
    It needs no labels and no trained model, so it works in the very first
    round, where uncertainty sampling cannot. One LLM call per query.

    Whatever the LLM answers, a query returns exactly
    ``min(n_instances, len(X_pool))`` distinct valid indices: refusals, too few,
    repeated or invented positions are filled by ``fallback`` and reported
    (a :class:`~activellm_modal.exceptions.SelectionWarning` and ``last_query_``).

    Parameters
    ----------
    model : str, default="gpt-4o"
        Model name on the endpoint.
    base_url : str, optional
        Any OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp server, Azure
        OpenAI's ``.../openai/v1/``). Default: ``OPENAI_BASE_URL``, else OpenAI.
    api_key : str, optional
        Default: the ``OPENAI_API_KEY`` environment variable. Never shown in a
        prompt, log, repr, cache file or error message, and not pickled.
    client : openai.OpenAI, optional
        A configured client to use instead of ``base_url``/``api_key``.
    backend : LLMBackend, optional
        Any object with ``complete(LLMRequest) -> Completion`` (a recording
        replay, a local model); overrides ``model``/``base_url``/``client``.
    n_presented : int, default=200
        Instances shown per query (the paper's best). Raised to
        ``n_instances`` when more are asked for.
    advice : bool, default=False
        Add the paper's seven selection criteria (its mode 1); off in the
        paper's best prompt (mode 4).
    output : {"cot", "list", "explain"}, default="cot"
        Think step by step then list (the paper's best), list only, or
        explain every instance.
    task_description : str, optional
        What the annotator labels, shown in the prompt.
    labels : sequence of str, optional
        Label names, shown after the task description.
    structured_output : bool, default=False
        Ask for ``{"positions": [...]}`` with a JSON-schema ``response_format``.
        If the endpoint rejects the schema, the query is sent once more as
        plain text, and later queries stay with text.
    text_column : str, optional
        The text column when ``X_pool`` is a DataFrame.
    pair_columns : tuple of two, optional
        The columns of a sentence pair (DataFrame names or array positions).
    pair_labels : tuple of two str, default=("Sentence 1", "Sentence 2")
        How the parts of a pair are introduced to the LLM.
    sampler : callable, optional
        ``sampler(n_pool, size, rng) -> rows`` choosing what is shown, in
        order. Default: uniform without replacement, random order.
    skip_duplicates : bool, default=True
        Show a text only once (ignoring case, punctuation, spacing, URLs).
    fallback : "random" or callable, default="random"
        How missing picks are filled: uniformly among the presented instances
        not chosen, or ``fallback(candidate_positions, n, rng) -> positions``.
    cache_dir : str or Path, optional
        Keep answers on disk keyed by model and prompt: a rerun with the same
        ``random_state`` costs nothing and gives the same selection.
    price_per_million : tuple of two float, optional
        USD per million prompt and completion tokens, to fill ``usage_["cost"]``.
    temperature : float, optional
        Sampling temperature; None leaves the endpoint's default.
    max_tokens : int, optional
        Cap on the answer's length.
    timeout : float, default=120.0
        Seconds one request may take.
    max_retries : int, default=3
        Retries (with exponential backoff) on 429, 5xx and timeouts.
    random_state : int, numpy Generator or None, default=None
        Seeds the sample, the presentation order and the fallback. Each query
        draws afresh, reproducibly for an int.

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
    >>> strategy = ActiveLLM(model="gpt-4o", n_presented=200, random_state=0)
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
    """

    def __init__(
        self,
        model: str = "gpt-4o",
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        client: Any = None,
        backend: LLMBackend | None = None,
        n_presented: int = 200,
        advice: bool = False,
        output: str = "cot",
        task_description: str | None = None,
        labels: Sequence[str] | None = None,
        structured_output: bool = False,
        text_column: str | None = None,
        pair_columns: tuple[Any, Any] | None = None,
        pair_labels: tuple[str, str] = DEFAULT_PAIR_LABELS,
        sampler: Sampler | None = None,
        skip_duplicates: bool = True,
        fallback: str | Fallback = "random",
        cache_dir: str | None = None,
        price_per_million: tuple[float, float] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        timeout: float = 120.0,
        max_retries: int = 3,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.model = model
        self.base_url = base_url
        self.api_key = api_key
        self.client = client
        self.backend = backend
        self.n_presented = n_presented
        self.advice = advice
        self.output = output
        self.task_description = task_description
        self.labels = labels
        self.structured_output = structured_output
        self.text_column = text_column
        self.pair_columns = pair_columns
        self.pair_labels = pair_labels
        self.sampler = sampler
        self.skip_duplicates = skip_duplicates
        self.fallback = fallback
        self.cache_dir = cache_dir
        self.price_per_million = price_per_million
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout = timeout
        self.max_retries = max_retries
        self.random_state = random_state

    # -- the modAL contract -------------------------------------------------------------

    def __call__(
        self, learner: Any, X_pool: Any, n_instances: int = 1, **kwargs: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        """Select ``n_instances`` rows of ``X_pool``; the modAL strategy signature.

        ``learner`` is not consulted: the LLM needs no trained model. Extra
        keyword arguments are accepted and ignored, as modAL strategies do.

        Returns
        -------
        indices : ndarray of int
            Distinct rows of ``X_pool``, the LLM's picks first in its order.
        scores : ndarray of float
            ``1 - rank / n`` for the LLM's picks, 0 for filled ones.
        """
        replay = self._pending_failure(X_pool, n_instances)
        if replay is not None:
            raise replay
        try:
            return self.select(X_pool, n_instances)
        except LLMEndpointError as error:
            self._failure = (id(X_pool), n_instances, error)
            raise

    def select(self, X_pool: Any, n_instances: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Select ``n_instances`` rows of ``X_pool`` without a modAL learner.

        See :meth:`__call__` for what is returned.
        """
        self._validate_params(n_instances)
        pool = TextPool(X_pool, self.text_column, self.pair_columns, self.pair_labels)
        self._start_state()
        rng = self._query_rng()
        if n_instances >= len(pool):
            return self._take_all(pool, n_instances, rng)

        size = max(self.n_presented, n_instances)
        sampler = self.sampler or random_sampler
        rows, texts = present(len(pool), size, rng, pool.texts, sampler, self.skip_duplicates)
        k = min(n_instances, len(rows))
        completion, seconds = self._ask(texts, k)
        parsed = parse_answer(completion.text, len(rows), k)
        chosen, filled = complete_selection(
            list(parsed.positions), len(rows), k, rng, self._fallback()
        )
        indices = rows[chosen + filled]
        if len(indices) < n_instances:
            # The pool had fewer distinct texts than were asked for: the rest are
            # duplicates of shown texts, taken at random so the count still holds.
            indices = np.concatenate([indices, _other_rows(len(pool), rows, n_instances - k, rng)])
        scores = np.zeros(len(indices))
        scores[: len(chosen)] = 1.0 - np.arange(len(chosen)) / k
        record = QueryRecord(
            indices=indices.tolist(),
            presented=rows.tolist(),
            answer=completion.text,
            positions=list(parsed.positions),
            n_filled=len(indices) - len(chosen),
            degenerate=is_degenerate(list(parsed.positions), k),
            cached=completion.cached,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            seconds=seconds,
            model=completion.model or self.model,
        )
        self._report(record, k)
        self._record(record)
        return indices, scores

    # -- pieces of a query ---------------------------------------------------------------

    def _validate_params(self, n_instances: Any) -> None:
        if isinstance(n_instances, bool) or not isinstance(n_instances, int | np.integer):
            raise TypeError(f"n_instances must be an int, got {n_instances!r}.")
        if n_instances < 1:
            raise ValueError(f"n_instances must be at least 1, got {n_instances}.")
        if not isinstance(self.n_presented, int | np.integer) or self.n_presented < 1:
            raise ValueError(f"n_presented must be a positive int, got {self.n_presented!r}.")
        if self.output not in OUTPUT_STYLES:
            raise ValueError(f"output={self.output!r} is not one of {OUTPUT_STYLES}.")
        if not (self.fallback == "random" or callable(self.fallback)):
            raise ValueError(
                f"fallback={self.fallback!r}: use 'random' or a callable "
                "fallback(candidate_positions, n, rng) -> positions."
            )
        if self.price_per_million is not None and len(self.price_per_million) != 2:
            raise ValueError(
                "price_per_million must be (prompt_price, completion_price) in USD per "
                f"million tokens, got {self.price_per_million!r}."
            )

    def _start_state(self) -> None:
        if not hasattr(self, "usage_"):
            self.usage_ = {
                "calls": 0,
                "cache_hits": 0,
                "prompt_tokens": 0,
                "completion_tokens": 0,
                "seconds": 0.0,
                "cost": None if self.price_per_million is None else 0.0,
            }
            self.history_: list[QueryRecord] = []
            self.n_queries_ = 0

    def _query_rng(self) -> np.random.Generator:
        if isinstance(self.random_state, np.random.Generator):
            return self.random_state
        if self.random_state is None:
            return np.random.default_rng()
        # One stream per query: reruns repeat every query, and queries differ.
        return np.random.default_rng([int(self.random_state), self.n_queries_])

    def _fallback(self) -> Fallback:
        return random_fallback if self.fallback == "random" else self.fallback  # type: ignore[return-value]

    def _take_all(
        self, pool: TextPool, n_instances: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        indices = rng.permutation(len(pool))
        note = (
            f"n_instances={n_instances} >= the {len(pool)} instances left in the pool: all of "
            "them are returned, without asking the LLM."
        )
        if n_instances > len(pool):
            warnings.warn(note, SelectionWarning, stacklevel=3)
        record = QueryRecord(indices=indices.tolist(), presented=[], notes=[note])
        self._record(record)
        return indices, np.zeros(len(indices))

    def _ask(self, texts: list[str], k: int) -> tuple[Completion, float]:
        structured = self.structured_output and not getattr(self, "schema_rejected_", False)
        messages = build_messages(
            texts,
            k,
            advice=self.advice,
            output=self.output,  # type: ignore[arg-type]
            task_description=self.task_description,
            labels=self.labels,
            structured=structured,
        )
        request = LLMRequest(
            messages=messages,
            instances=tuple(texts),
            k=k,
            response_format=selection_schema(k, len(texts)) if structured else None,
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
                stacklevel=4,
            )
            return self._ask(texts, k)
        return completion, time.perf_counter() - start

    def _get_backend(self) -> LLMBackend:
        backend = getattr(self, "_backend", None)
        if backend is None:
            if self.backend is not None:
                backend = self.backend
            else:
                from activellm_modal.llm.openai_backend import OpenAIBackend

                backend = OpenAIBackend(
                    self.model,
                    base_url=self.base_url,
                    api_key=self.api_key,
                    client=self.client,
                    timeout=self.timeout,
                    max_retries=self.max_retries,
                    temperature=self.temperature,
                    max_tokens=self.max_tokens,
                )
            if self.cache_dir is not None:
                backend = CachedBackend(backend, AnswerCache(self.cache_dir), model=self.model)
            self._backend = backend
        return backend

    def _report(self, record: QueryRecord, k: int) -> None:
        if record.n_filled:
            record.notes.append(
                f"The LLM named {len(record.positions)} valid distinct positions of the {k} "
                f"asked for; {record.n_filled} were filled at random from the presented "
                "instances (see last_query_.answer)."
            )
        if record.degenerate:
            record.notes.append(
                "The LLM's picks form a trivial run (e.g. the first positions shown); since "
                "the presentation order is random, this selection is no better than random."
            )
        for note in record.notes:
            warnings.warn(note, SelectionWarning, stacklevel=4)

    def _record(self, record: QueryRecord) -> None:
        if record.answer is not None:
            usage = self.usage_
            usage["cache_hits" if record.cached else "calls"] += 1
            usage["prompt_tokens"] += record.prompt_tokens
            usage["completion_tokens"] += record.completion_tokens
            usage["seconds"] += record.seconds
            if self.price_per_million is not None and not record.cached:
                prompt_price, completion_price = self.price_per_million
                usage["cost"] += (
                    record.prompt_tokens * prompt_price
                    + record.completion_tokens * completion_price
                ) / 1e6
        self.last_query_ = record
        self.history_.append(record)
        self.n_queries_ += 1
        self._failure = None
        logger.info(
            "ActiveLLM query %d: %d returned, %d from the LLM, %d filled, %.2f s%s",
            self.n_queries_,
            len(record.indices),
            len(record.indices) - record.n_filled,
            record.n_filled,
            record.seconds,
            " (cached)" if record.cached else "",
        )

    def _pending_failure(self, X_pool: Any, n_instances: int) -> Exception | None:
        """The error to re-raise when modAL retries a query that just failed.

        modAL's ``query`` calls a strategy a second time whenever the first call
        raises (a bare ``except``); without this, an endpoint failure would be
        retried in full, doubling the calls and the wait.
        """
        failure = getattr(self, "_failure", None)
        self._failure = None
        if failure is None or failure[:2] != (id(X_pool), n_instances):
            return None
        caller = sys._getframe(2).f_globals.get("__name__", "")
        return failure[2] if caller.startswith("modAL") else None

    # -- scikit-learn plumbing -----------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        # Clients hold sockets and keys; a pickle (a saved loop) must hold neither.
        for name in ("_backend", "_failure"):
            state.pop(name, None)
        state["api_key"] = None
        state["client"] = None
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


def _differs(value: Any, default: Any) -> bool:
    try:
        return bool(value != default)
    except (ValueError, TypeError):
        return value is not default


def _other_rows(n_pool: int, shown: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    mask_ = np.ones(n_pool, dtype=bool)
    mask_[shown] = False
    return rng.choice(np.flatnonzero(mask_), size=n, replace=False)
