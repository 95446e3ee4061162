"""Entry point of the NAB detector, logged as MLflow "models from code"."""

from mlflow.models import set_model

from advanced_dl.serving.nab_anomaly import NabAnomalyDetector

set_model(NabAnomalyDetector())
