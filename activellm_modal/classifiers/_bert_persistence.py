"""BertClassifier's persistence: ``save_pretrained`` / ``load`` and a short ``repr``."""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

#: File that :meth:`BertClassifier.save_pretrained` writes next to the model files.
CONFIG_FILE = "bert_classifier.json"

#: Hyper-parameters written by ``save_pretrained`` and restored by ``load``.
_SAVED_PARAMS = (
    "max_length",
    "batch_size",
    "max_epochs",
    "min_steps",
    "lr",
    "warmup_steps",
    "weight_decay",
    "max_grad_norm",
    "class_weight",
)


class PretrainedFolder:
    """Mixin of :class:`~activellm_modal.classifiers.BertClassifier`: a Hugging Face folder."""

    def save_pretrained(self, directory: str | os.PathLike[str]) -> Path:
        """Write model, tokenizer and classifier settings to ``directory``.

        The directory is a regular Hugging Face model folder (loadable with
        ``AutoModelForSequenceClassification.from_pretrained``) plus
        ``bert_classifier.json`` with ``classes_`` and the hyper-parameters.
        Custom skorch objects (callbacks, optimizer classes) are not saved.

        Parameters
        ----------
        directory : str or os.PathLike
            Created if missing; existing model files in it are overwritten.

        Returns
        -------
        path : pathlib.Path
            The directory.
        """
        self.check_is_fitted()
        if getattr(self, "single_class_", None) is not None:
            raise ValueError(
                f"This classifier was fitted on one class ({self.single_class_!r}) and holds "
                "no trained network to save; fit it on at least two classes first."
            )
        labels = self.classes_
        restored = np.asarray(json.loads(json.dumps(labels.tolist(), default=_json_scalar)))
        if restored.shape != labels.shape or not np.array_equal(
            restored.astype(labels.dtype), labels
        ):
            raise TypeError(
                f"classes_ {labels.tolist()!r} do not survive JSON; save_pretrained "
                "supports str, int, float and bool labels. Pickle the classifier instead."
            )
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        self.module_.save_pretrained(path)
        self.tokenizer_.save_pretrained(path)
        params = {name: getattr(self, name) for name in _SAVED_PARAMS}
        if isinstance(self.random_state, int | np.integer):
            params["random_state"] = int(self.random_state)
        config = {
            "format_version": 1,
            "classes": labels.tolist(),
            "classes_dtype": labels.dtype.str,
            "classes_fixed": self.classes is not None,
            "pair_input": bool(self.pair_input_),
            "base_model": os.fspath(self.model_name),
            "params": params,
        }
        text = json.dumps(config, indent=2, default=_json_scalar)
        (path / CONFIG_FILE).write_text(text + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory: str | os.PathLike[str], **params: Any) -> Any:
        """Load a classifier written by :meth:`save_pretrained`, ready to predict.

        ``model_name`` of the result is ``directory``, so refitting it fine-tunes
        from the saved weights.

        Parameters
        ----------
        directory : str or os.PathLike
            A directory written by ``save_pretrained``.
        **params
            Override saved parameters or set others, e.g. ``device="cuda"``.

        Returns
        -------
        clf : BertClassifier
            Initialised with the saved weights and ``classes_``.
        """
        path = Path(directory)
        config_path = path / CONFIG_FILE
        if not config_path.is_file():
            raise FileNotFoundError(
                f"{config_path} not found: {path} was not written by "
                "BertClassifier.save_pretrained. To fine-tune a plain Hugging Face model, "
                "use BertClassifier(model_name=...) and fit it."
            )
        config = json.loads(config_path.read_text(encoding="utf-8"))
        labels = np.asarray(config["classes"], dtype=np.dtype(config["classes_dtype"]))
        kwargs = {**config["params"], **params}
        if config["classes_fixed"]:
            kwargs.setdefault("classes", labels)
        clf = cls(model_name=os.fspath(path), **kwargs)
        clf.classes_inferred_ = labels
        clf.pair_input_ = bool(config["pair_input"])
        clf.initialize()
        return clf

    def __repr__(self) -> str:
        # skorch's repr prints the whole network once fitted (hundreds of lines for
        # BERT); show the parameters that differ from the defaults instead.
        defaults: dict[str, Any] = {}
        for klass in reversed(type(self).__mro__):
            if "__init__" in vars(klass):
                defaults.update(
                    (name, param.default)
                    for name, param in inspect.signature(klass.__init__).parameters.items()
                )
        parts = []
        for key, value in self.get_params(deep=False).items():
            if key == "_params_to_validate":
                continue
            if key != "model_name" and _same(value, defaults.get(key, inspect.Parameter.empty)):
                continue
            parts.append(f"{key}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _json_scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _same(value: Any, default: Any) -> bool:
    if value is default:
        return True
    if default is inspect.Parameter.empty or type(value) is not type(default):
        return False
    try:
        return bool(value == default)
    except (TypeError, ValueError):
        return False
