"""Narrower parts: how the LLM's nominations become ``k`` rows, and how gaps are filled."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions

from activellm_modal.query.balance import Picks, fill_quotas, quotas
from activellm_modal.query.diversify import METHODS as DIVERSIFY_METHODS
from activellm_modal.query.diversify import narrow_nominees
from activellm_modal.query.presentation import Shown
from activellm_modal.query.selection import Fallback, random_fallback

__all__ = ["Diversify", "FirstK", "LabelQuotas", "Narrower"]

#: What :meth:`Narrower.narrow` returns: the rows kept (in order), the rows taken
#: beyond the per-label quotas, and the quotas (None without them).
Narrowed = tuple[list[int], list[int], dict[str, int] | None]


class Narrower(BaseEstimator):
    """Base of the narrower parts; ``fallback`` is the fill rule they share.

    Parameters
    ----------
    fallback : "random" or callable, default="random"
        How missing picks are filled: uniformly among the presented instances
        not chosen, or ``fallback(candidate_positions, n, rng) -> positions``.
    """

    _parameter_constraints: ClassVar[dict] = {
        "fallback": [StrOptions({"random"}), callable],
    }

    #: Whether the prompt asks the LLM for a label guess per pick.
    guesses: ClassVar[bool] = False

    def __init__(self, fallback: str | Fallback = "random") -> None:
        self.fallback = fallback

    def n_ask(self, k: int, n_shown: int) -> int:
        """How many positions to ask the LLM for when ``k`` are needed."""
        return min(n_shown, k)

    def check(self, labels: Sequence[str] | None) -> None:
        """Raise before any call when the narrower cannot work with ``labels``."""

    def narrow(
        self,
        nominated: list[tuple[int, str | None]],
        k: int,
        shown: Shown,
        labels: Sequence[str] | None,
        coverage: Any,
    ) -> Narrowed:
        """At most ``k`` of the nominated pool rows (with label guesses), in the LLM's order.

        ``coverage`` (a :class:`~activellm_modal.query.coverage.CoveragePresenter`)
        embeds texts for the narrowers that need it.
        """
        raise NotImplementedError

    def fill_rule(self) -> Fallback:
        """The ``fallback`` as a function."""
        return random_fallback if self.fallback == "random" else self.fallback  # type: ignore[return-value]


class FirstK(Narrower):
    """The LLM's first ``k`` valid picks (the paper's method, and the default).

    Examples
    --------
    >>> FirstK().narrow([(5, None), (2, None), (9, None)], 2, None, None, None)[0]
    [5, 2]
    """

    def narrow(self, nominated, k, shown, labels, coverage) -> Narrowed:
        return [row for row, _ in nominated][:k], [], None


def _proportions(balance: Any) -> Mapping[str, float] | None:
    return balance if isinstance(balance, Mapping) else None


def _check_balance(balance: Any, labels: Sequence[str] | None) -> None:
    if balance is None:
        return
    if not labels:
        raise ValueError(
            "balance needs the label names: pass labels=[...] (e.g. "
            "labels=['negative', 'positive']) so the LLM can guess one per pick."
        )
    if isinstance(balance, Mapping):
        names = [str(x) for x in labels]
        unknown = [key for key in balance if str(key) not in names]
        if unknown:
            raise ValueError(
                f"balance={dict(balance)!r} names {unknown}, which are not among "
                f"labels={names}; key the shares by those label names."
            )
        quotas(1, names, _proportions(balance))  # raises on negative or all-zero shares


class LabelQuotas(Narrower):
    """Per-label quotas: the LLM guesses a label per pick, and the quotas are filled.

    Parameters
    ----------
    balance : "equal" or mapping, default="equal"
        Equal shares, or the proportions of a mapping ``{label: share}``
        (keyed by ActiveLLM's ``labels``).
    oversample : float, default=2.0
        Candidates asked for per instance needed, so that the quotas can be met.
    fallback : "random" or callable, default="random"
        As for :class:`Narrower`.

    Examples
    --------
    >>> LabelQuotas().narrow(
    ...     [(1, "a"), (2, "a"), (3, "b")], 2, None, ["a", "b"], None
    ... )[0]
    [1, 3]
    """

    guesses = True

    _parameter_constraints: ClassVar[dict] = {
        **Narrower._parameter_constraints,
        "balance": [StrOptions({"equal"}), Mapping],
        "oversample": [Interval(Real, 1, None, closed="left")],
    }

    def __init__(
        self,
        balance: str | Mapping[str, float] = "equal",
        oversample: float = 2.0,
        fallback: str | Fallback = "random",
    ) -> None:
        super().__init__(fallback)
        self.balance = balance
        self.oversample = oversample

    def n_ask(self, k: int, n_shown: int) -> int:
        return min(n_shown, max(k, math.ceil(self.oversample * k)))

    def check(self, labels: Sequence[str] | None) -> None:
        _check_balance(self.balance, labels)

    def narrow(self, nominated, k, shown, labels, coverage) -> Narrowed:
        quota = quotas(k, [str(x) for x in labels or ()], _proportions(self.balance))
        in_quota, extra = fill_quotas(
            Picks([r for r, _ in nominated], [g for _, g in nominated]), quota
        )
        return in_quota + extra, extra, quota


class Diversify(Narrower):
    """Nominate, then diversify: ask for ``nominate * k`` and keep ``k`` by coverage.

    The nominees are embedded and ``k`` of them kept so that they cover the
    embedding space (:func:`~activellm_modal.query.diversify.diversify`); with
    ``balance``, per label quota. On a shortlist
    (:meth:`~activellm_modal.ActiveLLM.select_among`) the first picks are kept.
    Measured no gain over the default (README, "Cold-start selection").

    Parameters
    ----------
    method : {"kmeans", "kcenter"}, default="kmeans"
        How ``k`` of the nominees are kept.
    nominate : float, default=2.0
        Nominations asked for per instance needed.
    balance : "equal", mapping or None, default=None
        Also ask for a label guess per pick and keep per-label quotas.
    fallback : "random" or callable, default="random"
        As for :class:`Narrower`.
    """

    _parameter_constraints: ClassVar[dict] = {
        **Narrower._parameter_constraints,
        "method": [StrOptions(set(DIVERSIFY_METHODS))],
        "nominate": [Interval(Real, 1, None, closed="left")],
        "balance": [StrOptions({"equal"}), Mapping, None],
    }

    def __init__(
        self,
        method: str = "kmeans",
        nominate: float = 2.0,
        balance: str | Mapping[str, float] | None = None,
        fallback: str | Fallback = "random",
    ) -> None:
        super().__init__(fallback)
        self.method = method
        self.nominate = nominate
        self.balance = balance

    @property
    def guesses(self) -> bool:  # type: ignore[override]
        return self.balance is not None

    def n_ask(self, k: int, n_shown: int) -> int:
        return min(n_shown, max(k, math.ceil(self.nominate * k)))

    def check(self, labels: Sequence[str] | None) -> None:
        _check_balance(self.balance, labels)

    def narrow(self, nominated, k, shown, labels, coverage) -> Narrowed:
        quota = None
        if self.balance is not None:
            quota = quotas(k, [str(x) for x in labels or ()], _proportions(self.balance))
        if shown.candidates is not None:  # a shortlist: the first picks, as chosen
            if quota is None:
                return [row for row, _ in nominated][:k], [], None
            in_quota, extra = fill_quotas(
                Picks([r for r, _ in nominated], [g for _, g in nominated]), quota
            )
            return in_quota + extra, extra, quota
        rows = [row for row, _ in nominated]
        text_of = dict(zip(shown.rows.tolist(), shown.texts, strict=True))
        kept = narrow_nominees(
            coverage,
            list(range(len(rows))),
            np.asarray(rows, dtype=np.intp),
            [text_of[row] for row in rows],
            k,
            None if quota is None else [g for _, g in nominated],
            quota,
            np.random.default_rng([len(rows), k]),
            self.method,
        )
        return [rows[i] for i in kept], [], quota
