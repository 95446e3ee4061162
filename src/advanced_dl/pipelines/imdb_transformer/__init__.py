"""``imdb_transformer``: a one-block transformer sentiment classifier on raw IMDB reviews."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
