"""The benchmark's report: targets judged from the measured figures."""

import datetime as dt
import statistics
from pathlib import Path

import yaml

from advanced_dl.benchmark import (
    OTHER_PLANETOID_TARGETS,
    PLANETOID_TARGETS,
    PRETRAINING_CHECKPOINTS,
    TUNED_PLANETOID_TARGETS,
    MeasurementStore,
    RunResult,
    SweepResult,
    machine_description,
    render,
    set_aside_pretraining_checkpoints,
)
from advanced_dl.fanout.seeds import summarise
from tests.conftest import REPO_ROOT

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
    assert "An ensemble" not in report
    machine = machine_description()
    assert f"on {machine['cores']} cores" in report
    assert "seed 42" in report


def test_an_ensembles_row_says_whose_epochs_it_shows():
    cora_tuned = next(t for t in TUNED_PLANETOID_TARGETS if t.env == "cora_tuned")
    report = _report(20.0, MDN, planetoid=[_sweep(cora_tuned, [0.86, 0.85], 500.0)])
    assert "| grand+gcnii (`--env cora_tuned`) |" in report
    assert "An ensemble (`grand+gcnii`) trains its members in turn" in report


def test_figures_are_cut_never_rounded_up():
    from advanced_dl.benchmark import _cut

    assert _cut(0.287295, 4) == "0.2872"
    assert _cut(0.816, 4) == "0.8160"
    accuracies = [0.828, 0.828, 0.832, 0.824, 0.82, 0.842, 0.832, 0.836, 0.836, 0.832]
    assert _cut(statistics.fmean(accuracies), 4) == "0.8310"  # 4,155 of 5,000, exactly
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


IMDB = {
    "test_accuracy": 0.905,
    "test_roc_auc": 0.967,
    "test_f1": 0.904,
    "mean_epoch_seconds": 49.0,
    "fit_seconds": 98.0,
    "baseline_test_accuracy": 0.904,
    "baseline_test_roc_auc": 0.965,
    "baseline_test_f1": 0.9047,
    "baseline_fit_seconds": 7.0,
}


def _imdb_run(env: str, metrics: dict, peak_gib: float) -> RunResult:
    label = "imdb_transformer" + (f" --env {env}" if env else "")
    peak_kb = int(peak_gib * 1024**2)
    return RunResult("imdb_transformer", label, 42, 150.0, peak_kb, metrics, "id", env=env)


def test_the_tuned_transformer_is_judged_against_its_own_runs_baseline_and_4_gb():
    started = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)
    reference = _imdb_run("", {**IMDB, "test_accuracy": 0.874}, 1.6)
    tuned = _imdb_run("tuned", IMDB, 3.7)  # 3.97e9 bytes: under 4 GB
    report = render([reference, tuned], [], 42, started)
    assert _row(report, "imdb_transformer --env tuned")[7] == "yes"
    # 3.8 GiB is 4.08e9 bytes: over 4 GB, although under "4" in GiB.
    heavy = render([reference, _imdb_run("tuned", IMDB, 3.8)], [], 42, started)
    assert _row(heavy, "imdb_transformer --env tuned")[7] == "**no**"
    assert "- imdb_transformer --env tuned: target not met; peak memory" in heavy
    # Below its own run's baseline: missed, whatever the memory.
    beaten = render([_imdb_run("tuned", {**IMDB, "test_accuracy": 0.903}, 1.0)], [], 42, started)
    assert _row(beaten, "imdb_transformer --env tuned")[7] == "**no**"
    # The side-by-side table: each transformer, then the baseline fitted in its run.
    assert _row(report, "transformer, `--env tuned`")[1:3] == ["0.9050", "0.9670"]
    assert _row(report, "transformer, reference (`conf/base`)")[7] == "yes"
    baselines = [line for line in report.splitlines() if line.startswith("| TF-IDF")]
    assert len(baselines) == 2 and "fitted in the tuned run | 0.9040 |" in baselines[1]


