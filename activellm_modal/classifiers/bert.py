"""A scikit-learn / modAL classifier that fine-tunes a BERT-style transformer on raw text.

:class:`BertClassifier` is a skorch ``NeuralNetClassifier``. Its defaults are made
for few labels (a small batch and a floor of 120 optimiser steps, measured in
``benchmarks/bench_classifiers.py``); :data:`PAPER_RECIPE` and
:meth:`BertClassifier.paper_recipe` keep the training recipe of the ActiveLLM
paper (Bayer & Reuter 2024). It overrides a few skorch hooks (module creation,
batching, optimiser groups, the number of epochs) and keeps skorch's training loop.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, column_or_1d
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback, GradientNormClipping

from activellm_modal.classifiers._bert_persistence import CONFIG_FILE, PretrainedFolder
from activellm_modal.classifiers._bert_training import (
    AUTO_BATCH_RANGE,
    AUTO_PREDICT_BATCH,
    AUTO_STEPS_PER_EPOCH,
    LinearWarmupDecay,
    _balanced_weights,
    _has_fused_adamw,
    _load_pretrained,
    _no_decay_names,
    _train_batch_size,
)
from activellm_modal.classifiers._single import one_class_proba, single_class
from activellm_modal.classifiers._text import (
    TextCollator,
    TextDataset,
    as_texts,
    length_order,
)
from activellm_modal.exceptions import InvalidPoolError

__all__ = [
    "AUTO_BATCH_RANGE",
    "AUTO_PREDICT_BATCH",
    "AUTO_STEPS_PER_EPOCH",
    "CONFIG_FILE",
    "PAPER_RECIPE",
    "BertClassifier",
    "LinearWarmupDecay",
]

#: The ActiveLLM paper's training recipe: ``transformers.Trainer``'s defaults plus
#: ``num_train_epochs=25, warmup_steps=5, weight_decay=0.01`` at the GLUE batch size
#: 128, so 32 labelled texts get one full-batch optimiser step per epoch: 25 steps.
PAPER_RECIPE: dict[str, Any] = {
    "max_length": 128,
    "batch_size": 128,
    "max_epochs": 25,
    "min_steps": 0,
    "lr": 5e-5,
    "warmup_steps": 5,
    "weight_decay": 0.01,
}


class BertClassifier(PretrainedFolder, NeuralNetClassifier):
    """Fine-tune a pre-trained transformer (BERT and relatives) for text classification.

    A scikit-learn classifier on raw texts: ``fit`` tokenises, loads the
    pre-trained weights with a fresh classification head and fine-tunes the whole
    network; ``predict_proba`` scores any number of texts with flat memory. It works
    inside ``Pipeline``, ``GridSearchCV`` and as the estimator of a modAL
    ``ActiveLearner``, whose ``teach`` retrains it from the pre-trained weights on
    all texts labelled so far.

    The defaults learn from few labels: the batch fits the data (8 texts at 32
    labels, up to 32 for large sets) and every fit makes at least ``min_steps=120``
    optimiser steps (30 epochs at 32 labels), so a 32-label fit is not left at the
    majority class for lack of training. Otherwise they follow
    ``transformers.Trainer``: AdamW (the fused kernel, ``Trainer``'s
    ``adamw_torch_fused``) with learning rate 5e-5, linear warm-up then linear
    decay to 0, gradient norm clipped at 1.0, no weight decay on biases and
    LayerNorm weights, a reshuffle every epoch, no validation split, fp32.
    :meth:`paper_recipe` builds the classifier with the ActiveLLM paper's recipe
    (:data:`PAPER_RECIPE`: 25 full-batch epochs, i.e. 25 steps at 32 labels).
    ``benchmarks/bench_classifiers.py`` measures both on SST-2 with 32 labels.

    Parameters
    ----------
    model_name : str or os.PathLike, default="bert-base-uncased"
        Hugging Face model id or local directory with a tokenizer and weights,
        e.g. a directory written by :meth:`save_pretrained`. Loaded at ``fit``
        (never in ``__init__``); set ``HF_HUB_OFFLINE=1`` to forbid downloads.
    max_length : int, default=128
        Inputs are truncated to this many tokens (pairs: the longer segment is cut
        first). Batches are padded only to their own longest input.
    batch_size : int or "auto", default="auto"
        Training and prediction batch size. ``"auto"`` trains with
        ``n_texts / 4`` texts per batch, clipped to 8..32 (8 at 32 labels: four
        optimiser steps per epoch), and predicts in batches of 64. An int is used
        for both; -1 means all texts in one batch. Set
        ``iterator_valid__batch_size`` to predict with another size.
    max_epochs : int, default=10
        Passes over the training texts per ``fit``, raised where needed to reach
        ``min_steps``.
    min_steps : int, default=120
        Floor on the optimiser steps of one ``fit``: the epochs become
        ``max(max_epochs, ceil(min_steps / batches_per_epoch))``. Few labels make
        few batches; without the floor 32 labels get too few updates to leave
        the majority class. 0 disables it. ``n_epochs_`` records the epochs run.
    lr : float, default=5e-5
        Peak learning rate of AdamW.
    warmup_steps : int, default=5
        Optimiser steps of linear warm-up from 0 to ``lr``; afterwards the rate
        decays linearly to 0 at the last step, as ``transformers``'
        ``get_linear_schedule_with_warmup`` does.
    weight_decay : float, default=0.01
        AdamW weight decay, applied to all weights except biases and normalisation
        layers (as ``transformers.Trainer`` does).
    max_grad_norm : float or None, default=1.0
        Gradient norm clipping (the ``Trainer`` default); None disables it.
    class_weight : {"balanced"} or None, default=None
        ``"balanced"`` weights the loss of each class by ``n_texts / (n_classes *
        n_texts_of_class)`` of the training labels (as scikit-learn does), so a
        skewed random draw does not pull the model to its majority class.
    optimizer : torch optimizer class, default=torch.optim.AdamW
    criterion : torch loss class, default=torch.nn.CrossEntropyLoss
        Applied to the logits; ``predict_proba`` applies the softmax.
    train_split : callable or None, default=None
        skorch validation split; None trains on every text, as the paper does.
    classes : array-like or None, default=None
        The full label set. None infers it from ``y`` at ``fit``. Fix it in active
        learning when the first labelled texts may miss a class: ``predict_proba``
        then always has a column per class.
    device : str or torch.device, default="cpu"
        Where the network runs, e.g. ``"cuda"``. No GPU is required.
    random_state : int, RandomState instance or None, default=None
        Seeds head initialisation, shuffling and dropout during ``fit``; the same
        value gives the same predictions. The global torch RNG state is restored
        afterwards. None leaves the global RNG as it is.
    verbose : int, default=0
        1 prints skorch's per-epoch table.
    module : class or None, default=None
        Class whose ``from_pretrained`` builds the network; None means
        ``transformers.AutoModelForSequenceClassification``. ``module__*`` keyword
        arguments are passed to ``from_pretrained``, e.g.
        ``module__hidden_dropout_prob=0.2``.
    **kwargs
        Other skorch parameters, e.g. ``optimizer__betas`` or
        ``iterator_valid__batch_size``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Labels in the order of the ``predict_proba`` columns.
    module_ : transformers.PreTrainedModel
        The fine-tuned network.
    tokenizer_ : transformers tokenizer
        The tokenizer of ``model_name``.
    pair_input_ : bool
        Whether the classifier was fitted on sentence pairs.
    history_ : skorch.History
        Per-epoch training loss and timing.
    n_epochs_ : int
        Epochs of the last training call (``max_epochs`` or more, see ``min_steps``).
    single_class_ : object or None
        The only label of the last ``fit`` when ``y`` held one class (see Notes);
        None after a normal fit.

    See Also
    --------
    skorch.NeuralNetClassifier : The base class and its parameters.

    Notes
    -----
    Input is a list, 1-D numpy array or pandas Series of str; sentence pairs are a
    2-column array or DataFrame, or a list of ``(text_a, text_b)`` tuples, and are
    tokenised as two segments. Labels may be of any type (str, int, ...).

    For prediction the texts are ordered by token length and each batch is padded
    to its own longest text, then the original order is restored. Only one batch
    is ever tokenised at a time, so memory stays flat however large the pool is.

    **One class.** The first batch of an active-learning loop can miss a class.
    ``fit`` on labels of a single class then trains nothing: it warns
    (:class:`~activellm_modal.exceptions.SingleClassWarning`) and the classifier
    predicts that class for every text with probability 1. ``classes_`` is the
    ``classes`` parameter when given (the other columns of ``predict_proba`` are
    0), else just the seen class. The next ``fit`` with two classes trains as
    usual, so a modAL loop keeps running. ``partial_fit`` still needs two known
    classes.

    Examples
    --------
    >>> from activellm_modal.classifiers import BertClassifier
    >>> clf = BertClassifier("bert-base-uncased", max_length=64, random_state=0)
    >>> clf.get_params()["min_steps"]
    120
    >>> BertClassifier.paper_recipe("bert-base-uncased").get_params()["max_epochs"]
    25
    >>> texts = ["a gripping, funny film", "dull and far too long"] * 4
    >>> labels = ["positive", "negative"] * 4
    >>> clf.fit(texts, labels)  # doctest: +SKIP
    >>> clf.predict(["what a delight"])  # doctest: +SKIP
    array(['positive'], dtype='<U8')
    >>> clf.save_pretrained("sentiment-model")  # doctest: +SKIP
    >>> BertClassifier.load("sentiment-model").predict_proba(["meh"])  # doctest: +SKIP
    array([[0.61, 0.39]], dtype=float32)

    In a modAL loop:

    >>> from modAL.models import ActiveLearner
    >>> learner = ActiveLearner(  # doctest: +SKIP
    ...     estimator=BertClassifier("bert-base-uncased"),
    ...     X_training=np.array(texts, dtype=object), y_training=np.array(labels),
    ... )
    """

    def __init__(
        self,
        model_name: str | os.PathLike[str] = "bert-base-uncased",
        *,
        max_length: int = 128,
        batch_size: int | str = "auto",
        max_epochs: int = 10,
        min_steps: int = 120,
        lr: float = 5e-5,
        warmup_steps: int = 5,
        weight_decay: float = 0.01,
        max_grad_norm: float | None = 1.0,
        class_weight: str | None = None,
        optimizer: type[torch.optim.Optimizer] = torch.optim.AdamW,
        criterion: type[torch.nn.Module] = torch.nn.CrossEntropyLoss,
        train_split: Any = None,
        classes: Iterable[Any] | None = None,
        device: str | torch.device = "cpu",
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        module: Any = None,
        **kwargs: Any,
    ) -> None:
        self.model_name = model_name
        self.max_length = max_length
        self.min_steps = min_steps
        self.warmup_steps = warmup_steps
        self.weight_decay = weight_decay
        self.max_grad_norm = max_grad_norm
        self.class_weight = class_weight
        self.random_state = random_state
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            classes=classes,
            device=device,
            verbose=verbose,
            **kwargs,
        )

    @classmethod
    def paper_recipe(
        cls, model_name: str | os.PathLike[str] = "bert-base-uncased", **params: Any
    ) -> BertClassifier:
        """A classifier with the ActiveLLM paper's training recipe (:data:`PAPER_RECIPE`).

        25 epochs at batch 128 (one full-batch step per epoch at 32 labels), lr
        5e-5, 5 warm-up steps, weight decay 0.01, max_length 128, no floor on
        steps. ``activellm-modal reproduce`` uses it where it sets its figures
        beside the paper's. With a small model it often leaves 32-label fits at
        the majority class; the defaults do not.

        Parameters
        ----------
        model_name : str or os.PathLike, default="bert-base-uncased"
            The paper fine-tuned ``bert-base-uncased``.
        **params
            Override the recipe or set other parameters.

        Returns
        -------
        clf : BertClassifier
            Unfitted.

        Examples
        --------
        >>> clf = BertClassifier.paper_recipe(max_length=64)
        >>> clf.batch_size, clf.max_epochs, clf.min_steps, clf.max_length
        (128, 25, 0, 64)
        """
        return cls(model_name, **{**PAPER_RECIPE, **params})

    # ------------------------------------------------------------------ fitting

    def __new__(cls, *args: Any, **kwargs: Any) -> BertClassifier:
        # modAL's first teach checks its input before fit: patch it on creation.
        from activellm_modal.loop.compat import auto_patch

        auto_patch()
        return super().__new__(cls)

    def fit(self, X: Any, y: Any, **fit_params: Any) -> BertClassifier:
        """Fine-tune the pre-trained model on texts ``X`` with labels ``y``.

        Starts from ``model_name``'s weights every time (unless ``warm_start``),
        so refitting on more texts, as modAL's ``teach`` does, retrains from scratch.
        Labels of a single class train nothing: the classifier warns and predicts
        that class (see Notes of the class).

        Parameters
        ----------
        X : list, ndarray, pandas Series or DataFrame of str
            Texts, or sentence pairs as two columns / ``(a, b)`` tuples.
        y : array-like of shape (n_samples,)
            Labels of any type.
        **fit_params
            Passed to skorch's ``fit``.

        Returns
        -------
        self : BertClassifier
            The fitted classifier.
        """
        self._check_hyperparams()
        keep = bool(self.warm_start and self.initialized_)
        self.single_class_ = None
        if not keep:
            texts_a, _ = as_texts(X, "X")  # input errors come before the one-class warning
            if y is not None:
                check_consistent_length(texts_a, column_or_1d(y, warn=True))
            only = single_class(y, self.classes, type(self).__name__)
            if only is not None:
                self._fit_single_class(X, only)
                return self
        dataset = self._training_dataset(X, y, keep_classes=keep)
        with self._seeded():
            super().fit(dataset, None, **fit_params)
        return self

    def _fit_single_class(self, X: Any, label: Any) -> None:
        """Remember the one class of ``y``; nothing is trained (see the class Notes)."""
        _, texts_b = as_texts(X, "X")
        known = np.asarray(self.classes) if self.classes is not None else np.asarray([label])
        self.classes_inferred_ = known
        self.pair_input_ = texts_b is not None
        self.single_class_ = label

    def partial_fit(
        self, X: Any, y: Any = None, classes: Any = None, **fit_params: Any
    ) -> BertClassifier:
        """Train ``max_epochs`` more epochs on ``X``, ``y`` without re-initialising.

        The first call loads the pre-trained model; its label set comes from
        ``classes`` (this argument or the parameter) or else from ``y``, and later
        calls must stay within it.

        Parameters
        ----------
        X : list, ndarray, pandas Series or DataFrame of str
            Texts, or sentence pairs.
        y : array-like of shape (n_samples,)
            Labels.
        classes : array-like, optional
            Full label set for the first call.
        **fit_params
            Passed to skorch's ``partial_fit``.

        Returns
        -------
        self : BertClassifier
            The updated classifier.
        """
        if isinstance(X, TextDataset):
            # Called by fit(), which has already validated and seeded.
            self._apply_class_weight()
            return super().partial_fit(X, None, **self._epochs_for(X, fit_params))
        self._check_hyperparams()
        dataset = self._training_dataset(X, y, keep_classes=self.initialized_, classes=classes)
        self.single_class_ = None
        with self._seeded():
            self._apply_class_weight()
            super().partial_fit(dataset, None, **self._epochs_for(dataset, fit_params))
        return self

    def _epochs_for(self, dataset: TextDataset, fit_params: dict[str, Any]) -> dict[str, Any]:
        """``fit_params`` with ``epochs``: ``max_epochs``, raised to reach ``min_steps``.

        Set before skorch's loop starts because the learning-rate schedule needs
        the total number of steps when training begins.
        """
        epochs = fit_params.get("epochs")
        if epochs is None:
            n_train = len(dataset)
            if self.train_split is not None:
                n_train = len(self.get_split_datasets(dataset, None)[0])
            per_epoch = math.ceil(n_train / _train_batch_size(self, n_train))
            epochs = max(int(self.max_epochs), math.ceil(int(self.min_steps) / max(1, per_epoch)))
        self.n_epochs_ = int(epochs)
        return {**fit_params, "epochs": self.n_epochs_}

    def check_data(self, X: Any, y: Any = None) -> None:
        # Inputs are validated in _training_dataset; skorch's check would re-infer
        # classes_ from the already encoded labels.
        pass

    def _check_hyperparams(self) -> None:
        if not isinstance(self.max_length, int | np.integer) or self.max_length < 2:
            raise ValueError(
                f"max_length must be an int >= 2 (room for [CLS] and [SEP]), got "
                f"{self.max_length!r}."
            )
        if self.class_weight not in (None, "balanced"):
            raise ValueError(f"class_weight must be None or 'balanced', got {self.class_weight!r}.")
        if not isinstance(self.min_steps, int | np.integer) or self.min_steps < 0:
            raise ValueError(f"min_steps must be an int >= 0, got {self.min_steps!r}.")
        size = self.batch_size
        is_int = isinstance(size, int | np.integer)
        if size != "auto" and not (is_int and (size >= 1 or size == -1)):
            raise ValueError(
                f"batch_size must be 'auto', an int >= 1 or -1 (all texts), got {size!r}."
            )
        if not isinstance(self.warmup_steps, int | np.integer) or self.warmup_steps < 0:
            raise ValueError(f"warmup_steps must be an int >= 0, got {self.warmup_steps!r}.")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}.")
        if self.max_grad_norm is not None and self.max_grad_norm <= 0:
            raise ValueError(f"max_grad_norm must be > 0 or None, got {self.max_grad_norm!r}.")

    def _training_dataset(
        self, X: Any, y: Any, *, keep_classes: bool, classes: Any = None
    ) -> TextDataset:
        """Validate ``X``/``y``, settle ``classes_`` and encode ``y`` as class indices."""
        texts_a, texts_b = as_texts(X, "X")
        if y is None:
            raise ValueError("y is required: BertClassifier needs one label per text.")
        y = column_or_1d(y, warn=True)
        check_consistent_length(texts_a, y)
        check_classification_targets(y)
        if keep_classes:
            self._check_pair_input(texts_b)
            known = self.classes_
        else:
            if self.classes is not None:
                known = np.asarray(self.classes)
            elif classes is not None:
                known = np.asarray(classes)
            else:
                known = np.unique(y)
            if len(known) < 2:
                raise ValueError(
                    f"Only one class is known ({known.tolist()!r}); training needs at "
                    "least 2. Pass classes=[...] with the full label set, e.g. when the "
                    "first labelled texts of an active-learning loop miss a class (fit "
                    "accepts one class: it warns and predicts that class)."
                )
            self.classes_inferred_ = known
            self.pair_input_ = texts_b is not None
        index = {label: i for i, label in enumerate(known.tolist())}
        unknown = {label for label in y.tolist() if label not in index}
        if unknown:
            raise ValueError(
                f"y has labels {sorted(unknown, key=repr)} outside classes_ "
                f"{known.tolist()!r}. Pass the full label set as classes=[...]."
            )
        encoded = np.fromiter((index[label] for label in y.tolist()), np.int64, len(y))
        self.class_weight_ = _balanced_weights(encoded, len(known)) if self.class_weight else None
        return TextDataset(texts_a, texts_b, encoded)

    def _apply_class_weight(self) -> None:
        """Put ``class_weight_`` into the loss (the criterion exists only once initialised)."""
        if not self.initialized_:
            self.initialize()
        weight = getattr(self, "class_weight_", None)
        if not hasattr(self.criterion_, "weight"):
            if weight is not None:
                raise ValueError(
                    f"class_weight={self.class_weight!r} needs a criterion with a class weight "
                    f"(torch.nn.CrossEntropyLoss); {type(self.criterion_).__name__} has none."
                )
            return
        self.criterion_.weight = (
            None if weight is None else torch.as_tensor(weight, device=self.device)
        )

    @contextmanager
    def _seeded(self) -> Iterator[None]:
        """Seed torch from ``random_state`` and restore the global RNG afterwards."""
        if self.random_state is None:
            yield
            return
        if isinstance(self.random_state, int | np.integer):
            seed = int(self.random_state)
        else:
            seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        device = torch.device(self.device)
        cuda = [device.index or 0] if device.type == "cuda" and torch.cuda.is_available() else []
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(seed)
            yield

    # ------------------------------------------------------------ skorch hooks

    @property
    def _default_callbacks(self) -> list[tuple[str, Callback]]:
        callbacks = list(super()._default_callbacks)
        # Before print_log so a verbose table shows the epoch's final state.
        at = len(callbacks) - 1
        callbacks[at:at] = [
            ("gradient_clipping", GradientNormClipping(gradient_clip_value=self.max_grad_norm)),
            ("lr_schedule", LinearWarmupDecay()),
        ]
        return callbacks

    def initialize_module(self) -> BertClassifier:
        """Load tokenizer and pre-trained weights with a head for ``classes_``."""
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            labels = self.classes_
        except AttributeError:
            raise ValueError(
                "BertClassifier needs its label set to build the classification head: "
                "call fit(X, y), or pass classes=[...] before initialize()."
            ) from None
        name = os.fspath(self.model_name)
        model_class = self.module if self.module is not None else AutoModelForSequenceClassification
        names = [str(label) for label in labels.tolist()]
        kwargs = {
            "num_labels": len(names),
            "id2label": dict(enumerate(names)),
            "label2id": {label: i for i, label in enumerate(names)},
            **self.get_params_for("module"),
        }
        self.tokenizer_ = AutoTokenizer.from_pretrained(name)
        self.module_ = _load_pretrained(model_class, name, **kwargs)
        limit = getattr(self.module_.config, "max_position_embeddings", None)
        if limit is not None and self.max_length > limit:
            raise ValueError(
                f"max_length={self.max_length} exceeds the {limit} positions {name!r} was "
                f"trained with; use max_length <= {limit}."
            )
        return self

    def get_params_for_optimizer(
        self, prefix: str, named_parameters: Iterable[tuple[str, torch.nn.Parameter]]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Optimiser arguments; by default biases and norms get no weight decay."""
        named = list(named_parameters)
        kwargs = self.get_params_for(prefix)
        if prefix != "optimizer" or "param_groups" in kwargs:
            return super().get_params_for_optimizer(prefix, named)
        no_decay = _no_decay_names(self.module_)
        groups = [
            {"params": [p for name, p in named if name not in no_decay]},
            {"params": [p for name, p in named if name in no_decay], "weight_decay": 0.0},
        ]
        kwargs.setdefault("lr", self.lr)
        kwargs.setdefault("weight_decay", self.weight_decay)
        if self.optimizer is torch.optim.AdamW and _has_fused_adamw(self.device):
            # transformers.Trainer's default optimiser ("adamw_torch_fused"); on CPU the
            # fused kernel is ~20x faster than the per-tensor loop, which otherwise
            # costs more than forward and backward on small batches.
            kwargs.setdefault("fused", True)
        return (groups,), kwargs

    def get_iterator(self, dataset: Any, training: bool = False) -> Any:
        """A loader that tokenises each batch on the fly (padded to its longest text)."""
        if training:
            kwargs = self.get_params_for("iterator_train")
            iterator = self.iterator_train
            # transformers.Trainer shuffles the training set every epoch.
            kwargs.setdefault("shuffle", True)
        else:
            kwargs = self.get_params_for("iterator_valid")
            iterator = self.iterator_valid
        if training:
            kwargs.setdefault("batch_size", _train_batch_size(self, len(dataset)))
        elif self.batch_size == "auto":
            kwargs.setdefault("batch_size", AUTO_PREDICT_BATCH)
        else:
            kwargs.setdefault("batch_size", self.batch_size)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        kwargs.setdefault("collate_fn", TextCollator(self.tokenizer_, self.max_length))
        return iterator(dataset, **kwargs)

    def infer(self, x: Any, **fit_params: Any) -> torch.Tensor:
        # Hugging Face models return a ModelOutput; skorch and the loss want logits.
        output = super().infer(x, **fit_params)
        return getattr(output, "logits", output)

    def check_is_fitted(self, attributes: Any = None, *args: Any, **kwargs: Any) -> None:
        if getattr(self, "single_class_", None) is not None and attributes is None:
            return  # fitted on one class: predicts it without a network
        super().check_is_fitted(attributes or ["module_", "tokenizer_"], *args, **kwargs)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.one_d_array = True
        tags.non_deterministic = self.random_state is None
        return tags

    # --------------------------------------------------------------- predicting

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of texts ``X``, columns in the order of ``classes_``.

        Texts are batched by token length and padded per batch; the result is in
        the order of ``X``.

        Parameters
        ----------
        X : list, ndarray, pandas Series or DataFrame of str
            Texts, or sentence pairs as for ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to 1.
        """
        self.check_is_fitted()
        texts_a, texts_b = as_texts(X, "X")
        self._check_pair_input(texts_b)
        if getattr(self, "single_class_", None) is not None:
            return one_class_proba(len(texts_a), self.classes_, self.single_class_)
        order = length_order(self.tokenizer_, texts_a, texts_b, self.max_length)
        # inference_mode also skips autograd's version counting, which no_grad
        # (skorch's choice) keeps; a few percent on CPU.
        with torch.inference_mode():
            in_length_order = super().predict_proba(TextDataset(texts_a, texts_b, order=order))
        proba = np.empty_like(in_length_order)
        proba[order] = in_length_order
        return proba

    def predict(self, X: Any) -> np.ndarray:
        """Most probable label of each text in ``X``.

        Parameters
        ----------
        X : list, ndarray, pandas Series or DataFrame of str
            Texts, or sentence pairs as for ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def _check_pair_input(self, texts_b: np.ndarray | None) -> None:
        fitted_pairs = getattr(self, "pair_input_", texts_b is not None)
        if fitted_pairs != (texts_b is not None):
            pairs = "sentence pairs (two columns or (a, b) tuples)"
            got, want = (pairs, "single texts") if texts_b is not None else ("single texts", pairs)
            raise InvalidPoolError(
                f"X holds {got}, but this classifier was fitted on {want}; pass the same "
                "kind of input as to fit."
            )
