"""Nodes of nab_benchmark on a tiny synthetic corpus made by the tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from advanced_dl.features.series import InvalidSeriesError
from advanced_dl.io.nab import LazyNabSeries
from advanced_dl.io.nab_results import NabResultsDataset
from advanced_dl.nab import score as nab_score
from advanced_dl.nab.detector import SeriesTask, detect_series, series_seed
from advanced_dl.nab.scoring import detector_scores
from advanced_dl.nab.settings import DetectorSettings
from advanced_dl.pipelines.nab_benchmark import nodes

from .corpus import (
    ROWS,
    SPIKES,
    START,
    STEP,
    raw_frame,
    series_values,
    tiny_parameters,
    write_corpus,
)

TWO_SPIKES = "realKnownCause/two_spikes.csv"


@pytest.fixture
def corpus_files(tmp_path):
    return write_corpus(tmp_path)


@pytest.fixture
def params():
    return tiny_parameters()


def test_load_corpus_labels_rows_and_windows(corpus_files, params):
    series, labels, windows = corpus_files
    corpus = nodes.load_corpus(series, labels, windows, "all", params["detector"])
    assert list(corpus.columns) == ["series", "row", "timestamp", "value", "label", "window"]
    assert sorted(corpus["series"].unique()) == sorted(SPIKES)
    two = corpus[corpus["series"] == TWO_SPIKES].reset_index(drop=True)
    assert len(two) == ROWS and two["row"].tolist() == list(range(ROWS))
    assert two.index[two["label"] == 1].tolist() == [180, 330]
    assert nab_score.windows_from_column(two["window"].to_numpy()) == [(160, 200), (310, 350)]


def test_load_corpus_keeps_repeated_and_backward_timestamps_in_file_order(tmp_path, params):
    name = "realKnownCause/machine.csv"
    frame = raw_frame(series_values(TWO_SPIKES))
    frame.loc[101, "timestamp"] = frame.loc[100, "timestamp"]  # repeated
    frame.loc[250, "timestamp"] = frame.loc[240, "timestamp"]  # goes back
    series, labels, windows = write_corpus(tmp_path, {name: frame})
    windows[name] = [[str(START + 160 * STEP), str(START + 200 * STEP)]]
    corpus = nodes.load_corpus(series, labels, windows, "all", params["detector"])
    assert len(corpus) == ROWS
    assert corpus["value"].tolist() == pytest.approx(frame["value"].astype(float).tolist())
    assert nab_score.windows_from_column(corpus["window"].to_numpy()) == [(160, 200)]


def test_select_series_takes_a_space_separated_string_and_names_unknown_ones(corpus_files):
    _, labels, windows = corpus_files
    picked = nodes.select_series(labels, windows, f"{TWO_SPIKES} artificialNoAnomaly/calm.csv")
    assert picked == ["artificialNoAnomaly/calm.csv", TWO_SPIKES]
    with pytest.raises(InvalidSeriesError, match=r"realKnownCause/two_spike\.csv.*two_spikes"):
        nodes.select_series(labels, windows, ["realKnownCause/two_spike.csv"])


def test_a_series_missing_from_a_label_file_is_named(corpus_files, params):
    series, labels, windows = corpus_files
    del windows[TWO_SPIKES]
    with pytest.raises(
        InvalidSeriesError, match=r"only in the first: \['realKnownCause/two_spikes"
    ):
        nodes.load_corpus(series, labels, windows, "all", params["detector"])


def test_a_labelled_series_without_data_is_named(corpus_files, params):
    series, labels, windows = corpus_files
    gone = "realTweets/gone.csv"
    labels[gone], windows[gone] = [], []

    def fetch(name):
        if name == gone:
            raise FileNotFoundError(f"{name} is not in the mirror")
        return series._fetch_series(name)

    with_gone = LazyNabSeries([*series, gone], fetch_series=fetch)
    with pytest.raises(
        InvalidSeriesError, match=r"realTweets/gone\.csv: named in .* not in the mirror"
    ):
        nodes.load_corpus(with_gone, labels, windows, "all", params["detector"])


def test_bad_values_and_short_series_are_named_before_training(tmp_path, params):
    frame = raw_frame(series_values(TWO_SPIKES))
    frame.loc[7, "value"] = "n/a"
    series, labels, windows = write_corpus(tmp_path, {TWO_SPIKES: frame})
    with pytest.raises(
        InvalidSeriesError, match=r"nab/data/realKnownCause/two_spikes\.csv: 1 value"
    ):
        nodes.load_corpus(series, labels, windows, "all", params["detector"])

    short = raw_frame(series_values(TWO_SPIKES)[:100])  # 15 probationary rows < 8 + 10
    series, labels, windows = write_corpus(tmp_path, {TWO_SPIKES: short})
    windows[TWO_SPIKES] = []
    with pytest.raises(InvalidSeriesError, match=r"two_spikes\.csv: 100 rows .* at least .* = 18"):
        nodes.load_corpus(series, labels, windows, "all", params["detector"])


def _scores(values: np.ndarray, params: dict):
    """The series' raw scores per part and its detector scores (the corpus protocol)."""
    settings = DetectorSettings.model_validate(params["detector"])
    probationary = nab_score.probationary_rows(len(values))
    times = pd.date_range(START, periods=len(values), freq=STEP).to_numpy()
    task = SeriesTask(
        TWO_SPIKES, values, times, probationary, series_seed(42, TWO_SPIKES), settings
    )
    raw = detect_series(task).raw_scores
    scores = detector_scores(raw, values, probationary, settings.scoring, settings.out_of_range)
    return raw, scores