def test_nab_corpus_score_is_placed_among_the_published_detectors():
    run = _nab_run(2, 300.0, 52.3833)
    run.metrics.update(
        corpus_score_reward_low_fp=45.4262,
        corpus_score_reward_low_fn=57.8724,
        corpus_score_standard_label_free=46.2998,
        corpus_score_standard_learned_alone=50.125,
        corpus_score_standard_out_of_range_alone=48.5,
        corpus_score_standard_cross_category=47.25,
        corpus_score_reward_low_fp_cross_category=40.5,
        corpus_score_reward_low_fn_cross_category=55.75,
    )
    published = [
        {"detector": "KNN CAD", "standard": 58.0, "reward_low_fp": 43.4,
         "reward_low_fn": 64.8, "source": "NAB scoreboard"},
        {"detector": "Random Cut Forest", "standard": 51.7, "reward_low_fp": None,
         "reward_low_fn": None, "source": "NAB scoreboard"},
    ]  # fmt: skip
    report = render(
        [run], [], 42, dt.datetime(2026, 11, 27, tzinfo=dt.UTC), published_nab=published
    )
    lines = report.splitlines()
    first = lines.index("| detector | standard | reward_low_FP | reward_low_FN | source |")
    order = [line.split(" | ")[0] for line in lines[first + 2 : first + 5]]
    assert order == [
        "| KNN CAD",
        "| **LSTM-VAE + next-value network + out-of-range rule (this project, `nab_benchmark`)**",
        "| Random Cut Forest",
    ]
    assert "| **52.3833** | 45.4262 | 57.8724 |" in lines[first + 3]
    assert "| Random Cut Forest | 51.7 | - | - |" in lines[first + 4]
    assert "this detector scores 46.2998 (standard profile)" in report
    assert "the learned parts 50.1250, the out-of-range rule 48.5000." in report
    assert "(leave one category out; standard / low FP / low FN): 47.2500 / 40.5000 / " in report
    from advanced_dl.benchmark import published_nab_scores

    quoted = {entry["detector"]: entry["standard"] for entry in published_nab_scores()}
    assert quoted["Numenta HTM"] == 70.1 and quoted["ARTime"] == 74.9


def test_runs_started_together_count_as_matched_only_when_their_metrics_equal_the_solo_runs():
    from advanced_dl.benchmark import ConcurrencyResult, ConcurrentRun

    solo = RunResult("mdn_synthetic", "mdn_synthetic", 42, 20.0, 1024**2, MDN, "solo")
    timed_differently = {**MDN, "fit_seconds": 99.0}
    runs = [
        ConcurrentRun("mdn_synthetic", 0, "a.log", timed_differently, "r1"),
        ConcurrentRun("mdn_synthetic", 0, "b.log", {**MDN, "test_nll": -3.9}, "r2"),
        ConcurrentRun("mdn_synthetic", 1, "c.log", None),  # crashed, nothing recorded
    ]
    together = ConcurrencyResult(runs, 42, 61.0)
    assert (together.finished, together.recorded, together.matched({"mdn_synthetic": solo})) == (
        2,
        2,
        1,
    )
    report = render([solo], [], 42, dt.datetime(2026, 11, 27, tzinfo=dt.UTC), concurrency=together)
    row = _row(report, "3 (mdn_synthetic, mdn_synthetic, mdn_synthetic)")
    assert row[1:4] == ["2", "2", "1"] and row[-1] == "**no**"
    all_good = ConcurrencyResult(runs[:1], 42, 30.0)
    good = render([solo], [], 42, dt.datetime(2026, 11, 27, tzinfo=dt.UTC), concurrency=all_good)
    assert _row(good, "1 (mdn_synthetic)")[-1] == "yes"


def test_the_default_pipelines_are_the_projects_pipelines():
    from pathlib import Path

    import advanced_dl.pipelines
    from advanced_dl.benchmark import PIPELINES

    package = Path(advanced_dl.pipelines.__file__).parent
    assert set(PIPELINES) == {path.parent.name for path in package.glob("*/pipeline.py")}


