"""ActiveLLM as a modAL query strategy."""

from __future__ import annotations

import inspect
import logging
import math
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from activellm_modal.balance import Picks, fill_quotas, parse_picks, quotas
from activellm_modal.echo import resolve_echo
from activellm_modal.exceptions import LLMEndpointError, SelectionWarning
from activellm_modal.llm.base import Completion, LLMBackend, LLMRequest
from activellm_modal.llm.cache import AnswerCache, CachedBackend
from activellm_modal.llm.secrets import mask
from activellm_modal.parsing import parse_answer
from activellm_modal.pool import DEFAULT_PAIR_LABELS, TextPool
from activellm_modal.prompt import OUTPUT_STYLES, build_messages, picks_schema, selection_schema
from activellm_modal.recap import RECAP_MODES, Labelled, labelled_from
from activellm_modal.sampling import Sampler, duplicate_key, present, random_sampler
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
    recap : str
        The recap mode of this query.
    n_recap : int
        Labelled instances shown in the recap.
    prompt_rows : list of int or None
        Under ``recap="indices"``, the pool row at each prompt position (-1 for
        an already-labelled instance shown again); None when prompt position
        ``p`` is simply ``presented[p]``.
    n_recap_picks : int
        Already-labelled instances the LLM chose (dropped and filled).
    guessed_labels : list of str or None
        With ``balance``, the LLM's label guess for each returned index (None
        where it gave none or the index was filled).
    quota : dict or None
        With ``balance``, the per-label quota of this query.
    n_calls : int
        LLM calls this query made (2 only when ``reask_degenerate`` re-asked).
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
    recap: str = "none"
    n_recap: int = 0
    prompt_rows: list[int] | None = None
    n_recap_picks: int = 0
    guessed_labels: list[str | None] | None = None
    quota: dict[str, int] | None = None
    n_calls: int = 1


@dataclass
class _Plan:
    """One prompt: what is shown at each position, and what else the prompt says."""

    texts: list[str]
    new_index: list[int]  # prompt position -> index into the presented rows, -1 for a recap
    notes: list[str] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    n_recap: int = 0


class _ModalRetryGuard:
    """Re-raise, instead of redoing, a query that modAL retries after it failed.

    modAL's ``query`` calls a strategy a second time whenever the first call
    raises (a bare ``except``); without this, an endpoint failure would be
    retried in full, doubling the calls and the wait.
    """

    def _remember_failure(self, X_pool: Any, n_instances: int, error: Exception) -> None:
        self._failure = (id(X_pool), n_instances, error)

    def _pending_failure(self, X_pool: Any, n_instances: int) -> Exception | None:
        """The error to re-raise; call it directly from ``__call__``."""
        failure = getattr(self, "_failure", None)
        self._failure = None
        if failure is None or failure[:2] != (id(X_pool), n_instances):
            return None
        caller = sys._getframe(2).f_globals.get("__name__", "")
        return failure[2] if caller.startswith("modAL") else None


