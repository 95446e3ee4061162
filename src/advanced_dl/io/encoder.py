"""The pre-trained IMDB encoder, read from the MLflow model registry for fine-tuning."""

from __future__ import annotations

import logging
from typing import Any

from kedro.io import AbstractDataset, DatasetError

logger = logging.getLogger(__name__)

HOW_TO_GET_ONE = "run `kedro run --pipelines imdb_pretrain` to pre-train and register one"
NAME_ANOTHER = "name another version (--params imdb_transformer.encoder.version=<number or alias>)"


class EncoderNotFoundError(DatasetError):
    """No usable encoder under the name and version asked for."""


def resolve_version(client: Any, name: str, version: str) -> str:
    """The version number ``version`` names: ``latest``, a number, or an alias (``@champion``)."""
    from mlflow.exceptions import MlflowException

    version = str(version).strip()
    try:
        if version == "latest":
            versions = client.search_model_versions(f"name = '{name}'")
            if not versions:
                raise EncoderNotFoundError(
                    f"No version of the registered model {name!r} in the tracking store "
                    f"({_tracking_uri()}); {HOW_TO_GET_ONE}"
                )
            return str(max(int(v.version) for v in versions))
        if version.isdigit():
            return str(client.get_model_version(name, version).version)
        return str(client.get_model_version_by_alias(name, version.removeprefix("@")).version)
    except MlflowException as error:
        raise EncoderNotFoundError(
            f"Registered model {name!r} has no version {version!r} in the tracking store "
            f"({_tracking_uri()}): {error.message}; {HOW_TO_GET_ONE}, or {NAME_ANOTHER}"
        ) from None


def _tracking_uri() -> str:
    import mlflow

    return mlflow.get_tracking_uri()


class RegisteredEncoderDataset(AbstractDataset):
    """Loads a registered ``imdb_encoder`` version as a
    :class:`advanced_dl.serving.imdb_transformer.ReviewEncoderModel` (its Keras
    encoder, vocabulary, vectorisation and architecture).

    ``version``: ``latest`` (the highest version number), a version number or
    an alias. With ``model_name: null`` the dataset loads ``None``: the
    pipeline then trains without a pre-trained encoder (``conf/base``). The
    loaded model's ``registry_version`` names the version it came from.

    Example (``conf/pretrained/catalog_imdb_transformer.yml``)::

        imdb_transformer.pretrained_encoder:
          type: advanced_dl.io.RegisteredEncoderDataset
          model_name: imdb_encoder
          version: ${runtime_params:imdb_transformer.encoder.version, latest}
    """

    def __init__(
        self,
        *,
        model_name: str | None = None,
        version: str | int = "latest",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._model_name = model_name
        self._version = str(version)
        self.metadata = metadata

    def load(self) -> Any:
        if self._model_name is None:
            return None
        import mlflow

        from advanced_dl.serving.imdb_transformer import ReviewEncoderModel

        client = mlflow.MlflowClient()
        number = resolve_version(client, self._model_name, self._version)
        uri = f"models:/{self._model_name}/{number}"
        try:
            model = mlflow.pyfunc.load_model(uri).unwrap_python_model()
        except Exception as error:  # a half-written or foreign artifact: say which
            raise EncoderNotFoundError(
                f"Registered model {uri} could not be loaded as an encoder "
                f"({type(error).__name__}: {error}); its artifacts may be incomplete. "
                f"{NAME_ANOTHER.capitalize()} or {HOW_TO_GET_ONE}"
            ) from error
        if not isinstance(model, ReviewEncoderModel) or model.keras_model is None:
            raise EncoderNotFoundError(
                f"Registered model {uri} is a {type(model).__name__}, not an encoder from "
                f"imdb_pretrain; {HOW_TO_GET_ONE}"
            )
        model.registry_version = uri
        logger.info("Fine-tuning from encoder %s (held-out loss %s)", uri, model.held_out_loss)
        return model

    def save(self, data: Any) -> None:
        raise DatasetError(
            "RegisteredEncoderDataset is read-only: imdb_pretrain registers encoders"
        )

    def _describe(self) -> dict[str, Any]:
        return {"model_name": self._model_name, "version": self._version}
