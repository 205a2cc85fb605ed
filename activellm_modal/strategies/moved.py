"""The ActiveLLM keywords that moved into its parts, and the message that says where."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

__all__ = ["MOVED", "moved_message", "refuse_moved"]

#: old keyword -> (part parameter, constructor to use, parameter name there)
MOVED: dict[str, tuple[str, str, str]] = {
    # what is shown
    "n_presented": ("presenter", "RegionPresenter", "n_presented"),
    "max_chars": ("presenter", "RegionPresenter", "max_chars"),
    "skip_duplicates": ("presenter", "RegionPresenter", "skip_duplicates"),
    "sampler": ("presenter", "UniformPresenter", "sampler"),
    "presentation": ("presenter", "RegionPresenter", "regions"),
    # how it is asked
    "task_description": ("prompt", "Prompt", "task_description"),
    "output": ("prompt", "Prompt", "output"),
    "advice": ("prompt", "Prompt", "advice"),
    "guidance": ("prompt", "Prompt", "guidance"),
    "structured_output": ("prompt", "Prompt", "structured_output"),
    "recap": ("prompt", "Prompt", "recap"),
    "max_recap": ("prompt", "Prompt", "max_recap"),
    "pair_labels": ("prompt", "Prompt", "pair_labels"),
    "reask_degenerate": ("prompt", "Prompt", "reask_degenerate"),
    # how the answer becomes k rows
    "fallback": ("narrower", "FirstK", "fallback"),
    "balance": ("narrower", "LabelQuotas", "balance"),
    "oversample": ("narrower", "LabelQuotas", "oversample"),
    "diversify": ("narrower", "Diversify", "method"),
    "nominate": ("narrower", "Diversify", "nominate"),
    # the endpoint's own settings
    "client": ("backend", "OpenAIBackend", "client"),
    "temperature": ("backend", "OpenAIBackend", "temperature"),
    "max_tokens": ("backend", "OpenAIBackend", "max_tokens"),
    "timeout": ("backend", "OpenAIBackend", "timeout"),
    "max_retries": ("backend", "OpenAIBackend", "max_retries"),
    "price_per_million": ("backend", "OpenAIBackend", "price_per_million"),
}


def moved_message(name: str, value: Any, owner: str = "ActiveLLM") -> str:
    """Where keyword ``name`` of ``owner`` went, with the call to write instead."""
    part, maker, new = MOVED[name]
    shown = "..." if name == "client" else repr(value)
    if name == "presentation":
        if value == "uniform":
            how = "presenter=UniformPresenter()"
        elif value == "coverage":
            how = "presenter=RegionPresenter() (the default)"
        else:
            how = f"presenter=RegionPresenter(regions={shown})"
        return f"{owner}(presentation=...) moved to the presenter part: pass {how}."
    if part == "backend":
        return (
            f"{owner}({name}=...) moved to the backend: pass "
            f"backend=OpenAIBackend(model, base_url=..., {new}={shown}) "
            f"(or set_params(backend__{new}={shown}) when the backend is one)."
        )
    alternatives = {"n_presented": " or UniformPresenter", "balance": " or Diversify"}
    return (
        f"{owner}({name}=...) moved to the {part} part: pass {part}={maker}({new}={shown})"
        f"{alternatives.get(name, '')}, or call set_params({part}__{new}={shown})."
    )


def refuse_moved(init: Callable[..., None]) -> Callable[..., None]:
    """Wrap ``ActiveLLM.__init__`` so that a keyword that moved is refused by name.

    The wrapped ``__init__`` keeps its own signature (``functools.wraps``), so
    scikit-learn's ``get_params``/``clone`` see only the real parameters and
    ``__init__`` itself only stores them; any other unknown keyword fails as
    Python's own call would.
    """

    @functools.wraps(init)
    def checked(self: Any, *args: Any, **kwargs: Any) -> None:
        for name, value in kwargs.items():
            if name in MOVED:
                raise TypeError(moved_message(name, value))
        init(self, *args, **kwargs)

    return checked
