"""Named ActiveLLM configurations: the paper's method and the measured default.

* ``"paper"``: the paper's best prompt (its mode 10): 200 texts drawn
  uniformly and shown in random order, think step by step, the LLM's first
  ``k`` picks. ``reproduce`` replays the recordings with it.
* ``"coverage"`` (ActiveLLM's defaults): typical texts of every region of the
  pool in coverage order; the prompt asks for representative, diverse texts
  covering every label; the LLM's first ``k`` picks are kept (see README,
  "Cold-start selection": the measured evidence).
* ``"diverse"``: ``"coverage"``, but the LLM nominates ``2k`` and k-means over
  the nominees keeps ``k`` (:func:`~activellm_modal.query.diversify.diversify`).
* ``"local"``: coverage presentation with 50 texts shown, a JSON answer and no
  nomination round, for small local models: they name no positions in a long
  prompt, and in a short one they name the first positions, which the
  coverage order makes a covering set.

Examples
--------
>>> make_strategy("paper", model="gpt-4o").presentation
'uniform'
>>> sorted(PRESETS)
['coverage', 'diverse', 'local', 'paper']
"""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    "paper": {
        "presentation": "uniform",
        "diversify": None,
        "guidance": None,
        "n_presented": 200,
        "output": "cot",
    },
    "coverage": {
        "presentation": "coverage",
        "diversify": None,
        "guidance": "representative",
        "n_presented": 200,
        "output": "cot",
    },
    "diverse": {
        "presentation": "coverage",
        "diversify": "kmeans",
        "nominate": 2.0,
        "guidance": "representative",
        "n_presented": 200,
        "output": "cot",
    },
    "local": {
        "presentation": "coverage",
        "diversify": None,
        "guidance": "representative",
        "n_presented": 50,
        "output": "list",
        "structured_output": True,
    },
}


def preset_params(name: str) -> dict[str, Any]:
    """The ActiveLLM parameters of preset ``name``."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from: {', '.join(PRESETS)}.")
    return dict(PRESETS[name])


def make_strategy(name: str, **params: Any) -> Any:
    """``ActiveLLM`` configured as preset ``name``; ``params`` override or add to it."""
    from activellm_modal.strategies.activellm import ActiveLLM

    return ActiveLLM(**{**preset_params(name), **params})
