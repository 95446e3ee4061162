"""Preprocessing shared by training (the pipelines) and serving (the MLflow models).

One module per kind of data: ``series`` (NAB time series), ``text`` (IMDB
reviews), ``mixture`` (the MDN's inputs and outputs), ``graph`` (citation
graphs). Nothing here imports Kedro or MLflow, so the served models and the
nodes run exactly the same code on the same rows.
"""


class InvalidInputError(ValueError):
    """Input that cannot be preprocessed; the message names its source and what was expected."""


def numbers_only(values):
    """A column (pandas Series) as float64, NaN where an entry is not a number.

    A boolean is not a number here, nor is text that looks like one: a served
    model must refuse ``true`` or ``"1.5"`` whether it came from Python or over
    HTTP, rather than read it as 1 or 1.5.
    """
    import numbers

    import pandas as pd

    if pd.api.types.is_bool_dtype(values):
        return pd.Series(float("nan"), index=values.index)
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    return values.map(
        lambda value: (
            float(value)
            if isinstance(value, numbers.Real) and not isinstance(value, bool)
            else float("nan")
        )
    ).astype("float64")


def check_numbers(frame, columns) -> None:
    """Refuse a column of ``frame`` (a DataFrame) that holds anything but numbers
    (:func:`numbers_only`); NaN itself is left to the caller's checks.

    Raises:
        InvalidInputError: naming the column and its first values that are not numbers.
    """
    for column in columns:
        values = frame[column]
        bad = values[numbers_only(values).isna() & values.notna()]
        if len(bad):
            raise InvalidInputError(
                f"Column {column!r} must hold numbers; got {len(bad)} value(s) that are not, "
                f"first {bad.head(5).tolist()!r}"
            )
