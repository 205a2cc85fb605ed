"""Reading a selection out of an answer that echoes the instance texts.

Small models (SmolLM2-135M, Qwen2.5-0.5B) often answer an ActiveLLM prompt by
copying instances rather than naming positions, under their own numbering
(``1. great fun``) or under the prompt's brackets with the wrong numbers
(``[1] great fun`` for an instance shown as ``[5]``). The numbers in such an
answer say nothing; the texts do. :func:`match_echoed` maps every copied text
back to the position it was presented at, by normalised text: case, spacing,
punctuation, quotes, bullets and the model's numbering are ignored. A copy must
equal a presented text, be a long enough part of exactly one (a line cut off or
shortened by the model), or contain exactly one (a text followed by a remark).
A snippet that fits several presented texts is reported, never guessed.

:func:`resolve_echo` is the policy a strategy applies after parsing: when to
trust the copied texts over the parsed numbers.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["EchoMatch", "EchoResolution", "looks_echoed", "match_echoed", "resolve_echo"]

#: Alphanumeric characters a snippet needs before it may stand for the one
#: presented text containing it (shorter ones, such as "the film", occur in many).
MIN_SNIPPET = 12
#: Share of a line a contained presented text must cover for the line to count
#: as a copy (``great fun - positive`` is; ``3: "great fun", clearly upbeat`` is not).
MIN_COVER = 0.6

_NON_ALNUM = re.compile(r"[\W_]+")
_EMPHASIS = re.compile(r"\*\*|__|`")
_BULLET = re.compile(r"^\s*(?:[-*•+>▪◦‣]\s*)+")
# The model's own numbering, optionally after a label: "1.", "2)", "[3]", "(4)",
# "#5", "Instance 6:", "Text 7 -". Only stripped when text follows it.
_NUMBERING = re.compile(
    r"^\s*(?:(?:instances?|texts?|sentences?|reviews?|items?|examples?|samples?|no\.?|number)"
    r"\s*)?(?:\[\s*#?\d{1,4}\s*\]|\(\s*#?\d{1,4}\s*\)|#?\d{1,4}\s*[.):\-–—]|#\d{1,4})\s*[:\-–—]?\s*",
    re.IGNORECASE,
)
_DOUBLE_QUOTED = re.compile(r"\"([^\"\n]+)\"|“([^”\n]+)”|«([^»\n]+)»")
_QUOTES = "\"'“”‘’«»"
# A verdict outside the quoted text that turns the instance down.
_NEGATIVE = (
    r"(?:no|not\s(?:selected|chosen|included|picked)|rejected?|skip(?:ped)?|excluded?"
    r"|discard(?:ed)?|not\sa\sgood\spick)"
)
_VERDICT_NO = re.compile(rf"(?:^|[\s\-–—:,(\[|])\s*{_NEGATIVE}\b(?!['’]\w)", re.IGNORECASE)
_TRAILING_NO = re.compile(rf"[\-–—:(,|]\s*{_NEGATIVE}\W*$", re.IGNORECASE)


@dataclass(frozen=True)
class EchoMatch:
    """What the copied texts of an answer map back to.

    Attributes
    ----------
    positions : tuple of int
        Presented positions whose texts the answer copies, in answer order,
        each once.
    ambiguous : tuple of str
        Copied snippets that fit several presented texts (not guessed).
    unmatched : int
        Numbered, bulleted or quoted answer lines that match no presented text
        (a garbled copy, or a text the model made up).
    n_copies : int
        Answer lines that are mostly a copy of a presented text (what
        :func:`looks_echoed` counts).

    Examples
    --------
    >>> shown = ["dull", "not bad at all", "great fun"]
    >>> match = match_echoed("1. great fun\\n2. not bad at all", shown)
    >>> match.positions, match.in_presented_order
    ((2, 1), False)
    """

    positions: tuple[int, ...]
    ambiguous: tuple[str, ...] = ()
    unmatched: int = 0
    n_copies: int = 0

    @property
    def in_presented_order(self) -> bool:
        """The copies follow the presentation order: the model copied, not chose."""
        p = self.positions
        return len(p) >= 3 and all(a < b for a, b in itertools.pairwise(p))


@dataclass(frozen=True)
class EchoResolution:
    """The positions a strategy should use for an answer, and why.

    Attributes
    ----------
    positions : tuple of int
        The picks to keep, before any fallback fills the rest.
    source : {"parsed", "echo"}
        Where they come from.
    copied_list : bool
        The answer copied the presented list in order: no choice was made, so
        the picks are as good as random and should be reported like a
        degenerate answer.
    match : EchoMatch or None
        The echo reading, when the answer looked echoed.
    note : str or None
        A one-line explanation for the user, when the echo was used.
    """

    positions: tuple[int, ...]
    source: str
    copied_list: bool = False
    match: EchoMatch | None = None
    note: str | None = None


def _key(text: str) -> str:
    # NFKC folds full-width and ligature forms; dropping every non-alphanumeric
    # also equates tokenised and plain forms ("do n't" / "don't"), as SST-2 mixes them.
    return _NON_ALNUM.sub("", unicodedata.normalize("NFKC", text).casefold())


def _bodies(line: str) -> tuple[list[str], bool]:
    """Readings of a line without bullets, numbering and wrapping quotes (best first).

    Also returns whether the line was a list item. The reading that keeps a
    leading number comes second, for texts that start with one ("10 minutes in").
    """
    text = _EMPHASIS.sub("", line)
    bullet = _BULLET.match(text)
    if bullet:
        text = text[bullet.end() :]
    readings = []
    numbered = _NUMBERING.match(text)
    if numbered and numbered.end() < len(text):
        readings.append(text[numbered.end() :])
    readings.append(text)
    return [_unquote(reading) for reading in readings], bool(bullet or numbered)


def _rejects(line: str) -> bool:
    """Whether an explained item line turns its text down ("- no", "Selected: no")."""
    outside = _DOUBLE_QUOTED.sub(" ", line)
    if outside != line and _VERDICT_NO.search(outside):
        return True
    return _TRAILING_NO.search(line) is not None


def _unquote(text: str) -> str:
    text = text.strip()
    while len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    return text


class _Index:
    """The presented texts by normalised key, for equal, part-of and contains lookups."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.keys = [_key(str(text)) for text in texts]
        self.exact: dict[str, list[int]] = {}
        for position, key in enumerate(self.keys):
            if key:
                self.exact.setdefault(key, []).append(position)

    def lookup(self, segment: str) -> tuple[list[int], float]:
        """Presented positions the segment stands for, and the share of it they cover."""
        key = _key(segment)
        # A bare number names a position, even where a presented text is that number
        # (SST-2 holds "10", "98", "1987"): positions are what the prompt asks for.
        if not key or key.isdigit():
            return [], 0.0
        if key in self.exact:
            return self.exact[key], 1.0
        if len(key) >= MIN_SNIPPET:
            part_of = [p for p, text in enumerate(self.keys) if key in text]
            if part_of:
                return part_of, 1.0
        # The segment holds a whole presented text plus something (a remark, a label);
        # a text inside another contained one ("fun" in "great fun") is no second match.
        inside = {p for p, text in enumerate(self.keys) if text and text in key}
        widest = [
            p
            for p in sorted(inside)
            if not any(self.keys[p] in self.keys[q] != self.keys[p] for q in inside)
        ]
        cover = max((len(self.keys[p]) for p in widest), default=0) / len(key)
        longest = max((len(self.keys[p]) for p in widest), default=0)
        # A short text inside a long remark ("dull" in "not dull at all, rather ...")
        # is a coincidence, not a copy.
        if longest < MIN_SNIPPET and cover < MIN_COVER:
            return [], 0.0
        return widest, cover


