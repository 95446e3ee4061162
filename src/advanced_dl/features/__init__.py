"""Preprocessing shared by training (the pipelines) and serving (the MLflow models).

One module per kind of data: ``series`` (NAB time series), ``text`` (IMDB
reviews), ``mixture`` (the MDN's inputs and outputs), ``graph`` (citation
graphs). Nothing here imports Kedro or MLflow, so the served models and the
nodes run exactly the same code on the same rows.
"""


class InvalidInputError(ValueError):
    """Input that cannot be preprocessed; the message names its source and what was expected."""
