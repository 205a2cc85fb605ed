"""activellm-modal: an LLM picks the first texts to label, as a modAL query strategy.

``ActiveLLM`` implements "ActiveLLM: Large Language Model-based Active Learning for
Textual Few-Shot Scenarios" (Bayer and Reuter, 2024) as a modAL query strategy.
"""

from __future__ import annotations

from typing import Any

from activellm_modal.exceptions import (
    ActiveLLMError,
    EmptyPoolError,
    InvalidPoolError,
    LLMEndpointError,
    PoolTooSmallError,
    ReplayMissError,
    SelectionWarning,
    SingleClassWarning,
)
from activellm_modal.loop.compat import patch_modal
from activellm_modal.loop.persistence import SavedLoop, load_loop, save_loop
from activellm_modal.loop.stopping import (
    AllOf,
    AnyOf,
    CostBudget,
    KappaAverage,
    LabelBudget,
    MaxRounds,
    OverallUncertainty,
    StoppingCriterion,
)
from activellm_modal.parts import (
    Diversify,
    FirstK,
    LabelQuotas,
    Prompt,
    RegionPresenter,
    UniformPresenter,
)
from activellm_modal.query.parsing import parse_selection
from activellm_modal.strategies.activellm import ActiveLLM, QueryRecord
from activellm_modal.strategies.hybrid import HybridStrategy, StepRecord
from activellm_modal.strategies.rerank import LLMReRanker
from activellm_modal.strategies.subsample import SubsampledStrategy, subsampled

__version__ = "0.1.0"

__all__ = [
    "ActiveLLM",
    "ActiveLLMError",
    "AllOf",
    "AnyOf",
    "BertClassifier",
    "CostBudget",
    "Diversify",
    "EmptyPoolError",
    "FirstK",
    "HybridStrategy",
    "InvalidPoolError",
    "KappaAverage",
    "LLMEndpointError",
    "LLMReRanker",
    "LabelBudget",
    "LabelQuotas",
    "MaxRounds",
    "OverallUncertainty",
    "PoolTooSmallError",
    "Prompt",
    "QueryRecord",
    "RegionPresenter",
    "ReplayMissError",
    "SavedLoop",
    "SelectionWarning",
    "SetFitClassifier",
    "SingleClassWarning",
    "StepRecord",
    "StoppingCriterion",
    "SubsampledStrategy",
    "UniformPresenter",
    "load_loop",
    "parse_selection",
    "patch_modal",
    "save_loop",
    "subsampled",
]


def __getattr__(name: str) -> Any:
    # The classifiers import torch and transformers (seconds); only pay for them when used.
    if name in ("BertClassifier", "SetFitClassifier"):
        from activellm_modal import classifiers

        return getattr(classifiers, name)
    raise AttributeError(f"module 'activellm_modal' has no attribute {name!r}")