def test_detector_scores_are_causal_and_in_the_unit_interval(params):
    values = series_values(TWO_SPIKES)
    raw, detection = _scores(values, params)
    assert sorted(raw) == ["lstm_vae", "next_value"]
    scores = detection.anomaly_scores
    probationary = nab_score.probationary_rows(ROWS)
    assert scores.shape == (ROWS,)
    assert ((scores >= 0) & (scores <= 1)).all()
    assert (scores[:probationary] == 0).all()
    # The first spike (+8) leaves the range of every earlier value and scores 1;
    # the second does not leave the range the first one set.
    flagged = np.flatnonzero(detection.out_of_range)
    assert 180 in flagged and 330 not in flagged and flagged.min() >= probationary
    np.testing.assert_array_equal(np.flatnonzero(scores == 1), flagged)
    learned = detection.learned
    assert ((learned >= 0) & (learned < 1)).all()
    kept = ~detection.out_of_range
    np.testing.assert_array_equal(scores[kept], learned[kept])
    assert int(np.argmax(learned)) in (180, 181, 330, 331)  # the models see the spikes too
    for part in raw.values():  # each part alone sees the second spike, inside the range
        assert np.nanargmax(part[probationary + 150 :]) + probationary + 150 in (330, 331)

    for t in (probationary + 5, 250):
        changed = values.copy()
        changed[t + 1 :] = np.random.default_rng(t).normal(50.0, 20.0, ROWS - t - 1)
        raw_again, rescored = _scores(changed, params)
        for part, scores_of_part in raw.items():
            np.testing.assert_array_equal(raw_again[part][: t + 1], scores_of_part[: t + 1])
        np.testing.assert_array_equal(rescored.anomaly_scores[: t + 1], scores[: t + 1])
        assert not np.array_equal(rescored.anomaly_scores[t + 1 :], scores[t + 1 :])


def test_each_learned_part_can_stand_alone_and_the_rule_can_go(params):
    params["detector"]["out_of_range"] = None
    params["detector"]["next_value"] = None
    raw, detection = _scores(series_values(TWO_SPIKES), params)
    assert list(raw) == ["lstm_vae"]
    assert not detection.out_of_range.any()
    np.testing.assert_array_equal(detection.anomaly_scores, detection.learned)
    assert detection.anomaly_scores.max() < 1
    params["detector"]["next_value"] = tiny_parameters()["detector"]["next_value"]
    params["detector"]["lstm_vae"] = None
    raw, _ = _scores(series_values(TWO_SPIKES), params)
    assert list(raw) == ["next_value"]


def test_same_scores_with_one_and_two_workers(corpus_files, params):
    series, labels, windows = corpus_files
    corpus = nodes.load_corpus(series, labels, windows, "all", params["detector"])
    runs = {}
    for workers in (1, 2):
        dask = {"workers": workers, "scheduler_address": None}
        raw_scores, timings = nodes.detect_corpus(corpus, params["detector"], dask, 42)
        assert timings["workers"] == workers
        runs[workers] = raw_scores
    pd.testing.assert_frame_equal(runs[1], runs[2])
    assert {"raw_lstm_vae", "raw_next_value"} <= set(runs[1].columns)
    detections, thresholds = nodes.score_corpus(runs[1], params["detector"])
    assert sorted(thresholds) == sorted(SPIKES) and all(0 < t < 1 for t in thresholds.values())
    assert {"learned_score", "out_of_range", "anomaly_score"} <= set(detections.columns)


