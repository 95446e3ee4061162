"""Typed parameter schemas: one kind of bound defined once, and the check every run makes.

Each pipeline declares ``Parameters`` in ``pipelines/<name>/parameters.py``
from the bounds below; :func:`validate_run_parameters` checks the namespaces a
run is about to execute before any data is read or model trained, and one
:class:`ParameterError` lists every bad value as ``<pipeline>.<path>``, what was
expected and what was given.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# Integers are strict: 8.0 or "8" for an epoch count is a typo, not a value.
PositiveInt = Annotated[int, Field(strict=True, ge=1)]
NonNegativeInt = Annotated[int, Field(strict=True, ge=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]
LearningRate = PositiveFloat
DropoutRate = Annotated[float, Field(ge=0, lt=1)]  # a fraction in [0, 1)
OpenFraction = Annotated[float, Field(gt=0, lt=1)]  # a fraction in (0, 1)
Probability = Annotated[float, Field(ge=0, le=1)]
# Keras' EarlyStopping patience: epochs without improvement; null disables early stopping.
Patience = NonNegativeInt | None
# training.distribution of the mini-batch pipelines (advanced_dl.training.distribution_scope).
Distribution = Literal["none", "mirrored"]


class Schema(BaseModel):
    """Base of every parameter schema: unknown keys are errors (a typo is never ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ScheduleParameters(Schema):
    """What the mini-batch pipelines share: the "hold then decay" schedule, the distribution."""

    hold_epochs: NonNegativeInt
    decay_rate: NonNegativeFloat
    distribution: Distribution


class GlobalParameters(Schema):
    """``conf/base/parameters.yml``: what every pipeline shares."""

    seed: NonNegativeInt
    mixed_precision: bool


class ParameterError(ValueError):
    """Invalid parameters; the message lists each as ``<pipeline>.<path>: expected; got``."""


def _describe(error: Mapping[str, Any], prefix: str) -> str:
    path = ".".join(str(part) for part in (prefix, *error["loc"]) if part != "")
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        return f"'{path}' is missing; add it to conf/base/parameters*.yml"
    if error["type"] == "extra_forbidden":
        return f"'{path}' is not a parameter of this pipeline (a typo?); got {error['input']!r}"
    if isinstance(error["input"], Mapping):
        return f"'{path}': {message}"  # a rule across keys: the message names them
    return f"'{path}': {message}; got {error['input']!r}"


def _problems(schema: type[Schema], values: Any, prefix: str) -> list[str]:
    try:
        schema.model_validate(values)
    except ValidationError as error:
        return [_describe(item, prefix) for item in error.errors()]
    return []


def _raise(problems: list[str]) -> None:
    if problems:
        raise ParameterError(
            "Invalid parameters:\n  " + "\n  ".join(f"Parameter {line}" for line in problems)
        )


def validate_schema(schema: type[Schema], values: Any, prefix: str = "") -> Schema:
    """``schema`` filled from ``values``, or a :class:`ParameterError` naming every bad value."""
    _raise(_problems(schema, values, prefix))
    return schema.model_validate(values)


def pipeline_schema(namespace: str) -> type[Schema] | None:
    """``Parameters`` of ``advanced_dl.pipelines.<namespace>.parameters``, if it declares one."""
    try:
        module = importlib.import_module(f"advanced_dl.pipelines.{namespace}.parameters")
    except ModuleNotFoundError:
        return None
    return getattr(module, "Parameters", None)


def namespaces_read(namespaces: Iterable[str]) -> set[str]:
    """The namespaces whose parameters a run of these pipelines reads: their own, and
    those their ``parameters`` module lists in ``ALSO_READS``."""
    read = set(namespaces)
    for namespace in list(read):
        try:
            module = importlib.import_module(f"advanced_dl.pipelines.{namespace}.parameters")
        except ModuleNotFoundError:
            continue
        read.update(getattr(module, "ALSO_READS", ()))
    return read


def validate_run_parameters(params: Mapping[str, Any], namespaces: Iterable[str]) -> None:
    """Check the global parameters and those of each pipeline namespace a run reads.

    Raises:
        ParameterError: listing every bad value of every pipeline at once.
    """
    problems = _problems(
        GlobalParameters, {key: params.get(key) for key in GlobalParameters.model_fields}, ""
    )
    for namespace in sorted(namespaces_read(namespaces)):
        schema = pipeline_schema(namespace)
        if schema is None:
            continue
        if namespace not in params:
            problems.append(
                f"'{namespace}' is missing; expected its parameters in "
                f"conf/base/parameters_{namespace}.yml"
            )
            continue
        problems.extend(_problems(schema, params[namespace], namespace))
    _raise(problems)
