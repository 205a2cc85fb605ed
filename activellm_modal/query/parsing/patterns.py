"""The regular expressions and limits the answer parser is built from."""

from __future__ import annotations

import re

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
