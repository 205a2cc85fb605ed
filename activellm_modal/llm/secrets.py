"""Keeping API keys out of messages, logs and files."""

from __future__ import annotations

import re

# Key-shaped tokens (OpenAI "sk-…", bearer tokens) that an endpoint may echo back.
_KEY_LIKE = re.compile(r"\b(sk|pk|rk|key)-[A-Za-z0-9_\-\*]{6,}", re.IGNORECASE)
_BEARER = re.compile(r"(Bearer\s+)\S+", re.IGNORECASE)


def redact(text: str, secret: str | None = None) -> str:
    """Remove ``secret`` and anything that looks like an API key from ``text``.

    Examples
    --------
    >>> redact("Incorrect API key provided: sk-abc123456789xyz", "sk-abc123456789xyz")
    'Incorrect API key provided: ***'
    >>> redact("Incorrect API key provided: sk-proj-ab****wxyz.")
    'Incorrect API key provided: ***.'
    """
    if secret:
        text = text.replace(secret, "***")
    text = _BEARER.sub(r"\1***", text)
    return _KEY_LIKE.sub("***", text)


def mask(secret: str | None) -> str | None:
    """How a secret is shown in a ``repr``: never its characters.

    Examples
    --------
    >>> mask("sk-secret"), mask(None)
    ('***', None)
    """
    return None if secret is None else "***"
