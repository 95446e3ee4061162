"""Project hooks: parameter checks, one MLflow experiment per pipeline, seed, device, plotting.

Tracking itself (runs, parameters, datasets) is kedro-mlflow's job; these hooks
only steer it to the right experiment and add the provenance tags it lacks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro.io import CachedDataset, DataCatalog, DatasetError, Version
from kedro.pipeline import Pipeline

from advanced_dl import runtime
from advanced_dl.schema import validate_run_parameters

logger = logging.getLogger(__name__)

DEFAULT_SEED = 42


def pipeline_namespaces(pipeline: Pipeline) -> set[str]:
    """Top-level namespaces of the pipeline's nodes (the pipelines it is made of)."""
    return {node.namespace.split(".")[0] for node in pipeline.nodes if node.namespace}


def pipeline_experiment_name(pipeline: Pipeline, pipeline_names: list[str] | None) -> str | None:
    """The experiment a run belongs in: the namespace shared by all its nodes.

    ``kedro run --pipelines mdn_synthetic`` gives ``mdn_synthetic``; a run that
    spans several namespaces gives None (the mlflow.yml default is kept).
    """
    namespaces = pipeline_namespaces(pipeline)
    if len(namespaces) == 1:
        return namespaces.pop()
    names = [name for name in pipeline_names or [] if name != "__default__"]
    return names[0] if len(names) == 1 else None


def set_experiment_once(set_experiment, attempts: int = 5) -> None:
    """Get or create the experiment, tolerating a run that created it at the same moment."""
    from mlflow.exceptions import MlflowException

    for attempt in range(attempts):
        try:
            set_experiment()
            return
        except MlflowException as error:
            # Another run created it between our look-up and our create: look again.
            if attempt == attempts - 1 or "already exists" not in str(error).lower():
                raise


class ParameterValidationHook:
    """Validate the parameters of the pipelines about to run, before any data is read.

    Runs first, so a bad value stops the run before kedro-mlflow opens an
    MLflow run for it.
    """

    def __init__(self) -> None:
        self._context: KedroContext | None = None

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        self._context = context

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, pipeline: Pipeline) -> None:
        params = self._context.params if self._context else {}
        validate_run_parameters(params, pipeline_namespaces(pipeline))


def run_version(run_id: str, pid: int | None = None) -> str:
    """The version a run saves its datasets under: the session's timestamp and the process.

    Kedro's session id is a millisecond timestamp, so two runs started in the same
    millisecond would share it; the process id keeps them apart, and versions
    still sort by start time.
    """
    return f"{run_id}-{os.getpid() if pid is None else pid}"


#: Where a run writes its outputs until it finishes: ``<dir>/.unfinished/<file>/<version>/<file>``
#: instead of ``<dir>/<file>/<version>/<file>``. Kedro finds a dataset's newest
#: version with the pattern ``<dir>/<file>/*/<file>``, which never matches them.
UNFINISHED = ".unfinished"


def file_dataset(dataset: Any) -> Any:
    """The dataset that holds the versioned file (a cached or wrapped one's inner dataset)."""
    if isinstance(dataset, CachedDataset):
        dataset = dataset._dataset
    return getattr(dataset, "file_dataset", dataset)


def pin_versions(catalog: DataCatalog, names: Iterable[str], version: str) -> list[str]:
    """Save and load each versioned dataset in ``names`` at ``version``, in its unfinished
    place (:data:`UNFINISHED`) until :func:`publish_versions`; return those pinned.

    A versioned dataset that a run both writes and reads is read back at the
    version the run wrote, never at the newest on disk, which a run started at
    the same time may have written.
    """
    pinned, unversioned_files = [], []
    for name in sorted(names):
        dataset = file_dataset(catalog.get(name))
        current = getattr(dataset, "_version", None)
        if isinstance(current, Version) and current.load is None:
            path = PurePosixPath(str(dataset._filepath))
            if Path(str(path)).is_file():
                unversioned_files.append(str(path))
            dataset._version = Version(version, version)
            dataset._filepath = path.parent / UNFINISHED / path.name
            pinned.append(name)
    if unversioned_files:
        # Kedro would refuse only when saving, possibly after a long training.
        raise DatasetError(
            "These files were written before runs were versioned, and a versioned dataset "
            f"cannot be saved over them: {unversioned_files}. Delete them (raw data under "
            "data/01_raw is kept); each run now writes <filepath>/<version>/<file>."
        )
    return pinned


