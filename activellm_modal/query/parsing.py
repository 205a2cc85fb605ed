"""Turn an LLM's free-text answer into the positions it selected.

The LLM is shown instances after their positions (0-based integers) and is asked
to end its answer with the chosen positions as one comma-separated list. Real
answers stray from that: JSON, code fences, ``Instance 7: ...`` or ``(#4)``
lines, one number per line, numbered lists whose item numbers are not
positions, several category lists, reasoning full of other numbers, or a list
spread over several chat turns. The parser works in two steps:

1. **Candidates.** Structured output (JSON that parses) is trusted first. Else
   every line is scanned: a run of comma-separated integers (ranges such as
   ``2-5`` expanded) is one *list* candidate; lines that each name one instance
   (``Instance 3: ...``, ``- 0: ...``, ``16. 511 (...)``, ``(#4)``, a bare
   number) are grouped with their neighbours of the same kind into one *item*
   candidate.
2. **Choice.** The final answer wins: the last candidate holding at least half
   of ``k`` valid positions, unless it only refers back to an earlier complete
   list ("Instances like 1, 13, etc. are hard"). When it holds fewer than
   ``k``, the stand-alone candidates right after it (additions such as
   "Instance 80: ...") and right before it (category lists such as
   ``Positive: 1, 2`` / ``Negative: 7, 9``, or the earlier turns of a reply
   cut into pieces) are joined to it, as long as each adds mostly new
   positions and does not hold most of the answer already (then it is the
   pool the answer was picked from).

Positions outside ``0 <= p < n_presented`` and repeats are dropped, never
clamped, and the result is cut to ``k``, in answer order. Dataset IDs
(``[ID: 1037]``) are not mapped back to positions: ``ID: 5`` reads as 5, as the
paper's authors read it.
"""

from __future__ import annotations

import json
import math
import operator
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

__all__ = [
    "Candidate",
    "ParsedSelection",
    "Reading",
    "extract_json_positions",
    "parse_answer",
    "parse_selection",
    "read_answer",
]

# --------------------------------------------------------------------------- #
# Text normalisation
# --------------------------------------------------------------------------- #

# Dash-like characters become "-" so that "2–5" and "−3" read like ASCII;
# zero-width characters would split numbers, so they go.
# (A regex finds them: str.translate is slow on non-ASCII text.)
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
_ODD_CHAR_RE = re.compile("[\u2010-\u2015\u2212\ufe58\ufe63]|[\u200b-\u200d\u2060\ufeff]")
# Markdown emphasis and inline code wrap numbers ("**ID: 0**", "`3`") but carry no meaning.
_EMPHASIS_RE = re.compile(r"\*\*|__|`")
# Dates ("2021-03-15" would read as 2021 and 3) and thousands ("30,000" would
# read as the list 30, 0). Both start with a digit so that the scan stays fast;
# what precedes the match is checked in _fix_number.
_NUMBER_FIX_RE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}(?![\w-])|\d{1,3}(?:,\d{3})+(?![\d,])")
_PROSE_AFTER_RE = re.compile(r"\s*[A-Za-z%]|\.")

# --------------------------------------------------------------------------- #
# Numbers, runs and item lines
# --------------------------------------------------------------------------- #

_DIGITS_RE = re.compile(r"\d+")
_LONE_RE = re.compile(r"^\W*(?:[A-Za-z][A-Za-z ]{0,40}:\s*)?(?:#|\[)?(\d{1,9})\]?\W*$")
# One listed element: an optional "[" or "#", an integer that is not part of a
# word or a decimal, an optional range end ("2-5"), an optional "]" and an
# optional short remark in parentheses ("609 (unique praise)"). The remark is
# bounded and every repetition needs a new digit, so matching stays linear.
# "and" is spelled out in both cases because IGNORECASE slows every scan.
_ELEM = (
    r"(?:\[\s?)?(?:#\s?)?(?<![\w.])-?\d+(?![\w]|\.\d)(?:\s?-\s?\d+(?![\w]|\.\d))?(?:\s?\])?"
    r"(?:\s?\([^()\n]{0,120}\))?"
)
_SEP = r"(?:\s{0,3}[,;]\s{0,3}(?:(?:[Aa]nd|AND|&)\s{1,3})?|\s{1,3}(?:[Aa]nd|AND|&)\s{1,3})"
_MULTI_RE = re.compile(rf"{_ELEM}(?:{_SEP}{_ELEM})+")
_ELEM_RE = re.compile(_ELEM)
# The integer(s) of one element; matching the remark too skips the numbers inside it.
_ELEM_VALUE_RE = re.compile(
    r"(?<![\w.])(?P<a>-?\d+)(?![\w]|\.\d)(?:\s?-\s?(?P<b>\d+)(?![\w]|\.\d))?"
    r"(?:\s?\]?\s?\([^()\n]{0,120}\))?"
)

