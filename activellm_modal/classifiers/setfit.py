"""A scikit-learn / modAL classifier over SetFit: contrastive fine-tuning, then a head.

SetFit (Tunstall et al. 2022) fine-tunes a sentence-transformer on pairs of
labelled texts (same class: close, different classes: apart) and then fits a
logistic regression on the tuned embeddings. The ActiveLLM paper compares against
it. :class:`SetFitClassifier` wraps the ``setfit`` package (extra ``[setfit]``)
behind ``fit(texts, y)`` / ``predict_proba``, with the package's default
encoder (the offline all-mpnet-base-v2) as the default body, so it drops into
``Pipeline``, ``GridSearchCV`` and modAL.
"""

from __future__ import annotations

import os
import random
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d

from activellm_modal.classifiers._single import one_class_proba, single_class
from activellm_modal.classifiers._text import as_texts
from activellm_modal.exceptions import InvalidPoolError

__all__ = ["SetFitClassifier"]

#: C of the default logistic-regression head. all-MiniLM-L6-v2 ends in a
#: normalisation layer, so embeddings have unit norm and scikit-learn's C=1
#: shrinks a 32-text fit towards the class prior.
HEAD_C = 100.0

INSTALL_HINT = "pip install 'activellm-modal[setfit]' (the setfit package)"


