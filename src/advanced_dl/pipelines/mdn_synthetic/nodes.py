"""Nodes of ``mdn_synthetic`` (ALGORITHMS.md section 2).

Tables carry the input as ``x1, x2``, the target (the true component's mean)
as ``y1, y2`` and the true component index as ``component``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from advanced_dl.plotting import plot_training_curves

# scikit-learn and SciPy are imported inside the nodes that use them: this
# module is imported by the pipeline registry, which must stay fast.

logger = logging.getLogger(__name__)

X_COLUMNS = ["x1", "x2"]
Y_COLUMNS = ["y1", "y2"]


def _fail(parameter: str, expected: str, got: Any) -> None:
    raise ValueError(f"Parameter 'mdn_synthetic.{parameter}' must be {expected}; got {got!r}")


def validate_data_params(data_params: dict[str, Any]) -> None:
    """Raise a ValueError naming the first invalid ``mdn_synthetic.data`` parameter."""
    weights = np.asarray(data_params["mixture_weights"], dtype=float)
    means = np.asarray(data_params["means"], dtype=float)
    variances = np.asarray(data_params["variances"], dtype=float)
    n_samples, train_size = data_params["n_samples"], data_params["train_size"]
    if weights.ndim != 1 or weights.size < 1 or (weights < 0).any():
        _fail("data.mixture_weights", "a non-empty list of non-negative numbers", weights.tolist())
    if not np.isclose(weights.sum(), 1.0, atol=1e-6):
        _fail(
            "data.mixture_weights",
            f"weights summing to 1 (sum is {weights.sum():.6g})",
            weights.tolist(),
        )
    if means.ndim != 2 or means.shape[0] != weights.size:
        _fail(
            "data.means",
            f"a list of {weights.size} points (one per mixture weight)",
            means.tolist(),
        )
    if variances.shape != means.shape:
        _fail("data.variances", f"the same shape as data.means {means.shape}", variances.tolist())
    if (variances <= 0).any():
        _fail("data.variances", "positive numbers", variances.tolist())
    if not isinstance(n_samples, int) or n_samples < 2:
        _fail("data.n_samples", "an integer >= 2", n_samples)
    if not isinstance(train_size, int) or not 1 <= train_size < n_samples:
        _fail("data.train_size", f"an integer in [1, n_samples={n_samples})", train_size)


def generate_mixture_samples(data_params: dict[str, Any], seed: int) -> pd.DataFrame:
    """Draw ``n_samples`` rows of the reference Gaussian mixture.

    Component z ~ Categorical(mixture_weights); x ~ N(means[z], diag(variances[z]));
    y = means[z]. The reference's "std" list is used, as it was, as the
    covariance diagonal, hence the parameter name ``variances``.

    Returns:
        (n_samples, 5) table ``x1, x2, y1, y2, component``.
    """
    validate_data_params(data_params)
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
    if not 1 <= train_size < len(samples):
        _fail("data.train_size", f"an integer in [1, {len(samples)})", train_size)
    return (
        samples.iloc[:train_size].reset_index(drop=True),
        samples.iloc[train_size:].reset_index(drop=True),
    )


def validate_model_params(model_params: dict[str, Any], training_params: dict[str, Any]) -> None:
    """Raise a ValueError naming the first invalid model or training parameter."""
    k = model_params["num_components"]
    if not isinstance(k, int) or k < 1:
        _fail("model.num_components", "an integer >= 1", k)
    if not model_params["min_scale"] > 0:
        _fail("model.min_scale", "a positive number", model_params["min_scale"])
    if not 0 <= model_params["dropout_rate"] < 1:
        _fail("model.dropout_rate", "a number in [0, 1)", model_params["dropout_rate"])
    for name in ("epochs", "batch_size"):
        value = training_params[name]
        if not isinstance(value, int) or value < 1:
            _fail(f"training.{name}", "a positive integer", value)
    if not 0 < training_params["validation_fraction"] < 1:
        _fail(
            "training.validation_fraction",
            "a number in (0, 1)",
            training_params["validation_fraction"],
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
    validate_model_params(model_params, training_params)
    from advanced_dl.models.mdn import build_mdn
    from advanced_dl.training import fit_model

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
    result = fit_model(
        model,
        x[fit_rows],
        y[fit_rows],
        validation_data=(x[validation_rows], y[validation_rows]),
        epochs=training_params["epochs"],
        batch_size=training_params["batch_size"],
        hold_epochs=training_params["hold_epochs"],
        decay_rate=training_params["decay_rate"],
        early_stopping_patience=training_params["early_stopping_patience"],
        early_stopping_min_delta=training_params["early_stopping_min_delta"],
    )
    return model, result.as_metrics()


def predict_mixture(model: Any, test_samples: pd.DataFrame) -> pd.DataFrame:
    """Mixture parameters for each test row.

    Returns:
        (n, 1 + K + K*D + K) table: ``predicted_component`` (argmax weight),
        ``weight_<k>``, ``mean_<k>_<d>``, ``scale_<k>``.
    """
    from advanced_dl.serving.mdn_synthetic import mixture_frame

    params = model.predict(test_samples[X_COLUMNS].to_numpy("float32"), verbose=0)
    num_components = model.get_layer("mixture").num_components
    return mixture_frame(params, num_components, output_dim=len(Y_COLUMNS))


def _unpack(predictions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Prediction table -> weights (n, K), means (n, K, D), scales (n, K)."""
    k = sum(c.startswith("weight_") for c in predictions.columns)
    weights = predictions[[f"weight_{i}" for i in range(k)]].to_numpy(float)
    means = np.stack(
        [
            predictions[[f"mean_{i}_{d}" for d in range(len(Y_COLUMNS))]].to_numpy(float)
            for i in range(k)
        ],
        axis=1,
    )
    scales = predictions[[f"scale_{i}" for i in range(k)]].to_numpy(float)
    return weights, means, scales


