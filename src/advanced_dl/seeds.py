"""One configuration over several seeds: a Kedro session and MLflow run per seed, then a summary.

Papers report node-classification accuracy as the mean and standard
deviation over seeds, because a single run's spread is a point or more.
``kedro seeds`` (``cli.py``) runs any pipeline once per seed with the same
parameters and environment, tags every run with one ``seed_sweep`` id (so
the MLflow UI can filter them together), and summarises every run-level
metric the runs share. The benchmark uses it for the Planetoid figures.
"""

from __future__ import annotations

import logging
import math
import statistics
import uuid
from collections.abc import Callable, Iterable, Mapping
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


def run_level_metrics(client: Any, run_id: str) -> dict[str, float]:
    """A run's metrics logged once (test metrics, timings), not its per-epoch curves."""
    run = client.get_run(run_id)
    return {
        name: value
        for name, value in run.data.metrics.items()
        if len(client.get_metric_history(run_id, name)) == 1
    }


def sweep_seeds(
    pipeline: str,
    seeds: Iterable[int],
    params: Mapping[str, Any],
    env: str | None,
    run_once: Callable[[str, dict[str, Any], str | None], None],
) -> SeedSweep:
    """Run ``pipeline`` once per seed with ``params``; collect and tag the MLflow runs.

    ``run_once(pipeline, runtime_params, env)`` runs one Kedro session and
    leaves no run open (the command passes a ``KedroSession`` runner; tests
    may pass another).
    """
    import mlflow
    from mlflow.tracking import MlflowClient

    sweep = SeedSweep(pipeline, uuid.uuid4().hex[:12], dict(params), env)
    client = MlflowClient()
    for seed in seeds:
        logger.info("Seed sweep %s: %s with seed %d", sweep.sweep_id, pipeline, seed)
        run_once(pipeline, {**params, "seed": seed}, env)
        run = mlflow.last_active_run()
        if run is None:
            raise RuntimeError(f"The {pipeline} run with seed {seed} logged no MLflow run")
        run_id = run.info.run_id
        client.set_tag(run_id, "seed_sweep", sweep.sweep_id)
        sweep.runs[seed] = run_id
        sweep.metrics[seed] = run_level_metrics(client, run_id)
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