class SetFitClassifier(ClassifierMixin, BaseEstimator):
    """Few-shot text classification with SetFit on a local sentence-transformer.

    ``fit`` loads the sentence-transformer ``model_name``, fine-tunes it
    contrastively on pairs built from the labelled texts (``setfit.Trainer``),
    then fits ``head`` on the tuned embeddings. Every ``fit`` starts from the
    pre-trained body, so modAL's ``teach`` retrains on all labelled texts.

    Parameters
    ----------
    model_name : str, os.PathLike or None, default=None
        A sentence-transformers folder, hub name, or an encoder name
        (``"mpnet"``, ``"minilm"``). None means the package's default encoder
        (:func:`~activellm_modal.embeddings.default_encoder`: the offline
        all-mpnet-base-v2 unless ``$ACTIVELLM_ENCODER`` says otherwise); pass
        ``"minilm"`` for a body about 6x cheaper to tune. The paper used
        ``sentence-transformers/paraphrase-mpnet-base-v2``.
    num_iterations : int, default=20
        Pairs per text and per kind (same / different class): 32 texts make
        ``2 * 20 * 32 = 1280`` pairs, SetFit's few-shot setting.
    num_epochs : int, default=1
        Passes over the pairs.
    batch_size : int, default=16
        Pairs per optimiser step (SetFit's default and the paper's).
    body_learning_rate : float, default=2e-5
        Peak learning rate of the body (linear warm-up over 10 %, then decay).
    max_length : int, default=128
        Tokens per text; longer texts are truncated.
    head : scikit-learn classifier or None, default=None
        Fitted on the tuned embeddings (cloned at every ``fit``). None means
        ``LogisticRegression(C=100, max_iter=1000)``: the unit-norm MiniLM
        embeddings need a weak penalty (scikit-learn's C=1 predicts the prior).
    class_weight : {"balanced"} or None, default=None
        Class weights of the default head (scikit-learn's meaning); ignored
        when ``head`` is given (set it on that head).
    classes : array-like or None, default=None
        The full label set; None infers it from ``y``. Fix it in active learning
        so that ``predict_proba`` has a column per class from the first round.
    predict_batch_size : int, default=64
        Texts per forward pass when predicting.
    device : str, default="cpu"
        Where the body runs, e.g. ``"cuda"``.
    random_state : int, RandomState instance or None, default=None
        Seeds pair sampling, shuffling, dropout and the head; the same value
        gives the same predictions. Python's, numpy's and torch's global RNG
        states are restored after ``fit``.
    show_progress : bool, default=False
        Show setfit's progress bars.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Labels in the order of the ``predict_proba`` columns.
    model_ : setfit.SetFitModel
        The tuned body and the fitted head; None after a one-class ``fit``.
    n_pairs_ : int
        Text pairs the body was tuned on.
    single_class_ : object or None
        The only label of the last ``fit`` when ``y`` held one class; None
        otherwise.

    See Also
    --------
    BertClassifier : Fine-tunes a transformer with a classification head.

    Notes
    -----
    Labels may be of any type. ``y`` of a single class trains nothing: ``fit``
    warns (:class:`~activellm_modal.exceptions.SingleClassWarning`) and the
    classifier predicts that class with probability 1 (other columns of
    ``classes`` are 0) until a fit sees a second class. Contrastive pairs need
    two texts of one class, so ``fit`` refuses two classes with one text each.

    Pickling keeps the tuned weights (about 90 MB for MiniLM).

    Examples
    --------
    >>> from activellm_modal.classifiers import SetFitClassifier
    >>> clf = SetFitClassifier(num_iterations=5, random_state=0)
    >>> clf.get_params()["batch_size"]
    16
    >>> texts = ["a gripping, funny film", "dull and far too long"] * 4
    >>> labels = ["positive", "negative"] * 4
    >>> clf.fit(texts, labels).predict(["what a delight"])  # doctest: +SKIP
    array(['positive'], dtype='<U8')
    """

    def __init__(
        self,
        model_name: str | os.PathLike[str] | None = None,
        *,
        num_iterations: int = 20,
        num_epochs: int = 1,
        batch_size: int = 16,
        body_learning_rate: float = 2e-5,
        max_length: int = 128,
        head: Any = None,
        class_weight: str | None = None,
        classes: Iterable[Any] | None = None,
        predict_batch_size: int = 64,
        device: str = "cpu",
        random_state: int | np.random.RandomState | None = None,
        show_progress: bool = False,
    ) -> None:
        self.model_name = model_name
        self.num_iterations = num_iterations
        self.num_epochs = num_epochs
        self.batch_size = batch_size
        self.body_learning_rate = body_learning_rate
        self.max_length = max_length
        self.head = head
        self.class_weight = class_weight
        self.classes = classes
        self.predict_batch_size = predict_batch_size
        self.device = device
        self.random_state = random_state
        self.show_progress = show_progress

    # ------------------------------------------------------------------ fitting

    def fit(self, X: Any, y: Any) -> SetFitClassifier:
        """Tune the body on pairs of ``X`` and fit the head on its embeddings.

        Parameters
        ----------
        X : list, ndarray or pandas Series of str
            The labelled texts.
        y : array-like of shape (n_samples,)
            Labels of any type.

        Returns
        -------
        self : SetFitClassifier
            The fitted classifier.
        """
        texts = self._texts(X)
        if y is None:
            raise ValueError("y is required: SetFitClassifier needs one label per text.")
        y = column_or_1d(y, warn=True)
        check_consistent_length(texts, y)
        check_classification_targets(y)
        self._check_params()
        known = np.asarray(self.classes) if self.classes is not None else np.unique(y)
        index = {label: i for i, label in enumerate(known.tolist())}
        unknown = {label for label in y.tolist() if label not in index}
        if unknown:
            raise ValueError(
                f"y has labels {sorted(unknown, key=repr)} outside classes "
                f"{known.tolist()!r}. Pass the full label set as classes=[...]."
            )
        self.single_class_ = single_class(y, self.classes, type(self).__name__)
        if self.single_class_ is not None:
            self.classes_ = known if self.classes is not None else np.asarray([self.single_class_])
            self.model_ = None
            self.n_pairs_ = 0
            return self
        if len(known) < 2:
            raise ValueError(
                f"classes={known.tolist()!r} holds one label; a classifier needs at least 2."
            )
        encoded = np.fromiter((index[label] for label in y.tolist()), np.int64, len(y))
        counts = np.bincount(encoded)
        if counts.max() < 2:
            raise ValueError(
                f"SetFit learns from pairs of texts of the same class, but no class in y has "
                f"2 texts ({len(y)} texts, {int((counts > 0).sum())} classes). Label at least "
                "two texts of one class, or use BertClassifier."
            )
        self.classes_ = known
        seed = self._seed()
        with _forked_rngs(), _quiet(self.show_progress):
            self.model_, self.n_pairs_ = self._train(texts.tolist(), encoded.tolist(), seed)
        return self

    def _check_params(self) -> None:
        for name in ("num_iterations", "num_epochs", "batch_size", "predict_batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}.")
        if not isinstance(self.max_length, int | np.integer) or self.max_length < 2:
            raise ValueError(f"max_length must be an int >= 2, got {self.max_length!r}.")
        if self.class_weight not in (None, "balanced"):
            raise ValueError(f"class_weight must be None or 'balanced', got {self.class_weight!r}.")
        if not self.body_learning_rate > 0:
            raise ValueError(f"body_learning_rate must be > 0, got {self.body_learning_rate!r}.")

    def _seed(self) -> int:
        if isinstance(self.random_state, int | np.integer):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _train(self, texts: list[str], labels: list[int], seed: int) -> tuple[Any, int]:
        """Contrastive tuning of the body, then the head; returns the model and pair count."""
        from datasets import Dataset
        from setfit import SetFitModel, Trainer, TrainingArguments
        from sklearn.linear_model import LogisticRegression

        body = self._load_body()
        head = (
            clone(self.head)
            if self.head is not None
            else LogisticRegression(
                C=HEAD_C, max_iter=1000, class_weight=self.class_weight, random_state=seed
            )
        )
        model = SetFitModel(model_body=body, model_head=head)
        with tempfile.TemporaryDirectory(prefix="setfit-") as scratch:
            args = TrainingArguments(
                output_dir=scratch,
                batch_size=int(self.batch_size),
                num_epochs=int(self.num_epochs),
                num_iterations=int(self.num_iterations),
                body_learning_rate=float(self.body_learning_rate),
                max_length=int(self.max_length),
                seed=seed,
                report_to="none",
                save_strategy="no",
                logging_strategy="no",
                show_progress_bar=bool(self.show_progress),
            )
            trainer = Trainer(
                model=model,
                args=args,
                train_dataset=Dataset.from_dict({"text": texts, "label": labels}),
            )
            if not self.show_progress:
                # Without progress bars transformers prints every log dict instead.
                from transformers.trainer_callback import PrinterCallback

                trainer.st_trainer.remove_callback(PrinterCallback)
            trainer.train()
            n_pairs = len(trainer.st_trainer.train_dataset)
        body.eval()
        return model, n_pairs

    def _load_body(self) -> Any:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as error:  # pragma: no cover - the extra pulls it in
            raise ImportError(f"SetFitClassifier needs {INSTALL_HINT}.") from error
        from activellm_modal.embeddings import encoder_path

        name = encoder_path("default" if self.model_name is None else self.model_name)
        body = SentenceTransformer(os.fspath(name), device=self.device)
        body.max_seq_length = int(self.max_length)
        return body

    # --------------------------------------------------------------- predicting

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of texts ``X``, columns in the order of ``classes_``.

        Parameters
        ----------
        X : list, ndarray or pandas Series of str
            Texts.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to 1.
        """
        check_is_fitted(self, "classes_")
        texts = self._texts(X)
        if self.single_class_ is not None:
            return one_class_proba(len(texts), self.classes_, self.single_class_)
        with _quiet(self.show_progress):
            embeddings = self.model_.encode(
                texts.tolist(), batch_size=int(self.predict_batch_size), show_progress_bar=False
            )
            head_proba = self.model_.model_head.predict_proba(embeddings)
        # The head saw class indices; a class missing from y gets probability 0.
        proba = np.zeros((len(texts), len(self.classes_)), dtype=np.float64)
        proba[:, np.asarray(self.model_.model_head.classes_, dtype=np.intp)] = head_proba
        return proba

    def predict(self, X: Any) -> np.ndarray:
        """Most probable label of each text in ``X``.

        Parameters
        ----------
        X : list, ndarray or pandas Series of str
            Texts.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)  # first: it raises NotFittedError
        return self.classes_[proba.argmax(axis=1)]

    def _texts(self, X: Any) -> np.ndarray:
        texts, pairs = as_texts(X, "X")
        if pairs is not None:
            raise InvalidPoolError(
                "SetFitClassifier takes single texts, but X holds sentence pairs; join each "
                "pair into one text first, or use BertClassifier, which encodes pairs."
            )
        return texts

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.one_d_array = True
        tags.input_tags.two_d_array = False
        tags.non_deterministic = self.random_state is None
        return tags


