"""``kedro sweep``: an Optuna study over a pipeline's search space, its trials on Dask.

The driver (the command's process) asks the study for a trial, suggests its
values from the search space (``space``), and sends the trial to a warm Dask
worker (``trials.run_part``): the pipeline's nodes up to the objective's
output, with the trial's parameters. Workers report each epoch's validation
value to the study, which prunes bad trials (median rule). As trials finish,
the driver tells the study and logs each as a child MLflow run of the sweep's
parent run. After the last trial, the best configuration is written as a
Kedro environment (only what differs from ``conf/base``), and its test metric
is measured once, over seeds, on the same workers.

The study's name is a digest of the pipeline, environment, ``--params`` and
search space, and it lives in the tracking store's database (``study``): the
same command after an interruption adds only the trials still missing, and
several machines pointed at one database add trials to one study.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advanced_dl.fanout.space import SearchSpace, objective_value, suggest
from advanced_dl.fanout.tracking import experiment_id, flatten, log_curves
from advanced_dl.fanout.trials import EpochReport, PartResult, PipelinePart, merge, nest, run_part
from advanced_dl.runtime import close_abandoned_runs, process_tags

logger = logging.getLogger(__name__)

OWNER_ATTRIBUTE = "owner"  # host:pid of the driver that asked for a trial
STUDY_TAG = "optuna_study"
#: A sweep stops when this many trials in a row fail (a bug, not bad luck).
MAX_FAILURES_IN_A_ROW = 3


class SweepError(RuntimeError):
    """The sweep cannot go on; the message says why."""


@dataclass(frozen=True)
class SweepSettings:
    """What one ``kedro sweep`` command runs."""

    project_path: str
    pipeline: str
    space: SearchSpace
    trials: int
    env: str | None
    runtime_params: dict[str, Any]  # nested, the command's --params
    seed: int
    test_seeds: tuple[int, ...]
    environment_name: str | None  # the Kedro environment written with the best configuration


@dataclass
class SweepOutcome:
    study_name: str
    parent_run_id: str
    best_value: float
    best_params: dict[str, Any]
    finished_trials: int
    new_trials: int
    trial_seconds: list[float] = field(default_factory=list)
    outside_training_seconds: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0
    test_summary: dict[str, dict[str, float]] = field(default_factory=dict)
    environment_path: Path | None = None


def study_name(settings: SweepSettings) -> str:
    """The study's name: the pipeline and a digest of everything that defines the search."""
    digest = hashlib.sha256(
        json.dumps(
            {
                "pipeline": settings.pipeline,
                "env": settings.env,
                "params": settings.runtime_params,
                "seed": settings.seed,
                "space": repr(settings.space),
            },
            sort_keys=True,
            default=str,
        ).encode()
    ).hexdigest()[:10]
    return f"{settings.pipeline}-{digest}"


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def fail_abandoned_trials(study: Any) -> int:
    """Mark FAIL the running trials whose driver process on this host has died
    (a killed sweep); trials of live drivers, here or on other machines, stay."""
    import optuna

    host = socket.gethostname()
    failed = 0
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        owner = trial.user_attrs.get(OWNER_ATTRIBUTE, "")
        owner_host, _, pid = owner.rpartition(":")
        if owner_host != host or not pid.isdigit() or _alive(int(pid)):
            continue
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        failed += 1
    if failed:
        logger.info("Marked %d trials of an interrupted sweep as failed", failed)
    return failed


def ask_owned_trial(study: Any) -> Any:
    """A new RUNNING trial whose owner was stored with it.

    Asking and then labelling left a window: a driver killed between the two left a
    RUNNING trial that no later sweep could attribute, so it stayed RUNNING for ever.
    A queued trial carries its user attributes from its first write; ``ask`` pops it.
    A trial already queued (one a killed driver left WAITING) is taken as it is: its
    dead owner makes it failed too if this driver dies before relabelling it.
    """
    import optuna

    owner = _owner()
    if not study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,)):
        study.enqueue_trial({}, user_attrs={OWNER_ATTRIBUTE: owner})
    trial = study.ask()
    if trial.user_attrs.get(OWNER_ATTRIBUTE) != owner:
        trial.set_user_attr(OWNER_ATTRIBUTE, owner)
    return trial


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _finished(study: Any) -> int:
    import optuna

    done = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return len(study.get_trials(deepcopy=False, states=done))


