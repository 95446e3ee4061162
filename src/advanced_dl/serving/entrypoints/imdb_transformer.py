"""Entry point of the IMDB sentiment model, logged as MLflow "models from code"."""

from mlflow.models import set_model

from advanced_dl.serving.imdb_transformer import ReviewSentimentModel

set_model(ReviewSentimentModel())
