"""The parts ActiveLLM is composed of: what is shown, how it is asked, how the answer is narrowed.

Each part is a small scikit-learn estimator (``get_params``, ``set_params``,
``clone``, pickling) with one job in the query's one-way flow::

    pool --presenter.show--> shown texts --prompt.plan/request--> LLM (backend)
         --read--> nominations --narrower.narrow--> k rows --narrower fill rule--> indices

An :class:`~activellm_modal.ActiveLLM` holds one of each (``presenter=``,
``prompt=``, ``narrower=``; ``backend=`` is the fourth); their parameters are
reachable as nested parameters, e.g. ``set_params(presenter__n_presented=100)``.
"""

from __future__ import annotations

from activellm_modal.parts.narrowers import Diversify, FirstK, LabelQuotas, Narrower
from activellm_modal.parts.presenters import Presenter, RegionPresenter, UniformPresenter
from activellm_modal.parts.prompt import Prompt

__all__ = [
    "Diversify",
    "FirstK",
    "LabelQuotas",
    "Narrower",
    "Presenter",
    "Prompt",
    "RegionPresenter",
    "UniformPresenter",
]
