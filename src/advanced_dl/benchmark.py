"""Benchmark: each pipeline with its defaults on the real data -> ``benchmarks/RESULTS.md``.

    python -m advanced_dl.benchmark                     # every pipeline, seed 42
    python -m advanced_dl.benchmark --pipelines cora_gcn --planetoid-seeds 42-51
    python -m advanced_dl.benchmark --pipelines nab_benchmark --nab-workers 1

Each run is a real ``kedro run`` in a child process, so its wall time and peak
resident memory are measured from outside; the quality figures are read back
from the run MLflow recorded. The Planetoid figures (GCN and GAT on Cora and
CiteSeer) are means over seeds, each sweep a ``kedro seeds`` child process;
``kedro sweep`` is timed in a fresh project copy.

The whole benchmark takes hours on a small machine, so it resumes: each finished
measurement is kept in ``<log-dir>/measured/`` (written whole or not at all), and
the same command run again reuses those recorded from the same source, on the same
kind of machine, with the same data and seed, and measures only the rest
(``--fresh`` measures everything again). The report says when its measurements
were taken. Run it from the project root with the data available (internet or
``ADVANCED_DL_DATA_MIRROR``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import os
import platform
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import TypeVar

from advanced_dl.data.acquisition import MIRROR_ENV_VAR
from advanced_dl.runtime import git_commit

# Runs the command it is given and prints its wall time and peak RSS as JSON:
# measured in a process of its own so RUSAGE_CHILDREN covers that one run only.
_MEASURE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.call(sys.argv[2:], stdout=open(sys.argv[1], "w"), stderr=subprocess.STDOUT)
wall = time.perf_counter() - start
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"returncode": code, "wall_seconds": wall, "peak_rss_kb": peak_kb}))
"""


@dataclass(frozen=True)
class Expectation:
    """A pipeline's target (from its issue) and the published figure it is compared with."""

    quality: tuple[str, ...]  # metrics shown in the table
    target: str
    check: Callable[[dict[str, float], RunResult], bool]  # (metrics, run) -> met?
    reference: str
    why_missed: str = ""  # said under the table when the target is missed


#: The reference transformer's accuracy target (the main table and the IMDB table judge it).
IMDB_REFERENCE_MIN_ACCURACY = 0.87
#: Issue 24's targets: the fine-tuned transformer's accuracy, pre-training's wall time.
PRETRAINED_MIN_ACCURACY = 0.920
PRETRAINING_MAX_SECONDS = 5400
#: Where imdb_pretrain keeps its checkpoints (conf/base/catalog_imdb_pretrain.yml).
PRETRAINING_CHECKPOINTS = Path("data/06_models/imdb_pretrain/checkpoints")
#: The ablation run beside the fine-tuned one: the same classifier from random weights.
SCRATCH_ABLATION = "imdb_transformer.encoder.use=scratch"


def _beats_its_baseline(metrics: dict[str, float]) -> bool:
    """The tuned transformer's accuracy target: above the baseline fitted in the same run."""
    return metrics.get("test_accuracy", 0) > metrics.get("baseline_test_accuracy", 1)


EXPECTATIONS: dict[str, Expectation] = {
    "mdn_synthetic": Expectation(
        quality=("test_ari", "bayes_optimal_ari", "test_nmi", "test_nll", "mean_error_max"),
        target=(
            "test_ari >= bayes_optimal_ari - 0.02; mean_error_max <= 0.25; outside training < 15 s"
        ),
        check=lambda m, run: (
            m["test_ari"] >= m["bayes_optimal_ari"] - 0.02
            and m["mean_error_max"] <= 0.25
            and run.outside_training_seconds < 15
        ),
        reference="textbook listing: ARI 0.872 vs Bayes-optimal 0.963 (its own draw)",
        why_missed=(
            "the quality targets are met; the start-up aim is at the edge: importing "
            "TensorFlow, the interpreter's shutdown after the run (TensorFlow's teardown) "
            "and MLflow's model logging take most of it, and the total varies by a few "
            "seconds between runs on this machine (docs/pipelines/mdn_synthetic.md)"
        ),
    ),
    "nab_anomaly": Expectation(
        quality=(
            "nab_score_standard",
            "nab_score_reward_low_fp",
            "nab_score_reward_low_fn",
            "windows_detected",
            "windows_total",
            "false_positive_detections",
            "test_f1",
            # The corpus detector on the same series at its label-free threshold (what
            # a user's own series is served with), beside the textbook's LSTM-VAE.
            "corpus_detector_nab_score_standard",
            "corpus_detector_false_positive_detections",
        ),
        target="window detected, 0 false positives, nab_score_standard >= 90",
        check=lambda m, _: (
            m["windows_detected"] == m["windows_total"]
            and m["false_positive_detections"] == 0
            and m["nab_score_standard"] >= 90
        ),
        reference="Numenta HTM about 93 on art_daily_jumpsup (same normalisation)",
    ),
    "imdb_pretrain": Expectation(
        quality=("val_loss", "mean_tokens_per_second", "epochs_trained", "resumed_from_epoch"),
        target="pre-training <= 5400 s (wall); peak memory < 6 GB",
        # A run resumed from a checkpoint timed only its last part: not a measurement.
        check=lambda m, run: (
            m["resumed_from_epoch"] == 0
            and run.wall_seconds <= PRETRAINING_MAX_SECONDS
            and run.peak_bytes < 6e9
        ),
        reference="masked-token loss on 500 held-out unlabelled reviews (val_loss)",
        why_missed=(
            "a run resumed from a checkpoint (resumed_from_epoch > 0) timed only its last "
            "part; delete its record in benchmarks/runs/measured/ and run the benchmark again "
            "(it moves earlier checkpoints aside before it times pre-training)"
        ),
    ),
    "imdb_transformer": Expectation(
        quality=(
            "test_accuracy",
            "test_loss",
            "test_roc_auc",
            "test_f1",
            "mean_epoch_seconds",
            "baseline_test_accuracy",
            "baseline_fit_seconds",
        ),
        target="test_accuracy >= 0.87; peak memory < 3 GB",
        check=lambda m, run: (
            m["test_accuracy"] >= IMDB_REFERENCE_MIN_ACCURACY and run.peak_bytes < 3e9
        ),
        reference="keras-io 0.8745 (validated on test); textbook 0.816 test after 8 epochs",
    ),
    "imdb_transformer@tuned": Expectation(
        quality=(
            "test_accuracy",
            "test_roc_auc",
            "test_f1",
            "mean_epoch_seconds",
            "baseline_test_accuracy",
            "baseline_fit_seconds",
        ),
        target=(
            "test_accuracy > the same run's baseline_test_accuracy (moonshot 0.92); "
            "fit <= 1200 s; peak memory < 4 GB"
        ),
        check=lambda m, run: (
            _beats_its_baseline(m) and m["fit_seconds"] <= 1200 and run.peak_bytes < 4e9
        ),
        reference="NBSVM with word bigrams 0.912 (Wang and Manning, 2012), trained from scratch",
        why_missed=(
            "peak memory: training holds about 3 GiB (a 366 MiB pair table, LazyAdam's two "
            "moment tables, TensorFlow's pooled buffers); the peak, about 0.2 GiB under the "
            "target, comes when MLflow's servability check loads a second copy of the model "
            "(docs/pipelines/imdb_transformer.md, tuned configuration)"
        ),
    ),
    "imdb_transformer@pretrained": Expectation(
        quality=(
            "test_accuracy",
            "test_roc_auc",
            "test_f1",
            "pretrained_encoder_version",
            "mean_epoch_seconds",
            "baseline_test_accuracy",
        ),
        target=(
            f"test_accuracy >= {PRETRAINED_MIN_ACCURACY} and > the same run's baseline "
            "(moonshot 0.928); fine-tuning <= 1200 s (wall); peak memory < 6 GB"
        ),
        check=lambda m, run: (
            m["test_accuracy"] >= PRETRAINED_MIN_ACCURACY
            and _beats_its_baseline(m)
            and run.wall_seconds <= 1200
            and run.peak_bytes < 6e9
        ),
        reference=(
            "NBSVM with word bigrams 0.9122 (Wang and Manning, 2012); Dai and Le's "
            "pre-trained LSTM 0.9276; Johnson and Zhang 0.9406 (no outside data)"
        ),
        why_missed=(
            "a 2-block, 128-wide encoder pre-trained for 3 passes is too small "
            "and too briefly trained to carry the classifier past word-pair features: it "
            "adds under a point to the same classifier from scratch "
            "(docs/pipelines/imdb_pretrain.md, measured results)"
        ),
    ),
    f"imdb_transformer@pretrained|{SCRATCH_ABLATION}": Expectation(
        quality=("test_accuracy", "test_roc_auc", "test_f1", "mean_epoch_seconds"),
        target="the ablation: below the pre-trained run (what pre-training bought)",
        check=lambda m, run: True,
        reference="the same classifier and settings, encoder weights drawn at random",
    ),
    "cora_gcn": Expectation(
        quality=(
            "test_accuracy",
            "test_macro_f1",
            "selected_val_accuracy",
            "epochs_trained",
            "mean_epoch_seconds",
        ),
        target="reference split test_accuracy >= 0.80; mean_epoch_seconds <= 0.020",
        check=lambda m, _: m["test_accuracy"] >= 0.80 and m["mean_epoch_seconds"] <= 0.020,
        reference="textbook listing 0.831 (seed 42); GCN paper 0.815 (Planetoid split)",
    ),
    "nab_benchmark": Expectation(
        quality=(
            "corpus_score_standard",
            "corpus_score_reward_low_fp",
            "corpus_score_reward_low_fn",
            "corpus_score_standard_label_free",
            "corpus_score_standard_learned_alone",
            "corpus_score_standard_out_of_range_alone",
            "corpus_score_standard_cross_category",
            "corpus_score_reward_low_fp_cross_category",
            "corpus_score_reward_low_fn_cross_category",
            "windows_detected",
            "windows_total",
            "false_positives",
            "series_scored",
            "wall_seconds",
            "mean_series_seconds",
        ),
        target=(
            "corpus_score standard > 70.1, low FP > 63.1, low FN > 74.3 (Numenta HTM; "
            "moonshot > 74.9 ARTime); learned parts alone > 58.0 (KNN CAD); "
            "whole corpus <= 900 s"
        ),
        check=lambda m, run: (
            m["corpus_score_standard"] > 70.1
            and m["corpus_score_reward_low_fp"] > 63.1
            and m["corpus_score_reward_low_fn"] > 74.3
            and m["corpus_score_standard_learned_alone"] > 58.0
            and run.wall_seconds <= 900
        ),
        reference=(
            "NAB scoreboard (standard / low FP / low FN): ARTime 74.9 / 65.1 / 80.4, "
            "Numenta HTM 70.1 / 63.1 / 74.3, KNN CAD 58.0 / 43.4 / 64.8, Windowed Gaussian 39.6"
        ),
        why_missed=(
            "the learned parts are fitted once on each series' probationary rows (at most "
            "750) and never retrained, so a series' later normal behaviour can look as "
            "unusual to them as its anomalies; updating them online was measured to lose "
            "(docs/algorithms.md, section 6)"
        ),
    ),
}


