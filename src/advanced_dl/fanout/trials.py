"""One part of a pipeline run inside a warm worker process, with given parameters.

A sweep trial or a seed needs the pipeline's nodes up to its validation or
test metrics, not a whole ``kedro run``: no figures, no model logging, no
MLflow run, no new process (TensorFlow is imported once per worker). Here the
nodes that produce the requested outputs are called in order on data kept in
memory; the raw data they start from is read through the project's catalog
once per worker and kept. Nothing is written and nothing is logged: the
driver (``sweep``, ``seeds``) logs what comes back. No MLflow here.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EpochReport:
    """Where a trial reports each epoch's validation value, so its study can prune it."""

    storage: str  # Optuna storage URL
    study_name: str
    trial_id: int
    metric: str  # a key of the epoch's logs, e.g. val_accuracy
    # The search space's pruning settings (``study.median_pruner``); no defaults, since
    # 0 and 0 would prune from the first epoch whatever the space says.
    startup_trials: int
    warmup_epochs: int


@dataclass(frozen=True)
class PipelinePart:
    """What a worker computes: ``outputs`` of ``pipeline`` with these parameters."""

    project_path: str
    pipeline: str
    env: str | None
    runtime_params: dict[str, Any]  # nested, as `kedro run --params` makes them
    outputs: tuple[str, ...]  # dataset names, namespace included
    report: EpochReport | None = None


@dataclass
class PartResult:
    """What came back: the outputs, the task's wall time, and whether the study pruned it."""

    outputs: dict[str, Any]
    seconds: float
    pruned: bool = False
    reported: list[float] = field(default_factory=list)  # the values reported, epoch by epoch


def nest(dotted: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1, "a.c": 2}`` -> ``{"a": {"b": 1, "c": 2}}``."""
    nested: dict[str, Any] = {}
    for key, value in dotted.items():
        *parents, leaf = key.split(".")
        level = nested
        for part in parents:
            level = level.setdefault(part, {})
        level[leaf] = value
    return nested


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """A deep merge: ``override``'s values win, nested mappings merge."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def lookup(params: Mapping[str, Any], dotted: str) -> Any:
    """The value at a dotted path; ``KeyError`` naming the first missing key."""
    value: Any = params
    for depth, key in enumerate(dotted.split(".")):
        if not isinstance(value, Mapping) or key not in value:
            raise KeyError(".".join(dotted.split(".")[: depth + 1]))
        value = value[key]
    return value


def project_parameters(project_path: str, env: str | None, runtime_params: dict) -> dict:
    """A run's parameters: ``conf/base``, then ``env``, then ``runtime_params``, as Kedro merges."""
    return _config_loader(project_path, env, json.dumps(runtime_params, sort_keys=True))[
        "parameters"
    ]


@functools.cache
def _bootstrapped(project_path: str) -> None:
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(Path(project_path))


@functools.lru_cache(maxsize=64)
def _config_loader(project_path: str, env: str | None, runtime_json: str) -> Any:
    _bootstrapped(project_path)
    from kedro.framework.project import settings

    return settings.CONFIG_LOADER_CLASS(
        conf_source=str(Path(project_path) / settings.CONF_SOURCE),
        env=env,
        runtime_params=json.loads(runtime_json),
        **settings.CONFIG_LOADER_ARGS,
    )


# Raw data read by this worker, by (project, env, dataset): read once, used by every task.
_RAW_DATA: dict[tuple[str, str | None, str], Any] = {}


def _load_input(part: PipelinePart, name: str) -> Any:
    key = (part.project_path, part.env, name)
    if key not in _RAW_DATA:
        from kedro.config import MissingConfigException
        from kedro.io import DataCatalog

        loader = _config_loader(part.project_path, part.env, "{}")
        try:
            credentials = loader["credentials"]
        except MissingConfigException:  # as a Kedro context: no credentials file, none
            credentials = {}
        catalog = DataCatalog.from_config(loader["catalog"], credentials)
        started = time.perf_counter()
        _RAW_DATA[key] = catalog.load(name)
        logger.info("Worker read %s once (%.1f s)", name, time.perf_counter() - started)
    return _RAW_DATA[key]


def _parameter_input(params: Mapping[str, Any], name: str) -> Any:
    if name == "parameters":
        return params
    return lookup(params, name.removeprefix("params:"))


@functools.cache
def _runtime_ready(mixed_precision: bool) -> None:
    from advanced_dl import runtime

    runtime.choose_device(mixed_precision=mixed_precision)


def run_part(part: PipelinePart) -> PartResult:
    """Compute ``part.outputs`` in this process: the nodes that make them, in order.

    Seeds every generator with the parameters' ``seed`` first, as a run's hook
    does. With ``part.report``, each epoch's ``report.metric`` is reported to
    the trial, and a trial the study prunes stops there (``pruned``).
    """
    started = time.perf_counter()
    _bootstrapped(part.project_path)
    from kedro.framework.project import pipelines

    from advanced_dl import runtime
    from advanced_dl.training import observe_epochs

    params = project_parameters(part.project_path, part.env, part.runtime_params)
    _runtime_ready(bool(params.get("mixed_precision", False)))
    runtime.seed_everything(int(params["seed"]))
    pipeline = pipelines[part.pipeline].to_outputs(*part.outputs)
    data: dict[str, Any] = {}
    for name in pipeline.inputs():
        is_parameter = name.startswith("params:") or name == "parameters"
        data[name] = _parameter_input(params, name) if is_parameter else _load_input(part, name)

    reported: list[float] = []
    observer = _pruning_observer(part.report, reported) if part.report else None
    try:
        with (
            runtime.keras_seeds_from_own_generator(int(params["seed"])),
            observe_epochs(observer) if observer else contextlib.nullcontext(),
        ):
            for node in pipeline.nodes:
                data.update(node.run({name: data[name] for name in node.inputs}))
    except Exception as error:
        if type(error).__name__ != "TrialPruned":
            raise
        return PartResult({}, time.perf_counter() - started, pruned=True, reported=reported)
    outputs = {name: data[name] for name in part.outputs}
    return PartResult(outputs, time.perf_counter() - started, reported=reported)


def _pruning_observer(report: EpochReport, reported: list[float]) -> Any:
    import optuna

    from advanced_dl.fanout.study import median_pruner

    study = optuna.load_study(
        study_name=report.study_name,
        storage=_storage(report.storage),
        pruner=median_pruner(report.startup_trials, report.warmup_epochs),
    )
    trial = optuna.trial.Trial(study, report.trial_id)

    def observe(epoch: int, logs: dict[str, float]) -> None:
        if report.metric not in logs:
            return
        value = float(logs[report.metric])
        reported.append(value)
        trial.report(value, epoch)
        if trial.should_prune():
            raise optuna.TrialPruned(f"pruned after epoch {epoch + 1}")

    return observe


@functools.cache
def _storage(url: str) -> Any:
    from advanced_dl.fanout.study import open_storage

    return open_storage(url)
