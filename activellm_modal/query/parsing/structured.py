"""JSON answers: positions from structured output and embedded objects."""

from __future__ import annotations

import json
import operator
from collections.abc import Mapping

from activellm_modal.query.parsing.lines import _to_int
from activellm_modal.query.parsing.patterns import (
    _EXAMPLE_RE,
    _FENCE_RE,
    _JSON_INT_RE,
    _JSON_KEY_PARTS,
    _JSON_KEYS,
    _MAX_LABEL,
    _MAX_OBJECT_TRIES,
    _NEGATIVE_KEY_RE,
    _OBJECT_START_RE,
)


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
