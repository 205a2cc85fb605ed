"""Classifiers that learn from the texts an active-learning loop labels."""

from activellm_modal.classifiers.bert import PAPER_RECIPE, BertClassifier
from activellm_modal.classifiers.setfit import SetFitClassifier

__all__ = ["PAPER_RECIPE", "BertClassifier", "SetFitClassifier"]
