"""Entry point of the pre-trained IMDB encoder, logged as MLflow "models from code"."""

from mlflow.models import set_model

from advanced_dl.serving.imdb_transformer import ReviewEncoderModel

set_model(ReviewEncoderModel())
