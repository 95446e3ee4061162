"""A pipeline's search space (``conf/<env>/sweeps/<pipeline>.yml``), checked before any trial.

Example (``conf/base/sweeps/mdn_synthetic.yml``)::

    mdn_synthetic:
      objective:          # what a trial is judged by, on validation data only
        output: training_history   # a dataset of the pipeline (its namespace added)
        metric: val_loss           # a per-epoch curve in it; the kept epoch's value counts
        direction: minimize
      test:               # measured once, over seeds, for the chosen configuration
        output: test_metrics
        metric: test_ari
      pruning:
        startup_trials: 5          # no pruning before this many trials have finished
        warmup_epochs: 5           # nor before this epoch of a trial
      parameters:         # paths under the pipeline's parameters
        training.learning_rate: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
        model.num_components: {type: int, low: 2, high: 5}
        training.optimizer: {type: categorical, choices: [adam, lazy_adam]}
        model.gat.attention_heads:  # searched only when the condition holds
          {type: categorical, choices: [4, 8], when: {model.architecture: gat}}

No Kedro or MLflow here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from advanced_dl.fanout.trials import lookup

KINDS = ("int", "float", "categorical")


class SearchSpaceError(ValueError):
    """The search space is not usable; the message names the entry and what was expected."""


@dataclass(frozen=True)
class Dimension:
    """One searched parameter: its path under the pipeline's parameters and its range."""

    path: str
    kind: Literal["int", "float", "categorical"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()
    when: tuple[tuple[str, Any], ...] = ()  # (path, value) pairs that must all hold

    def extremes(self) -> tuple[Any, ...]:
        """The values that bound the range: each checked against the schema before trials."""
        if self.kind == "categorical":
            return self.choices
        if self.kind == "int":
            return (int(self.low), int(self.high))
        return (float(self.low), float(self.high))


@dataclass(frozen=True)
class SearchSpace:
    pipeline: str
    dimensions: tuple[Dimension, ...]
    objective_output: str
    objective_metric: str
    direction: Literal["maximize", "minimize"]
    test_output: str
    test_metric: str
    startup_trials: int = 5
    warmup_epochs: int = 0

    def full_path(self, path: str) -> str:
        return f"{self.pipeline}.{path}"


def _entry(where: str, config: Any, key: str, kinds: type | tuple[type, ...]) -> Any:
    if not isinstance(config, Mapping) or key not in config:
        raise SearchSpaceError(f"{where}: '{key}' is missing")
    value = config[key]
    if not isinstance(value, kinds):
        raise SearchSpaceError(f"{where}.{key}: expected {kinds}, got {value!r}")
    return value


def _dimension(pipeline: str, path: str, config: Any) -> Dimension:
    where = f"sweeps/{pipeline}.yml: parameters.{path}"
    if not isinstance(config, Mapping):
        raise SearchSpaceError(f"{where}: expected a mapping with 'type', got {config!r}")
    kind = config.get("type")
    if kind not in KINDS:
        raise SearchSpaceError(f"{where}.type: expected one of {KINDS}, got {kind!r}")
    when = config.get("when") or {}
    if not isinstance(when, Mapping):
        raise SearchSpaceError(f"{where}.when: expected a mapping of path: value, got {when!r}")
    unknown = set(config) - {"type", "low", "high", "log", "choices", "when"}
    if unknown:
        raise SearchSpaceError(f"{where}: unknown keys {sorted(unknown)}")
    if kind == "categorical":
        choices = config.get("choices")
        if not isinstance(choices, list | tuple) or not choices:
            raise SearchSpaceError(f"{where}.choices: expected a non-empty list, got {choices!r}")
        return Dimension(path, kind, choices=tuple(choices), when=tuple(when.items()))
    low, high = config.get("low"), config.get("high")
    for name, value in (("low", low), ("high", high)):
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
        ):
            raise SearchSpaceError(f"{where}.{name}: expected a number, got {value!r}")
        if kind == "int" and not float(value).is_integer():
            raise SearchSpaceError(f"{where}.{name}: expected an integer, got {value!r}")
    if not low < high:
        raise SearchSpaceError(f"{where}: empty range, low ({low}) must be below high ({high})")
    log = bool(config.get("log", False))
    if log and low <= 0:
        raise SearchSpaceError(f"{where}: a log scale needs low > 0, got {low}")
    return Dimension(path, kind, low, high, log, when=tuple(when.items()))


