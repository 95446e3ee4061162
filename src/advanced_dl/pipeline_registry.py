"""Project pipelines."""

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

#: Run only when named (``kedro run --pipelines nab_benchmark``): the whole NAB
#: corpus takes minutes and pre-training an hour, so plain ``kedro run`` (the
#: textbook's experiments) leaves them out.
ON_DEMAND_PIPELINES = frozenset({"nab_benchmark", "imdb_pretrain"})


def register_pipelines() -> dict[str, Pipeline]:
    """Register every pipeline found under ``advanced_dl.pipelines``.

    ``__default__`` runs all of them but the on-demand ones; each still gets
    its own MLflow run in its own experiment (``hooks.ExperimentPerPipelineHook``).
    """
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = sum(
        (p for name, p in pipelines.items() if name not in ON_DEMAND_PIPELINES), Pipeline([])
    )
    return pipelines
