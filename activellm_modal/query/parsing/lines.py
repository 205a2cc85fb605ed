"""Candidate extraction: every list and every block of item lines in an answer."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

from activellm_modal.query.parsing.patterns import (
    _ALNUM_RE,
    _BARE_NOT_RE,
    _BARE_RE,
    _BULLET_ONLY_RE,
    _CONTINUES_RE,
    _COUNT_LABEL_RE,
    _DIGITS_RE,
    _ELEM_RE,
    _ELEM_VALUE_RE,
    _EMPHASIS_RE,
    _EXAMPLE_RE,
    _FINAL_LABEL_RE,
    _HUGE,
    _INLINE_REF_RE,
    _INVISIBLE,
    _LABEL_END,
    _LABELLED_SINGLE_RE,
    _LEAD_RE,
    _LETTERS_RE,
    _LIST_SEP_RE,
    _MAX_LABEL,
    _MAX_RANGE,
    _MAX_TEXT_GAP,
    _MULTI_RE,
    _NEGATED_ITEM_RE,
    _NEGATED_RE,
    _NUMBER_FIX_RE,
    _NUMBER_TEXT_RE,
    _ODD_CHAR_RE,
    _PROSE_AFTER_RE,
    _QUOTE_PAIRS,
    _QUOTED_ITEM_RE,
    _RUNNERS_UP_RE,
)


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