#: The pipelines the benchmark runs by default (variants such as ``@tuned`` come with theirs).
PIPELINES = tuple(key for key in EXPECTATIONS if "@" not in key)
#: imdb_transformer's environments run after the reference; ``pretrained`` brings its ablation.
IMDB_ENVIRONMENTS = "tuned,pretrained"


@dataclass(frozen=True)
class PlanetoidTarget:
    """A cora_gcn configuration on the Planetoid split, with its paper's figure as target."""

    dataset: str
    architecture: str
    min_accuracy: float  # mean test accuracy over the seeds
    max_epoch_ms: float | None  # mean training time per epoch, validation included
    paper: str
    env: str = ""  # a tuned configuration's Kedro environment (it sets split and dataset)

    @property
    def params(self) -> str:
        if self.env:
            return ""
        return (
            f"cora_gcn.split=planetoid,cora_gcn.dataset={self.dataset},"
            f"cora_gcn.model.architecture={self.architecture}"
        )

    @property
    def name(self) -> str:
        return f"{self.dataset}-{self.architecture}" + (f"-{self.env}" if self.env else "")


PLANETOID_TARGETS = (
    PlanetoidTarget("cora", "gcn", 0.815, 5.0, "GCN paper 81.5"),
    PlanetoidTarget("citeseer", "gcn", 0.703, None, "GCN paper 70.3"),
    PlanetoidTarget("cora", "gat", 0.830, 25.0, "GAT paper 83.0 +/- 0.7"),
    PlanetoidTarget("citeseer", "gat", 0.725, None, "GAT paper 72.5 +/- 0.7"),
)
#: The tuned configurations (issue 25): each shipped environment against the best
#: published figure on the same split. CiteSeer's (tens of ms per epoch here) first.
TUNED_PLANETOID_TARGETS = (
    PlanetoidTarget(
        "citeseer", "grand", 0.734, None, "GCNII 73.4; GRAND 75.4", env="citeseer_tuned"
    ),
    PlanetoidTarget("cora", "grand+gcnii", 0.855, None, "GCNII 85.5; GRAND 85.4", env="cora_tuned"),
)
#: Configurations measured only when named in ``--planetoid-configurations``: the
#: configurations the tuned ones were chosen over (hours of training here).
OTHER_PLANETOID_TARGETS = (
    PlanetoidTarget("cora", "gcnii", 0.855, None, "GCNII 85.5; GRAND 85.4", env="cora_gcnii"),
    PlanetoidTarget(
        "citeseer", "gcnii", 0.734, None, "GCNII 73.4; GRAND 75.4", env="citeseer_gcnii"
    ),
    PlanetoidTarget("cora", "grand", 0.855, None, "GCNII 85.5; GRAND 85.4", env="cora_grand"),
    PlanetoidTarget(
        "cora", "grand", 0.855, None, "GCNII 85.5; GRAND 85.4", env="cora_grand_averaged"
    ),
)