@contextmanager
def _forked_rngs() -> Iterator[None]:
    """Restore Python's, numpy's and torch's global RNGs (setfit reseeds all three)."""
    import torch

    # setfit reseeds numpy's legacy global RNG, so that is the state to keep.
    legacy_numpy = np.random.get_state()  # noqa: NPY002
    states = random.getstate(), legacy_numpy, torch.random.get_rng_state()
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])  # noqa: NPY002
        torch.random.set_rng_state(states[2])


@contextmanager
def _quiet(show_progress: bool) -> Iterator[None]:
    """Silence the libraries' info logs and progress bars for one fit or prediction."""
    import datasets
    import setfit
    from transformers.utils import logging as hf_logging

    if show_progress:
        yield
        return
    levels = hf_logging.get_verbosity(), setfit.logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled(), datasets.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    setfit.logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    datasets.disable_progress_bars()
    try:
        with warnings.catch_warnings():
            # Emitted on every fit by the libraries' internals, never about user input.
            warnings.filterwarnings("ignore", message=".*'pin_memory' argument is set as true.*")
            yield
    finally:
        hf_logging.set_verbosity(levels[0])
        setfit.logging.set_verbosity(levels[1])
        if bars[0]:
            hf_logging.enable_progress_bar()
        if bars[1]:
            datasets.enable_progress_bars()