def match_echoed(answer: str, texts: Sequence[str]) -> EchoMatch:
    """Map the instance texts an answer copies back to their presented positions.

    Parameters
    ----------
    answer : str
        The LLM's answer.
    texts : sequence of str
        The presented texts; ``texts[p]`` was shown at position ``p``.

    Returns
    -------
    EchoMatch
        Positions in answer order (each once), ambiguous snippets and the
        count of item lines that matched nothing.

    Notes
    -----
    Each line is read on its own. Double-quoted parts of a line (``"..."``,
    ``“...”``, ``«...»``) are matched one by one; otherwise the whole line,
    without its bullet, numbering and wrapping quotes. A segment matches a
    presented text when their normalised forms (casefolded, alphanumerics
    only) are equal; else when it is a part of at least :data:`MIN_SNIPPET`
    alphanumerics of exactly one; else when it contains exactly one (which
    must be that long, or cover :data:`MIN_COVER` of the segment).

    Examples
    --------
    >>> shown = ["it 's so bad", "amazingly lame .", "a joyous romp of a film .", "in memory"]
    >>> answer = 'My picks:\\n1. Amazingly lame!\\n2. "A joyous romp of a film" - positive'
    >>> match_echoed(answer, shown).positions
    (1, 2)

    A snippet found in several texts is reported, not guessed:

    >>> shown = ["a film about love and loss", "a film about love and war"]
    >>> match = match_echoed('1. "a film about love"', shown)
    >>> match.positions, match.ambiguous
    ((), ('a film about love',))
    """
    index = _Index(texts)
    positions: list[int] = []
    ambiguous: list[str] = []
    unmatched = copies = 0
    for line in answer.splitlines():
        if not _NON_ALNUM.sub("", line):
            continue
        if _rejects(line):
            # "2. "dull and slow" - no": the text is quoted to be turned down.
            continue
        readings, is_item = _bodies(line)
        quoted = [next(g for g in m.groups() if g) for m in _DOUBLE_QUOTED.finditer(line)]
        body_hits: list[int] = []
        for reading in readings:
            body_hits, cover = index.lookup(reading)
            if body_hits:
                break
        if len(body_hits) == 1 and cover >= MIN_COVER:
            copies += 1
        # Quoted parts first: a line may quote several texts, or quote one and comment.
        results = [(q, index.lookup(q)[0]) for q in quoted]
        if not any(hits for _, hits in results):
            results = [(readings[0], body_hits)]
        matched = False
        for segment, hits in results:
            if len(hits) == 1:
                matched = True
                if hits[0] not in positions:
                    positions.append(hits[0])
            elif len(hits) > 1:
                matched = True
                ambiguous.append(segment)
        if not matched and (is_item or quoted):
            unmatched += 1
    return EchoMatch(tuple(positions), tuple(ambiguous), unmatched, copies)