@dataclass
class SweepResult:
    """One ``kedro seeds`` sweep: its JSON summary, wall time and peak memory."""

    target: PlanetoidTarget
    sweep: dict
    wall_seconds: float
    peak_rss_kb: int

    def mean(self, metric: str) -> float:
        return self.sweep["summary"][metric]["mean"]

    def met(self) -> bool:
        epoch_ms = 1000 * self.mean("mean_epoch_seconds")
        fast_enough = self.target.max_epoch_ms is None or epoch_ms <= self.target.max_epoch_ms
        return self.mean("test_accuracy") >= self.target.min_accuracy and fast_enough


@dataclass
class RunResult:
    pipeline: str
    label: str
    seed: int
    wall_seconds: float
    peak_rss_kb: int
    metrics: dict[str, float] = field(default_factory=dict)
    run_id: str = ""
    env: str = ""  # the Kedro environment over base, if any
    params: str = ""  # --params over the defaults, besides the seed

    @property
    def key(self) -> str:
        """The run's entry in ``EXPECTATIONS``: the pipeline, ``@env`` for a variant,
        ``|params`` when those parameters have an entry of their own (an ablation)."""
        base = f"{self.pipeline}@{self.env}" if self.env else self.pipeline
        specific = f"{base}|{self.params}"
        return specific if self.params and specific in EXPECTATIONS else base

    @property
    def peak_bytes(self) -> int:
        return self.peak_rss_kb * 1024

    @property
    def peak_gib(self) -> float:
        return self.peak_rss_kb / 1024**2

    @property
    def outside_training_seconds(self) -> float:
        """Start-up, data, evaluation, tracking and shutdown: wall time minus fit_seconds."""
        return self.wall_seconds - self.metrics.get("fit_seconds", float("nan"))


def machine_description() -> dict[str, str]:
    """Cores, memory and CPU model of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
                break
    except OSError:
        pass
    return {"cores": str(os.cpu_count()), "memory": memory, "cpu": cpu}


#: Left out of the source fingerprint: how the report is written does not change what
#: was measured, so editing it keeps earlier measurements.
_HARNESS = "src/advanced_dl/benchmark.py"

Result = TypeVar("Result")


def source_fingerprint(root: Path) -> str:
    """A digest of what the measurements depend on: the package's code (the benchmark's
    own module left out), the project's configuration (``conf/local`` left out) and
    ``pyproject.toml``, as they are in the working tree."""
    files = [*(root / "src").rglob("*.py"), *(root / "conf").rglob("*"), root / "pyproject.toml"]
    digest = hashlib.sha256()
    for path in sorted(f for f in files if f.is_file()):
        relative = path.relative_to(root).as_posix()
        left_out = relative.startswith("conf/local/") or relative == _HARNESS
        if left_out or "__pycache__" in path.parts:
            continue
        digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class MeasurementStore:
    """Finished measurements, one JSON file each, so an interrupted benchmark resumes.

    A record is reused only when its ``identity`` (source fingerprint, machine, data,
    seed) equals this invocation's; anything else is measured again. Records are
    written to a temporary name and renamed, so a killed benchmark leaves none half
    written."""

    folder: Path
    identity: dict[str, str]
    fresh: bool = False  # measure everything again
    commit: str | None = None  # the checkout's commit, recorded beside each measurement
    # (started, finished, reused, commit) of each measurement in the report
    spans: list[tuple[str, str, bool, str | None]] = field(default_factory=list)

    def measure(
        self,
        key: str,
        measure: Callable[[], Result],
        encode: Callable[[Result], dict],
        decode: Callable[[dict], Result],
    ) -> Result:
        """``measure()``'s result, or the one recorded under ``key`` by an earlier invocation."""
        path = self.folder / f"{key}.json"
        record = None if self.fresh else _read_record(path)
        if record is not None and record.get("identity") == self.identity:
            print(f"[benchmark] {key}: reusing the measurement of {record['finished']}", flush=True)
            self.spans.append((record["started"], record["finished"], True, record.get("commit")))
            return decode(record["result"])
        if record is not None:
            print(f"[benchmark] {key}: recorded for another source or machine; measuring again")
        started = _now()
        result = measure()
        record = {
            "key": key,
            "identity": self.identity,
            "started": started,
            "finished": _now(),
            "commit": self.commit,
            "result": encode(result),
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        partial.write_text(json.dumps(record, indent=2))
        os.replace(partial, path)
        self.spans.append((record["started"], record["finished"], False, self.commit))
        return result

    def describe(self) -> str:
        """When the report's measurements were taken, and how many were resumed."""
        if not self.spans:
            return "no measurements"
        first = min(span[0] for span in self.spans)
        last = max(span[1] for span in self.spans)
        reused = sum(span[2] for span in self.spans)
        commits = sorted({(span[3] or "unrecorded")[:12] for span in self.spans})
        text = (
            f"between {first[:16].replace('T', ' ')} and {last[:16].replace('T', ' ')} UTC, "
            f"source {self.identity['source']} (commit {', '.join(commits)})"
        )
        if reused:
            text += (
                f"; {reused} of its {len(self.spans)} measurements recorded by an earlier "
                "invocation at the same source, on this machine, and reused"
            )
        return text


def _read_record(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def benchmark_identity(root: Path, seed: int) -> dict[str, str]:
    """What a reusable measurement must share with this invocation."""
    machine = machine_description()
    return {
        "source": source_fingerprint(root),
        "machine": f"{machine['cores']} cores, {machine['cpu']}",
        "data": str(Path(mirror).resolve()) if (mirror := os.environ.get(MIRROR_ENV_VAR)) else "",
        "seed": str(seed),
    }


def _kedro_child(tracking_uri: str) -> tuple[str, dict[str, str]]:
    """This environment's ``kedro`` executable and the environment its runs get."""
    kedro = str(Path(sys.executable).parent / "kedro")
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "KEDRO_DISABLE_TELEMETRY": "1"}
    if env.get(MIRROR_ENV_VAR):
        # Absolute, for the runs that start in a project copy elsewhere.
        env[MIRROR_ENV_VAR] = str(Path(env[MIRROR_ENV_VAR]).resolve())
    return kedro, env


def _measured_kedro(
    arguments: list[str], log: Path, tracking_uri: str, cwd: Path | None = None
) -> dict:
    """``kedro <arguments>`` in a child process: wall time and peak memory; output in ``log``."""
    kedro, env = _kedro_child(tracking_uri)
    print(f"[benchmark] {' '.join(arguments)} (log: {log})", flush=True)
    measured = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(log.resolve()), kedro, *arguments],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    outcome = json.loads(measured.stdout.strip().splitlines()[-1])
    if outcome["returncode"] != 0:
        raise RuntimeError(f"kedro {' '.join(arguments)} failed; see {log}")
    return outcome


def _kedro_run_arguments(pipeline: str, seed: int, params: str, env: str) -> list[str]:
    arguments = ["run", "--pipelines", pipeline, "--params"]
    arguments.append(",".join(p for p in (f"seed={seed}", params) if p))
    return arguments + (["--env", env] if env else [])