# "- " is a bullet, "-3" a negative number.
_BULLET = r"(?:[-*+>](?=\s)|[•▪◦‣]|\(?\d{1,3}[.)])"
_KEYWORD = (
    r"(?:instances?|indices|indexes|index|idx|ids?|items?|examples?|samples?|positions?"
    r"|numbers?|nos?\.|nr\.?)"
)
# The line patterns are matched after the indentation: a leading "\s*" would
# backtrack through every space on failure.
# A line that starts with a bullet and/or a keyword directly before a number:
# "- 0: ...", "16. 511 (...)", "Instance 3: ...", "1. Instance ID 24:", "Index 0".
_LEAD_RE = re.compile(
    rf"(?P<bullet>{_BULLET}\s*)?"
    rf"(?:(?P<kw>{_KEYWORD})(?![\w])\s?(?:(?:id|number|no\.|nr\.?)\s?)?[:#=]?\s{{0,3}})?"
    r"(?=(?:\[\s?)?#?\s?-?\d)",
    re.IGNORECASE,
)
# A number and a remark: "3: They may not be friendly.", "[3] text", "67 (strong)".
# "3. text" is deliberately absent: that is an enumerator, not an instance.
_NUMBER_TEXT_RE = re.compile(r"(?:\[\s?-?\d+\s?\]|#?-?\d+\s?[:=]|#?-?\d+\s\(|#?-?\d+\s-\s)")
# A whole quoted text, then its position in parentheses, alone on its line.
_QUOTED_ITEM_RE = re.compile(r"(?:[-*+•]\s*)?[\"“][^\"“”\n]{3,}[\"”]\s?\((\d{1,4})\)\W*$")
_BARE_RE = re.compile(r"(?:[-*+]\s|[•▪◦‣]\s?)?(?:\[\s?)?#?(-?\d+)(?:\s?\])?\s?[.,;]?\s*$")
# One number after a label without digits: "Final answer: 7", "Selected = [3]".
_LABELLED_SINGLE_RE = re.compile(
    r"(?P<label>[^\d\n]{1,80}?[:=])\s{0,3}\[?#?(?P<value>-?\d+)(?![\w]|\.\d)[\W_]*$"
)
# Labels of numbers that are not positions ("Total: 32", "Confidence: 3").
_COUNT_LABEL_RE = re.compile(
    r"\b(?:total|count|number of|budget|amount|sum|k|confidence|score|rating|year|step)\b",
    re.IGNORECASE,
)
_LIST_SEP_RE = re.compile(r"\d[^,;\d]{0,130}[,;]\s{0,3}[\[#-]?\d")
# References inside prose: "(#4)", "#12", "instance number 125", "Instance 80".
_INLINE_REF_RE = re.compile(
    r"\(#\s?(\d+)\)|(?<![\w&#])#(\d+)\b"
    r"|\binstances?\s(?:number\s|no\.\s?|nr\.?\s?|#\s?|id\s)?(\d+)\b(?![.,]\d)",
    re.IGNORECASE,
)
# A selection phrased negatively: a list label ("Excluded: 4, 5") or an item's
# verdict ("Instance 2: Not selected.", "[7] dull review - rejected", "Chosen: no").
_NEGATION = (
    r"(?:not\s(?:be\s)?(?:selected|chosen|included|picked|labell?ed)|excluded?|rejected?"
    r"|skip(?:ped)?|discard(?:ed)?|left\sout)\b"
)
_NEGATED_RE = re.compile(rf"\b{_NEGATION}", re.IGNORECASE)
_NEGATED_ITEM_RE = re.compile(
    rf"(?:^|[:=(\[|,;.>-])\s*{_NEGATION}"
    r"|\b(?:selected|chosen|included|select|choose|include)\s?[:=?]\s?no\b",
    re.IGNORECASE,
)
# What a list is, when it is not the selection: the label before it, or the
# remark after an item, says so ("Runners-up: 13, 46", "Instance 2 was a close
# second", "Example format: ...", "Not 3, 5").
_RUNNERS_UP_RE = re.compile(
    r"\b(?:runners?[- ]?ups?|close\sseconds?|second(?:ary)?\s(?:choices?|picks?|tier)"
    r"|backups?|reserves?|honou?rable\smentions?|also\sconsidered|alternates"
    r"|next\sbest|near\smiss(?:es)?|almost\s(?:made|chosen|selected|picked))\b",
    re.IGNORECASE,
)
_EXAMPLE_RE = re.compile(
    r"\b(?:for\sexample|examples?\s(?:format|answer|output|response|list)|e\.g\."
    r"|for\sinstance|such\sas|format\s(?:like|as|is|would\sbe)|in\sthe\sform(?:at)?\sof)",
    re.IGNORECASE,
)
# A label that names its list as the answer; the last such list is the final one.
_FINAL_LABEL_RE = re.compile(
    r"\b(?:final|answer|my\s(?:selection|picks?|choices?)|selected(?:\s(?:positions|instances))?\s?:)",
    re.IGNORECASE,
)
_BARE_NOT_RE = re.compile(r"\b(?:not|never|avoid(?:ing)?|except|instead\sof)\W{0,3}$", re.I)
# Quoted text is data (an instance quoted with "answer 0,1,2" in it), not an answer.
_LETTERS_RE = re.compile(r"[A-Za-z]{2}")
_QUOTE_PAIRS = (('"', '"'), ("“", "”"), ("«", "»"))
#: The roles a candidate list can have; only "selection" is ever returned as picks.
ROLES = ("selection", "rejected", "runners-up", "example", "quoted")
_BULLET_ONLY_RE = re.compile(_BULLET)
_ALNUM_RE = re.compile(r"[^\W_]")
# After a number, only these characters can continue a list: a separator, a
# range dash, "and", a closing bracket or a remark in parentheses.
_CONTINUES_RE = re.compile(r"\s{0,3}[,;&aA)\]\-(]")
_LABEL_END = (":", "-", "=", "(", "[", "{", ">", "#", '"', "'")
_MAX_LABEL = 80  # characters of a label before a list ("Clear positive sentiments:")
_MAX_RANGE = 1000  # longest range expanded; "2021-26855" (a CVE) reads as two numbers
_HUGE = 10**18  # stands for integers too long to matter
_MAX_TEXT_GAP = 2  # text lines tolerated inside one item block ("Reason: ..." lines)

