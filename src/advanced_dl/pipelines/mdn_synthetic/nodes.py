"""Nodes of ``mdn_synthetic``: the mixture density network (docs/algorithms.md, section 2).

Tables carry the input as ``x1, x2``, the target (the true component's mean)
as ``y1, y2`` and the true component index as ``component``. The network's
output layout and the prediction table are ``advanced_dl.features.mixture``'s,
as in the served model. Parameters arrive validated (``parameters.py``).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from advanced_dl.features.mixture import (
    INPUT_COLUMNS,
    TARGET_COLUMNS,
    frame_parameters,
    mixture_frame,
)

# scikit-learn, SciPy and TensorFlow are imported inside the nodes that use them:
# this module is imported by the pipeline registry, which must stay fast.

logger = logging.getLogger(__name__)

X_COLUMNS = list(INPUT_COLUMNS)
Y_COLUMNS = list(TARGET_COLUMNS)


def generate_mixture_samples(data_params: dict[str, Any], seed: int) -> pd.DataFrame:
    """Draw ``n_samples`` rows of the reference Gaussian mixture.

    Component z ~ Categorical(mixture_weights); x ~ N(means[z], diag(variances[z]));
    y = means[z]. The reference's "std" list is used, as it was, as the
    covariance diagonal, hence the parameter name ``variances``.

    Returns:
        (n_samples, 5) table ``x1, x2, y1, y2, component``.
    """
    rng = np.random.default_rng(seed)
    weights = np.asarray(data_params["mixture_weights"], dtype=float)
    means = np.asarray(data_params["means"], dtype=float)
    variances = np.asarray(data_params["variances"], dtype=float)
    n = data_params["n_samples"]
    components = rng.choice(len(weights), size=n, p=weights / weights.sum())
    x = means[components] + rng.standard_normal((n, means.shape[1])) * np.sqrt(
        variances[components]
    )
    y = means[components]
    table = pd.DataFrame(np.hstack([x, y]), columns=X_COLUMNS + Y_COLUMNS)
    table["component"] = components.astype("int64")
    return table


def split_samples(
    samples: pd.DataFrame, data_params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """First ``train_size`` rows train, the rest test (as in the reference)."""
    train_size = data_params["train_size"]
    return (
        samples.iloc[:train_size].reset_index(drop=True),
        samples.iloc[train_size:].reset_index(drop=True),
    )


def initial_mixture(y: np.ndarray, num_components: int, seed: int) -> dict[str, list]:
    """A K-component mixture fitted to the targets y (n, D) by k-means, to start the heads from.

    Returns ``initial_means`` (K, D), ``initial_weights`` (K) and
    ``initial_scales`` (K, the root-mean-square distance to the centre).
    """
    from sklearn.cluster import KMeans

    kmeans = KMeans(n_clusters=num_components, n_init=4, random_state=seed).fit(y)
    labels = kmeans.labels_
    counts = np.bincount(labels, minlength=num_components).astype(float)
    spread = np.array(
        [
            np.sqrt(((y[labels == k] - kmeans.cluster_centers_[k]) ** 2).sum(axis=1).mean())
            if counts[k]
            else 1.0
            for k in range(num_components)
        ]
    )
    return {
        "initial_means": kmeans.cluster_centers_.tolist(),
        "initial_weights": ((counts + 1) / (counts + 1).sum()).tolist(),
        "initial_scales": spread.tolist(),
    }


def train_mdn(
    train_samples: pd.DataFrame,
    model_params: dict[str, Any],
    training_params: dict[str, Any],
    seed: int,
) -> tuple[Any, dict[str, Any]]:
    """Build the MDN and fit it on a shuffled train/validation split of the training rows.

    Early stopping on the validation NLL restores the best epoch's weights.

    Args:
        train_samples: (n, 5) table; x (n, 2) is the input, y (n, 2) the target.

    Returns:
        The fitted ``keras.Model`` (output (batch, K*D + 2K)) and the training
        history: per-epoch ``loss``, ``val_loss``, ``learning_rate`` plus
        ``fit_seconds`` and ``epochs_trained``.
    """
    from advanced_dl.models.mdn import build_mdn
    from advanced_dl.training import distribution_scope, fit_with_training_params

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(train_samples))
    n_validation = max(1, round(training_params["validation_fraction"] * len(order)))
    fit_rows, validation_rows = order[n_validation:], order[:n_validation]
    x = train_samples[X_COLUMNS].to_numpy("float32")
    y = train_samples[Y_COLUMNS].to_numpy("float32")

    initial_heads = (
        initial_mixture(y[fit_rows], model_params["num_components"], seed)
        if model_params["init_from_targets"]
        else {}
    )
    with distribution_scope(training_params["distribution"]):
        model = build_mdn(
            input_dim=len(X_COLUMNS),
            output_dim=len(Y_COLUMNS),
            num_components=model_params["num_components"],
            hidden_units=model_params["hidden_units"],
            dropout_rate=model_params["dropout_rate"],
            min_scale=model_params["min_scale"],
            learning_rate=training_params["learning_rate"],
            **initial_heads,
        )
    result = fit_with_training_params(
        model,
        x[fit_rows],
        y[fit_rows],
        validation_data=(x[validation_rows], y[validation_rows]),
        training_params=training_params,
    )
    return model, result.as_metrics()


def predict_mixture(trained_model: Any, test_samples: pd.DataFrame) -> pd.DataFrame:
    """Mixture parameters for each test row.

    Returns:
        (n, 1 + K + K*D + K) table: ``predicted_component`` (argmax weight),
        ``weight_<k>``, ``mean_<k>_<d>``, ``scale_<k>``.
    """
    params = trained_model.predict(test_samples[X_COLUMNS].to_numpy("float32"), verbose=0)
    num_components = trained_model.get_layer("mixture").num_components
    return mixture_frame(params, num_components, output_dim=len(Y_COLUMNS))


def mixture_nll(y: np.ndarray, weights: np.ndarray, means: np.ndarray, scales: np.ndarray) -> float:
    """Mean over rows of -log sum_k w_k N(y | mu_k, s_k^2 I), in float64.

    The training loss's own definition (``models.mdn.mixture_of_parts``), so the
    reported test NLL is exactly what training minimised.

    Args:
        y: (n, D) targets; weights: (n, K); means: (n, K, D); scales: (n, K).
    """
    from advanced_dl.models.mdn import mixture_of_parts

    with np.errstate(divide="ignore"):
        log_weights = np.log(weights)
    mixture = mixture_of_parts(means, scales, log_weights)
    return float(-np.mean(mixture.log_prob(np.asarray(y, dtype=np.float64))))


def bayes_optimal_components(x: np.ndarray, data_params: dict[str, Any]) -> np.ndarray:
    """argmax_k pi_k N(x | mu_k, diag(var_k)) with the true parameters. x: (n, D) -> (n,)."""
    weights = np.asarray(data_params["mixture_weights"], dtype=float)
    means = np.asarray(data_params["means"], dtype=float)
    variances = np.asarray(data_params["variances"], dtype=float)
    log_density = -0.5 * (
        ((x[:, None, :] - means) ** 2) / variances + np.log(2 * np.pi * variances)
    ).sum(axis=2)
    return np.argmax(np.log(weights) + log_density, axis=1)


def match_components(
    predicted_component: np.ndarray, means: np.ndarray, weights: np.ndarray, true_means: np.ndarray
) -> dict[int, tuple[int, float]]:
    """Match predicted to true components (Hungarian assignment on the means).

    A predicted component's centre is the average of its predicted mean over
    the rows assigned to it (weight-averaged over all rows if none are).

    Returns:
        {true component: (predicted component, distance between the means)}.
    """
    from scipy.optimize import linear_sum_assignment

    k = means.shape[1]
    centres = np.empty((k, means.shape[2]))
    for component in range(k):
        rows = predicted_component == component
        if rows.any():
            centres[component] = means[rows, component].mean(axis=0)
        else:
            w = weights[:, component] / max(weights[:, component].sum(), 1e-12)
            centres[component] = (w[:, None] * means[:, component]).sum(axis=0)
    distances = np.linalg.norm(true_means[:, None, :] - centres[None, :, :], axis=2)
    true_index, predicted_index = linear_sum_assignment(distances)
    return {
        int(t): (int(p), float(distances[t, p]))
        for t, p in zip(true_index, predicted_index, strict=True)
    }


def evaluate_mixture(
    test_samples: pd.DataFrame, test_predictions: pd.DataFrame, data_params: dict[str, Any]
) -> dict[str, float]:
    """Test metrics: clustering quality, NLL, and recovery of the true means.

    Returns:
        ``test_ari``, ``test_nmi`` (predicted vs true component), ``test_nll``,
        ``bayes_optimal_ari`` (true-parameter classifier on the same rows),
        ``mean_error_max`` (largest matched mean error) and ``components_matched``.
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    predictions = test_predictions
    truth = test_samples["component"].to_numpy()
    predicted = predictions["predicted_component"].to_numpy()
    weights, means, scales = frame_parameters(predictions)
    true_means = np.asarray(data_params["means"], dtype=float)
    matches = match_components(predicted, means, weights, true_means)
    bayes = bayes_optimal_components(test_samples[X_COLUMNS].to_numpy(float), data_params)
    metrics = {
        "test_ari": float(adjusted_rand_score(truth, predicted)),
        "test_nmi": float(normalized_mutual_info_score(truth, predicted)),
        "test_nll": mixture_nll(test_samples[Y_COLUMNS].to_numpy(float), weights, means, scales),
        "bayes_optimal_ari": float(adjusted_rand_score(truth, bayes)),
        "mean_error_max": max(distance for _, distance in matches.values()),
        "components_matched": float(len(matches)),
    }
    logger.info("mdn_synthetic test metrics: %s", metrics)
    return metrics


def build_served_model(trained_model: Any, test_samples: pd.DataFrame) -> Any:
    """Wrap the fitted network as the MLflow model users deploy (x1, x2 -> mixture)."""
    from advanced_dl.serving.mdn_synthetic import MdnServingModel

    return MdnServingModel(
        keras_model=trained_model,
        input_example=test_samples[X_COLUMNS].head(5).reset_index(drop=True),
        num_components=trained_model.get_layer("mixture").num_components,
    )
