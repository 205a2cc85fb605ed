"""What one query of :class:`~activellm_modal.ActiveLLM` did: ``last_query_`` and ``history_``."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["QueryRecord"]


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
        Every valid distinct position the answer selects, in answer order
        (not cut to ``n_instances``: recapped ones are dropped first).
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
        LLM calls this query made (0 when there was nothing to choose; 2 only
        when ``reask_degenerate`` re-asked).
    n_truncated : int
        Presented texts cut to ``max_chars``.
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
    n_truncated: int = 0