# --------------------------------------------------------------------------- #
# JSON
# --------------------------------------------------------------------------- #

_FENCE_RE = re.compile(r"```[ \t]*[\w+-]*[ \t]*\n?(.*?)```", re.DOTALL)
_OBJECT_START_RE = re.compile(r"\{\s*\"")
_JSON_INT_RE = re.compile(r"\s*-?\d+\s*")
_JSON_KEYS = (
    "positions",
    "selected_positions",
    "position",
    "indices",
    "selected_indices",
    "indexes",
    "selected",
    "selection",
    "selected_instances",
    "instances",
    "ids",
    "choices",
    "answer",
)
_JSON_KEY_PARTS = ("position", "indic", "index", "select", "instance", "choice")
# Keys naming what was *not* chosen ("unselected_positions", "excluded_indices").
_NEGATIVE_KEY_RE = re.compile(
    r"(?:^|[_\s-])(?:un|not|non)|exclu|reject|skip|discard|drop|omit|avoid|runner|backup"
)
_MAX_OBJECT_TRIES = 50  # embedded objects tried, the last ones first


@dataclass(frozen=True)
class ParsedSelection:
    """The positions read from one answer, with how they were found.

    Attributes
    ----------
    positions : tuple of int
        Distinct positions ``0 <= p < n_presented`` in answer order, at most ``k``.
    n_found_raw : int
        Integers in the chosen candidate(s) before any filtering (ranges expanded).
    n_out_of_range : int
        Of those, how many were negative or ``>= n_presented``.
    n_duplicates : int
        Of the in-range ones, how many repeated an earlier position.
    truncated : bool
        Whether more than ``k`` valid distinct positions were found (the rest was cut).
    method : str
        The rule that produced the positions: ``"json"`` (structured output),
        ``"list"`` (one comma-separated list), ``"items"`` (one block of lines
        naming one instance each), ``"merged"`` (several candidates joined),
        ``"lone"`` (an answer ending in a single number) or ``"none"`` (no
        number that could be a selection).
    """

    positions: tuple[int, ...]
    n_found_raw: int
    n_out_of_range: int
    n_duplicates: int
    truncated: bool
    method: str


@dataclass
class _Block:
    """One candidate: the integers of one list, or of a group of item lines."""

    kind: str  # "list", or the kind of item line ("instance", "bullet", "bare", "ref", ...)
    values: list[int]
    standalone: bool  # fills its line(s); only such candidates are joined to the final one
    has_text: list[bool] = field(default_factory=list)  # per item: text after the number?
    n_clipped: int = 0  # range members >= n_presented, counted but not listed
    role: str = "selection"  # see ROLES
    final: bool = False  # labelled as the answer ("Final answer:", "My selection:")


def parse_selection(answer: str, n_presented: int, k: int) -> list[int]:
    """Read the positions an LLM selected from its free-text answer.

    Parameters
    ----------
    answer : str
        The LLM's reply, as text.
    n_presented : int
        How many instances were shown; valid positions are ``0 .. n_presented - 1``.
    k : int
        How many positions were asked for; at most ``k`` are returned.

    Returns
    -------
    list of int
        Distinct valid positions in answer order, at most ``k`` (empty when the
        answer names none, e.g. a refusal).

    Raises
    ------
    TypeError
        If ``answer`` is not a string or ``n_presented`` / ``k`` are not integers.
    ValueError
        If ``n_presented < 1`` or ``k < 0``.

    See Also
    --------
    parse_answer : The same, with counts of what was dropped and the rule used.

    Examples
    --------
    >>> parse_selection("I would label these: 1, 4, 5.", n_presented=10, k=3)
    [1, 4, 5]
    >>> parse_selection("Steps 1 and 2 first ... Final answer: 7, 2-4, 12, 7", 10, 5)
    [7, 2, 3, 4]
    >>> parse_selection("I cannot help with that.", 10, 3)
    []
    """
    return list(parse_answer(answer, n_presented, k).positions)


