"""Named ActiveLLM compositions: the paper's method and the measured default.

* ``"paper"``: the paper's best prompt (its mode 10): 200 texts drawn
  uniformly and shown in random order (:class:`~activellm_modal.parts.UniformPresenter`),
  think step by step, the LLM's first ``k`` picks. ``reproduce`` replays the
  recordings with it.
* ``"coverage"`` (ActiveLLM's defaults): typical texts of every region of the
  pool in coverage order (:class:`~activellm_modal.parts.RegionPresenter`); the
  prompt asks for representative, diverse texts covering every label; the
  LLM's first ``k`` picks are kept (see README, "Cold-start selection": the
  measured evidence).
* ``"diverse"``: ``"coverage"``, but the LLM nominates ``2k`` and k-means over
  the nominees keeps ``k`` (:class:`~activellm_modal.parts.Diversify`).
* ``"local"``: coverage presentation with 50 texts shown, a JSON answer and no
  nomination round, for small local models: they name no positions in a long
  prompt, and in a short one they name the first positions, which the
  coverage order makes a covering set.

Examples
--------
>>> make_strategy("paper", model="gpt-4o").presenter
UniformPresenter()
>>> make_strategy("paper", presenter__n_presented=100).presenter.n_presented
100
>>> sorted(PRESETS)
['coverage', 'diverse', 'local', 'paper']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activellm_modal.parts import Diversify, FirstK, Prompt, RegionPresenter, UniformPresenter

#: preset name -> a function building fresh parts (never shared between strategies)
PRESETS: dict[str, Callable[[], dict[str, Any]]] = {
    "paper": lambda: {
        "presenter": UniformPresenter(n_presented=200),
        "prompt": Prompt(output="cot", guidance=None),
        "narrower": FirstK(),
    },
    "coverage": lambda: {
        "presenter": RegionPresenter(n_presented=200),
        "prompt": Prompt(output="cot", guidance="representative"),
        "narrower": FirstK(),
    },
    "diverse": lambda: {
        "presenter": RegionPresenter(n_presented=200),
        "prompt": Prompt(output="cot", guidance="representative"),
        "narrower": Diversify(method="kmeans", nominate=2.0),
    },
    "local": lambda: {
        "presenter": RegionPresenter(n_presented=50),
        "prompt": Prompt(output="list", guidance="representative", structured_output=True),
        "narrower": FirstK(),
    },
}


def preset_params(name: str) -> dict[str, Any]:
    """The ActiveLLM parts of preset ``name`` (fresh objects each call)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from: {', '.join(PRESETS)}.")
    return PRESETS[name]()


def make_strategy(name: str, **params: Any) -> Any:
    """``ActiveLLM`` composed as preset ``name``; ``params`` override or add to it.

    Nested names set a parameter of the preset's part, e.g.
    ``make_strategy("paper", presenter__n_presented=100)``.
    """
    from activellm_modal.strategies.activellm import ActiveLLM

    nested = {key: value for key, value in params.items() if "__" in key}
    flat = {key: value for key, value in params.items() if "__" not in key}
    strategy = ActiveLLM(**{**preset_params(name), **flat})
    return strategy.set_params(**nested) if nested else strategy