def mixture_nll(y: np.ndarray, weights: np.ndarray, means: np.ndarray, scales: np.ndarray) -> float:
    """Mean over rows of -log sum_k w_k N(y | mu_k, s_k^2 I), in log space.

    Args:
        y: (n, D) targets; weights: (n, K); means: (n, K, D); scales: (n, K).
    """
    from scipy.special import logsumexp

    d = y.shape[1]
    squared = ((y[:, None, :] - means) ** 2).sum(axis=2)
    log_normal = -0.5 * squared / scales**2 - d * np.log(scales) - 0.5 * d * np.log(2 * np.pi)
    with np.errstate(divide="ignore"):
        log_weights = np.log(weights)
    return float(-logsumexp(log_weights + log_normal, axis=1).mean())


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
    test_samples: pd.DataFrame, predictions: pd.DataFrame, data_params: dict[str, Any]
) -> dict[str, float]:
    """Test metrics: clustering quality, NLL, and recovery of the true means.

    Returns:
        ``test_ari``, ``test_nmi`` (predicted vs true component), ``test_nll``,
        ``bayes_optimal_ari`` (true-parameter classifier on the same rows),
        ``mean_error_max`` (largest matched mean error) and ``components_matched``.
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    truth = test_samples["component"].to_numpy()
    predicted = predictions["predicted_component"].to_numpy()
    weights, means, scales = _unpack(predictions)
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


def _scatter_by_component(axis, x: np.ndarray, components: np.ndarray, label: str) -> None:
    for component in np.unique(components):
        rows = components == component
        axis.scatter(x[rows, 0], x[rows, 1], s=6, alpha=0.6, label=f"{label} {component}")
    axis.set_xlabel("x1")
    axis.set_ylabel("x2")
    axis.set_aspect("equal", adjustable="datalim")
    axis.legend(markerscale=3, fontsize="small")


def plot_training_data(train_samples: pd.DataFrame) -> Figure:
    """Training inputs coloured by their true component."""
    figure = Figure(figsize=(5.5, 5), layout="constrained")
    axis = figure.subplots()
    _scatter_by_component(
        axis,
        train_samples[X_COLUMNS].to_numpy(),
        train_samples["component"].to_numpy(),
        "component",
    )
    axis.set_title("Training data by true component")
    return figure


def plot_test_predictions(
    test_samples: pd.DataFrame, predictions: pd.DataFrame, data_params: dict[str, Any]
) -> Figure:
    """Test inputs coloured by predicted component; predicted and true means marked."""
    predicted = predictions["predicted_component"].to_numpy()
    weights, means, _ = _unpack(predictions)
    true_means = np.asarray(data_params["means"], dtype=float)
    figure = Figure(figsize=(5.5, 5), layout="constrained")
    axis = figure.subplots()
    _scatter_by_component(axis, test_samples[X_COLUMNS].to_numpy(), predicted, "predicted")
    for true_component, (component, _) in match_components(
        predicted, means, weights, true_means
    ).items():
        rows = predicted == component
        centre = (
            means[rows, component].mean(axis=0) if rows.any() else means[:, component].mean(axis=0)
        )
        axis.scatter(*centre, marker="X", s=140, color="black", zorder=3)
        axis.annotate(f"mu {component}", centre, textcoords="offset points", xytext=(6, 6))
        axis.scatter(*true_means[true_component], marker="+", s=200, color="red", zorder=3)
    axis.set_title("Test data by predicted component (X: predicted mean, +: true mean)")
    return figure


def plot_loss(training_history: dict[str, Any]) -> Figure:
    """Training and validation NLL per epoch, and the learning rate."""
    return plot_training_curves(
        training_history, panels=("loss", "learning_rate"), title="MDN training"
    )


def build_served_model(model: Any, test_samples: pd.DataFrame) -> Any:
    """Wrap the fitted network as the MLflow model users deploy (x1, x2 -> mixture)."""
    from advanced_dl.serving.mdn_synthetic import MdnServingModel

    return MdnServingModel(
        keras_model=model,
        input_example=test_samples[X_COLUMNS].head(5).reset_index(drop=True),
        num_components=model.get_layer("mixture").num_components,
    )