def parse_answer(answer: str, n_presented: int, k: int) -> ParsedSelection:
    """Read the selected positions and report how they were found.

    Parameters
    ----------
    answer : str
        The LLM's reply, as text.
    n_presented : int
        How many instances were shown; valid positions are ``0 .. n_presented - 1``.
    k : int
        How many positions were asked for; at most ``k`` are kept.

    Returns
    -------
    ParsedSelection
        The positions plus counts of raw, out-of-range and repeated integers,
        whether the answer named more than ``k`` and which rule applied.

    Raises
    ------
    TypeError
        If ``answer`` is not a string or ``n_presented`` / ``k`` are not integers.
    ValueError
        If ``n_presented < 1`` or ``k < 0``.

    Examples
    --------
    >>> parsed = parse_answer('{"positions": [3, 1, 3, 12]}', n_presented=10, k=5)
    >>> parsed.positions, parsed.n_out_of_range, parsed.n_duplicates, parsed.method
    ((3, 1), 1, 1, 'json')
    >>> text = "Positive: 1, 2\\nNegative: 7, 9\\nThese cover both classes."
    >>> parsed = parse_answer(text, n_presented=10, k=4)
    >>> parsed.positions, parsed.method
    ((1, 2, 7, 9), 'merged')
    """
    return read_answer(answer, n_presented, k).parsed(k)


@dataclass(frozen=True)
class Candidate:
    """One list of integers found in an answer, with what it is.

    Attributes
    ----------
    role : str
        ``"selection"`` (a pick list), ``"rejected"`` ("Not 3, 5", "Excluded:"),
        ``"runners-up"`` ("Runners-up:", "a close second"), ``"example"``
        ("Example format: ...") or ``"quoted"`` (numbers inside a quoted text).
    values : tuple of int
        Its integers in answer order, ranges expanded, not yet range-checked.
    source : str
        ``"json"``, ``"list"`` or the kind of item lines (``"instance"``, ``"bare"``...).
    """

    role: str
    values: tuple[int, ...]
    source: str


@dataclass(frozen=True)
class Reading:
    """Everything read from one answer: every candidate list, and the selection.

    Attributes
    ----------
    candidates : tuple of Candidate
        Every list found, in answer order, each with its role.
    selection : tuple of int
        The selected positions: distinct, ``0 <= p < n_presented``, in answer
        order, **not** cut to ``k`` (a strategy drops what it cannot use, such
        as already-labelled positions, and only then cuts).
    method : str
        The rule that chose the selection (see :class:`ParsedSelection`).

    Examples
    --------
    >>> reading = read_answer("Final: 4, 9, 2\\nRunners-up: 5, 6", n_presented=10, k=2)
    >>> reading.selection, [(c.role, c.values) for c in reading.candidates]
    ((4, 9, 2), [('selection', (4, 9, 2)), ('runners-up', (5, 6))])
    >>> reading.parsed(2).positions
    (4, 9)
    """

    candidates: tuple[Candidate, ...]
    selection: tuple[int, ...]
    method: str
    n_found_raw: int = 0
    n_out_of_range: int = 0
    n_duplicates: int = 0

    def parsed(self, k: int) -> ParsedSelection:
        """The selection cut to ``k``, as :func:`parse_answer` reports it."""
        return ParsedSelection(
            positions=self.selection[:k],
            n_found_raw=self.n_found_raw,
            n_out_of_range=self.n_out_of_range,
            n_duplicates=self.n_duplicates,
            truncated=len(self.selection) > k,
            method=self.method,
        )


def read_answer(answer: str, n_presented: int, k: int | None = None) -> Reading:
    """Read every candidate list of an answer with its role, and the selection.

    Parameters
    ----------
    answer : str
        The LLM's reply.
    n_presented : int
        How many instances were shown.
    k : int, optional
        How many were asked for; it guides which list is the final answer (a
        list of at least ``k / 2`` positions). Default: 1.

    Returns
    -------
    Reading

    See Also
    --------
    parse_answer : The selection cut to ``k``.
    """
    if not isinstance(answer, str):
        raise TypeError(f"answer must be a str (the LLM's reply), got {type(answer).__name__}")
    n_presented = _check_int("n_presented", n_presented, minimum=1)
    k = 1 if k is None else _check_int("k", k, minimum=0)

    blocks = [
        block
        for block in _extract_blocks(_normalize(answer), n_presented)
        if any(0 <= v < n_presented for v in block.values)
    ]
    candidates = [Candidate(b.role, tuple(b.values), b.kind) for b in blocks]
    json_found = _json_answer(answer)
    if json_found is not None:
        values, end = json_found
        # A JSON object in prose followed by a text answer is the format, not the answer.
        later = [
            b
            for b in _extract_blocks(_normalize(answer[end:]), n_presented)
            if b.role == "selection"
            and b.standalone
            and len({v for v in b.values if 0 <= v < n_presented}) >= max(1, math.ceil(k / 2))
        ]
        if not end or not later:
            json_candidate = Candidate("selection", tuple(values), "json")
            return _reading([json_candidate, *candidates], values, n_presented, "json")

    selection = [b for b in blocks if b.role == "selection"]
    values, n_clipped, method = _choose(selection, n_presented, k)
    if method == "none":
        lone = _lone_number(answer)
        if lone is not None:
            lone_candidate = Candidate("selection", (lone,), "lone")
            return _reading([*candidates, lone_candidate], [lone], n_presented, "lone")
    return _reading(candidates, values, n_presented, method, n_clipped)