def _newest_runs(tracking_uri: str, pipeline: str, count: int = 1, where: str = "") -> list:
    """The ``count`` newest MLflow runs of ``pipeline``'s experiment (``where``: an MLflow
    filter string), newest first."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    experiment = client.get_experiment_by_name(pipeline)
    if experiment is None:
        return []
    return client.search_runs(
        [experiment.experiment_id],
        filter_string=where,
        order_by=["attributes.start_time DESC"],
        max_results=count,
    )


def run_key(pipeline: str, seed: int, params: str = "", env: str = "") -> str:
    """A ``kedro run``'s name among the benchmark's logs and measurements."""
    suffix = (f"-{env}" if env else "") + (f"-{params.replace('=', '-')}" if params else "")
    return f"{pipeline}-seed{seed}{suffix}"


def set_aside_pretraining_checkpoints(root: Path) -> Path | None:
    """Move ``root``'s pre-training checkpoints to a folder of their own, so the timed run
    pre-trains from its first step; the folder it moved them to, or None if there were none.

    A checkpoint's fingerprint covers the data, settings and seed, not the code: a
    checkpoint left by an earlier run (another benchmark, the user's own) would otherwise
    be resumed, and a run that resumes at its last epoch times nothing. Moved, not
    deleted: a user's interrupted pre-training can still be put back."""
    checkpoints = root / PRETRAINING_CHECKPOINTS
    if not checkpoints.is_dir() or not any(checkpoints.iterdir()):
        return None
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    aside = checkpoints.with_name(f"{checkpoints.name}-set-aside-by-benchmark-{stamp}")
    checkpoints.rename(aside)
    return aside


def run_pipeline(
    pipeline: str, seed: int, params: str, log_dir: Path, tracking_uri: str, env: str = ""
) -> RunResult:
    """``kedro run --pipelines <pipeline>`` in a child process, measured; metrics from MLflow."""
    label = pipeline + (f" --env {env}" if env else "") + (f" ({params})" if params else "")
    log_dir.mkdir(parents=True, exist_ok=True)
    if pipeline == "imdb_pretrain" and (aside := set_aside_pretraining_checkpoints(Path.cwd())):
        print(f"[benchmark] earlier pre-training checkpoints moved to {aside}", flush=True)
    log = log_dir / f"{run_key(pipeline, seed, params, env)}.log"
    outcome = _measured_kedro(_kedro_run_arguments(pipeline, seed, params, env), log, tracking_uri)
    (run,) = _newest_runs(tracking_uri, pipeline)
    result = RunResult(
        pipeline=pipeline,
        label=label,
        seed=seed,
        wall_seconds=outcome["wall_seconds"],
        peak_rss_kb=outcome["peak_rss_kb"],
        metrics=dict(run.data.metrics),
        run_id=run.info.run_id,
        env=env,
        params=params,
    )
    print(f"[benchmark] {label}: {json.dumps(_summary(result))}", flush=True)
    return result


def run_sweep(target: PlanetoidTarget, seeds: str, log_dir: Path, tracking_uri: str) -> SweepResult:
    """``kedro seeds --pipelines cora_gcn`` for one configuration, measured in a child process."""
    log_dir.mkdir(parents=True, exist_ok=True)
    name = f"cora_gcn-{target.name}-seeds"
    log, output = log_dir / f"{name}.log", log_dir / f"{name}.json"
    arguments = [
        "seeds",
        "--pipelines",
        "cora_gcn",
        "--seeds",
        seeds,
        *(["--params", target.params] if target.params else []),
        *(["--env", target.env] if target.env else []),
        "--metrics",
        "test_accuracy,test_macro_f1,selected_val_accuracy,mean_epoch_seconds,epochs_trained,"
        "outside_training_seconds",
        "--output",
        str(output),
    ]
    outcome = _measured_kedro(arguments, log, tracking_uri)
    result = SweepResult(
        target, json.loads(output.read_text()), outcome["wall_seconds"], outcome["peak_rss_kb"]
    )
    print(f"[benchmark] {name}: {json.dumps(result.sweep['summary'])}", flush=True)
    return result


#: Issue 25's throughput targets: ``kedro seeds`` over 10 GCN seeds, and the time a
#: ``kedro sweep`` trial spends outside training.
MAX_TEN_SEEDS_SECONDS = 30.0
MAX_OUTSIDE_TRAINING_PER_TRIAL = 1.0
#: The sweep the benchmark times: the GCN's search space on the Planetoid split.
TIMED_SWEEP_PIPELINE = "cora_gcn"
TIMED_SWEEP_TRIALS = 40
TIMED_SWEEP_PARAMS = "cora_gcn.split=planetoid,cora_gcn.training.verbose=false"


@dataclass
class SweepTiming:
    """One ``kedro sweep`` in a fresh project copy: its ``--output`` record, wall time and
    peak memory."""

    pipeline: str
    trials: int
    workers: int
    params: str
    outcome: dict
    wall_seconds: float
    peak_rss_kb: int

    @property
    def command(self) -> str:
        return (
            f"kedro sweep --pipelines {self.pipeline} --trials {self.trials} --workers "
            f'{self.workers} --test-seeds "" --params {self.params}'
        )

    def met(self) -> bool:
        outside = self.outcome.get("mean_outside_training_seconds")
        return outside is not None and outside <= MAX_OUTSIDE_TRAINING_PER_TRIAL


def fresh_project_copy(root: Path, project: Path) -> Path:
    """A copy of the Kedro project at ``root`` without its data, runs or ``conf/local``:
    the package imported is the installed one, so ``src/`` stays empty."""
    project.mkdir(parents=True)
    shutil.copytree(root / "conf", project / "conf", ignore=shutil.ignore_patterns("local"))
    (project / "conf" / "local").mkdir()
    for name in ("pyproject.toml", ".telemetry"):
        if (root / name).is_file():
            shutil.copy(root / name, project / name)
    (project / "src").mkdir()  # kedro refuses a project without its source folder
    for layer in (
        "01_raw",
        "02_intermediate",
        "03_primary",
        "04_feature",
        "05_model_input",
        "06_models",
        "07_model_output",
        "08_reporting",
    ):
        (project / "data" / layer).mkdir(parents=True)
    return project


def time_sweep(pipeline: str, trials: int, workers: int, params: str, log_dir: Path) -> SweepTiming:
    """``kedro sweep`` in a fresh project copy (its own tracking store and Optuna study, so
    every trial is new), measured in a child process. Its sampler's seed is the project's
    ``seed`` parameter (``kedro sweep`` takes no seed in ``--params``)."""
    name = f"sweep-{pipeline}-trials{trials}-workers{workers}"
    project = (log_dir / name).resolve()
    shutil.rmtree(project, ignore_errors=True)
    fresh_project_copy(Path.cwd(), project)
    output = project / "sweep.json"
    arguments = [
        "sweep",
        "--pipelines",
        pipeline,
        "--trials",
        str(trials),
        "--workers",
        str(workers),
        "--test-seeds",
        "",
        "--params",
        params,
        "--output",
        str(output),
    ]
    tracking_uri = f"sqlite:///{project / 'mlflow.db'}"
    outcome = _measured_kedro(arguments, log_dir / f"{name}.log", tracking_uri, cwd=project)
    result = SweepTiming(
        pipeline,
        trials,
        workers,
        params,
        json.loads(output.read_text()),
        outcome["wall_seconds"],
        outcome["peak_rss_kb"],
    )
    print(f"[benchmark] {name}: {json.dumps(result.outcome)}", flush=True)
    return result


@dataclass
class ConcurrentRun:
    """One of the runs started together: its exit code and the MLflow run it recorded."""

    pipeline: str
    returncode: int
    log: str
    metrics: dict[str, float] | None = None  # None: no FINISHED run recorded
    run_id: str = ""


@dataclass
class ConcurrencyResult:
    """Runs started at the same moment in one checkout, on one tracking store."""

    runs: list[ConcurrentRun]
    seed: int
    wall_seconds: float

    @property
    def finished(self) -> int:
        return sum(run.returncode == 0 for run in self.runs)

    @property
    def recorded(self) -> int:
        return sum(run.metrics is not None for run in self.runs)

    def matched(self, solo: dict[str, RunResult]) -> int:
        """Recorded runs whose quality metrics equal the solo run's of the same pipeline."""
        return sum(
            run.metrics is not None
            and run.pipeline in solo
            and _deterministic_metrics(run.pipeline, run.metrics)
            == _deterministic_metrics(run.pipeline, solo[run.pipeline].metrics)
            for run in self.runs
        )


def _deterministic_metrics(pipeline: str, metrics: dict[str, float]) -> dict[str, float]:
    """The quality metrics the benchmark shows for ``pipeline``, timings left out."""
    names = [n for n in EXPECTATIONS[pipeline].quality if "seconds" not in n]
    return {name: metrics.get(name) for name in names}


def run_together(
    pipelines: list[str], seed: int, log_dir: Path, tracking_uri: str
) -> ConcurrencyResult:
    """Start ``kedro run --pipelines <p>`` for every entry at once; wait; read what MLflow has."""
    import time

    kedro, env = _kedro_child(tracking_uri)
    log_dir.mkdir(parents=True, exist_ok=True)
    started_ms = int(time.time() * 1000)
    print(f"[benchmark] {len(pipelines)} runs together: {', '.join(pipelines)}", flush=True)
    start = time.perf_counter()
    started = []
    for index, pipeline in enumerate(pipelines):
        log = log_dir / f"together-{index}-{pipeline}-seed{seed}.log"
        stream = open(log, "w")  # noqa: SIM115  (closed once the run ends)
        arguments = _kedro_run_arguments(pipeline, seed, "", "")
        process = subprocess.Popen(
            [kedro, *arguments], env=env, stdout=stream, stderr=subprocess.STDOUT
        )
        started.append((pipeline, process, stream, log))
    runs = []
    for pipeline, process, stream, log in started:
        returncode = process.wait()
        stream.close()
        runs.append(ConcurrentRun(pipeline, returncode, str(log)))
    wall = time.perf_counter() - start
    # Each pipeline's FINISHED runs since the start, handed out to its processes in turn.
    since = f"attributes.start_time >= {started_ms} and attributes.status = 'FINISHED'"
    for pipeline in set(pipelines):
        new = _newest_runs(tracking_uri, pipeline, len(pipelines), since)
        for run, recorded in zip((r for r in runs if r.pipeline == pipeline), new, strict=False):
            run.metrics, run.run_id = dict(recorded.data.metrics), recorded.info.run_id
    result = ConcurrencyResult(runs, seed, wall)
    print(
        f"[benchmark] together: {result.finished} finished, {result.recorded} recorded, "
        f"{wall:.1f} s",
        flush=True,
    )
    return result


def _concurrency_lines(result: ConcurrencyResult | None, solo: list[RunResult]) -> list[str]:
    if result is None:
        return []
    by_pipeline = {r.pipeline: r for r in solo if not r.env and not r.params}
    started = len(result.runs)
    matched = result.matched(by_pipeline)
    met = result.finished == result.recorded == matched == started
    names = ", ".join(run.pipeline for run in result.runs)
    return [
        "",
        "Runs started together in one checkout on one tracking store (seed "
        f"{result.seed}; each compared with the solo run of the same pipeline above, on "
        "every quality metric shown there, timings left out):",
        "",
        "| runs started together | finished | recorded in MLflow | matched their solo metrics "
        "| wall time, all (s) | target | met |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        f"| {started} ({names}) | {result.finished} | {result.recorded} | {matched} "
        f"| {_cut(result.wall_seconds, 1)} | all finish, are recorded and match "
        f"| {'yes' if met else '**no**'} |",
    ]


def _imdb_lines(results: list[RunResult]) -> list[str]:
    """The transformers and the TF-IDF baseline fitted in each of their runs, side by side."""
    runs = [
        r
        for r in results
        if r.pipeline == "imdb_transformer" and r.params in ("", SCRATCH_ABLATION)
    ]
    if not runs:
        return []
    lines = [
        "",
        "imdb_transformer: the reference, tuned and pre-trained transformers, the pre-trained "
        "one's ablation, and the TF-IDF + logistic regression baseline each run fits on the "
        "same training reviews (test set: the 25,000 test reviews):",
        "",
        "| model | test_accuracy | test_roc_auc | test_f1 | fit_seconds | peak memory (GiB) "
        "| target | met | published |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in runs:
        m = run.metrics
        name, target, met, published = _imdb_row(run, m)
        lines.append(
            f"| {name} | {_metric(m, 'test_accuracy')} | {_metric(m, 'test_roc_auc')} "
            f"| {_metric(m, 'test_f1')} | {_cut(m.get('fit_seconds', math.nan), 1)} "
            f"| {_cut(run.peak_gib, 2)} | {target} | {met} | {published} |"
        )
        if "baseline_test_accuracy" in m:
            which = {"tuned": "tuned", "pretrained": "pre-trained"}.get(run.env, "reference")
            which = "ablation" if run.params == SCRATCH_ABLATION else which
            lines.append(
                f"| TF-IDF word 1-2-grams + logistic regression, fitted in the {which} run "
                f"| {_metric(m, 'baseline_test_accuracy')} "
                f"| {_metric(m, 'baseline_test_roc_auc')} | {_metric(m, 'baseline_test_f1')} "
                f"| {_cut(m.get('baseline_fit_seconds', math.nan), 1)} | (same process) "
                "| the baseline to beat | - | what a practitioner tries first |"
            )
    return lines


def _imdb_row(run: RunResult, m: dict[str, float]) -> tuple[str, str, str, str]:
    """(name, target, met, published) of one imdb_transformer run in the IMDB table."""
    if run.params == SCRATCH_ABLATION:
        return (
            "ablation: the pre-trained run's classifier from random weights "
            f"(`--env pretrained --params {SCRATCH_ABLATION}`)",
            "below the pre-trained run",
            "-",
            "what pre-training bought",
        )
    if run.env == "pretrained":
        met = EXPECTATIONS["imdb_transformer@pretrained"].check(m, run)
        return (
            "transformer pre-trained on IMDB's reviews, fine-tuned (`--env pretrained`)",
            f">= {PRETRAINED_MIN_ACCURACY} and > the baseline (moonshot 0.928)",
            "yes" if met else "**no**",
            "NBSVM 0.9122; Dai and Le 0.9276",
        )
    if run.env == "tuned":
        return (
            "transformer, `--env tuned`",
            "> the baseline of the same run (moonshot 0.92)",
            "yes" if _beats_its_baseline(m) else "**no**",
            "NBSVM with word bigrams 0.912",
        )
    met = m.get("test_accuracy", 0) >= IMDB_REFERENCE_MIN_ACCURACY
    return (
        "transformer, reference (`conf/base`)",
        f">= {IMDB_REFERENCE_MIN_ACCURACY} (the textbook's configuration)",
        "yes" if met else "**no**",
        "keras-io 0.8745; textbook 0.816",
    )


def _metric(metrics: dict[str, float], name: str) -> str:
    return _format(metrics[name]) if name in metrics else "missing"


def _nab_scoreboard_lines(results: list[RunResult], published: list[dict]) -> list[str]:
    """This detector's corpus scores among NAB's published detectors, best first."""
    from advanced_dl.pipelines.nab_benchmark.nodes import THIS_RUN_SOURCE, build_scoreboard

    ours = next((r for r in results if r.pipeline == "nab_benchmark" and not r.params), None)
    if ours is None or not published:
        return []
    m = ours.metrics
    rows = []
    # The pipeline's own scoreboard table orders the detectors; this one only formats it.
    for entry in build_scoreboard(m, published, "").itertuples(index=False):
        if entry.source == THIS_RUN_SOURCE:
            rows.append(
                f"| **LSTM-VAE + next-value network + out-of-range rule (this project, "
                "`nab_benchmark`)** "
                f"| **{_metric(m, 'corpus_score_standard')}** "
                f"| {_metric(m, 'corpus_score_reward_low_fp')} "
                f"| {_metric(m, 'corpus_score_reward_low_fn')} | measured above |"
            )
            continue
        profile = [
            "-" if math.isnan(score) else f"{score:.1f}"
            for score in (entry.standard, entry.reward_low_fp, entry.reward_low_fn)
        ]
        rows.append(f"| {entry.detector} | {' | '.join(profile)} | {entry.source} |")
    return [
        "",
        "nab_benchmark among NAB's published detectors (corpus scores, NAB's thresholds "
        "optimised per profile over the whole corpus; NAB v1.1 scoreboard, "
        "numenta/NAB results/final_results.json; '-': a profile not quoted). "
        "With a label-free threshold, from each series' probationary rows only, this "
        f"detector scores {_metric(m, 'corpus_score_standard_label_free')} (standard profile). "
        "Each part of its score alone, with a corpus threshold of its own chosen the same way: "
        f"the learned parts {_metric(m, 'corpus_score_standard_learned_alone')}, "
        f"the out-of-range rule {_metric(m, 'corpus_score_standard_out_of_range_alone')}. "
        "Each category scored with the settings and threshold chosen on the other categories "
        "only (leave one category out; standard / low FP / low FN): "
        f"{_metric(m, 'corpus_score_standard_cross_category')} / "
        f"{_metric(m, 'corpus_score_reward_low_fp_cross_category')} / "
        f"{_metric(m, 'corpus_score_reward_low_fn_cross_category')}:",
        "",
        "| detector | standard | reward_low_FP | reward_low_FN | source |",
        "| --- | --- | --- | --- | --- |",
        *rows,
    ]


def published_nab_scores(parameters: Path = Path("conf/base/parameters_nab_benchmark.yml")):
    """NAB's scoreboard as the project's parameters quote it (empty if the file is absent)."""
    import yaml

    if not parameters.is_file():
        return []
    return yaml.safe_load(parameters.read_text())["nab_benchmark"]["published_scores"]


def _planetoid_lines(sweeps: list[SweepResult]) -> list[str]:
    """The table of the Planetoid sweeps: mean and standard deviation over the seeds."""
    if not sweeps:
        return []
    lines = [
        "",
        "cora_gcn on the Planetoid split, each configuration over the same seeds "
        "(`kedro seeds`; standard deviation with n - 1; time per epoch includes validation):",
        "",
        "| dataset | architecture | seeds | test_accuracy mean +/- std | min - max "
        "| validation accuracy (mean) | time per epoch (ms) | epochs trained (mean) "
        "| sweep wall time (s) | target | met | published |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for result in sweeps:
        target, summary = result.target, result.sweep["summary"]
        accuracy = summary["test_accuracy"]
        seeds = [run["seed"] for run in result.sweep["runs"]]
        speed = f"; <= {target.max_epoch_ms:g} ms per epoch" if target.max_epoch_ms else ""
        architecture = target.architecture + (f" (`--env {target.env}`)" if target.env else "")
        # The validation accuracy of the kept weights (older sweeps did not record it).
        kept = summary.get("selected_val_accuracy")
        validation = _cut(kept["mean"], 4) if kept else "-"
        lines.append(
            f"| {target.dataset} | {architecture} | {seeds[0]}-{seeds[-1]} ({len(seeds)}) "
            f"| {_cut(accuracy['mean'], 4)} +/- {_cut(accuracy['std'], 4)} "
            f"| {_cut(accuracy['minimum'], 4)} - {_cut(accuracy['maximum'], 4)} "
            f"| {validation} | {_cut(1000 * summary['mean_epoch_seconds']['mean'], 2)} "
            f"| {_cut(summary['epochs_trained']['mean'], 1)} | {_cut(result.wall_seconds, 1)} "
            f"| mean >= {target.min_accuracy:g}{speed} "
            f"| {'yes' if result.met() else '**no**'} | {target.paper} |"
        )
    ensembles = [r.target.architecture for r in sweeps if "+" in r.target.architecture]
    if ensembles:
        lines += [
            "",
            f"An ensemble ({', '.join(f'`{a}`' for a in ensembles)}) trains its members in "
            "turn: its time per epoch and epochs trained are its first member's; each "
            "member's are logged as `<member>_epochs_trained` and `<member>_fit_seconds`.",
        ]
    lines += [
        "",
        "Seed sweeps (MLflow tag `seed_sweep`): "
        + ", ".join(f"{r.target.name} `{r.sweep['seed_sweep']}`" for r in sweeps),
    ]
    return lines


def _fanout_lines(planetoid: list[SweepResult], sweeps: list[SweepTiming]) -> list[str]:
    """``kedro seeds`` (the Planetoid GCN's seeds) and ``kedro sweep`` on warm Dask workers."""
    seeds = next((r for r in planetoid if r.target.name == "cora-gcn"), None)
    if seeds is None and not sweeps:
        return []
    lines = [
        "",
        "Seeds and sweeps on warm Dask workers (`src/advanced_dl/fanout/`; each sweep in a "
        "fresh project copy with its own tracking store and Optuna study):",
        "",
        "| command | result | wall time (s) | per trial or seed | target | met |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    if seeds is not None:
        runs, summary = seeds.sweep["runs"], seeds.sweep["summary"]
        accuracy = summary["test_accuracy"]
        per_seed = f"{_cut(seeds.wall_seconds / len(runs), 3)} s per seed"
        if "outside_training_seconds" in summary:
            outside = summary["outside_training_seconds"]
            per_seed += (
                f", {_cut(outside['mean'], 3)} s of it outside training (mean; "
                f"{_cut(outside['minimum'], 3)} to {_cut(outside['maximum'], 3)})"
            )
        limit = MAX_TEN_SEEDS_SECONDS * len(runs) / 10
        lines.append(
            f"| `kedro seeds --pipelines cora_gcn --seeds {runs[0]['seed']}-{runs[-1]['seed']} "
            f"--params {seeds.target.params}` | test_accuracy {_cut(accuracy['mean'], 4)} "
            f"+/- {_cut(accuracy['std'], 4)} | {_cut(seeds.wall_seconds, 2)} (whole command) "
            f"| {per_seed} | {len(runs)} seeds <= {limit:g} s "
            f"| {'yes' if seeds.wall_seconds <= limit else '**no**'} |"
        )
    for sweep in sweeps:
        outcome = sweep.outcome
        lines.append(
            f"| `{sweep.command}` | best validation {outcome['objective']} "
            f"{_format(outcome['best_value'])} after {outcome['finished_trials']} trials "
            f"| {_cut(sweep.wall_seconds, 2)} (trials: {_cut(outcome['wall_seconds'], 1)}) "
            f"| {_cut(outcome['trials_per_minute'], 2)} trials per minute; "
            f"{_cut(outcome['mean_outside_training_seconds'], 2)} s outside training per "
            f"trial (mean) | outside training <= {MAX_OUTSIDE_TRAINING_PER_TRIAL:g} s "
            f"| {'yes' if sweep.met() else '**no**'} |"
        )
    return lines


def replace_marked_block(text: str, block: str, name: str = "benchmark") -> str:
    """``text`` with what lies between ``<!-- <name>:begin -->`` and ``<!-- <name>:end -->``
    replaced by ``block``; a ValueError when the markers are missing."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        raise ValueError(f"the markers {begin} and {end} were not found in this order")
    return text[: start + len(begin)] + "\n" + block.strip("\n") + "\n" + text[stop:]


def readme_tables(report: str, source: str) -> str:
    """The README's copy of the report: one line on where it comes from, then the tables
    (the report's opening paragraph and its run ids left out)."""
    lines = report.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("| pipeline |"))
    last = next((i for i, line in enumerate(lines) if line.startswith("Run ids")), len(lines))
    return "\n".join([source, "", *lines[first:last]]).rstrip() + "\n"


def _summary(result: RunResult) -> dict[str, float]:
    shown = (*EXPECTATIONS[result.key].quality, "fit_seconds")
    summary = {name: result.metrics[name] for name in shown if name in result.metrics}
    summary.update(wall_seconds=result.wall_seconds, peak_rss_gib=result.peak_gib)
    return summary


def _cut(value: float, digits: int) -> str:
    """``value`` with ``digits`` decimals, cut (toward zero), never rounded up."""
    if not math.isfinite(value):
        return str(value)
    # Decimal of 12 significant digits, so 0.816 stays 0.8160 rather than 0.8159, and a mean
    # of ten accuracies that is 0.831 exactly (4,155 of 5,000 nodes) but sums in binary to
    # 0.8309999999999998 stays 0.8310.
    exact = Decimal(f"{float(value):.12g}")
    return str(exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_DOWN))


def _format(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return _cut(value, 4) if abs(value) < 100 else _cut(value, 1)


def _workers_lines(runs: list[RunResult]) -> list[str]:
    """nab_benchmark with each worker count: its wall time, speed-up over the fewest workers,
    and whether the scores agree."""
    if len(runs) < 2:
        return []
    runs = sorted(runs, key=lambda r: r.metrics["workers"])
    first = runs[0]
    described = "; ".join(
        f"{int(r.metrics['workers'])} worker(s): wall_seconds {_cut(r.metrics['wall_seconds'], 1)}"
        f" (whole run {_cut(r.wall_seconds, 1)} s), mean per series "
        f"{_cut(r.metrics['mean_series_seconds'], 2)} s, speed-up "
        f"{_cut(first.metrics['wall_seconds'] / r.metrics['wall_seconds'], 2)}"
        for r in runs
    )
    scores = {
        name: {r.metrics[name] for r in runs}
        for name in first.metrics
        if name.startswith("corpus_score")
    }
    same = all(len(values) == 1 for values in scores.values())
    return [
        "",
        f"nab_benchmark by Dask worker count (speed-up over the fewest): {described}; "
        f"corpus scores {'identical' if same else '**different**'} across worker counts.",
    ]


def render(
    results: list[RunResult],
    planetoid: list[SweepResult],
    seed: int,
    measured: dt.datetime | str,
    nab_workers: list[RunResult] | None = None,
    concurrency: ConcurrencyResult | None = None,
    published_nab: list[dict] | None = None,
    sweeps: list[SweepTiming] | None = None,
    command: str = "python -m advanced_dl.benchmark",
) -> str:
    """The Markdown of ``benchmarks/RESULTS.md``; ``measured``: when (a moment, or the
    span a resumed benchmark's measurements cover)."""
    machine = machine_description()
    when = f"{measured:%Y-%m-%d %H:%M} UTC" if isinstance(measured, dt.datetime) else measured
    lines = [
        "# Benchmark results",
        "",
        f"Measured by `{command.strip()}` "
        f"on {machine['cores']} cores, {machine['memory']} RAM, {machine['cpu']}; "
        f"seed {seed}; defaults of `conf/base`; data from "
        f"`{os.environ.get(MIRROR_ENV_VAR) or 'the canonical sources'}`. "
        f"Measurements taken {when}.",
        "Wall time is the whole `kedro run` (start-up, data, training, tracking); "
        "peak memory is the run's peak resident set size, in GiB (1 GiB = 1.074 GB; "
        "targets in GB are checked in bytes). Figures are as measured, "
        "cut (never rounded up) to the digits shown.",
        "",
        "| pipeline | quality (test) | fit_seconds | wall time (s) | outside training (s) "
        "| peak memory (GiB) | target | met | published reference |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    missed: list[str] = []
    for result in results:
        expectation = EXPECTATIONS[result.key]
        quality = ", ".join(
            f"{name} {_format(result.metrics[name])}"
            for name in expectation.quality
            if name in result.metrics
        )
        try:
            met = "yes" if expectation.check(result.metrics, result) else "**no**"
        except KeyError as missing:
            met = f"**no** (metric {missing} missing)"
        fit = _cut(result.metrics.get("fit_seconds", math.nan), 1)
        outside = result.outside_training_seconds
        # fit_seconds summed over parallel workers can exceed the wall time.
        outside_text = _cut(outside, 1) if outside >= 0 else "n/a (fits in parallel)"
        lines.append(
            f"| {result.label} | {quality} | {fit} "
            f"| {_cut(result.wall_seconds, 1)} | {outside_text} "
            f"| {_cut(result.peak_gib, 2)} | {expectation.target} | {met} "
            f"| {expectation.reference} |"
        )
        if met != "yes":
            missed.append(
                f"- {result.label}: target not met; {expectation.why_missed or 'see above'}."
            )
    if missed:
        lines += ["", *missed]
    lines += _imdb_lines(results)
    lines += _nab_scoreboard_lines(results, published_nab or [])
    lines += _planetoid_lines(planetoid)
    lines += _fanout_lines(planetoid, sweeps or [])
    nab_workers = nab_workers or []
    lines += _workers_lines([r for r in results if r.pipeline == "nab_benchmark"] + nab_workers)
    lines += _concurrency_lines(concurrency, results)
    lines += [
        "",
        "Run ids (MLflow): "
        + ", ".join(f"{r.label} seed {r.seed}: `{r.run_id}`" for r in results + nab_workers),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pipelines", default=",".join(PIPELINES), help="comma-separated")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--planetoid-seeds",
        default="42-51",
        help="seeds of each cora_gcn Planetoid configuration, as kedro seeds takes them "
        "(empty: skip)",
    )
    parser.add_argument(
        "--planetoid-configurations",
        default="",
        help="which Planetoid configurations to sweep, e.g. cora-gcnii-cora_gcnii (default: "
        "the four paper configurations and the two tuned ones)",
    )
    parser.add_argument(
        "--nab-workers",
        default="1",
        help="Dask worker counts of extra nab_benchmark runs, compared with the default run "
        "(one worker per core) for the speed-up (empty: skip)",
    )
    parser.add_argument(
        "--imdb-envs",
        default=IMDB_ENVIRONMENTS,
        help="Kedro environments of extra imdb_transformer runs; 'pretrained' needs "
        "imdb_pretrain in --pipelines or an encoder already registered (empty: skip)",
    )
    parser.add_argument(
        "--together",
        default="mdn_synthetic,mdn_synthetic,nab_anomaly,cora_gcn",
        help="pipelines started at the same moment, each compared with its solo run (empty: skip)",
    )
    parser.add_argument("--output", type=Path, default=Path("benchmarks/RESULTS.md"))
    parser.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db"),
        help="MLflow store the runs go to (default: the project's)",
    )
    parser.add_argument("--log-dir", type=Path, default=Path("benchmarks/runs"))
    parser.add_argument(
        "--sweep-workers",
        default="1,2",
        help=f"Dask worker counts of the timed `kedro sweep` (--sweep-trials "
        f"{TIMED_SWEEP_PIPELINE} trials each; needs {TIMED_SWEEP_PIPELINE} in --pipelines; "
        "empty: skip)",
    )
    parser.add_argument("--sweep-trials", type=int, default=TIMED_SWEEP_TRIALS)
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="measure everything again instead of reusing what an interrupted invocation "
        "of the same command recorded",
    )
    parser.add_argument(
        "--readme",
        type=Path,
        default=Path("README.md"),
        help="file whose <!-- benchmark:begin/end --> block gets the report's tables "
        "(skipped when it has no such block)",
    )
    args = parser.parse_args(argv)

    names = [n for n in args.pipelines.split(",") if n]
    unknown = sorted(set(names) - set(PIPELINES))
    if unknown:
        parser.error(f"unknown pipelines {unknown}; expected some of {sorted(PIPELINES)}")
    store = MeasurementStore(
        args.log_dir / "measured",
        benchmark_identity(Path.cwd(), args.seed),
        fresh=args.fresh,
        commit=git_commit(Path.cwd()),
    )

    def kedro_run(pipeline: str, params: str = "", env: str = "") -> RunResult:
        return store.measure(
            run_key(pipeline, args.seed, params, env),
            lambda: run_pipeline(pipeline, args.seed, params, args.log_dir, args.tracking_uri, env),
            asdict,
            lambda record: RunResult(**record),
        )

    results = [kedro_run(name) for name in names]
    if "imdb_transformer" in names:
        for env in (e for e in args.imdb_envs.split(",") if e):
            # The pre-trained run brings its ablation: the same classifier from random weights.
            for params in ("", SCRATCH_ABLATION) if env == "pretrained" else ("",):
                results.append(kedro_run("imdb_transformer", params, env))
    # Short measurements first, the extra NAB runs and the long tuned graph models last:
    # a benchmark cut off (the end of a working session) then loses the least.
    defaults = PLANETOID_TARGETS + TUNED_PLANETOID_TARGETS
    targets = {t.name: t for t in defaults + OTHER_PLANETOID_TARGETS}
    chosen = [c for c in args.planetoid_configurations.split(",") if c] or [
        t.name for t in defaults
    ]
    if set(chosen) - set(targets):
        parser.error(
            f"unknown Planetoid configurations {sorted(set(chosen) - set(targets))}; "
            f"expected some of {sorted(targets)}"
        )
    run_planetoid = "cora_gcn" in names and bool(args.planetoid_seeds)

    def seeds_of(configurations: tuple[PlanetoidTarget, ...]) -> list[SweepResult]:
        return [
            store.measure(
                f"cora_gcn-{target.name}-seeds{args.planetoid_seeds}",
                lambda target=target: run_sweep(
                    target, args.planetoid_seeds, args.log_dir, args.tracking_uri
                ),
                lambda r: {**asdict(r), "target": r.target.name},
                lambda record: SweepResult(**{**record, "target": targets[record["target"]]}),
            )
            for target in configurations
            if run_planetoid and target.name in chosen
        ]

    planetoid = seeds_of(PLANETOID_TARGETS)
    sweeps = []
    if TIMED_SWEEP_PIPELINE in names and args.sweep_workers:
        sweeps = [
            store.measure(
                f"sweep-{TIMED_SWEEP_PIPELINE}-trials{args.sweep_trials}-workers{w}",
                lambda w=int(w): time_sweep(
                    TIMED_SWEEP_PIPELINE,
                    args.sweep_trials,
                    w,
                    TIMED_SWEEP_PARAMS,
                    args.log_dir,
                ),
                asdict,
                lambda record: SweepTiming(**record),
            )
            for w in args.sweep_workers.split(",")
        ]
    together = [n for n in args.together.split(",") if n]
    concurrency = None
    if together:
        concurrency = store.measure(
            f"together-{'-'.join(together)}-seed{args.seed}",
            lambda: run_together(together, args.seed, args.log_dir, args.tracking_uri),
            asdict,
            lambda record: ConcurrencyResult(
                [ConcurrentRun(**run) for run in record["runs"]],
                record["seed"],
                record["wall_seconds"],
            ),
        )
    nab_workers = []
    if "nab_benchmark" in names and args.nab_workers:
        nab_workers = [
            kedro_run("nab_benchmark", f"nab_benchmark.dask.workers={w}")
            for w in args.nab_workers.split(",")
        ]
    # The longest: GRAND on Cora over 10 seeds.
    planetoid += seeds_of(TUNED_PLANETOID_TARGETS + OTHER_PLANETOID_TARGETS)
    command = "python -m advanced_dl.benchmark " + shlex.join(
        sys.argv[1:] if argv is None else argv
    )
    report = render(
        results,
        planetoid,
        args.seed,
        store.describe(),
        nab_workers,
        concurrency=concurrency,
        published_nab=published_nab_scores(),
        sweeps=sweeps,
        command=command,
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    print(f"[benchmark] wrote {args.output}")
    _update_readme(args.readme, report, args.output, store.describe(), command)
    return 0


def _update_readme(readme: Path, report: str, output: Path, when: str, command: str) -> None:
    """Copy the report's tables into ``readme``'s marked block, if it has one."""
    if not readme.is_file():
        return
    machine = machine_description()
    source = (
        f"From [{output.as_posix()}]({output.as_posix()}): measured by `{command.strip()}` "
        f"on {machine['cores']} cores, {machine['cpu']}; measurements taken {when}."
    )
    try:
        updated = replace_marked_block(readme.read_text(), readme_tables(report, source))
    except ValueError as missing:
        print(f"[benchmark] {readme} not updated: {missing}")
        return
    readme.write_text(updated)
    print(f"[benchmark] updated the tables in {readme}")


if __name__ == "__main__":
    raise SystemExit(main())
