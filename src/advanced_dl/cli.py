"""Project CLI: ``kedro run`` without a pipeline runs each pipeline in its own session.

Kedro's ``run`` would otherwise run ``__default__`` as one pipeline, and so
as one MLflow run; one session per pipeline gives each pipeline its own run
in its own experiment, exactly as ``kedro run --pipelines <name>`` would.
Every option of Kedro's ``run`` is kept as is.
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import click
from kedro.framework.cli.project import run as kedro_run

logger = logging.getLogger(__name__)

# Options that select part of a pipeline: with any of them, keep Kedro's behaviour.
_SELECTION_OPTIONS = (
    "pipeline",
    "pipelines",
    "node_names",
    "tags",
    "from_nodes",
    "to_nodes",
    "from_inputs",
    "to_outputs",
    "namespaces",
)


@click.group(name="advanced_dl")
def cli() -> None:
    """Commands of the advanced-dl project."""


def check_pipeline_names(requested: Iterable[str], known: Iterable[str]) -> None:
    """Raise a usage error naming each unknown pipeline, with close matches and the known list."""
    known = sorted(known)
    for name in requested:
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise click.BadParameter(
            f"unknown pipeline {name!r}; {hint}the pipelines are: {', '.join(known)}",
            param_hint="'--pipelines'",
        )


#: Where a failed command's full traceback goes (the terminal gets the error in a few lines).
ERROR_LOG_DIR = Path("logs")
TRACEBACK_OPTION = click.Option(
    ["--traceback"],
    is_flag=True,
    default=False,
    help="On an error, print the full traceback instead of the error alone.",
)


def root_cause(error: BaseException) -> BaseException:
    """The innermost exception of a chain: the one whose message says what went wrong
    (Kedro wraps a dataset's error in its own, with the dataset's whole description)."""
    seen = {id(error)}
    while True:
        inner = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
        if inner is None or id(inner) in seen:
            return error
        seen.add(id(inner))
        error = inner


def report_error(error: BaseException, log_dir: Path = ERROR_LOG_DIR) -> str:
    """Write the full traceback to a log file; return the few lines a terminal shows."""
    import datetime
    import os
    import traceback

    log_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
    log_file = log_dir / f"error-{stamp}-{os.getpid()}.log"
    log_file.write_text("".join(traceback.format_exception(error)))
    cause = root_cause(error)
    return (
        f"Error: {str(cause).strip() or type(cause).__name__}\n"
        f"({type(cause).__name__}; the full traceback is in {log_file}, "
        "or run again with --traceback)"
    )


def _run(**options: Any) -> dict[str, Any]:
    """Kedro's ``run``, with a failure reported in a few lines (:func:`report_error`)."""
    show_traceback = options.pop("traceback", False)
    try:
        return _run_pipelines(**options)
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except KeyboardInterrupt:
        _end_interrupted_runs()
        click.echo(
            "Interrupted: the run's outputs were not published (kedro prune-versions "
            "removes them) and its MLflow run is marked KILLED.",
            err=True,
        )
        raise SystemExit(130) from None
    except Exception as error:
        if show_traceback:
            raise
        click.echo(report_error(error), err=True)
        raise SystemExit(1) from None


def _run_pipelines(**options: Any) -> dict[str, Any]:
    from kedro.framework.project import pipelines

    requested = [
        *(options.get("pipelines") or []),
        *([options["pipeline"]] if options.get("pipeline") else []),
    ]
    check_pipeline_names(requested, pipelines)
    if any(options.get(name) for name in _SELECTION_OPTIONS):
        return kedro_run.callback(**options)

    from advanced_dl.pipeline_registry import ON_DEMAND_PIPELINES

    names = sorted(name for name in pipelines if name not in {"__default__", *ON_DEMAND_PIPELINES})
    results: dict[str, Any] = {}
    for name in names:
        logger.info("Running pipeline %s (%d of %d)", name, names.index(name) + 1, len(names))
        results.update(kedro_run.callback(**{**options, "pipelines": [name]}) or {})
        _end_stray_runs()
    return results


def _end_interrupted_runs() -> None:
    """End the MLflow runs a Ctrl-C left open as KILLED (MLflow would end them FINISHED
    when the interpreter exits)."""
    import mlflow

    from advanced_dl.runtime import ABANDONED_TAG

    while mlflow.active_run() is not None:
        mlflow.set_tag(ABANDONED_TAG, "interrupted by the user (Ctrl-C); outputs not published")
        mlflow.end_run(status="KILLED")


