"""ActiveLLM as a modAL query strategy."""

from __future__ import annotations

import inspect
import logging
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from os import PathLike
from typing import Any, ClassVar

import numpy as np
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from activellm_modal.exceptions import LLMEndpointError, SelectionWarning
from activellm_modal.llm.base import Completion, LLMBackend, LLMRequest
from activellm_modal.llm.cache import AnswerCache, CachedBackend
from activellm_modal.llm.secrets import mask
from activellm_modal.loop.learners import labelled_data
from activellm_modal.query.balance import Picks, fill_quotas, quotas
from activellm_modal.query.coverage import CoveragePresenter, coverage_presenter
from activellm_modal.query.diversify import METHODS as DIVERSIFY_METHODS
from activellm_modal.query.diversify import narrow_nominees
from activellm_modal.query.planning import Plan, plan_prompt
from activellm_modal.query.pool import DEFAULT_PAIR_LABELS, TextPool
from activellm_modal.query.presentation import Shown, show_candidates, show_sample
from activellm_modal.query.prompt import (
    GUIDANCE,
    OUTPUT_STYLES,
    build_messages,
    guidance_text,
    picks_schema,
    selection_schema,
)
from activellm_modal.query.reader import read_nominations
from activellm_modal.query.recap import RECAP_MODES, Labelled, labelled_from
from activellm_modal.query.sampling import Presenter, Sampler, duplicate_key, random_sampler
from activellm_modal.query.selection import (
    Fallback,
    complete_selection,
    draw_rows,
    is_degenerate,
    random_fallback,
)
from activellm_modal.strategies.base import QueryStrategy
from activellm_modal.strategies.records import QueryRecord

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