def looks_echoed(answer: str, texts: Sequence[str], min_lines: int = 2) -> bool:
    """Whether several answer lines are (numbered) copies of presented texts.

    Lines that quote a text inside a longer remark do not count, so an answer
    that explains its picks ("Instance 3, "great fun", is clearly positive")
    is not taken for an echo.

    Examples
    --------
    >>> shown = ["great fun", "not bad at all", "dull"]
    >>> looks_echoed("1. great fun\\n2. not bad at all", shown)
    True
    >>> looks_echoed("I pick 0 and 1: both are clear.", shown)
    False
    """
    return match_echoed(answer, texts).n_copies >= min_lines


def resolve_echo(
    answer: str,
    texts: Sequence[str],
    parsed_positions: Sequence[int],
    k: int,
    *,
    parsed_method: str | None = None,
    keep_all: bool = False,
) -> EchoResolution:
    """Choose between the parsed positions and the positions of copied texts.

    The echo wins when the answer looks echoed and the parsed numbers are not a
    complete final list: then they are the model's own numbering, or nothing.
    A complete comma-separated list (``parsed_method == "list"`` or
    ``"json"``, ``k`` positions) is the model's choice and is kept even after
    an echo.

    Parameters
    ----------
    answer : str
        The LLM's answer.
    texts : sequence of str
        The presented texts, in presentation order.
    parsed_positions : sequence of int
        What the parser read (distinct, in range).
    k : int
        How many instances were asked for.
    parsed_method : str, optional
        ``ParsedSelection.method`` of the parse.
    keep_all : bool, default=False
        Keep every copied text's position instead of the first ``k`` (a
        strategy drops the labelled ones first and then cuts).

    Examples
    --------
    SmolLM2 copied the list under the prompt's brackets, renumbered from 1:

    >>> shown = ["respectable new one", "a dim", "the promise of digital filmmaking", "eats"]
    >>> answer = "[1] The promise of digital filmmaking\\n[2] a dim\\n[3] Respectable new one"
    >>> resolution = resolve_echo(answer, shown, [1, 2, 3], k=2, parsed_method="items")
    >>> resolution.positions, resolution.source
    ((2, 1), 'echo')
    """
    parsed = tuple(int(p) for p in parsed_positions)
    if not looks_echoed(answer, texts, min_lines=min(2, k)):
        return EchoResolution(parsed, "parsed")
    if len(parsed) >= k and parsed_method in ("list", "json"):
        return EchoResolution(parsed, "parsed", match=match_echoed(answer, texts))
    match = match_echoed(answer, texts)
    copied = match.in_presented_order and len(match.positions) > k
    note = (
        f"The LLM copied instance texts instead of naming positions; {len(match.positions)} "
        f"copies were matched back to their positions ({len(match.ambiguous)} ambiguous, "
        f"{match.unmatched} unmatched)."
    )
    if copied:
        note += " It copied the list in the order shown, so these picks are no real choice."
    positions = match.positions if keep_all else match.positions[:k]
    return EchoResolution(positions, "echo", copied, match, note)
