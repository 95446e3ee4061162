"""One configuration over several seeds: an MLflow run per seed, then a summary.

Papers report node-classification accuracy as the mean and standard
deviation over seeds, because a single run's spread is a point or more.
``kedro seeds`` (``cli.py``) runs any pipeline once per seed with the same
parameters and environment, tags every run with one ``seed_sweep`` id (so
the MLflow UI can filter them together), and summarises every run-level
metric the runs share. The benchmark uses it for the Planetoid figures.

Seeds run on warm Dask workers (``trials.run_part``): each computes the
pipeline's metrics outputs (test metrics, training history, baselines) with
its seed, and this process logs them as that seed's MLflow run: parameters,
run-level metrics and per-epoch curves. Figures and models are a whole
``kedro run``'s work; a seed pays neither them nor TensorFlow's start.
"""

from __future__ import annotations

import logging
import math
import statistics
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)


def parse_seeds(text: str) -> list[int]:
    """``"42-51"``, ``"42,43,47"`` or a mix (``"1,5-7"``) -> the seeds, in order, no repeats."""
    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        first, _, last = part.partition("-")
        try:
            low, high = int(first), int(last or first)
        except ValueError as error:
            raise ValueError(
                f"Seeds must be integers or ranges like 42-51; got {part!r}"
            ) from error
        if high < low:
            raise ValueError(f"Seed range {part!r} runs backwards")
        seeds.extend(s for s in range(low, high + 1) if s not in seeds)
    if not seeds:
        raise ValueError("No seeds given")
    return seeds


@dataclass(frozen=True)
class MetricSummary:
    """Mean and sample standard deviation (n - 1) of one metric over the seeds."""

    mean: float
    std: float
    minimum: float
    maximum: float
    count: int


def summarise(values: Iterable[float]) -> MetricSummary:
    data = [float(v) for v in values]
    return MetricSummary(
        mean=statistics.fmean(data),
        std=statistics.stdev(data) if len(data) > 1 else math.nan,
        minimum=min(data),
        maximum=max(data),
        count=len(data),
    )


@dataclass
class SeedSweep:
    """The runs of one sweep: per seed its MLflow run id and run-level metrics."""

    pipeline: str
    sweep_id: str
    params: dict[str, Any]
    env: str | None
    runs: dict[int, str] = field(default_factory=dict)  # seed -> run id
    metrics: dict[int, dict[str, float]] = field(default_factory=dict)

    def summary(self, names: Iterable[str] | None = None) -> dict[str, MetricSummary]:
        """Each metric in ``names`` (default: every metric all runs have) over the seeds."""
        shared = set.intersection(*(set(m) for m in self.metrics.values()))
        chosen = sorted(shared) if names is None else list(names)
        missing = [name for name in chosen if name not in shared]
        if missing:
            raise ValueError(
                f"Metrics {missing} are not logged by every run; they have {sorted(shared)}"
            )
        return {name: summarise(m[name] for m in self.metrics.values()) for name in chosen}

    def as_dict(self, names: Iterable[str] | None = None) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "seed_sweep": self.sweep_id,
            "params": self.params,
            "env": self.env,
            "runs": [
                {"seed": seed, "run_id": self.runs[seed], "metrics": self.metrics[seed]}
                for seed in self.runs
            ],
            "summary": {name: vars(s) for name, s in self.summary(names).items()},
        }


#: The outputs a seed computes: every dataset of the pipeline whose name ends so.
METRICS_OUTPUTS = ("test_metrics", "baseline_metrics", "training_history")


def metrics_outputs(outputs: Iterable[str]) -> tuple[str, ...]:
    """The pipeline outputs that hold metrics (``METRICS_OUTPUTS``), sorted."""
    return tuple(sorted(o for o in outputs if o.rsplit(".", 1)[-1] in METRICS_OUTPUTS))


