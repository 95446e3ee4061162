"""Entry point of the mixture density network, logged as MLflow "models from code"."""

from mlflow.models import set_model

from advanced_dl.serving.mdn_synthetic import MdnServingModel

set_model(MdnServingModel())
