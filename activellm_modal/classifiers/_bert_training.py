"""BertClassifier's training policy: batch size, learning-rate schedule, optimiser groups.

The skorch-facing pieces that :class:`~activellm_modal.classifiers.BertClassifier`
plugs into skorch's loop, kept apart from the estimator itself.
"""

from __future__ import annotations

import logging
import math
import warnings
from functools import partial
from typing import Any

import numpy as np
import torch
from skorch.callbacks import Callback

#: ``batch_size="auto"`` trains with ``n_texts / AUTO_STEPS_PER_EPOCH`` texts per batch
#: within ``AUTO_BATCH_RANGE`` and predicts in batches of ``AUTO_PREDICT_BATCH``.
AUTO_STEPS_PER_EPOCH = 4
AUTO_BATCH_RANGE = (8, 32)
AUTO_PREDICT_BATCH = 64


class LinearWarmupDecay(Callback):
    """Linear warm-up for ``net.warmup_steps`` steps, then linear decay to 0.

    The schedule of ``transformers.get_linear_schedule_with_warmup`` (the
    ``Trainer`` default), stepped after every optimiser step. The total number
    of steps is known only when training starts, hence a callback rather than
    skorch's ``LRScheduler``.
    """

    def initialize(self) -> LinearWarmupDecay:
        self.scheduler_: torch.optim.lr_scheduler.LambdaLR | None = None
        return self

    def on_train_begin(self, net: Any, X: Any = None, y: Any = None, **kwargs: Any) -> None:
        dataset_train, _ = net.get_split_datasets(X, y)
        steps = math.ceil(len(dataset_train) / _train_batch_size(net, len(dataset_train)))
        total = max(1, steps * getattr(net, "n_epochs_", net.max_epochs))
        factor = partial(_warmup_decay_factor, warmup=int(net.warmup_steps), total=total)
        self.scheduler_ = torch.optim.lr_scheduler.LambdaLR(net.optimizer_, factor)

    def on_batch_end(self, net: Any, batch: Any = None, training: bool = False, **kw: Any) -> None:
        if training and self.scheduler_ is not None:
            self.scheduler_.step()

    def on_train_end(self, net: Any, X: Any = None, y: Any = None, **kwargs: Any) -> None:
        # The scheduler references the optimiser; keeping it would pickle the
        # optimiser state a second time.
        self.scheduler_ = None


def _balanced_weights(encoded: np.ndarray, n_classes: int) -> np.ndarray:
    """scikit-learn's "balanced" weights; classes absent from the labels get 1."""
    counts = np.bincount(encoded, minlength=n_classes).astype(np.float64)
    present = counts > 0
    weights = np.ones(n_classes, dtype=np.float32)
    weights[present] = len(encoded) / (present.sum() * counts[present])
    return weights


def _train_batch_size(net: Any, n_texts: int) -> int:
    """Texts per training batch: all of them (-1), ``batch_size`` or the ``"auto"`` rule."""
    size = net.get_params_for("iterator_train").get("batch_size", net.batch_size)
    if size == "auto":
        low, high = AUTO_BATCH_RANGE
        return int(min(high, max(low, math.ceil(n_texts / AUTO_STEPS_PER_EPOCH))))
    return n_texts if size == -1 else max(1, int(size))


def _warmup_decay_factor(step: int, *, warmup: int, total: int) -> float:
    if step < warmup:
        return step / max(1, warmup)
    return max(0.0, (total - step) / max(1, total - warmup))


def _has_fused_adamw(device: str | torch.device) -> bool:
    """Whether ``AdamW(fused=True)`` runs on ``device`` (CUDA; CPU since torch 2.4)."""
    major, minor = (int(part) for part in torch.__version__.split(".")[:2])
    kind = torch.device(device).type
    return kind == "cuda" or (kind == "cpu" and (major, minor) >= (2, 4))


def _no_decay_names(module: torch.nn.Module) -> set[str]:
    """Names of biases and normalisation-layer parameters (no weight decay)."""
    names = set()
    for module_name, sub in module.named_modules():
        is_norm = isinstance(sub, torch.nn.LayerNorm) or "norm" in type(sub).__name__.lower()
        for param_name, _ in sub.named_parameters(recurse=False):
            if is_norm or param_name == "bias":
                names.add(f"{module_name}.{param_name}" if module_name else param_name)
    return names


class _DropLoadReport(logging.Filter):
    """Drop transformers' "LOAD REPORT" table; :func:`_load_pretrained` checks it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "LOAD REPORT" not in str(record.msg)


def _load_pretrained(model_class: Any, name: str, **kwargs: Any) -> torch.nn.Module:
    """``model_class.from_pretrained`` without the expected new-head noise.

    A fresh classification head is always reported as missing, which says nothing
    to a user; missing encoder weights do, so those are re-raised as a warning.
    """
    from transformers.utils import logging as hf_logging

    logger = logging.getLogger("transformers.modeling_utils")
    report_filter = _DropLoadReport()
    bar_was_on = hf_logging.is_progress_bar_enabled()
    logger.addFilter(report_filter)
    hf_logging.disable_progress_bar()
    try:
        model, info = model_class.from_pretrained(name, output_loading_info=True, **kwargs)
    finally:
        logger.removeFilter(report_filter)
        if bar_was_on:
            hf_logging.enable_progress_bar()
    prefix = getattr(model, "base_model_prefix", "") + "."
    missing = sorted(key for key in info.get("missing_keys", ()) if key.startswith(prefix))
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        warnings.warn(
            f"{len(missing)} encoder weights were not found in {name!r} and were "
            f"initialised randomly ({shown}); is it the right checkpoint?",
            UserWarning,
            stacklevel=3,
        )
    return model