def test_the_pretrained_transformer_is_judged_against_0_920_and_shown_with_its_ablation():
    from advanced_dl.benchmark import SCRATCH_ABLATION

    started = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)
    pretrained = _imdb_run("pretrained", {**IMDB, "test_accuracy": 0.9214}, 2.0)
    pretrained.wall_seconds = 900.0
    ablation = _imdb_run("pretrained", {**IMDB, "test_accuracy": 0.861}, 2.0)
    ablation.params, ablation.label = SCRATCH_ABLATION, "imdb_transformer scratch"
    report = render([pretrained, ablation], [], 42, started)
    assert _row(report, "imdb_transformer --env pretrained")[7] == "yes"
    assert ablation.key.endswith(SCRATCH_ABLATION)
    assert _row(report, "ablation: the pre-trained run's classifier")[1] == "0.8610"
    # Under 0.920, or over 20 minutes of fine-tuning: missed.
    short = _imdb_run("pretrained", {**IMDB, "test_accuracy": 0.9199}, 2.0)
    assert _row(render([short], [], 42, started), "imdb_transformer --env pretrained")[7] == (
        "**no**"
    )


def _pretraining_run(resumed_from_epoch: float) -> RunResult:
    metrics = {
        "val_loss": 3.6,
        "mean_tokens_per_second": 2e4,
        "epochs_trained": 18.0,
        "resumed_from_epoch": resumed_from_epoch,
        "fit_seconds": 2400.0,
    }
    return RunResult("imdb_pretrain", "imdb_pretrain", 42, 2500.0, 4 * 1024**2, metrics, "id")


def test_a_resumed_pretraining_run_does_not_count_as_timed():
    when = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)
    assert _row(render([_pretraining_run(0.0)], [], 42, when), "imdb_pretrain")[7] == "yes"
    resumed = render([_pretraining_run(6.0)], [], 42, when)
    assert _row(resumed, "imdb_pretrain")[7] == "**no**"
    assert "resumed from a checkpoint" in resumed


def test_earlier_pretraining_checkpoints_are_moved_aside_before_pretraining_is_timed(tmp_path):
    # A finished checkpoint left in place made the timed run resume at its last epoch.
    catalog = yaml.safe_load((REPO_ROOT / "conf/base/catalog_imdb_pretrain.yml").read_text())
    assert Path(catalog["imdb_pretrain.checkpoints"]["directory"]) == PRETRAINING_CHECKPOINTS
    assert set_aside_pretraining_checkpoints(tmp_path) is None
    checkpoint = tmp_path / PRETRAINING_CHECKPOINTS / "0123abcd" / "latest.json"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_text("{}")
    aside = set_aside_pretraining_checkpoints(tmp_path)
    assert not (tmp_path / PRETRAINING_CHECKPOINTS).exists()
    assert (aside / "0123abcd" / "latest.json").read_text() == "{}"
    assert aside.parent == (tmp_path / PRETRAINING_CHECKPOINTS).parent


def test_a_resumed_benchmark_reuses_only_what_was_recorded_at_the_same_identity(tmp_path):
    calls = []

    def measure():
        calls.append(1)
        return {"figure": len(calls)}

    def same(x):
        return x

    identity = {"source": "abc", "machine": "2 cores, CPU", "data": "", "seed": "42"}
    first = MeasurementStore(tmp_path, identity)
    assert first.measure("run", measure, same, same) == {"figure": 1}
    # The same command again: recorded, so not measured again; the report says so.
    again = MeasurementStore(tmp_path, identity)
    assert again.measure("run", measure, same, same) == {"figure": 1} and len(calls) == 1
    assert "1 of its 1 measurements recorded by an earlier invocation" in again.describe()
    assert "source abc (commit unrecorded)" in again.describe()
    # Another source (or machine, data, seed), or --fresh: measured again.
    changed = MeasurementStore(tmp_path, {**identity, "source": "def"})
    assert changed.measure("run", measure, same, same) == {"figure": 2}
    assert MeasurementStore(tmp_path, {**identity, "source": "def"}, fresh=True).measure(
        "run", measure, same, same
    ) == {"figure": 3}
    # A record cut short (a kill mid-write would leave only a partial file, never this)
    # is not trusted either.
    (tmp_path / "cut.json").write_text('{"identity": {"source": "abc", ')
    assert MeasurementStore(tmp_path, identity).measure("cut", measure, same, same) == {"figure": 4}
    assert not list(tmp_path.glob(".*partial"))
    # The commit measured at is kept with the record and named in the report.
    committed = MeasurementStore(tmp_path / "c", identity, commit="0123456789abcdef")
    committed.measure("run", measure, same, same)
    assert "(commit 0123456789ab)" in committed.describe()
    resumed = MeasurementStore(tmp_path / "c", identity, commit="fedcba9876543210")
    resumed.measure("run", measure, same, same)
    assert "(commit 0123456789ab)" in resumed.describe()  # the recorded one, not the checkout's


