"""Text embeddings: the encoder every part reads texts through, and its one cache."""

from activellm_modal.embeddings.cache import EmbeddingCache, embed_cached
from activellm_modal.embeddings.encoder import (
    Encoder,
    SentenceEmbedder,
    default_model_path,
    encoder_path,
)
from activellm_modal.embeddings.models import (
    DEFAULT_ENCODER,
    EncoderNotAvailable,
    default_encoder,
    install_mpnet,
    resolve_encoder,
)
from activellm_modal.embeddings.pairs import PairEncoder

__all__ = [
    "DEFAULT_ENCODER",
    "EmbeddingCache",
    "Encoder",
    "EncoderNotAvailable",
    "PairEncoder",
    "SentenceEmbedder",
    "default_encoder",
    "default_model_path",
    "embed_cached",
    "encoder_path",
    "install_mpnet",
    "resolve_encoder",
]