def _lone_number(answer: str) -> int | None:
    """The one number an answer ends with ("7", "[7]", "Final answer: #7.").

    Asked for a single instance (modAL's default ``n_instances=1``), an LLM may
    answer with one number, which no list rule sees. Only a last line that holds
    nothing but the number, optionally after a short label, counts, so prose such
    as "I need 32 examples" is not read as a pick.
    """
    lines = [line for line in answer.strip().splitlines() if line.strip()]
    match = _LONE_RE.match(lines[-1]) if lines else None
    return int(match.group(1)) if match else None


def extract_json_positions(answer: str) -> list[int] | None:
    """Read positions from a structured (JSON) answer, if the answer is one.

    Tried in order: the whole answer, the fenced code blocks (last first), and
    the JSON objects embedded in prose (last first) that have a positions-like
    key (``positions``, ``indices``, ``selected``, ...). A list of integers, a
    list of objects with such a key, or an object with such a key all count;
    integers may also be written as strings.

    Parameters
    ----------
    answer : str
        The LLM's reply.

    Returns
    -------
    list of int or None
        The raw integers in answer order (not yet range-checked or de-duplicated),
        or ``None`` when no usable JSON was found, so that the free-text rules apply.

    Raises
    ------
    TypeError
        If ``answer`` is not a string.

    Examples
    --------
    >>> extract_json_positions('{"reasoning": "diverse", "positions": [3, 1]}')
    [3, 1]
    >>> extract_json_positions('Sure!\\n```json\\n[5, 2, "7"]\\n```')
    [5, 2, 7]
    >>> extract_json_positions("1, 4, 5") is None
    True
    """
    if not isinstance(answer, str):
        raise TypeError(f"answer must be a str (the LLM's reply), got {type(answer).__name__}")
    found = _json_answer(answer)
    return None if found is None else found[0]


def _json_answer(answer: str) -> tuple[list[int], int] | None:
    """The JSON selection and the offset where it ends (0 for the whole answer)."""
    stripped = answer.strip()
    if stripped.startswith(("[", "{")):
        values = _ints_from_json(_loads(stripped))
        if values is not None:
            return values, 0
    for fence in reversed(list(_FENCE_RE.finditer(answer))):
        text = fence.group(1).strip()
        if text.startswith(("[", "{")):
            values = _ints_from_json(_loads(text))
            if values is not None and not _example_before(answer, fence.start()):
                return values, fence.end()
    decoder = json.JSONDecoder()
    starts = [m.start() for m in _OBJECT_START_RE.finditer(answer)][-_MAX_OBJECT_TRIES:]
    for start in reversed(starts):
        try:
            obj, end = decoder.raw_decode(answer, start)
        except (ValueError, RecursionError):
            continue
        # "Example format {"positions": [1, 4, 5]}" shows the format, it is no answer.
        if isinstance(obj, Mapping) and not _example_before(answer, start):
            values = _ints_from_json(obj)
            if values is not None:
                return values, end
    return None


