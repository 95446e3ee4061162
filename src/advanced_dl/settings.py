"""Project settings: hooks and config loader.

See https://docs.kedro.org/en/stable/kedro_project_setup/settings.html
"""

import os
import warnings

from kedro.config import OmegaConfigLoader

from advanced_dl.hooks import (
    ExperimentPerPipelineHook,
    ParameterValidationHook,
    RegistryHook,
    RunIsolationHook,
    RuntimeHook,
    SystemMetricsHook,
    TrackingStoreHook,
)
from advanced_dl.runtime import quiet_tensorflow_start_up

# Settings load before any node imports TensorFlow.
quiet_tensorflow_start_up()
# Kedro's config loader and kedro-mlflow register their resolvers through an
# OmegaConf call that OmegaConf now deprecates; a user can do nothing about it.
warnings.filterwarnings(
    "ignore", message=r"register_new_resolver\(\) is deprecated", category=UserWarning
)
# kedro-mlflow's own pipeline model has no type hints on predict, and MLflow warns
# when the class is defined, past any filter (it sets its own); recorded here, the
# warning never reaches the terminal. The project's served models declare theirs.
with warnings.catch_warnings(record=True):
    import kedro_mlflow.mlflow.kedro_pipeline_model  # noqa: F401


def _env_or_default(name: str, default: str = "") -> str:
    """``${env:NAME,default}``: read an environment variable in any config file.

    Kedro allows ``oc.env`` in credentials only; the tracking URI must be
    overridable by ``MLFLOW_TRACKING_URI`` as MLflow users expect.
    """
    return os.environ.get(name) or default


# pluggy calls the last registered first among equals: parameters are checked
# before the experiment hook creates anything in the tracking store.
HOOKS = (
    TrackingStoreHook(),
    RunIsolationHook(),
    RegistryHook(),
    ExperimentPerPipelineHook(),
    RuntimeHook(),
    SystemMetricsHook(),
    ParameterValidationHook(),
)

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "custom_resolvers": {"env": _env_or_default},
    # An environment's parameter files (conf/tuned/, ...) list only what they change.
    "merge_strategy": {"parameters": "soft"},
    # kedro sweep's search spaces: conf/<env>/sweeps/<pipeline>.yml.
    "config_patterns": {"sweeps": ["sweeps/*", "sweeps/**/*"]},
}
