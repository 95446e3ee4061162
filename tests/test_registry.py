"""The champion rule on a real MLflow registry (SQLite): the alias moves only to a better
version on the same test data."""

from __future__ import annotations

import mlflow
import pytest

from advanced_dl.registry import CHALLENGER, CHAMPION, register_served_model


class _Constant(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


def _params(dataset: str) -> dict:
    return {"seed": 42, "cora_gcn": {"dataset": dataset, "split": "planetoid"}}


@pytest.fixture
def registry(tmp_path):
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    yield mlflow.MlflowClient()
    mlflow.set_tracking_uri(previous)


def _finished_run(client, accuracy: float, dataset: str) -> tuple[str, str]:
    with mlflow.start_run() as run:
        mlflow.log_metric("test_accuracy", accuracy)
        info = mlflow.pyfunc.log_model(name="model", python_model=_Constant())
    version, alias = register_served_model(
        client, info.model_uri, "cora_gcn", run.info.run_id, _params(dataset)
    )
    return version, alias


def test_champion_moves_only_to_a_better_version_on_the_same_test_data(registry):
    first, alias = _finished_run(registry, 0.80, "cora")
    assert alias == CHAMPION  # nothing to beat yet
    better, alias = _finished_run(registry, 0.82, "cora")
    assert alias == CHAMPION
    worse, alias = _finished_run(registry, 0.81, "cora")
    assert alias == CHALLENGER
    tie, alias = _finished_run(registry, 0.82, "cora")
    assert alias == CHALLENGER  # a tie does not beat the champion
    other_data, alias = _finished_run(registry, 0.95, "citeseer")
    assert alias == CHALLENGER  # another graph's accuracy is not comparable

    assert str(registry.get_model_version_by_alias("cora_gcn", CHAMPION).version) == better
    assert str(registry.get_model_version_by_alias("cora_gcn", CHALLENGER).version) == other_data
    tags = registry.get_model_version("cora_gcn", worse).tags
    assert float(tags["test_accuracy"]) == 0.81
    assert '"cora_gcn.dataset": "cora"' in tags["test_data"]
    assert first != better != worse != tie


class _RacedClient:
    """A real client whose first alias write loses a race: another run, registering at the
    same moment, sets the champion alias first, and the database refuses this write."""

    def __init__(self, client, rival_version: str):
        self._client, self._rival, self.refused = client, rival_version, 0

    def __getattr__(self, name):
        return getattr(self._client, name)

    def set_registered_model_alias(self, name, alias, version):
        from mlflow.exceptions import MlflowException

        if not self.refused:
            self.refused += 1
            self._client.set_registered_model_alias(name, CHAMPION, self._rival)
            raise MlflowException("duplicate key value violates unique constraint")
        return self._client.set_registered_model_alias(name, alias, version)


def test_a_refused_alias_write_is_decided_again_against_the_new_champion(registry):
    from advanced_dl.registry import RULES

    # The rival: a better version registered, its alias not yet set, as mid-race.
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="model", python_model=_Constant())
    test_data = RULES["cora_gcn"].test_data(_params("cora"))
    rival = mlflow.register_model(
        info.model_uri, "cora_gcn", tags={"test_accuracy": repr(0.90), "test_data": test_data}
    ).version
    raced = _RacedClient(registry, str(rival))
    with mlflow.start_run() as run:
        mlflow.log_metric("test_accuracy", 0.85)
        info = mlflow.pyfunc.log_model(name="model", python_model=_Constant())
    version, alias = register_served_model(
        raced, info.model_uri, "cora_gcn", run.info.run_id, _params("cora")
    )
    # Its first decision (no champion yet: champion) was refused; decided again, it lost.
    assert raced.refused == 1 and alias == CHALLENGER
    assert str(registry.get_model_version_by_alias("cora_gcn", CHAMPION).version) == str(rival)
    assert str(registry.get_model_version_by_alias("cora_gcn", CHALLENGER).version) == version
