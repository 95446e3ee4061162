"""The benchmark's report: targets judged from the measured figures."""

import datetime as dt

from advanced_dl.benchmark import (
    PLANETOID_TARGETS,
    RunResult,
    SweepResult,
    machine_description,
    render,
)
from advanced_dl.seeds import summarise

MDN = {
    "test_ari": 0.94,
    "bayes_optimal_ari": 0.95,
    "test_nmi": 0.9,
    "test_nll": -4.0,
    "mean_error_max": 0.01,
    "fit_seconds": 10.0,
}


def _row(report: str, pipeline: str) -> list[str]:
    line = next(line for line in report.splitlines() if line.startswith(f"| {pipeline} "))
    return [cell.strip() for cell in line.strip("|").split("|")]


def _report(wall: float, metrics: dict, planetoid=()) -> str:
    run = RunResult("mdn_synthetic", "mdn_synthetic", 42, wall, 2 * 1024**2, metrics, "abc")
    return render([run], list(planetoid), 42, dt.datetime(2026, 11, 26, tzinfo=dt.UTC))


def test_targets_met_and_missed():
    cells = _row(_report(wall=20.0, metrics=MDN), "mdn_synthetic")
    assert cells[2:6] == ["10.0", "20.0", "10.0", "2.00"]
    assert cells[7] == "yes"
    # 16 s outside training misses the start-up target.
    slow_start = _report(wall=26.0, metrics=MDN)
    assert _row(slow_start, "mdn_synthetic")[7] == "**no**"
    assert "- mdn_synthetic: target not met; " in slow_start
    # ARI more than 0.02 below the Bayes-optimal one misses the quality target.
    worse = {**MDN, "test_ari": 0.90}
    assert _row(_report(wall=20.0, metrics=worse), "mdn_synthetic")[7] == "**no**"


def test_missing_metric_is_reported_not_hidden():
    partial = {k: v for k, v in MDN.items() if k != "mean_error_max"}
    assert "metric 'mean_error_max' missing" in _row(_report(20.0, partial), "mdn_synthetic")[7]


def _sweep(target, accuracies, epoch_ms) -> SweepResult:
    runs = [
        {"seed": 42 + i, "run_id": f"r{i}", "metrics": {"test_accuracy": a}}
        for i, a in enumerate(accuracies)
    ]
    summary = {
        "test_accuracy": vars(summarise(accuracies)),
        "mean_epoch_seconds": vars(summarise([epoch_ms / 1000] * len(accuracies))),
        "epochs_trained": vars(summarise([200.0] * len(accuracies))),
    }
    sweep = {"seed_sweep": "abc123", "runs": runs, "summary": summary}
    return SweepResult(target, sweep, 100.0, 1024**2)


def test_planetoid_sweeps_show_mean_std_and_both_targets_and_the_machine():
    gcn_cora, _, gat_cora, _ = PLANETOID_TARGETS
    sweeps = [
        _sweep(gcn_cora, [0.81, 0.83], 4.5),  # mean 0.82, fast enough: met
        _sweep(gat_cora, [0.84, 0.84], 26.0),  # accurate but slower than 25 ms: missed
    ]
    report = _report(20.0, MDN, planetoid=sweeps)
    rows = [line for line in report.splitlines() if line.startswith("| cora |")]
    assert "| 0.8200 +/- 0.0141 |" in rows[0] and rows[0].split(" | ")[-2] == "yes"
    assert "| 42-43 (2) |" in rows[0] and "| 4.50 |" in rows[0]
    assert rows[1].split(" | ")[-2] == "**no**" and "<= 25 ms per epoch" in rows[1]
    assert "`abc123`" in report
    machine = machine_description()
    assert f"on {machine['cores']} cores" in report
    assert "seed 42" in report


def test_figures_are_cut_never_rounded_up():
    from advanced_dl.benchmark import _cut

    assert _cut(0.287295, 4) == "0.2872"
    assert _cut(0.816, 4) == "0.8160"
    assert _cut(1.5877, 2) == "1.58"
    assert _cut(-4.069154, 4) == "-4.0691"


def _nab_run(workers: int, wall: float, standard: float) -> RunResult:
    metrics = {
        "corpus_score_standard": standard,
        "workers": float(workers),
        "wall_seconds": wall,
        "mean_series_seconds": 10.0,
        "fit_seconds": 2 * wall,  # summed over workers
    }
    return RunResult("nab_benchmark", "nab_benchmark", 42, wall + 20, 1024**2, metrics, "id")


def test_nab_speed_up_is_over_the_fewest_workers_and_scores_are_compared():
    started = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
    two, one = _nab_run(2, 300.0, 52.5), _nab_run(1, 570.0, 52.5)
    report = render([two], [], 42, started, nab_workers=[one])
    assert "1 worker(s): wall_seconds 570.0" in report
    assert (
        "2 worker(s): wall_seconds 300.0 (whole run 320.0 s), mean per series 10.00 s, "
        "speed-up 1.90" in report
    )
    assert "corpus scores identical across worker counts" in report
    assert _row(report, "nab_benchmark")[7] == "**no**"  # 52.5 <= 58.0
    assert _row(report, "nab_benchmark")[4] == "n/a (fits in parallel)"  # 600 s of fits in 320
    differing = render([two], [], 42, started, nab_workers=[_nab_run(1, 570.0, 52.4)])
    assert "corpus scores **different** across worker counts" in differing
