"""Entry point of the Cora GCN, logged as MLflow "models from code"."""

from mlflow.models import set_model

from advanced_dl.serving.cora_gcn import CoraGcnServingModel

set_model(CoraGcnServingModel())
