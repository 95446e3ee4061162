"""Entry point of the corpus detector on a user's series, logged as MLflow "models from code"."""

from mlflow.models import set_model

from advanced_dl.serving.nab_anomaly import NabCorpusDetector

set_model(NabCorpusDetector())