class ActiveLLM(QueryStrategy):
    """Let an LLM choose which unlabelled texts to label (Bayer and Reuter, 2024).

    A modAL query strategy: ``ActiveLLM(...)(learner, X_pool, n_instances)``
    returns ``(indices, scores)``. Each query shows the LLM ``n_presented``
    texts of the pool (by default typical texts of every region, in an order
    whose first ``n_instances`` already cover the pool; ``presentation=
    "uniform"``: the paper's seeded random sample in random order), asks for
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
    sampler : callable or Presenter, optional
        ``sampler(n_pool, size, rng) -> rows`` choosing what is shown, in
        order; or a text-aware :class:`~activellm_modal.query.sampling.Presenter`
        (``presenter.present(pool, size, rng) -> rows``, where
        ``pool.texts(rows)`` renders any rows). Default: uniform without
        replacement, random order.
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
    max_chars : int or None, default=2000
        Each presented (and recapped) text is cut to this many characters,
        marked ``[...]``, so that one huge text cannot blow up the prompt
        (``last_query_.n_truncated`` counts them). None: no limit.
    reask_degenerate : bool, default=False
        When the answer is a trivial run (e.g. the first k positions shown) or
        a copy of the list in order, ask once more with the same texts in a
        fresh order. Off by default: it costs a second call, and with the
        random presentation order a trivial answer is no worse than random.
    presentation : {"coverage", "uniform"} or CoveragePresenter, default="coverage"
        What is shown (when ``sampler`` is not given). ``"coverage"``:
        typical members of every region of the pool (k-means on sentence
        embeddings of a seeded subsample of 2,000, the densest member of each
        cluster), ordered so that the first ``n_instances`` shown already cover
        the pool (:class:`~activellm_modal.query.coverage.CoveragePresenter`; pass
        one to choose the embedder, subsample or order). It embeds with the
        offline all-MiniLM-L6-v2, once per text and process. ``"uniform"``: a
        seeded random sample in random order (the paper's).
    diversify : {"kmeans", "kcenter"} or None, default=None
        Nominate, then diversify: ask for ``nominate * n_instances`` texts and
        keep ``n_instances`` of them by coverage in embedding space
        (:func:`~activellm_modal.query.diversify.diversify`); with ``balance``, per
        label quota. None keeps the LLM's first picks. Not applied to a
        shortlist (:meth:`select_among`).
    nominate : float, default=2.0
        With ``diversify``, nominations asked for per instance needed.
    guidance : {"representative"} or None, default="representative"
        Ask in the prompt for representative, mutually different texts that
        cover every label (the paper's best prompt has no such advice).

    The defaults are the pipeline with the best measured evidence
    (``benchmarks/bench_cold_start.py``); ``make_strategy("paper", ...)``
    (:mod:`activellm_modal.presets`) is the paper's method.

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

    _record_type = QueryRecord
    # Clients hold sockets and keys; a pickle (a saved loop) must hold neither.
    _transient = ("_failure", "_backend", "_presenter")
    _parameter_constraints: ClassVar[dict] = {
        "model": [str],
        "base_url": [str, None],
        "api_key": [str, None],
        "client": "no_validation",
        "backend": [HasMethods(["complete"]), None],
        "n_presented": [Interval(Integral, 1, None, closed="left")],
        "advice": ["boolean"],
        "output": [StrOptions(set(OUTPUT_STYLES))],
        "task_description": [str, None],
        "labels": ["array-like", None],
        "structured_output": ["boolean"],
        "text_column": "no_validation",
        "pair_columns": [tuple, list, None],
        "pair_labels": [tuple, list],
        "sampler": [callable, HasMethods(["present"]), None],
        "skip_duplicates": ["boolean"],
        "fallback": [StrOptions({"random"}), callable],
        "cache_dir": [str, PathLike, None],
        "price_per_million": [tuple, list, None],
        "temperature": [Interval(Real, 0, None, closed="left"), None],
        "max_tokens": [Interval(Integral, 1, None, closed="left"), None],
        "timeout": [Interval(Real, 0, None, closed="neither")],
        "max_retries": [Interval(Integral, 0, None, closed="left")],
        "random_state": [Interval(Integral, 0, None, closed="left"), np.random.Generator, None],
        "recap": [StrOptions(set(RECAP_MODES))],
        "max_recap": [Interval(Integral, 0, None, closed="left")],
        "balance": [StrOptions({"equal"}), Mapping, None],
        "oversample": [Interval(Real, 1, None, closed="left")],
        "reask_degenerate": ["boolean"],
        "max_chars": [Interval(Integral, 20, None, closed="left"), None],
        "presentation": [StrOptions({"coverage", "uniform"}), CoveragePresenter],
        "diversify": [StrOptions(set(DIVERSIFY_METHODS)), None],
        "nominate": [Interval(Real, 1, None, closed="left")],
        "guidance": [StrOptions(set(GUIDANCE)), None],
    }

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
        sampler: Sampler | Presenter | None = None,
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
        max_chars: int | None = 2000,
        presentation: str | CoveragePresenter = "coverage",
        diversify: str | None = None,
        nominate: float = 2.0,
        guidance: str | None = "representative",
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
        self.max_chars = max_chars
        self.presentation = presentation
        self.diversify = diversify
        self.nominate = nominate
        self.guidance = guidance

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
        pool = TextPool(X_pool, self.text_column, self.pair_columns, self.pair_labels)
        labelled = self._labelled(learner, X_labelled, y_labelled)
        rng = self._rng(self.random_state)
        exclude = labelled.keys(self.skip_duplicates)

        shown = self._present(pool, n_instances, rng, exclude, candidates, notes)
        target = min(n_instances, len(pool))
        k = min(target, len(shown.rows))
        answer = None
        if len(shown.rows) > k:  # something to choose: ask the LLM
            plan = self._plan(shown, labelled, rng, notes_meaning, context)
            answer = self._answer(shown, plan, labelled, rng, k, notes_meaning, context)
            shown = answer.shown
            chosen, guesses, extra, quota = self._narrow(answer.nominated, k, shown)
        else:  # nothing to choose: every shown row is taken, no call
            chosen, guesses, extra, quota = shown.rows.tolist(), {}, [], None
        indices, fill_notes = self._fill(chosen, shown, target, rng, pool, exclude)

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
            pair_labels=self.pair_labels,
            required=self.recap != "none",
        )

    def _present(
        self,
        pool: TextPool,
        n_instances: int,
        rng: np.random.Generator,
        exclude: set[str],
        candidates: np.ndarray | None,
        notes: list[str] | None,
    ) -> Shown:
        """The present step: a sample of the pool, or the given candidates."""
        if candidates is not None:
            return show_candidates(
                pool,
                candidates,
                notes,
                rng,
                skip_duplicates=self.skip_duplicates,
                exclude=exclude,
                max_chars=self.max_chars,
            )
        sampler = self.sampler or random_sampler
        if self.sampler is None and self.presentation != "uniform":  # issue 18: coverage
            sampler = self._coverage().for_k(n_instances)
        return show_sample(
            pool,
            max(self.n_presented, n_instances),
            rng,
            sampler=sampler,
            skip_duplicates=self.skip_duplicates,
            exclude=exclude,
            max_chars=self.max_chars,
        )

    def _n_nominations(self, k: int, n_shown: int) -> int:
        """How many positions to ask for: ``k``, or more for a later narrowing."""
        ask = k if self.balance is None else max(k, math.ceil(self.oversample * k))
        if self.diversify is not None:  # issue 18: nominate m*k, keep k by coverage
            ask = max(ask, math.ceil(self.nominate * k))
        return min(n_shown, ask)

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
        ask_k = self._n_nominations(k, len(shown.rows))
        budget = k if self.balance is not None else None
        completion, seconds = self._ask(plan, ask_k, budget=budget)
        picks = read_nominations(completion.text, plan.texts, ask_k, guesses=budget is not None)
        n_calls, note = 1, None
        if self.reask_degenerate and (
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

    def _narrow(
        self, nominated: list[tuple[int, str | None]], k: int, shown: Shown | None = None
    ) -> tuple[list[int], dict[int, str | None], list[int], dict[str, int] | None]:
        """Narrow the LLM's nominations (pool rows, in its order) to at most ``k``.

        This is the one place where more nominations than needed are turned into
        the selection: the per-label quotas of ``balance`` here; a coverage-based
        choice among ``m * k`` nominations would plug in the same way. Returns
        the rows, the label guess of each, the rows taken beyond the quotas and
        the quotas.
        """
        guesses = dict(nominated)
        # issue 18: keep k of the m*k nominees by coverage (not on a shortlist).
        if self.diversify is not None and shown is not None and shown.candidates is None:
            quota = None
            if self.balance is not None:
                quota = quotas(k, [str(x) for x in self.labels or ()], self._proportions())
            rows = [row for row, _ in nominated]
            text_of = dict(zip(shown.rows.tolist(), shown.texts, strict=True))
            kept = narrow_nominees(
                self._coverage(),
                list(range(len(rows))),
                np.asarray(rows, dtype=np.intp),
                [text_of[row] for row in rows],
                k,
                None if quota is None else [g for _, g in nominated],
                quota,
                np.random.default_rng([len(rows), k]),
                self.diversify,
            )
            return [rows[i] for i in kept], guesses, [], quota
        if self.balance is None:
            return [row for row, _ in nominated][:k], guesses, [], None
        quota = quotas(k, [str(x) for x in self.labels or ()], self._proportions())
        in_quota, extra = fill_quotas(
            Picks([r for r, _ in nominated], [g for _, g in nominated]), quota
        )
        return in_quota + extra, guesses, extra, quota

    def _fill(
        self,
        chosen: list[int],
        shown: Shown,
        target: int,
        rng: np.random.Generator,
        pool: TextPool,
        exclude: set[str],
    ) -> tuple[np.ndarray, list[str]]:
        """The fill step: the chosen rows, topped up to exactly ``target`` distinct rows.

        First from the shown rows (``fallback``), then (rarely) from rows that
        were not shown: near-duplicates and, with a shortlist, rows outside it;
        last, rows whose text is already labelled, with a warning.
        """
        position = {int(row): p for p, row in enumerate(shown.rows.tolist())}
        picked = [position[row] for row in chosen]
        k = min(target, len(shown.rows))
        picked, filled = complete_selection(picked, len(shown.rows), k, rng, self._fallback())
        rows = [int(shown.rows[p]) for p in picked + filled]
        notes: list[str] = []
        if len(rows) < target:
            unlabelled, labelled = self._reserves(pool, rows, exclude)
            reserves = [unlabelled, labelled]
            if shown.candidates is not None:
                inside = np.isin(unlabelled, shown.candidates)
                reserves = [unlabelled[inside], unlabelled[~inside], labelled]
            more, used = draw_rows(reserves, target - len(rows), rng)
            rows += more
            n_old = len(set(more) & set(labelled.tolist()))
            if n_old:
                notes.append(
                    f"Only {len(rows) - n_old} unlabelled distinct texts were left for {target} "
                    f"instances: {n_old} row(s) whose text is already labelled were added to "
                    "return the count asked for (drop labelled rows from X_pool)."
                )
            elif shown.candidates is not None and used >= 0:
                where = "near-duplicates among the candidates" if used == 0 else "other rows"
                notes.append(
                    f"Only {len(shown.rows)} distinct unlabelled candidates for {target} "
                    f"instances: {len(more)} {where} were added to return the count asked for."
                )
        return np.asarray(rows, dtype=np.intp), notes

    def _reserves(
        self, pool: TextPool, taken: list[int], exclude: set[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows not taken yet, split into unlabelled and already-labelled texts."""
        mask_ = np.ones(len(pool), dtype=bool)
        mask_[taken] = False
        rest = np.flatnonzero(mask_)
        if not exclude or not len(rest):
            return rest, rest[:0]
        is_labelled = np.asarray([self._key(t) in exclude for t in pool.texts(rest)], bool)
        return rest[~is_labelled], rest[is_labelled]

    def _make_record(
        self,
        indices: np.ndarray,
        shown: Shown,
        answer: _Answer | None,
        n_llm: int,
        guesses: dict[int, str | None],
    ) -> QueryRecord:
        record = QueryRecord(
            indices=indices.tolist(),
            presented=shown.rows.tolist() if answer is not None else [],
            recap=self.recap,
            n_truncated=shown.n_truncated,
            n_calls=0 if answer is None else answer.n_calls,
        )
        if shown.n_truncated:
            record.notes.append(
                f"{shown.n_truncated} presented text(s) were longer than max_chars="
                f"{self.max_chars} and were truncated."
            )
        if answer is None:
            return record
        completion, picks, plan = answer.completion, answer.picks, answer.plan
        record.answer = completion.text
        record.positions = list(picks.positions)
        record.n_filled = len(indices) - n_llm
        first = record.positions[: answer.ask_k]
        record.degenerate = is_degenerate(first, answer.ask_k) or picks.copied_list
        record.cached = completion.cached
        record.prompt_tokens = completion.prompt_tokens
        record.completion_tokens = completion.completion_tokens
        record.seconds = answer.seconds
        record.model = completion.model or self.model
        record.n_recap = plan.n_recap
        if plan.new_index != list(range(len(shown.rows))):
            record.prompt_rows = [int(shown.rows[i]) if i >= 0 else -1 for i in plan.new_index]
        record.n_recap_picks = sum(plan.new_index[p] < 0 for p in picks.positions)
        if self.balance is not None:
            chosen = record.indices[:n_llm]
            record.guessed_labels = [guesses.get(i) for i in chosen] + [None] * (
                len(indices) - n_llm
            )
        record.notes.extend(answer.notes)
        return record

    # -- validation ----------------------------------------------------------------------

    def _check(self, n_instances: Any) -> None:
        if isinstance(n_instances, bool) or not isinstance(n_instances, int | np.integer):
            raise TypeError(f"n_instances must be an int, got {n_instances!r}.")
        if n_instances < 1:
            raise ValueError(f"n_instances must be at least 1, got {n_instances}.")
        self._validate_params()
        if self.balance is not None:
            if not self.labels:
                raise ValueError(
                    "balance needs the label names: pass labels=[...] (e.g. "
                    "labels=['negative', 'positive']) so the LLM can guess one per pick."
                )
            if isinstance(self.balance, Mapping):
                names = [str(x) for x in self.labels]
                unknown = [key for key in self.balance if str(key) not in names]
                if unknown:
                    raise ValueError(
                        f"balance={dict(self.balance)!r} names {unknown}, which are not among "
                        f"labels={names}; key the shares by those label names."
                    )
                quotas(1, names, self._proportions())  # raises on negative or all-zero shares
        if self.price_per_million is not None and len(self.price_per_million) != 2:
            raise ValueError(
                "price_per_million must be (prompt_price, completion_price) in USD per "
                f"million tokens, got {self.price_per_million!r}."
            )

    def _init_state(self) -> None:
        self.usage_ = {
            "calls": 0,
            "cache_hits": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "seconds": 0.0,
            "cost": None if self.price_per_million is None else 0.0,
        }

    def _coverage(self) -> CoveragePresenter:
        """The presenter (also the embedder of ``diversify``), built once; issue 18."""
        presenter = getattr(self, "_presenter", None)
        if presenter is None:
            presenter = coverage_presenter(self.presentation)
            self._presenter = presenter
        return presenter

    def _fallback(self) -> Fallback:
        return random_fallback if self.fallback == "random" else self.fallback  # type: ignore[return-value]

    def _key(self, text: str) -> str:
        return duplicate_key(text) if self.skip_duplicates else text

    def _plan(
        self,
        shown: Shown,
        labelled: Labelled,
        rng: np.random.Generator,
        notes_meaning: str | None,
        context: str | None,
    ) -> Plan:
        """The prompt step (:func:`~activellm_modal.query.planning.plan_prompt`)."""
        plan = plan_prompt(
            shown,
            labelled,
            rng,
            recap=self.recap,
            max_recap=self.max_recap,
            max_chars=self.max_chars,
            notes_meaning=notes_meaning,
            context=context,
        )
        if self.guidance is not None:  # issue 18: ask for representative, diverse texts
            plan.options.update(guidance=guidance_text(self.guidance))
        return plan

    def _proportions(self) -> Mapping[str, float] | None:
        return self.balance if isinstance(self.balance, Mapping) else None

    def _ask(self, plan: Plan, k: int, budget: int | None = None) -> tuple[Completion, float]:
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
            id(self.client),
            self.timeout,
            self.max_retries,
            self.temperature,
            self.max_tokens,
            str(self.cache_dir),
        )
        cached = getattr(self, "_backend", None)
        if cached is not None and cached[0] == key:
            return cached[1]
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
            model = getattr(self.backend, "model", None) or self.model
            backend = CachedBackend(backend, AnswerCache(self.cache_dir), model=str(model))
        self._backend = (key, backend)
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
        if record.n_filled and record.answer is not None:
            record.notes.append(
                f"The LLM named {len(record.indices) - record.n_filled} valid distinct "
                f"positions of the {k} asked for; {record.n_filled} were filled at random "
                "from the presented instances (see last_query_.answer)."
            )
        if record.degenerate:
            # issue 18: under the coverage order a first-k answer is a covering set.
            covering = self.presentation != "uniform" and self.sampler is None
            record.notes.append(
                "The LLM's picks form a trivial run (e.g. the first positions shown); "
                + (
                    "with the coverage presentation that is one typical text per region, "
                    "not the LLM's own judgement."
                    if covering
                    else "since the presentation order is random, this selection is no "
                    "better than random."
                )
            )
        # The usage is counted before any warning: a warning turned into an error must
        # not lose what the call cost.
        self._record(record)
        for note in record.notes:
            warnings.warn(note, SelectionWarning, stacklevel=5)

    def _record(self, record: QueryRecord) -> None:
        if getattr(self, "last_query_", None) is record:
            return
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
        self._append(record)
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