def publish_versions(catalog: DataCatalog, names: Iterable[str], version: str) -> list[str]:
    """Move each pinned dataset's ``version`` from its unfinished place to where loads
    find it; return those moved. One rename per dataset: all of it appears, or none."""
    published = []
    for name in names:
        dataset = file_dataset(catalog.get(name))
        staged_root = PurePosixPath(str(dataset._filepath))
        final_root = staged_root.parent.parent / staged_root.name
        staged, final = Path(str(staged_root / version)), Path(str(final_root / version))
        if staged.exists():
            final.parent.mkdir(parents=True, exist_ok=True)
            staged.replace(final)
            published.append(name)
            for leftover in (staged.parent, staged.parent.parent):
                with contextlib.suppress(OSError):  # other runs may still write there
                    leftover.rmdir()
        dataset._filepath = final_root
    return published


class RunIsolationHook:
    """A run's files are its own while it runs, and everyone's only once it has finished.

    Every persisted output is versioned in the catalog (``versioned: true``).
    This hook pins the version each run writes and reads its outputs at, so runs
    started together in one checkout never read each other's files. Until the
    run has finished, it writes them under ``<dir>/.unfinished/``, where Kedro's
    search for a dataset's newest version never looks; when it finishes, each
    version folder moves to ``<dir>/<file>/<version>/``. A run that fails or is
    killed (SIGKILL, power loss) leaves only unfinished files, so notebooks,
    ``kedro viz`` and later runs keep reading the last finished run's outputs;
    ``kedro prune-versions`` removes the leftovers.
    """

    def __init__(self) -> None:
        self._pinned: list[str] = []
        self._version = ""

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: DataCatalog
    ) -> None:
        self._version = run_version(run_params["run_id"])
        self._pinned = pin_versions(catalog, pipeline.all_outputs(), self._version)
        logger.info("Run version %s for %d datasets", self._version, len(self._pinned))

    @hook_impl
    def after_pipeline_run(self, catalog: DataCatalog) -> None:
        published = publish_versions(catalog, self._pinned, self._version)
        logger.info("Published version %s of %d datasets", self._version, len(published))


class RegistryHook:
    """Register each served model a run logged, once the run has finished.

    Registration (``advanced_dl.registry``) tags the version with the
    pipeline's primary test metric and test data, and gives it the alias
    ``champion`` when it beats the current champion on the same test data,
    else ``challenger``. A run that fails or is killed registers nothing.
    """

    def __init__(self) -> None:
        self._context: KedroContext | None = None

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        self._context = context

    @hook_impl(tryfirst=True)  # before kedro-mlflow ends the run
    def after_pipeline_run(self, pipeline: Pipeline, catalog: DataCatalog) -> None:
        from advanced_dl.io.pyfunc_model import KerasPyfuncModelDataset

        for name in sorted(pipeline.all_outputs()):
            dataset = catalog.get(name) if name in catalog else None
            if not isinstance(dataset, KerasPyfuncModelDataset):
                continue
            if dataset.logged_model_uri is None or not dataset.registered_model_name:
                continue
            import mlflow

            from advanced_dl.registry import register_served_model

            params = self._context.params if self._context else {}
            register_served_model(
                mlflow.MlflowClient(),
                dataset.logged_model_uri,
                dataset.registered_model_name,
                dataset.logged_run_id,
                params,
            )


class TrackingStoreHook:
    """Make the tracking store ready before kedro-mlflow uses it.

    A ``sqlite:///`` store is created or migrated under a file lock, so runs
    started together on a new store do not race; an ``http(s)://`` server that
    does not answer stops the run within seconds, before any data is read.
    """

    @hook_impl(tryfirst=True)  # before kedro-mlflow's own after_context_created
    def after_context_created(self, context: KedroContext) -> None:
        patterns = context.config_loader.config_patterns
        patterns.setdefault("mlflow", ["mlflow*", "mlflow*/**", "**/mlflow*"])
        uri = context.config_loader["mlflow"]["server"]["mlflow_tracking_uri"]
        runtime.check_tracking_server(uri)
        database = runtime.sqlite_store_path(uri, context.project_path)
        if database is not None:
            runtime.initialise_sqlite_store(database)