def test_nab_results_files_rescore_to_the_same_corpus_score(tmp_path):
    rng = np.random.default_rng(0)
    tables = []
    for name, spikes in SPIKES.items():
        scores = rng.uniform(0, 0.6, ROWS)
        scores[[row + 3 for row in spikes]] = 0.9
        table = pd.DataFrame(
            {
                "series": name,
                "row": np.arange(ROWS),
                "timestamp": START + np.arange(ROWS) * STEP,
                "value": series_values(name),
                "label": 0,
                "window": -1,
                "anomaly_score": scores,
            }
        )
        for k, row in enumerate(spikes):
            table.loc[row - 20 : row + 20, "window"] = k
        tables.append(table)
    detections = pd.concat(tables, ignore_index=True)
    thresholds = nodes.choose_corpus_thresholds(detections)

    dataset = NabResultsDataset(filepath=str(tmp_path / "results"))
    dataset.save(nodes.nab_results_tables(detections, "lstmVae"))
    files = dataset.load()
    assert sorted(files) == [
        "lstmVae/artificialNoAnomaly/lstmVae_calm.csv",
        "lstmVae/artificialWithAnomaly/lstmVae_spike.csv",
        "lstmVae/realKnownCause/lstmVae_two_spikes.csv",
    ]
    for profile in nab_score.PROFILES:
        corpus = [
            nab_score.SeriesScores(
                table["anomaly_score"].to_numpy(),
                nab_score_windows_from_labels(table["label"].to_numpy()),
            )
            for table in files.values()
        ]
        rescored = nab_score.sweep_thresholds(corpus, profile)
        expected = nab_score.sweep_thresholds(
            list(nodes.corpus_scores(detections).values()), profile
        )
        assert rescored.normalized == pytest.approx(expected.normalized, abs=1e-12)
        assert rescored.threshold == thresholds[profile]


def nab_score_windows_from_labels(label: np.ndarray) -> list[tuple[int, int]]:
    """NAB's results files mark window rows with label 1: each run of 1s is a window."""
    edges = np.diff(np.concatenate([[0], label, [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True))


def test_evaluate_corpus_reports_profiles_categories_and_label_free_score():
    rows = []
    for name, spikes in SPIKES.items():
        for row in range(ROWS):
            window = next((k for k, s in enumerate(spikes) if s - 20 <= row <= s + 20), -1)
            rows.append((name, row, float(row in spikes), window))
    detections = pd.DataFrame(rows, columns=["series", "row", "anomaly_score", "window"])
    # The model alone fires at each anomaly; the range rule alone, 5 rows later.
    detections["learned_score"] = detections["anomaly_score"]
    detections["out_of_range"] = detections.groupby("series")["anomaly_score"].shift(5) == 1
    thresholds = nodes.choose_corpus_thresholds(detections)
    assert thresholds == {"standard": 1.0, "reward_low_fp": 1.0, "reward_low_fn": 1.0}
    label_free = dict.fromkeys(SPIKES, 0.5)
    summary = nodes.summarise_series(detections, thresholds, label_free)
    cross_category = {"corpus_score_standard_cross_category": 12.5}
    metrics = nodes.evaluate_corpus(
        detections, thresholds, summary, {"wall_seconds": 1.0}, cross_category
    )
    # One detection at each anomaly, the middle of its window of 41 rows, earns
    # tp = sigma(-21 / 41) / sigma(-1); 3 windows: raw 3 tp, null -3, perfect 3.
    earned = nab_score.scaled_sigmoid(-21 / 41) / nab_score.scaled_sigmoid(-1)
    for name, profile in nab_score.PROFILES.items():
        null, perfect = -3 * profile.fn_weight, 3 * profile.tp_weight
        expected = 100 * (3 * earned * profile.tp_weight - null) / (perfect - null)
        assert metrics[f"corpus_score_{name}"] == pytest.approx(expected)
    assert metrics["corpus_score_standard_label_free"] == pytest.approx(100 * (3 * earned + 3) / 6)
    assert metrics["corpus_score_standard_learned_alone"] == metrics["corpus_score_standard"]
    assert metrics["corpus_score_standard_cross_category"] == 12.5
    later = nab_score.scaled_sigmoid(-16 / 41) / nab_score.scaled_sigmoid(-1)
    assert metrics["corpus_score_standard_out_of_range_alone"] == pytest.approx(
        100 * (3 * later + 3) / 6
    )
    assert set(k for k in metrics if k.startswith("score_standard_")) == {
        "score_standard_artificialWithAnomaly",
        "score_standard_realKnownCause",
    }
    assert metrics["series_scored"] == 3 and metrics["windows_detected"] == 3
    assert metrics["false_positives"] == 0 and metrics["wall_seconds"] == 1.0

    scoreboard = nodes.build_scoreboard(
        metrics,
        [
            {
                "detector": "Numenta HTM",
                "standard": 70.1,
                "reward_low_fp": 63.1,
                "reward_low_fn": 74.3,
                "source": "NAB scoreboard",
            }
        ],
        "lstmVae",
    )
    assert scoreboard["detector"].tolist() == ["lstmVae (this run)", "Numenta HTM"]
