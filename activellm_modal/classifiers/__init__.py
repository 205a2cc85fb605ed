"""Classifiers that learn from the texts an active-learning loop labels."""

from activellm_modal.classifiers.bert import BertClassifier

__all__ = ["BertClassifier"]
