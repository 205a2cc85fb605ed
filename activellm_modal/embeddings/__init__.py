"""Text embeddings: the encoder every part reads texts through, and its cache."""

from activellm_modal.embeddings.cache import EmbeddingCache
from activellm_modal.embeddings.encoder import SentenceEmbedder, default_model_path

__all__ = ["EmbeddingCache", "SentenceEmbedder", "default_model_path"]
