"""Project pipelines."""

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline


def register_pipelines() -> dict[str, Pipeline]:
    """Register every pipeline found under ``advanced_dl.pipelines``.

    ``__default__`` runs all of them; each still gets its own MLflow run
    in its own experiment (see ``hooks.MlflowExperimentPerPipelineHook``).
    """
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = sum(pipelines.values(), Pipeline([]))
    return pipelines