def test_the_source_fingerprint_follows_code_and_configuration_but_not_the_report(tmp_path):
    from advanced_dl.benchmark import source_fingerprint

    for name, text in {
        "src/advanced_dl/model.py": "x = 1\n",
        "src/advanced_dl/benchmark.py": "report = 1\n",
        "conf/base/parameters.yml": "a: 1\n",
        "conf/local/credentials.yml": "secret: 1\n",
        "pyproject.toml": "[project]\n",
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    before = source_fingerprint(tmp_path)
    (tmp_path / "src/advanced_dl/benchmark.py").write_text("report = 2\n")
    (tmp_path / "conf/local/credentials.yml").write_text("secret: 2\n")
    assert source_fingerprint(tmp_path) == before
    (tmp_path / "conf/base/parameters.yml").write_text("a: 2\n")
    assert source_fingerprint(tmp_path) != before


def test_the_readme_block_gets_the_reports_tables_and_nothing_else_changes():
    import pytest

    from advanced_dl.benchmark import readme_tables, replace_marked_block

    report = _report(20.0, MDN)
    block = readme_tables(report, "From RESULTS.md.")
    assert block.startswith("From RESULTS.md.\n\n| pipeline |") and "Run ids" not in block
    readme = "# Title\n\n<!-- benchmark:begin -->\nold table\n<!-- benchmark:end -->\n\nTail.\n"
    updated = replace_marked_block(readme, block)
    assert "old table" not in updated and "| mdn_synthetic |" in updated
    assert updated.startswith("# Title\n\n<!-- benchmark:begin -->\nFrom RESULTS.md.")
    assert updated.endswith("<!-- benchmark:end -->\n\nTail.\n")
    with pytest.raises(ValueError, match="benchmark:begin"):
        replace_marked_block("# No markers\n", block)


def test_seeds_and_sweep_throughput_are_judged_against_their_targets():
    from advanced_dl.benchmark import SweepTiming

    gcn_cora = PLANETOID_TARGETS[0]
    seeds = _sweep(gcn_cora, [0.82] * 10, 3.0)
    seeds.sweep["summary"]["outside_training_seconds"] = vars(summarise([1.3] * 10))
    seeds.wall_seconds = 15.16

    def timing(workers, outside):
        outcome = {
            "objective": "val_accuracy",
            "best_value": 0.81,
            "finished_trials": 40,
            "wall_seconds": 138.5,
            "trials_per_minute": 17.33,
            "mean_outside_training_seconds": outside,
        }
        return SweepTiming("cora_gcn", 40, workers, "seed=42", outcome, 144.35, 1024**2)

    report = render(
        [],
        [seeds],
        42,
        dt.datetime(2026, 12, 6, tzinfo=dt.UTC),
        sweeps=[timing(1, 0.52), timing(2, 1.13)],
    )
    rows = [line for line in report.splitlines() if line.startswith("| `kedro s")]
    assert rows[0].startswith("| `kedro seeds --pipelines cora_gcn --seeds 42-51")
    assert "| 15.16 (whole command) |" in rows[0] and rows[0].endswith("| 10 seeds <= 30 s | yes |")
    assert "--workers 1 " in rows[1] and rows[1].endswith("| yes |")
    assert "0.52 s outside training" in rows[1] and "17.33 trials per minute" in rows[1]
    assert "--workers 2 " in rows[2] and rows[2].endswith("| **no** |")


def test_every_planetoid_configuration_names_an_environment_of_its_dataset_and_model():
    conf = REPO_ROOT / "conf"
    for target in TUNED_PLANETOID_TARGETS + OTHER_PLANETOID_TARGETS:
        parameters = yaml.safe_load((conf / target.env / "parameters_cora_gcn.yml").read_text())
        settings = parameters["cora_gcn"]
        assert settings["dataset"] == target.dataset, target.name
        assert settings["split"] == "planetoid", target.name
        members = [settings["model"]["architecture"], *settings["model"].get("ensemble", [])]
        assert "+".join(members) == target.architecture, target.name
