"""Project settings: hooks and config loader.

See https://docs.kedro.org/en/stable/kedro_project_setup/settings.html
"""

import os

from kedro.config import OmegaConfigLoader

from advanced_dl.hooks import ExperimentPerPipelineHook, RuntimeHook


def _env_or_default(name: str, default: str = "") -> str:
    """``${env:NAME,default}``: read an environment variable in any config file.

    Kedro allows ``oc.env`` in credentials only; the tracking URI must be
    overridable by ``MLFLOW_TRACKING_URI`` as MLflow users expect.
    """
    return os.environ.get(name) or default


HOOKS = (ExperimentPerPipelineHook(), RuntimeHook())

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "custom_resolvers": {"env": _env_or_default},
}