class ExperimentPerPipelineHook:
    """Point kedro-mlflow at the experiment named after the pipeline being run."""

    def __init__(self) -> None:
        self._context: KedroContext | None = None

    @hook_impl(trylast=True)  # after kedro-mlflow has put its config on the context
    def after_context_created(self, context: KedroContext) -> None:
        self._context = context

    @hook_impl(tryfirst=True)  # before kedro-mlflow starts the run
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Pipeline) -> None:
        mlflow_config = getattr(self._context, "mlflow", None)
        if mlflow_config is None:
            return
        names = run_params.get("pipeline_names") or [run_params.get("pipeline_name")]
        experiment = pipeline_experiment_name(pipeline, [n for n in names if n])
        if experiment and experiment != mlflow_config.tracking.experiment.name:
            mlflow_config.tracking.experiment.name = experiment
            set_experiment_once(mlflow_config._set_experiment)
        logger.info("MLflow experiment: %s", mlflow_config.tracking.experiment.name)


class SystemMetricsHook:
    """Log the machine's CPU, memory (and GPU) use into each run, from one monitor."""

    def __init__(self) -> None:
        self._monitor = None

    @hook_impl(trylast=True)  # after kedro-mlflow has started the run
    def before_pipeline_run(self) -> None:
        import mlflow

        run = mlflow.active_run()
        if run is not None and self._monitor is None:
            self._monitor = runtime.start_system_metrics(run.info.run_id)

    @hook_impl(tryfirst=True)  # flush before kedro-mlflow ends the run
    def after_pipeline_run(self) -> None:
        self._stop()

    @hook_impl(tryfirst=True)
    def on_pipeline_error(self) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._monitor is not None:
            runtime.stop_system_metrics(self._monitor)
            self._monitor = None


class RuntimeHook:
    """Seed, choose the device and tag the MLflow run before any node runs.

    The only place the project seeds: nodes that need randomness of their own
    take ``params:seed`` and make a local generator from it.
    """

    def __init__(self) -> None:
        self._context: KedroContext | None = None

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        self._context = context
        import matplotlib

        # Nodes draw figures for files and MLflow, never for a screen.
        matplotlib.use("Agg", force=True)

    @hook_impl
    def after_node_run(self) -> None:
        import gc

        # A Keras model is a web of reference cycles: without a collection, each
        # copy a node loaded stays in memory until the run ends.
        gc.collect()

    @hook_impl(trylast=True)  # after kedro-mlflow has started the run
    def before_pipeline_run(self, run_params: dict[str, Any]) -> None:
        params = self._context.params if self._context else {}
        seed = params.get("seed", DEFAULT_SEED)
        runtime.seed_everything(seed)
        device = runtime.choose_device(mixed_precision=bool(params.get("mixed_precision", False)))
        self._tag_run(seed=seed, device=device)

    def _tag_run(self, seed: int, device: runtime.DeviceChoice) -> None:
        import mlflow

        if mlflow.active_run() is None:
            return
        import tensorflow as tf

        commit = runtime.git_commit(self._context.project_path) if self._context else None
        tags = {
            "tensorflow_version": tf.__version__,
            "device": device.device,
            "precision_policy": device.precision_policy,
            "python_version": platform.python_version(),
        }
        if commit:
            tags["git_commit"] = commit
            # The key MLflow's UI shows in the run's "Source" panel.
            tags["mlflow.source.git.commit"] = commit
        mlflow.set_tags({**tags, **runtime.process_tags()})
        mlflow.log_params({"seed": seed, "precision_policy": device.precision_policy})
        current = mlflow.active_run().info.run_id
        for run_id in runtime.close_abandoned_runs(mlflow.MlflowClient(), current):
            logger.warning(
                "MLflow run %s was left RUNNING by a process that has ended: marked KILLED",
                run_id,
            )
