"""The model registry: a run's served model is registered once the run has finished, and
the alias ``champion`` names the best version on the same test data.

Each registered version carries its pipeline's primary test metric and a
description of its test data as tags. A new version takes ``champion`` only
when it beats the current champion's metric on the same test data (or when
there is no champion yet); otherwise it gets ``challenger``. Variants (the
``tuned`` environment, other architectures) register under the pipeline's
name, so ``models:/<pipeline>@champion`` is the best variant measured so far.
No Kedro here: the hook in ``advanced_dl.hooks`` calls :func:`register_served_model`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

CHAMPION, CHALLENGER = "champion", "challenger"
TEST_DATA_TAG = "test_data"


def _nested(params: Mapping[str, Any], dotted: str) -> Any:
    value: Any = params
    for key in dotted.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


@dataclass(frozen=True)
class ChampionRule:
    """How a pipeline's versions are compared: one metric, higher is better, on test
    data the listed parameters fix (``seed_fixes_test_data`` says when the seed does too)."""

    metric: str
    test_data_parameters: tuple[str, ...]
    seed_fixes_test_data: Callable[[Mapping[str, Any]], bool] = lambda params: False

    def test_data(self, params: Mapping[str, Any]) -> str:
        """The test data as a JSON string: versions compare only when theirs are equal."""
        fixed = {name: _nested(params, name) for name in self.test_data_parameters}
        if self.seed_fixes_test_data(params):
            fixed["seed"] = params.get("seed")
        return json.dumps(fixed, sort_keys=True)


RULES: dict[str, ChampionRule] = {
    "mdn_synthetic": ChampionRule(
        "test_ari", ("mdn_synthetic.data",), seed_fixes_test_data=lambda params: True
    ),
    "nab_anomaly": ChampionRule(
        "nab_score_standard",
        ("nab_anomaly.test_series", "nab_anomaly.own_series.path"),
    ),
    "imdb_transformer": ChampionRule(
        "test_accuracy",
        ("imdb_transformer.data.max_reviews_per_split",),
        # A subsample of the test reviews is drawn with the seed.
        seed_fixes_test_data=lambda params: (
            _nested(params, "imdb_transformer.data.max_reviews_per_split") is not None
        ),
    ),
    "cora_gcn": ChampionRule(
        "test_accuracy",
        ("cora_gcn.dataset", "cora_gcn.split", "cora_gcn.reference_split"),
        # The reference split draws its nodes with the seed; Planetoid's is fixed.
        seed_fixes_test_data=lambda params: _nested(params, "cora_gcn.split") == "reference",
    ),
}


def _current_champion(client: Any, name: str) -> Any | None:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


def crowned(metric: float | None, test_data: str, champion: Any | None, rule: ChampionRule) -> bool:
    """Whether a new version with this metric and test data takes ``champion``."""
    if champion is None:
        return True
    champion_metric = champion.tags.get(rule.metric)
    if metric is None or champion_metric is None:
        return False
    return champion.tags.get(TEST_DATA_TAG) == test_data and metric > float(champion_metric)


ALIAS_ATTEMPTS = 5


def _set_alias(
    client: Any,
    name: str,
    version: str,
    metric: float | None,
    tags: Mapping[str, str],
    rule: ChampionRule | None,
) -> tuple[Any | None, str]:
    """Decide ``champion`` or ``challenger`` against the current champion and set it.

    Runs registering at the same moment race here: both may read "no champion" and
    both write the alias, and the tracking database refuses the second insert of the
    same alias (PostgreSQL: a unique-key violation, seen in the concurrency test).
    On a refused write the champion is read again, since another run has just set
    it, and the decision is made anew against that one.
    """
    from mlflow.exceptions import MlflowException

    for attempt in range(1, ALIAS_ATTEMPTS + 1):
        champion = _current_champion(client, name)
        takes_crown = rule is None or crowned(metric, tags[TEST_DATA_TAG], champion, rule)
        alias = CHAMPION if takes_crown else CHALLENGER
        try:
            client.set_registered_model_alias(name, alias, version)
            return champion, alias
        except MlflowException as error:
            if attempt == ALIAS_ATTEMPTS:
                raise
            logger.info("Setting %s@%s was refused (%s); deciding again", name, alias, error)
            time.sleep(0.1 * attempt)
    raise AssertionError("unreachable")


def register_served_model(
    client: Any, model_uri: str, name: str, run_id: str, params: Mapping[str, Any]
) -> tuple[str, str]:
    """Register ``model_uri`` as a new version of ``name``, tag it, give it its alias.

    Returns:
        (version, alias): alias is ``champion`` or ``challenger``.
    """
    import mlflow

    rule = RULES.get(name)
    metrics = client.get_run(run_id).data.metrics
    tags: dict[str, str] = {}
    metric = None
    if rule is not None:
        metric = metrics.get(rule.metric)
        tags[TEST_DATA_TAG] = rule.test_data(params)
        if metric is not None:
            tags[rule.metric] = repr(float(metric))
    version = mlflow.register_model(model_uri, name, tags=tags).version
    champion, alias = _set_alias(client, name, version, metric, tags, rule)
    logger.info(
        "Registered %s version %s (%s = %s) as %s%s",
        name,
        version,
        rule.metric if rule else "metric",
        metric,
        alias,
        f"; the champion stays version {champion.version}" if alias == CHALLENGER else "",
    )
    return str(version), alias
