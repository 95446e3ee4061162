"""``mdn_synthetic`` parameter checks that span several values."""

from __future__ import annotations

import copy

import pytest
import yaml

from advanced_dl.pipelines.mdn_synthetic.parameters import Parameters
from advanced_dl.schema import ParameterError, validate_schema
from tests.conftest import REPO_ROOT

DEFAULTS = yaml.safe_load((REPO_ROOT / "conf/base/parameters_mdn_synthetic.yml").read_text())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"mixture_weights": [0.5, 0.4, 0.3, 0.1]}, "must sum to 1 (sum is 1.3)"),
        ({"means": [[2.0, 2.0]] * 3}, "data.means must be 4 points"),
        ({"variances": [[1.0, 1.0]] * 3}, "same shape as data.means"),
        ({"variances": [[1.0, 0.0]] * 4}, "greater than 0"),
        ({"train_size": 4096}, "below data.n_samples (4096)"),
    ],
)
def test_inconsistent_data_parameters_are_named(changes, message):
    params = copy.deepcopy(DEFAULTS["mdn_synthetic"])
    params["data"].update(changes)
    with pytest.raises(ParameterError) as error:
        validate_schema(Parameters, params, prefix="mdn_synthetic")
    assert message in str(error.value) and "mdn_synthetic.data" in str(error.value)