def parse_space(pipeline: str, sweeps_config: Mapping[str, Any]) -> SearchSpace:
    """The search space of ``pipeline`` from the merged ``sweeps`` configuration."""
    if pipeline not in sweeps_config:
        raise SearchSpaceError(
            f"No search space for {pipeline!r}: add conf/base/sweeps/{pipeline}.yml "
            f"(spaces found: {sorted(sweeps_config) or 'none'})"
        )
    config = sweeps_config[pipeline]
    where = f"sweeps/{pipeline}.yml"
    objective = _entry(where, config, "objective", Mapping)
    test = _entry(where, config, "test", Mapping)
    direction = _entry(f"{where}: objective", objective, "direction", str)
    if direction not in ("maximize", "minimize"):
        raise SearchSpaceError(
            f"{where}: objective.direction: expected maximize or minimize, got {direction!r}"
        )
    pruning = config.get("pruning") or {}
    parameters = _entry(where, config, "parameters", Mapping)
    if not parameters:
        raise SearchSpaceError(f"{where}: 'parameters' is empty; name at least one to search")
    return SearchSpace(
        pipeline=pipeline,
        dimensions=tuple(_dimension(pipeline, path, c) for path, c in parameters.items()),
        objective_output=f"{pipeline}.{_entry(f'{where}: objective', objective, 'output', str)}",
        objective_metric=_entry(f"{where}: objective", objective, "metric", str),
        direction=direction,
        test_output=f"{pipeline}.{_entry(f'{where}: test', test, 'output', str)}",
        test_metric=_entry(f"{where}: test", test, "metric", str),
        startup_trials=int(pruning.get("startup_trials", 5)),
        warmup_epochs=int(pruning.get("warmup_epochs", 0)),
    )


def check_space(space: SearchSpace, params: Mapping[str, Any], outputs: set[str]) -> None:
    """Raise :class:`SearchSpaceError` unless every path names a parameter of the pipeline
    and the objective and test outputs are datasets the pipeline makes."""
    where = f"sweeps/{space.pipeline}.yml"
    for dimension in space.dimensions:
        for path in (dimension.path, *(p for p, _ in dimension.when)):
            try:
                lookup(params, space.full_path(path))
            except KeyError as missing:
                raise SearchSpaceError(
                    f"{where}: parameters.{dimension.path} names '{space.full_path(path)}', "
                    f"which is not a parameter of {space.pipeline} (no '{missing.args[0]}'); "
                    f"see conf/base/parameters_{space.pipeline}.yml"
                ) from None
    for name in (space.objective_output, space.test_output):
        if name not in outputs:
            raise SearchSpaceError(
                f"{where}: '{name}' is not an output of the pipeline {space.pipeline}; "
                f"it makes {sorted(o for o in outputs if o.startswith(space.pipeline))}"
            )


def suggest(space: SearchSpace, trial: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """The trial's values, by full dotted path; a conditional dimension only where its
    condition holds (on the values suggested so far, else on ``params``)."""
    chosen: dict[str, Any] = {}
    for dimension in space.dimensions:
        full = space.full_path(dimension.path)

        def current(path: str) -> Any:
            path = space.full_path(path)
            return chosen[path] if path in chosen else lookup(params, path)

        if any(current(path) != value for path, value in dimension.when):
            continue
        if dimension.kind == "categorical":
            chosen[full] = trial.suggest_categorical(full, list(dimension.choices))
        elif dimension.kind == "int":
            chosen[full] = trial.suggest_int(
                full, int(dimension.low), int(dimension.high), log=dimension.log
            )
        else:
            chosen[full] = trial.suggest_float(
                full, float(dimension.low), float(dimension.high), log=dimension.log
            )
    return chosen


def objective_value(history: Mapping[str, Any], metric: str) -> float:
    """The value a trial is judged by: ``metric`` at the epoch whose weights were kept
    (``best_epoch``), else at the last epoch."""
    curve = history.get(metric)
    if not isinstance(curve, list) or not curve:
        raise SearchSpaceError(
            f"The objective metric {metric!r} is not a per-epoch curve of the trial's output "
            f"(it has {sorted(k for k, v in history.items() if isinstance(v, list))})"
        )
    epoch = history.get("best_epoch")
    index = int(epoch) if isinstance(epoch, int | float) and 0 <= epoch < len(curve) else -1
    return float(curve[index])