def run_sweep(
    settings: SweepSettings,
    client: Any,
    storage: str,
    check_params: Any,
) -> SweepOutcome:
    """Run the trials still missing from the study, on ``client``'s workers; log to MLflow.

    Args:
        client: a ``dask.distributed.Client`` (``cluster.dask_client``).
        storage: the Optuna storage URL (``study.storage_url``).
        check_params: ``check_params(params)`` raises on parameters the
            pipeline's schema refuses (``schema.validate_run_parameters``).
    """
    import mlflow
    import optuna
    from dask.distributed import wait

    from advanced_dl.fanout.study import open_storage, open_study, trial_sampler
    from advanced_dl.fanout.trials import project_parameters

    started = time.perf_counter()
    name = study_name(settings)
    space = settings.space
    study, created = open_study(name, open_storage(storage), space)
    study.sampler = trial_sampler(settings.seed, len(study.trials))
    fail_abandoned_trials(study)
    base = project_parameters(settings.project_path, settings.env, settings.runtime_params)
    parent = _parent_run(settings, name, created)
    # A sweep killed while logging a trial leaves that child run RUNNING for ever.
    for run_id in close_abandoned_runs(mlflow.MlflowClient(), parent):
        logger.warning("MLflow run %s was left RUNNING by a killed sweep: marked KILLED", run_id)
    outcome = SweepOutcome(name, parent, float("nan"), {}, _finished(study), 0)
    logger.info(
        "Sweep %s: %d of %d trials already finished; storage %s",
        name,
        outcome.finished_trials,
        settings.trials,
        storage,
    )
    slots = max(1, sum(client.nthreads().values()))
    in_flight: dict[Any, tuple[Any, dict[str, Any]]] = {}
    failures = 0
    while True:
        while len(in_flight) < slots and _finished(study) + len(in_flight) < settings.trials:
            trial = ask_owned_trial(study)
            values = suggest(space, trial, base)
            trial_params = merge(settings.runtime_params, nest(values))
            check_params(project_parameters(settings.project_path, settings.env, trial_params))
            part = PipelinePart(
                settings.project_path,
                settings.pipeline,
                settings.env,
                trial_params,
                (space.objective_output,),
                EpochReport(
                    storage,
                    name,
                    trial._trial_id,
                    space.objective_metric,
                    space.startup_trials,
                    space.warmup_epochs,
                ),
            )
            in_flight[client.submit(run_part, part, pure=False)] = (trial, values)
        if not in_flight:
            break
        done, _ = wait(list(in_flight), return_when="FIRST_COMPLETED")
        for future in done:
            trial, values = in_flight.pop(future)
            try:
                result: PartResult = future.result()
            except Exception as error:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                failures += 1
                logger.warning("Trial %d failed: %r", trial.number, error)
                if failures >= MAX_FAILURES_IN_A_ROW:
                    for other in in_flight:
                        other.cancel()
                    raise SweepError(
                        f"{failures} trials in a row failed; the last: {error!r}"
                    ) from error
                continue
            failures = 0
            outcome.new_trials += 1
            _finish_trial(study, trial, values, result, space, parent, outcome)
    outcome.finished_trials = _finished(study)
    best = study.best_trial
    outcome.best_value = float(best.value)
    outcome.best_params = dict(best.params)
    # The parent may be a resumed sweep's: logged through the client, as parameters
    # cannot change, the best configuration goes to tags and best_params.json.
    client = mlflow.MlflowClient()
    for name, value in best.params.items():
        client.set_tag(parent, f"best.{name}", str(value))
    client.log_dict(parent, best.params, "best_params.json")
    for name, value in {
        f"best_{space.objective_metric}": outcome.best_value,
        "finished_trials": outcome.finished_trials,
        "best_trial": best.number,
    }.items():
        client.log_metric(parent, name, float(value))
    _log_study_figures(study, parent)
    outcome.wall_seconds = time.perf_counter() - started
    return outcome


def _parent_run(
    settings: SweepSettings, name: str, created_study: bool, wait_seconds: float = 60.0
) -> str:
    """The sweep's parent MLflow run: the study's existing one (a resumed sweep, or another
    machine's sweep of the same study) or a new one.

    The driver that created the study creates the parent run; one that found the study
    waits up to ``wait_seconds`` for its creator's parent run, so machines starting one
    sweep at once log under one parent. If none appears (the creator was killed before
    making it), it makes one itself.
    """
    import mlflow

    experiment = experiment_id(settings.pipeline)
    deadline = time.monotonic() + (0.0 if created_study else wait_seconds)
    while not (found := _parent_runs(experiment, name)) and time.monotonic() < deadline:
        time.sleep(0.5)
    if found:
        return found[0].info.run_id
    with mlflow.start_run(
        experiment_id=experiment,
        run_name=f"sweep {settings.pipeline} ({settings.trials} trials)",
        tags={STUDY_TAG: name, "sweep": "parent", "env": settings.env or "base"},
    ) as run:
        mlflow.log_params(
            {
                "trials": settings.trials,
                "seed": settings.seed,
                "objective": f"{settings.space.direction} {settings.space.objective_metric}",
                **{f"space.{d.path}": _describe(d) for d in settings.space.dimensions},
                **{f"params.{k}": v for k, v in flatten(settings.runtime_params).items()},
            }
        )
        return run.info.run_id


