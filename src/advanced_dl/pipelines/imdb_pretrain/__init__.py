"""``imdb_pretrain``: a transformer encoder pre-trained on IMDB's own reviews (masked tokens)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