def _end_stray_runs() -> None:
    """Leave MLflow's run stack empty after a session.

    kedro-mlflow re-enters its run before every node and ends it once, so the
    run can stay on MLflow's stack; the next session in this process would adopt it.
    """
    import mlflow

    while mlflow.active_run() is not None:
        mlflow.end_run()


run = click.Command(
    name="run",
    params=[*kedro_run.params, TRACEBACK_OPTION],
    callback=_run,
    help=(
        "Run the pipeline. Without --pipelines, --nodes, --tags or another "
        "selection, runs every registered pipeline, each in its own session "
        "and MLflow run."
    ),
)
cli.add_command(run)


def versioned_datasets(root: Path) -> dict[Path, list[Path]]:
    """``{dataset path: its version folders, oldest first}`` below ``root``.

    A versioned dataset ``<dir>/<name>`` is a folder whose sub-folders are versions,
    each holding ``<name>`` (Kedro's layout ``<filepath>/<version>/<filename>``).
    """
    from advanced_dl.hooks import UNFINISHED

    found: dict[Path, list[Path]] = {}
    for candidate in root.rglob("*"):
        if not candidate.is_dir() or UNFINISHED in candidate.relative_to(root).parts:
            continue
        versions = [v for v in candidate.iterdir() if v.is_dir() and (v / candidate.name).exists()]
        if versions:
            found[candidate] = sorted(versions, key=lambda v: v.name)
    return found


def abandoned_versions(root: Path) -> list[Path]:
    """Unfinished version folders (``hooks.UNFINISHED``) whose run's process has ended.

    A version is ``<session id>-<process id>`` (``hooks.run_version``); while a
    process with that id lives, its folder is left alone.
    """
    import psutil

    from advanced_dl.hooks import UNFINISHED

    abandoned = []
    for staging in root.rglob(UNFINISHED):
        for version in sorted(staging.glob("*/*")):
            pid = version.name.rsplit("-", 1)[-1]
            if version.is_dir() and not (pid.isdigit() and psutil.pid_exists(int(pid))):
                abandoned.append(version)
    return abandoned