def log_seed_run(
    pipeline: str,
    params: Mapping[str, Any],
    env: str | None,
    outputs: Mapping[str, Mapping[str, Any]],
    tags: Mapping[str, str],
    seconds: float,
) -> tuple[str, dict[str, float]]:
    """Log one seed's outputs as an MLflow run of ``pipeline``'s experiment.

    Returns:
        The run id and its run-level metrics (the scalars of the outputs, plus
        ``seed_seconds`` and ``outside_training_seconds``).
    """
    import mlflow

    from advanced_dl.fanout.tracking import experiment_id, flatten, log_curves

    scalars: dict[str, float] = {}
    curves: dict[str, list[float]] = {}
    for values in outputs.values():
        for name, value in values.items():
            if isinstance(value, list):
                curves[name] = [float(v) for v in value]
            elif isinstance(value, int | float) and not isinstance(value, bool):
                scalars[name] = float(value)
    scalars["seed_seconds"] = seconds
    if "fit_seconds" in scalars:
        scalars["outside_training_seconds"] = seconds - scalars["fit_seconds"]
    with mlflow.start_run(
        experiment_id=experiment_id(pipeline),
        run_name=f"{pipeline} seed {params.get('seed')}",
        tags={**tags, "env": env or "base"},
        nested=mlflow.active_run() is not None,
    ) as run:
        flat = flatten(params)
        for start in range(0, len(flat), 100):
            mlflow.log_params(dict(list(flat.items())[start : start + 100]))
        mlflow.log_metrics(scalars)
        log_curves(run.info.run_id, curves)
    return run.info.run_id, scalars


def sweep_seeds(
    pipeline: str,
    seeds: Iterable[int],
    params: Mapping[str, Any],
    env: str | None,
    project_path: str,
    client: Any,
    tags: Mapping[str, str] | None = None,
) -> SeedSweep:
    """Run ``pipeline``'s metrics outputs once per seed on ``client``'s warm workers;
    log each seed as an MLflow run tagged with the sweep's id, and collect them.

    Args:
        params: nested runtime parameters (as ``kedro run --params`` makes them).
        client: a ``dask.distributed.Client`` (``cluster.dask_client``).
    """
    from kedro.framework.project import pipelines

    from advanced_dl.fanout.trials import PipelinePart, merge, run_part

    seeds = list(seeds)
    sweep = SeedSweep(pipeline, uuid.uuid4().hex[:12], dict(params), env)
    outputs = metrics_outputs(pipelines[pipeline].all_outputs())
    parts = [
        PipelinePart(project_path, pipeline, env, merge(params, {"seed": seed}), outputs)
        for seed in seeds
    ]
    logger.info("Seed sweep %s: %s with seeds %s", sweep.sweep_id, pipeline, seeds)
    futures = client.map(run_part, parts, pure=False)
    for seed, part, future in zip(seeds, parts, futures, strict=True):
        result = future.result()
        run_id, metrics = log_seed_run(
            pipeline,
            part.runtime_params,
            env,
            result.outputs,
            {"seed_sweep": sweep.sweep_id, **(tags or {})},
            result.seconds,
        )
        sweep.runs[seed] = run_id
        sweep.metrics[seed] = metrics
    return sweep


def format_summary(sweep: SeedSweep, names: Iterable[str] | None = None) -> str:
    """A plain-text table: metric, mean, std, min, max over the seeds, then the run ids."""
    summary = sweep.summary(names)
    width = max([len(n) for n in summary] + [6])
    lines = [
        f"{sweep.pipeline}: {len(sweep.runs)} seeds ({', '.join(map(str, sweep.runs))}), "
        f"MLflow tag seed_sweep={sweep.sweep_id}",
        f"{'metric':<{width}}  {'mean':>12}  {'std':>10}  {'min':>12}  {'max':>12}",
    ]
    for name, s in summary.items():
        values = f"{s.mean:>12.6g}  {s.std:>10.4g}  {s.minimum:>12.6g}  {s.maximum:>12.6g}"
        lines.append(f"{name:<{width}}  {values}")
    return "\n".join(lines)