class ActiveLLM(_ModalRetryGuard, BaseEstimator):
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
    recap : {"none", "texts", "indices", "labels"}, default="none"
        What later queries tell the LLM about the instances already labelled
        (``learner.X_training`` / ``y_training``): nothing; their texts,
        unnumbered in a separate fence before the new instances; the paper's
        index recap, where they are shown again among the numbered instances
        and their positions are listed as taken; or their texts with their
        labels and the label counts so far, so that the LLM can balance the
        classes and look for what is missing.
    max_recap : int, default=50
        At most this many labelled instances (the most recent) are recapped,
        so prompts stay bounded.
    balance : "equal", mapping or None, default=None
        Ask the LLM to guess a label (from ``labels``) for each pick, as
        ``{"picks": [{"position": 3, "label": "positive"}, ...]}``, and fill
        per-label quotas: equal shares, or the proportions of a mapping
        ``{label: share}``.
    oversample : float, default=2.0
        With ``balance``, how many candidates are asked for per instance
        needed, so that the quotas can be met.
    reask_degenerate : bool, default=False
        When the answer is a trivial run (e.g. the first k positions shown) or
        a copy of the list in order, ask once more with the same texts in a
        fresh order. Off by default: it costs a second call, and with the
        random presentation order a trivial answer is no worse than random.

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

    Iterative use: with ``recap="labels"`` the next prompt shows what is
    labelled so far, with labels, and those texts are never returned again:

    >>> class Recorder:
    ...     def complete(self, request):
    ...         self.prompt = request.messages[1]["content"]
    ...         return Completion("Answer: 0")
    >>> backend = Recorder()
    >>> strategy = ActiveLLM(backend=backend, recap="labels", labels=["neg", "pos"])
    >>> indices, _ = strategy.select(
    ...     ["good", "bad", "fine"], 1, X_labelled=["good"], y_labelled=[1]
    ... )
    >>> print(backend.prompt.splitlines()[1])
    - (pos) good
    >>> indices.tolist() != [0]
    True
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
        recap: str = "none",
        max_recap: int = 50,
        balance: str | Mapping[str, float] | None = None,
        oversample: float = 2.0,
        reask_degenerate: bool = False,
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
        self.recap = recap
        self.max_recap = max_recap
        self.balance = balance
        self.oversample = oversample
        self.reask_degenerate = reask_degenerate

    # -- the modAL contract -------------------------------------------------------------

    def __call__(
        self, learner: Any, X_pool: Any, n_instances: int = 1, **kwargs: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        """Select ``n_instances`` rows of ``X_pool``; the modAL strategy signature.

        The learner's model is not consulted (the LLM needs none); its labelled
        data (``X_training`` / ``y_training``) is read for the recap and so
        that no labelled text is returned again. Extra keyword arguments are
        accepted and ignored, as modAL strategies do.

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
            return self._select(X_pool, n_instances, learner)
        except LLMEndpointError as error:
            self._remember_failure(X_pool, n_instances, error)
            raise

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
        :class:`~activellm_modal.rerank.LLMReRanker`. ``notes`` (one per
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

    # -- one query -----------------------------------------------------------------------

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
        self._validate_params(n_instances)
        pool = TextPool(X_pool, self.text_column, self.pair_columns, self.pair_labels)
        labelled = labelled_from(
            learner,
            X_labelled,
            y_labelled,
            label_names=self.labels,
            text_column=self.text_column,
            pair_columns=self.pair_columns,
            pair_labels=self.pair_labels,
            required=self.recap != "none",
        )
        self._start_state()
        rng = self._query_rng()
        exclude = labelled.keys(self.skip_duplicates)
        shown_notes = None
        if candidates is None:
            if n_instances >= len(pool):
                return self._take_all(pool, n_instances, rng, exclude)
            size = max(self.n_presented, n_instances)
            rows, texts = self._present(pool, size, rng, exclude)
        else:
            rows, texts, shown_notes = self._present_candidates(
                pool, candidates, notes, rng, exclude
            )
            if len(rows) <= n_instances:
                note = (
                    f"Only {len(rows)} candidates remain for n_instances={n_instances}: all "
                    "of them are returned, without asking the LLM."
                )
                return self._take_rows(rows, n_instances, rng, note, warn=len(rows) < n_instances)

        k = min(n_instances, len(rows))
        plan = self._plan(texts, shown_notes, labelled, rng, notes_meaning, context)
        ask_k = k
        if self.balance is not None:
            ask_k = min(len(rows), max(k, math.ceil(self.oversample * k)))
        budget = k if self.balance is not None else None
        completion, seconds = self._ask(plan, ask_k, budget=budget)
        picks = self._parse(completion.text, plan, ask_k)
        n_calls, reask_note = 1, None
        if self.reask_degenerate and (
            picks.copied_list or is_degenerate(list(picks.positions), ask_k)
        ):
            # A trivial run says nothing about the texts; the same texts in a fresh
            # order give the LLM one more chance to actually choose.
            order = rng.permutation(len(rows))
            rows, texts = rows[order], [texts[i] for i in order]
            if shown_notes is not None:
                shown_notes = [shown_notes[i] for i in order]
            plan = self._plan(texts, shown_notes, labelled, rng, notes_meaning, context)
            again, more_seconds = self._ask(plan, ask_k, budget=budget)
            completion = Completion(
                again.text,
                completion.prompt_tokens + again.prompt_tokens,
                completion.completion_tokens + again.completion_tokens,
                again.model,
                cached=completion.cached and again.cached,
            )
            seconds += more_seconds
            picks = self._parse(completion.text, plan, ask_k)
            n_calls = 2
            reask_note = (
                "The first answer was a trivial run; the LLM was asked once more with the "
                "texts in a fresh order (2 calls for this query)."
            )
        # Positions that name a recapped (already labelled) instance are dropped here.
        kept = [(plan.new_index[p], g) for p, g in zip(picks.positions, picks.labels, strict=True)]
        kept = [(i, g) for i, g in kept if i >= 0]
        n_recap_picks = len(picks.positions) - len(kept)
        quota = None
        extra: list[int] = []
        if self.balance is None:
            mine = [i for i, _ in kept]
        else:
            quota = quotas(k, [str(x) for x in self.labels or ()], self._proportions())
            mine, extra = fill_quotas(Picks([i for i, _ in kept], [g for _, g in kept]), quota)
            mine = mine + extra
        chosen, filled = complete_selection(mine, len(rows), k, rng, self._fallback())
        indices = rows[chosen + filled]
        if len(indices) < n_instances:
            # The pool had fewer distinct texts than were asked for: the rest are
            # duplicates of shown texts, taken at random so the count still holds.
            others = self._other_rows(pool, rows, n_instances - k, rng, exclude)
            indices = np.concatenate([indices, others]).astype(np.intp)
        scores = np.zeros(len(indices))
        scores[: len(chosen)] = 1.0 - np.arange(len(chosen)) / k
        guessed = None
        if self.balance is not None:
            guess_of = dict(kept)
            guessed = [guess_of.get(i) for i in chosen] + [None] * (len(indices) - len(chosen))
        record = QueryRecord(
            indices=indices.tolist(),
            presented=rows.tolist(),
            answer=completion.text,
            positions=list(picks.positions),
            n_filled=len(indices) - len(chosen),
            degenerate=is_degenerate(list(picks.positions), ask_k) or picks.copied_list,
            cached=completion.cached,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            seconds=seconds,
            model=completion.model or self.model,
            recap=self.recap,
            n_recap=plan.n_recap,
            prompt_rows=None
            if plan.new_index == list(range(len(rows)))
            else [int(rows[i]) if i >= 0 else -1 for i in plan.new_index],
            n_recap_picks=n_recap_picks,
            guessed_labels=guessed,
            quota=quota,
            notes=[note for note in (reask_note, picks.note) if note],
            n_calls=n_calls,
        )
        self._report(record, ask_k, extra=len(extra))
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
        if self.recap not in RECAP_MODES:
            raise ValueError(f"recap={self.recap!r} is not one of {RECAP_MODES}.")
        if not isinstance(self.max_recap, int | np.integer) or self.max_recap < 0:
            raise ValueError(f"max_recap must be an int >= 0, got {self.max_recap!r}.")
        if self.balance is not None:
            if not self.labels:
                raise ValueError(
                    "balance needs the label names: pass labels=[...] (e.g. "
                    "labels=['negative', 'positive']) so the LLM can guess one per pick."
                )
            if not (self.balance == "equal" or isinstance(self.balance, Mapping)):
                raise ValueError(
                    f"balance={self.balance!r}: use 'equal' or a mapping {{label: share}}."
                )
            if not isinstance(self.oversample, int | float) or self.oversample < 1:
                raise ValueError(f"oversample must be a number >= 1, got {self.oversample!r}.")
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

    def _key(self, text: str) -> str:
        return duplicate_key(text) if self.skip_duplicates else text

    def _take_all(
        self, pool: TextPool, n_instances: int, rng: np.random.Generator, exclude: set[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(len(pool))
        if exclude:
            keep = [self._key(t) not in exclude for t in pool.texts(rows)]
            rows = rows[np.asarray(keep, dtype=bool)]
        note = (
            f"n_instances={n_instances} >= the {len(rows)} unlabelled instances left in the "
            "pool: all of them are returned, without asking the LLM."
        )
        return self._take_rows(rows, n_instances, rng, note, warn=n_instances > len(rows))

    def _take_rows(
        self, rows: np.ndarray, n_instances: int, rng: np.random.Generator, note: str, warn: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        indices = rows[rng.permutation(len(rows))].astype(np.intp)
        if warn:
            warnings.warn(note, SelectionWarning, stacklevel=4)
        record = QueryRecord(indices=indices.tolist(), presented=[], notes=[note], recap=self.recap)
        self._record(record)
        return indices, np.zeros(len(indices))

    def _present(
        self, pool: TextPool, size: int, rng: np.random.Generator, exclude: set[str]
    ) -> tuple[np.ndarray, list[str]]:
        sampler = self.sampler or random_sampler
        if not exclude:
            return present(len(pool), size, rng, pool.texts, sampler, self.skip_duplicates)
        # Each labelled text can take at most one place among the shown (duplicates are
        # skipped), so drawing that many more and dropping them keeps the sample full.
        extra = min(len(exclude), len(pool))
        rows, texts = present(
            len(pool), size + extra, rng, pool.texts, sampler, self.skip_duplicates
        )
        keep = [i for i, text in enumerate(texts) if self._key(text) not in exclude][:size]
        return rows[keep], [texts[i] for i in keep]

    def _present_candidates(
        self,
        pool: TextPool,
        candidates: np.ndarray,
        notes: list[str] | None,
        rng: np.random.Generator,
        exclude: set[str],
    ) -> tuple[np.ndarray, list[str], list[str] | None]:
        if len(candidates) and (candidates.min() < 0 or candidates.max() >= len(pool)):
            raise ValueError(
                f"candidates must be rows of X_pool (0 .. {len(pool) - 1}); got values from "
                f"{candidates.min()} to {candidates.max()}."
            )
        # Shown in random order: LLMs favour the first instances they read.
        order = rng.permutation(len(candidates))
        texts = pool.texts(candidates[order])
        seen = set(exclude)
        keep: list[int] = []
        for i, text in enumerate(texts):
            key = self._key(text)
            if key in seen:
                continue
            if self.skip_duplicates:
                seen.add(key)
            keep.append(i)
        rows = candidates[order][keep]
        shown_notes = None if notes is None else [notes[order[i]] for i in keep]
        return rows, [texts[i] for i in keep], shown_notes

    def _other_rows(
        self,
        pool: TextPool,
        shown: np.ndarray,
        n: int,
        rng: np.random.Generator,
        exclude: set[str],
    ) -> np.ndarray:
        mask_ = np.ones(len(pool), dtype=bool)
        mask_[shown] = False
        rest = np.flatnonzero(mask_)
        if exclude and len(rest):
            rest = rest[[self._key(t) not in exclude for t in pool.texts(rest)]]
        return rng.choice(rest, size=min(n, len(rest)), replace=False)

    def _plan(
        self,
        texts: list[str],
        notes: list[str] | None,
        labelled: Labelled,
        rng: np.random.Generator,
        notes_meaning: str | None,
        context: str | None,
    ) -> _Plan:
        plan = _Plan(list(texts), list(range(len(texts))), notes)
        if notes is not None:
            plan.options.update(notes_meaning=notes_meaning)
        if context:
            plan.options.update(context=context)
        recent = labelled.recent(self.max_recap) if self.recap != "none" else Labelled()
        if not len(recent):
            return plan
        plan.n_recap = len(recent)
        mode = self.recap
        if mode == "labels" and recent.labels is None:
            mode = "texts"  # labels unknown (no y_training): show the texts alone
        if mode in ("texts", "labels"):
            plan.options.update(recap=recent.texts)
            if mode == "labels":
                plan.options.update(recap_labels=recent.labels, label_counts=labelled.counts())
            return plan
        # Index recap: the labelled texts are mixed into the numbered instances at random
        # places, and their positions are listed as taken.
        n = len(texts)
        order = rng.permutation(n + len(recent)).tolist()
        plan.texts = [texts[j] if j < n else recent.texts[j - n] for j in order]
        plan.new_index = [j if j < n else -1 for j in order]
        if notes is not None:
            plan.notes = [notes[j] if j < n else "already labelled" for j in order]
        plan.options.update(labelled_positions=[p for p, j in enumerate(order) if j >= n])
        return plan

    def _parse(self, answer: str, plan: _Plan, k: int) -> Picks:
        # Recapped positions the LLM names are dropped later; read as many more positions
        # as it named of them, so that its further picks replace them before any fill.
        limit = k
        for _ in range(3):
            picks = self._parse_up_to(answer, plan.texts, limit)
            n_old = sum(plan.new_index[p] < 0 for p in picks.positions)
            if limit >= k + n_old:
                break
            limit = k + n_old
        return picks

    def _parse_up_to(self, answer: str, texts: list[str], k: int) -> Picks:
        if self.balance is not None:
            return parse_picks(answer, len(texts), k)
        parsed = parse_answer(answer, len(texts), k)
        # Small models answer by copying texts under their own numbering; mapping the
        # copies back to positions beats reading that numbering as positions.
        echo = resolve_echo(answer, texts, parsed.positions, k, parsed_method=parsed.method)
        method = "echo" if echo.source == "echo" else parsed.method
        positions = list(echo.positions)
        return Picks(positions, [None] * len(positions), method, echo.copied_list, echo.note)

    def _proportions(self) -> Mapping[str, float] | None:
        return self.balance if isinstance(self.balance, Mapping) else None

    def _ask(self, plan: _Plan, k: int, budget: int | None = None) -> tuple[Completion, float]:
        structured = self.structured_output and not getattr(self, "schema_rejected_", False)
        messages = build_messages(
            plan.texts,
            k,
            advice=self.advice,
            output=self.output,  # type: ignore[arg-type]
            task_description=self.task_description,
            labels=self.labels,
            structured=structured,
            notes=plan.notes,
            budget=budget,
            **plan.options,
        )
        if not structured:
            response_format = None
        elif budget is not None:
            response_format = picks_schema(k, len(plan.texts), self.labels)
        else:
            response_format = selection_schema(k, len(plan.texts))
        request = LLMRequest(
            messages=messages,
            instances=tuple(plan.texts),
            k=k,
            response_format=response_format,
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
            return self._ask(plan, k, budget)
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

    def _report(self, record: QueryRecord, k: int, extra: int = 0) -> None:
        if record.n_recap_picks:
            record.notes.append(
                f"The LLM chose {record.n_recap_picks} already-labelled instance(s) again; "
                "they were dropped (see last_query_.prompt_rows)."
            )
        if extra:
            record.notes.append(
                f"The LLM's label guesses could not fill the quotas {record.quota}: {extra} "
                "candidate(s) without a fitting guess were taken instead."
            )
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
            usage["cache_hits" if record.cached else "calls"] += record.n_calls
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

    # -- saving and resuming -------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """What the queries so far have changed, as plain data (JSON-serialisable).

        With an int ``random_state``, each query's draws depend only on the seed
        and the number of queries answered, so restoring this state into a
        strategy built with the same parameters repeats the next query exactly.
        Parameters (and the API key) are not part of it.
        """
        if not hasattr(self, "n_queries_"):
            return {"n_queries": 0}
        state: dict[str, Any] = {
            "n_queries": self.n_queries_,
            "usage": dict(self.usage_),
            "history": [asdict(record) for record in self.history_],
            "schema_rejected": bool(getattr(self, "schema_rejected_", False)),
        }
        if isinstance(self.random_state, np.random.Generator):
            state["rng"] = self.random_state.bit_generator.state
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> ActiveLLM:
        """Restore what :meth:`state_dict` returned; returns ``self``."""
        for name in ("n_queries_", "usage_", "history_", "last_query_", "schema_rejected_"):
            self.__dict__.pop(name, None)
        if not state.get("n_queries"):
            return self
        self.n_queries_ = int(state["n_queries"])
        self.usage_ = dict(state["usage"])
        self.history_ = [QueryRecord(**record) for record in state["history"]]
        if self.history_:
            self.last_query_ = self.history_[-1]
        if state.get("schema_rejected"):
            self.schema_rejected_ = True
        if "rng" in state and isinstance(self.random_state, np.random.Generator):
            self.random_state.bit_generator.state = state["rng"]
        return self

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