def _parent_runs(experiment: str, name: str) -> list[Any]:
    """The study's parent runs, oldest first."""
    import mlflow

    found = mlflow.search_runs(
        [experiment],
        filter_string=f"tags.{STUDY_TAG} = '{name}' and tags.sweep = 'parent'",
        output_format="list",
    )
    return sorted(found, key=lambda run: (run.info.start_time, run.info.run_id))


def _describe(dimension: Any) -> str:
    if dimension.kind == "categorical":
        text = f"one of {list(dimension.choices)}"
    else:
        text = f"{dimension.kind} {dimension.low}..{dimension.high}" + (
            " log" if dimension.log else ""
        )
    return text + (f" when {dict(dimension.when)}" if dimension.when else "")


def _finish_trial(
    study: Any,
    trial: Any,
    values: dict[str, Any],
    result: PartResult,
    space: SearchSpace,
    parent: str,
    outcome: SweepOutcome,
) -> None:
    """Tell the study how the trial ended and log it as a child run of the sweep."""
    import mlflow
    import optuna

    curves: dict[str, list[float]] = {}
    fit_seconds = float("nan")
    if result.pruned:
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        curves[space.objective_metric] = result.reported
        value = None
    else:
        history = result.outputs[space.objective_output]
        value = objective_value(history, space.objective_metric)
        study.tell(trial, value)
        curves = {k: v for k, v in history.items() if isinstance(v, list) and k != "epoch_seconds"}
        fit_seconds = float(history.get("fit_seconds", float("nan")))
    outside = result.seconds - fit_seconds
    outcome.trial_seconds.append(result.seconds)
    if not result.pruned:
        outcome.outside_training_seconds.append(outside)
    state = "pruned" if result.pruned else "complete"
    with mlflow.start_run(
        experiment_id=experiment_id(space.pipeline),
        run_name=f"trial {trial.number}",
        nested=True,
        parent_run_id=parent,
        tags={
            STUDY_TAG: outcome.study_name,
            "sweep": "trial",
            "trial_state": state,
            **process_tags(),  # so a later sweep can tell this run was abandoned
        },
    ) as run:
        mlflow.log_params({**values, "trial": trial.number})
        metrics = {"trial_seconds": result.seconds, "trial_number": trial.number}
        if value is not None:
            metrics[f"objective_{space.objective_metric}"] = value
            metrics["outside_training_seconds"] = outside
        mlflow.log_metrics(metrics)
        log_curves(run.info.run_id, curves)
    logger.info(
        "Trial %d %s: %s%s in %.1f s",
        trial.number,
        state,
        json.dumps(values, default=str),
        f" -> {space.objective_metric} {value:.4f}" if value is not None else "",
        result.seconds,
    )


def _log_study_figures(study: Any, run_id: str) -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import mlflow
    import optuna.visualization.matplotlib as plots

    figures = {"optimization_history": plots.plot_optimization_history}
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    if len(complete) >= 2 and len({k for t in complete for k in t.params}) >= 1:
        figures["parameter_importances"] = plots.plot_param_importances
    for name, plot in figures.items():
        try:
            axes = plot(study)
        except (ValueError, RuntimeError) as error:  # e.g. importances of one distinct value
            logger.info("No %s figure: %s", name, error)
            continue
        figure = axes.figure if hasattr(axes, "figure") else axes[0].figure
        mlflow.MlflowClient().log_figure(run_id, figure, f"figures/{name}.png")


def write_environment(
    conf_dir: Path,
    name: str,
    pipeline: str,
    chosen: Mapping[str, Any],
    base: Mapping[str, Any],
    header: str,
) -> Path:
    """Write ``conf/<name>/parameters_<pipeline>.yml`` with the values of ``chosen``
    (full dotted paths) that differ from ``base`` (``conf/base``'s parameters).

    ``conf/base`` and ``conf/local`` are never written.
    """
    import yaml

    from advanced_dl.fanout.trials import lookup

    if name in ("base", "local"):
        raise SweepError(f"The best configuration is never written over conf/{name}")
    differing = {}
    for path, value in sorted(chosen.items()):
        try:
            same = lookup(base, path) == value
        except KeyError:
            same = False
        if not same:
            differing[path] = value
    folder = conf_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"parameters_{pipeline}.yml"
    body = yaml.safe_dump(nest(differing), sort_keys=True, default_flow_style=False)
    staging = path.with_suffix(".yml.tmp")
    staging.write_text("".join(f"# {line}\n" for line in header.splitlines()) + body)
    os.replace(staging, path)
    return path


def seed_parts(
    settings: SweepSettings, chosen: Mapping[str, Any], seeds: Sequence[int], outputs: tuple
) -> list[PipelinePart]:
    """One :class:`PipelinePart` per seed of the configuration ``chosen`` (dotted paths)."""
    params = merge(settings.runtime_params, nest(dict(chosen)))
    return [
        PipelinePart(
            settings.project_path,
            settings.pipeline,
            settings.env,
            merge(params, {"seed": seed}),
            outputs,
        )
        for seed in seeds
    ]
