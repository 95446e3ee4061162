"""``nab_anomaly`` parameter checks that span several values."""

from __future__ import annotations

import copy

import pytest
import yaml

from advanced_dl.pipelines.nab_anomaly.parameters import Parameters
from advanced_dl.schema import ParameterError, validate_schema
from tests.conftest import REPO_ROOT

DEFAULTS = yaml.safe_load((REPO_ROOT / "conf/base/parameters_nab_anomaly.yml").read_text())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"train_last_row": 40}, "must hold at least look_back + 1 = 65 rows"),
        ({"look_back": 1}, "nab_anomaly.look_back': Input should be greater than or equal to 2"),
        ({"test_series": "nyc_taxi.csv"}, "nab_anomaly.test_series"),
        ({"train_first_row": -1}, "nab_anomaly.train_first_row"),
    ],
)
def test_bad_series_and_slices_are_named(changes, message):
    params = {**copy.deepcopy(DEFAULTS["nab_anomaly"]), **changes}
    with pytest.raises(ParameterError) as error:
        validate_schema(Parameters, params, prefix="nab_anomaly")
    assert message in str(error.value)