def prune_versions(root: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` versions of each versioned dataset, and what
    killed or failed runs left unfinished; return the folders deleted."""
    if keep < 1:
        raise click.BadParameter("keep at least one version", param_hint="'--keep'")
    deleted = []
    for versions in versioned_datasets(root).values():
        for old in versions[:-keep]:
            shutil.rmtree(old)
            deleted.append(old)
    for version in abandoned_versions(root):
        shutil.rmtree(version)
        deleted.append(version)
    return deleted


@cli.command(name="prune-versions")
@click.option("--keep", default=5, show_default=True, help="newest versions kept per dataset")
@click.option(
    "--data-dir",
    default="data",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
)
def prune_versions_command(keep: int, data_dir: Path) -> None:
    """Delete old run versions of the datasets under data/, keeping the newest ones, and
    the files of runs that never finished."""
    deleted = prune_versions(data_dir, keep)
    click.echo(f"Deleted {len(deleted)} old versions under {data_dir} (kept the newest {keep}).")


@contextlib.contextmanager
def _driver(pipeline: str, env: str | None, runtime_params: dict[str, Any]) -> Iterator[Any]:
    """The Kedro context a fan-out command drives from: parameters checked once,
    the MLflow tracking store ready and selected (as a run's hooks make it)."""
    from kedro.framework.project import pipelines
    from kedro.framework.session import KedroSession

    from advanced_dl.hooks import pipeline_namespaces
    from advanced_dl.schema import validate_run_parameters

    check_pipeline_names([pipeline], pipelines)
    with KedroSession.create(env=env, runtime_params=runtime_params) as session:
        context = session.load_context()
        validate_run_parameters(context.params, pipeline_namespaces(pipelines[pipeline]))
        yield context


def _fan_out_options(command: Callable) -> Callable:
    """The options ``kedro seeds`` and ``kedro sweep`` share with ``kedro run`` and each other."""
    for option in reversed(
        [
            click.option("--pipelines", "pipeline", required=True, help="the one pipeline to run"),
            click.option(
                "--params", default="", help="as for kedro run: key=value pairs, comma-separated"
            ),
            click.option("--env", "-e", default=None, help="Kedro configuration environment"),
            click.option(
                "--workers",
                type=click.IntRange(min=1),
                default=None,
                help="processes of the local Dask cluster (default: one per core)",
            ),
            click.option(
                "--scheduler",
                default=None,
                help="an existing Dask scheduler (tcp://host:8786; default: "
                "$DASK_SCHEDULER_ADDRESS, else a local cluster)",
            ),
        ]
    ):
        command = option(command)
    return command


def _runtime_params(ctx: click.Context, params: str) -> dict[str, Any]:
    from kedro.framework.cli.utils import _split_params

    runtime_params = _split_params(ctx, None, params) if params else {}
    if "seed" in runtime_params:
        raise click.BadParameter("give seeds with --seeds, not --params", param_hint="'--params'")
    return runtime_params


@cli.command(name="seeds")
@_fan_out_options
@click.option(
    "--seeds", "seed_list", default="42-51", show_default=True, help="e.g. 42-51 or 42,43,47"
)
@click.option(
    "--metrics",
    default="",
    help="metrics to summarise, comma-separated (default: every run-level metric)",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="also write the runs and the summary as JSON",
)
@click.pass_context
def seeds_command(
    ctx: click.Context,
    pipeline: str,
    params: str,
    env: str | None,
    workers: int | None,
    scheduler: str | None,
    seed_list: str,
    metrics: str,
    output: Path | None,
) -> None:
    """Run one pipeline once per seed on warm Dask workers, each seed its own MLflow run;
    print mean and std per metric."""
    import json

    from advanced_dl.fanout.cluster import dask_client
    from advanced_dl.fanout.seeds import format_summary, parse_seeds, sweep_seeds

    try:
        seeds = parse_seeds(seed_list)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="'--seeds'") from error
    runtime_params = _runtime_params(ctx, params)
    names = [n.strip() for n in metrics.split(",") if n.strip()] or None
    with (
        _driver(pipeline, env, runtime_params) as context,
        dask_client(workers, scheduler) as client,
    ):
        sweep = sweep_seeds(pipeline, seeds, runtime_params, env, str(context.project_path), client)
    click.echo(format_summary(sweep, names))
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(sweep.as_dict(names), indent=2))


@cli.command(name="sweep")
@_fan_out_options
@click.option(
    "--trials",
    type=click.IntRange(min=1),
    required=True,
    help="trials the study should have finished (completed or pruned), at least 1",
)
@click.option(
    "--storage",
    default=None,
    help="Optuna storage URL (default: beside the MLflow tracking store; with a tracking "
    "server, its database: also $ADVANCED_DL_SWEEP_STORAGE)",
)
@click.option(
    "--write-env",
    "environment_name",
    default=None,
    help="Kedro environment written with the best configuration (default: <pipeline>_tuned)",
)
@click.option(
    "--test-seeds",
    default="42-51",
    show_default=True,
    help="seeds the best configuration's test metric is measured over (empty: skip)",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="also write the sweep's outcome (trials, timings, best configuration) as JSON",
)
@click.pass_context
def sweep_command(
    ctx: click.Context,
    pipeline: str,
    params: str,
    env: str | None,
    workers: int | None,
    scheduler: str | None,
    trials: int,
    storage: str | None,
    environment_name: str | None,
    test_seeds: str,
    output: Path | None,
) -> None:
    """Search a pipeline's hyper-parameters with Optuna, trials on Dask; nested MLflow runs.

    The search space is conf/<env>/sweeps/<pipeline>.yml. Trials are judged on
    validation data only; the best configuration is written as a Kedro
    environment and its test metric measured over --test-seeds.
    """
    import os

    import mlflow

    from advanced_dl.fanout.cluster import dask_client
    from advanced_dl.fanout.seeds import format_summary, parse_seeds, sweep_seeds
    from advanced_dl.fanout.space import check_space, parse_space
    from advanced_dl.fanout.study import STORAGE_VARIABLE, storage_url
    from advanced_dl.fanout.sweep import (
        SweepSettings,
        run_sweep,
        write_environment,
    )
    from advanced_dl.fanout.trials import merge, nest

    runtime_params = _runtime_params(ctx, params)
    seeds = parse_seeds(test_seeds) if test_seeds.strip() else []
    with _driver(pipeline, env, runtime_params) as context:
        from kedro.framework.project import pipelines

        from advanced_dl.hooks import pipeline_namespaces
        from advanced_dl.schema import validate_run_parameters

        space = parse_space(pipeline, context.config_loader["sweeps"])
        check_space(space, context.params, set(pipelines[pipeline].all_outputs()))
        namespaces = pipeline_namespaces(pipelines[pipeline])

        def check(candidate: dict[str, Any]) -> None:
            validate_run_parameters(candidate, namespaces)

        _check_extremes(space, context.params, check)
        url = storage_url(mlflow.get_tracking_uri(), storage or os.environ.get(STORAGE_VARIABLE))
        settings = SweepSettings(
            project_path=str(context.project_path),
            pipeline=pipeline,
            space=space,
            trials=trials,
            env=env,
            runtime_params=runtime_params,
            seed=int(context.params["seed"]),
            test_seeds=tuple(seeds),
            environment_name=environment_name or f"{pipeline}_tuned",
        )
        with dask_client(workers, scheduler) as client:
            outcome = run_sweep(settings, client, url, check)
            best = merge(runtime_params, nest(outcome.best_params))
            from advanced_dl.fanout.trials import project_parameters

            chosen = _flat(project_parameters(settings.project_path, env, best)[pipeline], pipeline)
            written = write_environment(
                context.project_path / "conf",
                settings.environment_name,
                pipeline,
                chosen,
                project_parameters(settings.project_path, None, {}),
                f"Written by `kedro sweep --pipelines {pipeline}` (Optuna study "
                f"{outcome.study_name}):\nbest validation {space.objective_metric} "
                f"{outcome.best_value:.4f} after {outcome.finished_trials} trials. "
                f"Only what differs from conf/base.\n"
                f"Reproduce: kedro run --pipelines {pipeline} --env {settings.environment_name}",
            )
            summary = None
            if seeds:
                tested = sweep_seeds(
                    pipeline,
                    seeds,
                    best,
                    env,
                    settings.project_path,
                    client,
                    tags={"optuna_study": outcome.study_name, "sweep": "test"},
                )
                summary = tested.summary([space.test_metric])[space.test_metric]
                for name, value in {
                    f"{space.test_metric}_mean": summary.mean,
                    f"{space.test_metric}_std": summary.std,
                    "test_seeds": len(seeds),
                }.items():
                    mlflow.MlflowClient().log_metric(outcome.parent_run_id, name, float(value))
    _echo_sweep(outcome, space, written, summary, seeds)
    if seeds:
        click.echo(format_summary(tested, [space.test_metric]))
    if output is not None:
        import json

        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(_sweep_record(outcome, space, written, summary), indent=2))


def _flat(params: dict[str, Any], prefix: str) -> dict[str, Any]:
    from advanced_dl.fanout.tracking import flatten

    return {f"{prefix}.{k}": v for k, v in flatten(params).items()}


def _check_extremes(space: Any, params: dict[str, Any], check: Callable) -> None:
    """Every bound and choice of the space, each alone, must pass the pipeline's schema."""
    from advanced_dl.fanout.trials import merge, nest

    for dimension in space.dimensions:
        for value in dimension.extremes():
            check(merge(params, nest({space.full_path(dimension.path): value})))


def _sweep_record(outcome: Any, space: Any, written: Path, summary: Any) -> dict[str, Any]:
    """What ``kedro sweep --output`` writes: the study, its timings and its choice."""
    import statistics

    outside = outcome.outside_training_seconds
    return {
        "study": outcome.study_name,
        "parent_run_id": outcome.parent_run_id,
        "finished_trials": outcome.finished_trials,
        "new_trials": outcome.new_trials,
        "wall_seconds": outcome.wall_seconds,
        "trials_per_minute": (
            60 * outcome.new_trials / outcome.wall_seconds if outcome.new_trials else None
        ),
        "mean_trial_seconds": statistics.fmean(outcome.trial_seconds)
        if outcome.trial_seconds
        else None,
        "mean_outside_training_seconds": statistics.fmean(outside) if outside else None,
        "objective": space.objective_metric,
        "best_value": outcome.best_value,
        "best_params": outcome.best_params,
        "environment": str(written),
        "test": None
        if summary is None
        else {"metric": space.test_metric, "mean": summary.mean, "std": summary.std},
    }


def _echo_sweep(outcome: Any, space: Any, written: Path, summary: Any, seeds: list) -> None:
    import statistics

    outside = outcome.outside_training_seconds
    click.echo(
        f"Sweep {outcome.study_name}: {outcome.finished_trials} trials finished "
        f"({outcome.new_trials} new) in {outcome.wall_seconds:.1f} s; best validation "
        f"{space.objective_metric} {outcome.best_value:.4f} with {outcome.best_params}"
    )
    if outcome.new_trials:
        click.echo(
            f"Trials per minute: {60 * outcome.new_trials / outcome.wall_seconds:.2f}; time "
            f"outside training per trial: mean "
            f"{statistics.fmean(outside) if outside else float('nan'):.2f} s"
        )
    click.echo(f"Best configuration written to {written}")
    if summary is not None:
        click.echo(
            f"Test {space.test_metric} over {len(seeds)} seeds: {summary.mean:.4f} "
            f"+/- {summary.std:.4f}"
        )