def _example_before(text: str, start: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    window = text[max(line_start, start - 2 * _MAX_LABEL) : start]
    if not window.strip() and line_start >= 2:
        # A format shown on its own line after "For example:".
        prev = text.rfind("\n", 0, line_start - 1) + 1
        window = text[prev : line_start - 1]
    return _EXAMPLE_RE.search(window) is not None


# --------------------------------------------------------------------------- #
# Helpers: validation and JSON
# --------------------------------------------------------------------------- #


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got bool")
    try:
        number = operator.index(value)  # accepts numpy integers, rejects floats
    except TypeError:
        raise TypeError(f"{name} must be an int, got {type(value).__name__}") from None
    if number < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {number}")
    return number


def _loads(text: str) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _ints_from_json(obj: object) -> list[int] | None:
    """The integers of a decoded JSON answer, or None when it holds something else."""
    try:
        return _ints_from_value(obj, top=True)
    except RecursionError:  # absurdly nested input is not an answer
        return None


def _ints_from_value(obj: object, top: bool = False) -> list[int] | None:
    if isinstance(obj, Mapping):
        return _ints_from_mapping(obj)
    if isinstance(obj, list):
        values: list[int] = []
        for item in obj:
            part = _ints_from_value(item)
            if part is None:
                return None
            values.extend(part)
        return values
    if top:  # a bare number or string is not a structured answer
        return None
    number = _as_int(obj)
    return None if number is None else [number]


def _ints_from_mapping(obj: Mapping) -> list[int] | None:
    keyed = {str(key).strip().lower(): value for key, value in obj.items()}
    key = next((key for key in _JSON_KEYS if key in keyed), None)
    if key is None:  # e.g. "chosen_positions", "selectedIndices"
        key = next(
            (
                key
                for key in keyed
                if any(part in key for part in _JSON_KEY_PARTS) and not _NEGATIVE_KEY_RE.search(key)
            ),
            None,
        )
    return None if key is None else _ints_from_value(keyed[key])


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _JSON_INT_RE.fullmatch(value):
        return _to_int(value.strip())
    return None


# --------------------------------------------------------------------------- #
# Helpers: candidate extraction
# --------------------------------------------------------------------------- #


def _normalize(answer: str) -> str:
    text = answer
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
        text = _ODD_CHAR_RE.sub(lambda m: "" if m.group() in _INVISIBLE else "-", text)
    text = _EMPHASIS_RE.sub("", text)
    return _NUMBER_FIX_RE.sub(_fix_number, text)


def _fix_number(match: re.Match[str]) -> str:
    text, start = match.string, match.start()
    if start and (text[start - 1].isalnum() or text[start - 1] in "_.,"):
        return match.group(0)  # part of a longer token
    if "-" in match.group(0):
        return "<date>"
    head, *groups = match.group(0).split(",")
    # A compact list such as "105,110" at a line end stays a list; only prose
    # after a single group ("6,500 troops", "30,000.") makes it a number.
    prose_after = _PROSE_AFTER_RE.match(text, match.end()) is not None
    # After a list label ("Final: 105,110 are my picks") it is a list all the same.
    line_start = text.rfind("\n", 0, start) + 1
    after_label = text[max(line_start, start - _MAX_LABEL) : start].rstrip().endswith((":", "="))
    if all(g == "000" for g in groups) or (len(groups) == 1 and prose_after and not after_label):
        return head + "".join(groups)
    return match.group(0)


def _to_int(digits: str) -> int:
    # Beyond 18 digits the exact value cannot matter (it is out of range anyway),
    # and int() of thousands of digits is slow or refused.
    if len(digits.lstrip("-")) > 18:
        return -_HUGE if digits.startswith("-") else _HUGE
    return int(digits)


def _values_of(text: str, limit: int) -> tuple[list[int], int]:
    """The integers of one run or element, and how many range members were clipped.

    Ranges are expanded only below ``limit`` (``n_presented``); the members at or
    above it are only counted, so that "0-999" costs nothing when 10 were shown.
    """
    if "-" not in text and "(" not in text:  # the common plain list, read fast
        return [_to_int(d) for d in _DIGITS_RE.findall(text)], 0
    values: list[int] = []
    clipped = 0
    for m in _ELEM_VALUE_RE.finditer(text):
        start = _to_int(m.group("a"))
        if m.group("b") is None:
            values.append(start)
            continue
        stop = _to_int(m.group("b"))
        if 0 <= start < stop <= start + _MAX_RANGE:
            unlisted = min(stop + 1, max(start, limit))  # first member not listed
            values.extend(range(start, unlisted))
            clipped += stop + 1 - unlisted
        else:
            values.extend((start, stop))
    return values, clipped


def _run_at(line: str, pos: int) -> re.Match[str] | None:
    """A list starting at ``pos``: several elements, or one increasing range."""
    run = _MULTI_RE.match(line, pos)
    if run is not None:
        return run
    single = _ELEM_VALUE_RE.match(line, pos)
    if single is not None and single.group("b") is not None:
        start, stop = _to_int(single.group("a")), _to_int(single.group("b"))
        if 0 <= start < stop <= start + _MAX_RANGE:
            return single
    return None


def _find_runs(line: str) -> Iterator[re.Match[str]]:
    # Anchored matches at each number are much faster than a regex search over
    # the whole line, whose pattern cannot start with a fixed character.
    end = 0
    for digits in _DIGITS_RE.finditer(line):
        pos = digits.start()
        if pos < end or not _CONTINUES_RE.match(line, digits.end()):
            continue
        if pos and line[pos - 1] == "-" and not (pos > 1 and line[pos - 2].isalnum()):
            pos -= 1  # a minus sign belongs to the number
        run = _run_at(line, pos)
        if run is not None:
            end = run.end()
            yield run


def _is_label(line: str, start: int) -> bool:
    """Whether ``line[:start]`` is empty, a bullet, or a short label such as "Positive:"."""
    # Only a short window is copied: a line may hold hundreds of runs.
    if len(line[max(0, start - 2 * _MAX_LABEL) : start].strip()) > _MAX_LABEL:
        return False
    prefix = line[:start].strip()
    if not prefix or _BULLET_ONLY_RE.fullmatch(prefix):
        return True
    return len(prefix) <= _MAX_LABEL and prefix.endswith(_LABEL_END)


def _has_alnum(text: str, pos: int = 0) -> bool:
    return _ALNUM_RE.search(text, pos) is not None


def _list_hit(
    line: str, match: re.Match[str], limit: int, group: int | str = 0, in_prose: bool = False
) -> list[_Block]:
    """The list candidate of one run; ``in_prose`` runs need a comma or a label."""
    start, end = match.span(group)
    standalone = _is_label(line, start) and not _has_alnum(line, end)
    # "between 3 and 5" and "aged 13-24" are prose, "Final answer: 3 and 5" is not.
    if in_prose and not standalone and not _LIST_SEP_RE.search(match.group(group)):
        return []
    values, clipped = _values_of(match.group(group), limit)
    block = _Block("list", values, standalone, n_clipped=clipped, role=_role_of(line, start))
    block.final = standalone and _FINAL_LABEL_RE.search(line, max(0, start - 40), start) is not None
    return [block]


def _in_quoted_text(line: str, start: int) -> bool:
    """Whether ``start`` lies inside a quoted text on its line.

    A quoted list ("24, 47, 96") is the answer in quotes; quoted words are a
    text. Only C-level string scans: a line may hold thousands of runs.
    """
    for opening, closing in _QUOTE_PAIRS:
        if opening == closing:
            if line.count(opening, 0, start) % 2 == 0:
                continue
            begin = line.rfind(opening, 0, start)
        else:
            begin = line.rfind(opening, 0, start)
            if begin < line.rfind(closing, 0, start):
                continue
        end = line.find(closing, start)
        if begin >= 0 and end >= 0 and _LETTERS_RE.search(line, begin, end):
            return True
    return False


def _role_of(line: str, start: int, rest: str = "") -> str:
    """The role of a list starting at ``start``: what its label (or remark) says."""
    if _in_quoted_text(line, start):
        return "quoted"
    window = line[max(0, start - _MAX_LABEL) : start]
    # Only the words since the previous number label this list ("1, 2. Not 3, 5").
    label = _DIGITS_RE.split(window)[-1]
    if _NEGATED_RE.search(window) or _BARE_NOT_RE.search(label):
        return "rejected"
    if _RUNNERS_UP_RE.search(label) or _RUNNERS_UP_RE.search(rest):
        return "runners-up"
    if _EXAMPLE_RE.search(label):
        return "example"
    if rest and _NEGATED_ITEM_RE.search(rest):
        return "rejected"
    return "selection"


def _item_hit(kind: str, line: str, match: re.Match[str], limit: int) -> list[_Block]:
    rest = line[match.end() :]
    values, clipped = _values_of(match.group(0), limit)
    role = _role_of(line, match.start(), rest)
    return [_Block(kind, values, True, [_has_alnum(rest)] * len(values), clipped, role)]


def _scan_line(line: str, limit: int) -> list[_Block]:
    """The list and item candidates on one line, in order."""
    indent = len(line) - len(line.lstrip())
    lead = _LEAD_RE.match(line, indent)
    if lead is not None and (lead.group("bullet") or lead.group("kw")):
        run = _run_at(line, lead.end())
        if run is not None:
            return _list_hit(line, run, limit)
        elem = _ELEM_RE.match(line, lead.end())
        if elem is not None:
            if lead.group("kw"):
                kind = lead.group("kw").lower().rstrip("s.")
            else:
                kind = "bare" if _BARE_RE.match(line, indent) else "bullet"
            return _item_hit(kind, line, elem, limit)
    quoted = _QUOTED_ITEM_RE.match(line, indent)
    if quoted is not None:
        # '* "It was to the student ..." (41)': a copied text followed by its position.
        return [_Block("quoted-item", [_to_int(quoted.group(1))], True, [True])]
    bare = _BARE_RE.match(line, indent)
    if bare is not None:
        return [_Block("bare", [_to_int(bare.group(1))], True, [False])]
    if _NUMBER_TEXT_RE.match(line, indent) and _run_at(line, indent) is None:
        elem = _ELEM_RE.match(line, indent)
        if elem is not None:
            return _item_hit("number", line, elem, limit)
    hits = [hit for run in _find_runs(line) for hit in _list_hit(line, run, limit, in_prose=True)]
    if hits:
        return hits
    single = _LABELLED_SINGLE_RE.match(line)
    if single is not None and not _COUNT_LABEL_RE.search(single.group("label")):
        return _list_hit(line, single, limit, group="value")
    if "#" not in line and "nstance" not in line.lower():
        return []
    refs = list(_INLINE_REF_RE.finditer(line))
    if not refs:
        return []
    values = [_to_int(next(g for g in m.groups() if g)) for m in refs]
    # "... ? (#4)" ends its line and may join a final list; "instance 5 is odd" may not.
    standalone = not _has_alnum(line, refs[-1].end())
    role = _role_of(line, refs[0].start(), line[refs[-1].end() :])
    return [_Block("ref", values, standalone, [True] * len(values), role=role)]


def _extract_blocks(text: str, limit: int) -> list[_Block]:
    """All candidates of the answer, in order; item lines of one kind are grouped."""
    blocks: list[_Block] = []
    current: _Block | None = None
    gap = 0  # text lines since the current item block's last item

    def close() -> None:
        nonlocal current
        if current is not None and (current.kind != "bare" or len(current.values) >= 2):
            blocks.append(_drop_cut_off_item(current))
        current = None

    section = "selection"  # the role a heading line such as "Runners-up:" gives what follows
    for line in text.splitlines():
        hits = _scan_line(line, limit) if _DIGITS_RE.search(line) else []
        if not hits:
            if current is not None and current.kind == "bare":
                close()  # one number per line only counts while the lines are adjacent
            elif line.strip():
                gap += 1
                if gap > _MAX_TEXT_GAP:
                    close()
            heading = line.strip()
            if heading.endswith(":") and len(heading) <= _MAX_LABEL:
                close()
                section = _role_of(heading, len(heading))
            elif not heading:
                section = "selection"
            continue
        for hit in hits:
            if hit.role == "selection":
                hit.role = section
            if hit.kind == "list":
                close()
                blocks.append(hit)
            elif current is not None and current.kind == hit.kind and current.role == hit.role:
                current.values.extend(hit.values)
                current.has_text.extend(hit.has_text)
                current.n_clipped += hit.n_clipped
            else:
                close()
                current = hit
        gap = 0
    close()
    return blocks


def _drop_cut_off_item(block: _Block) -> _Block:
    # A reply cut off mid-line ("Instance 6" after many "Instance n: text" lines)
    # ends with a number that may itself be cut short, so it is not trusted.
    flags = block.has_text
    if len(flags) >= 3 and not flags[-1] and all(flags[:-1]):
        del block.values[-1]
        del flags[-1]
    return block


# --------------------------------------------------------------------------- #
# Helpers: choosing the final answer
# --------------------------------------------------------------------------- #


def _choose(blocks: list[_Block], n_presented: int, k: int) -> tuple[list[int], int, str]:
    """Pick the final candidate and join its continuations.

    Returns the values, how many range members were clipped from them, and the method.
    """
    if not blocks:
        return [], 0, "none"
    distinct = [{v for v in b.values if 0 <= v < n_presented} for b in blocks]
    enough = max(1, math.ceil(k / 2))
    references = _references(blocks, distinct, k)
    latest_first = [i for i in reversed(range(len(blocks))) if not references[i]]
    # The last answer-sized candidate that fills its line (a mention in prose after the
    # answer, "I ignored instance 7", is no answer); then any answer-sized one; failing
    # that, the last one that fills its line.
    final = next((i for i in latest_first if len(distinct[i]) >= enough and blocks[i].final), None)
    if final is None:
        final = next(
            (i for i in latest_first if len(distinct[i]) >= enough and blocks[i].standalone),
            None,
        )
    if final is None:
        final = next((i for i in latest_first if len(distinct[i]) >= enough), None)
    if final is None:
        final = next((i for i in latest_first if blocks[i].standalone), len(blocks) - 1)

    picked = [final]
    seen = set(distinct[final])
    after = final + 1
    while len(seen) < k and after < len(blocks) and _continues(blocks, distinct, after, seen):
        picked.append(after)
        seen |= distinct[after]
        after += 1
    if len(seen) < k:
        # Going back, every part counts (a reply cut into several turns), so
        # this does not stop at k; the result is cut to k afterwards.
        before = final - 1
        while before >= 0 and _continues(blocks, distinct, before, seen):
            picked.insert(0, before)
            seen |= distinct[before]
            before -= 1

    values = [v for i in picked for v in blocks[i].values]
    clipped = sum(blocks[i].n_clipped for i in picked)
    if len(picked) > 1:
        main = blocks[final].values
        if picked[0] == final and len(main) >= 3 and main == sorted(set(main)):
            # An answer listed in position order carries no ranking; a later "one more"
            # joins it in that order, as a reader adding it to the list would.
            values = sorted(values)
        return values, clipped, "merged"
    return values, clipped, "list" if blocks[final].kind == "list" else "items"


def _references(blocks: list[_Block], distinct: list[set[int]], k: int) -> list[bool]:
    """Which candidates only point back into earlier complete ones.

    "Instances like 1, 13, 23, etc. are hard" after the final list is such a
    reference. A list on its own line is not: it may be a short final answer
    after a block that went through every instance.
    """
    covered: set[int] = set()  # positions of the earlier candidates holding k or more
    flags = []
    for block, positions in zip(blocks, distinct, strict=True):
        flags.append(
            not block.standalone and len(positions) < k and bool(covered) and positions <= covered
        )
        if len(positions) >= k:
            covered |= positions
    return flags


def _continues(blocks: list[_Block], distinct: list[set[int]], i: int, seen: set[int]) -> bool:
    """Whether candidate ``i`` is a stand-alone part of the answer next to ``seen``.

    A part adds mostly new positions. A candidate that holds most of ``seen``
    is no part but the pool the answer was picked from, or a draft of it.
    """
    shared = len(distinct[i] & seen)
    return (
        blocks[i].standalone
        and 2 * (len(distinct[i]) - shared) > len(distinct[i])
        and 2 * shared < len(seen)
    )


def _reading(
    candidates: list[Candidate],
    values: list[int],
    n_presented: int,
    method: str,
    n_clipped: int = 0,
) -> Reading:
    kept: list[int] = []
    seen: set[int] = set()
    out_of_range, duplicates = n_clipped, 0
    for value in values:
        if not 0 <= value < n_presented:
            out_of_range += 1
        elif value in seen:
            duplicates += 1
        else:
            seen.add(value)
            kept.append(value)
    return Reading(
        candidates=tuple(candidates),
        selection=tuple(kept),
        method=method if values else "none",
        n_found_raw=len(values) + n_clipped,
        n_out_of_range=out_of_range,
        n_duplicates=duplicates,
    )
