"""Nodes of ``cora_gcn``: a GCN, GAT, GCNII or GRAND on a citation graph (docs/algorithms.md, 4).

Shapes: N nodes (Cora 2708, CiteSeer 3327), F word features (1433, 3703), C
classes (7, 6). Nodes keep
features and graphs as SciPy CSR matrices; the model's inputs are made by
``advanced_dl.features.graph``, as in the served model. TensorFlow is
imported only by the nodes that build, train or run the model. Parameters
arrive validated (``parameters.py``).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from advanced_dl.features.graph import (
    attention_support,
    gcn_filter,
    model_inputs,
    node_probabilities,
    row_normalise,
)
from advanced_dl.io.cora import PAPER_ID, SUBJECT

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------
# Graph, labels, masks
# ---------------------------------------------------------------------------


def _planetoid_class_names(planetoid: dict[str, Any], content: pd.DataFrame) -> list[str]:
    """Name Planetoid's class indices by matching its feature rows to ``cora.content`` rows.

    The Planetoid files carry class indices only; their rows are Cora's papers,
    so a word vector found in ``cora.content`` with one subject names its class.
    A class with no unambiguous match keeps the name ``class_<k>``.
    """
    feature_columns = [c for c in content.columns if c not in (PAPER_ID, SUBJECT)]
    cora_rows = content[feature_columns].to_numpy(dtype=np.uint8)
    subjects_by_row: dict[bytes, set[str]] = defaultdict(set)
    for row, subject in zip(cora_rows, content[SUBJECT], strict=True):
        subjects_by_row[row.tobytes()].add(subject)
    votes: dict[int, Counter] = defaultdict(Counter)
    planetoid_rows = planetoid["features"].toarray().astype(np.uint8)
    if planetoid_rows.shape[1] == cora_rows.shape[1]:
        for row, label in zip(planetoid_rows, planetoid["labels"], strict=True):
            subjects = subjects_by_row.get(row.tobytes(), set())
            if label >= 0 and len(subjects) == 1:
                votes[int(label)][next(iter(subjects))] += 1
    n_classes = int(planetoid["labels"].max()) + 1
    names = []
    for k in range(n_classes):
        best = votes[k].most_common(1)
        names.append(best[0][0] if best else f"class_{k}")
    if len(set(names)) != len(names):
        names = [f"class_{k}" for k in range(n_classes)]
    return names


def _planetoid_graph(
    planetoid: dict[str, Any],
    dataset: str,
    cora_content: pd.DataFrame,
    planetoid_split: dict[str, int],
) -> dict[str, Any]:
    """``build_graph``'s result from one Planetoid dataset (``io.planetoid.load_planetoid``)."""
    n_train, val_size = planetoid["train_index"].size, planetoid_split["val_size"]
    if n_train + val_size > planetoid["n_known"]:
        raise ValueError(
            f"Parameter 'cora_gcn.planetoid_split.val_size' ({val_size}) plus the {n_train} "
            f"training nodes exceed the {planetoid['n_known']} non-test nodes of {dataset}"
        )
    n_classes = int(planetoid["labels"].max()) + 1
    # Only Cora's classes can be named: its papers are in the LINQS archive.
    names = (
        _planetoid_class_names(planetoid, cora_content)
        if dataset == "cora"
        else [f"class_{k}" for k in range(n_classes)]
    )
    labels = planetoid["labels"]
    subjects = np.array([names[k] if k >= 0 else "" for k in labels], dtype=object)
    n_nodes = len(labels)
    return {
        "node_ids": np.array([str(i) for i in range(n_nodes)], dtype=object),
        "features": planetoid["features"].astype(np.float32).tocsr(),
        "subjects": subjects,
        "adjacency": planetoid["adjacency"].astype(np.float32).tocsr(),
        "source": "planetoid",
        "train_index": planetoid["train_index"],
        "val_index": np.arange(n_train, n_train + val_size, dtype=np.int64),
        "test_index": planetoid["test_index"],
    }


def build_graph(
    cora: dict[str, pd.DataFrame],
    planetoid: dict[str, Callable[[], dict[str, Any]]],
    dataset: str,
    split: str,
    planetoid_split: dict[str, int],
) -> dict[str, Any]:
    """The undirected citation graph with node features and subjects.

    Reference split (Cora only): nodes in ``cora.content`` order; an edge
    joins two papers when either cites the other. Citations naming a paper
    absent from the content file are dropped (their count is logged), as are
    self-citations (the filter adds every self-loop). Planetoid split: the
    ``dataset``'s Planetoid files, with their own nodes, features, labels and
    graph; validation is the ``planetoid_split.val_size`` nodes after the
    training ones.

    Args:
        cora: ``{"content": (N, F + 2) table, "citations": (E, 2) table}`` (``io.CoraDataset``).
        planetoid: a loader per Planetoid dataset (``io.PlanetoidDataset``);
            only ``dataset``'s is called.

    Returns:
        dict: ``node_ids`` (N,) str, ``features`` (N, F) float32 CSR,
        ``subjects`` (N,) str (empty string for an unlabelled node),
        ``adjacency`` (N, N) float32 CSR (symmetric 0/1, zero diagonal),
        ``source`` ("reference" or "planetoid"), plus for Planetoid its
        ``train_index``, ``val_index``, ``test_index``.
    """
    if split == "planetoid":
        return _planetoid_graph(planetoid[dataset](), dataset, cora["content"], planetoid_split)
    if dataset != "cora":
        raise ValueError(f"The reference split exists for Cora only, not {dataset!r}")
    cora_content, cora_citations = cora["content"], cora["citations"]
    node_ids = cora_content[PAPER_ID].astype(str).to_numpy()
    position = pd.Series(np.arange(len(node_ids)), index=node_ids)
    cited = cora_citations["cited"].astype(str).map(position)
    citing = cora_citations["citing"].astype(str).map(position)
    dangling = cited.isna() | citing.isna()
    if dangling.any():
        unknown = sorted(
            set(cora_citations.loc[cited.isna(), "cited"])
            | set(cora_citations.loc[citing.isna(), "citing"])
        )
        logger.warning(
            "Dropped %d citations naming %d papers absent from the content file (e.g. %s)",
            int(dangling.sum()),
            len(unknown),
            unknown[:5],
        )
    rows = cited[~dangling].to_numpy(dtype=np.int64)
    cols = citing[~dangling].to_numpy(dtype=np.int64)
    self_citations = rows == cols
    if self_citations.any():
        logger.info("Dropped %d self-citations", int(self_citations.sum()))
    rows, cols = rows[~self_citations], cols[~self_citations]
    n_nodes = len(node_ids)
    directed = sp.coo_matrix(
        (np.ones(rows.size, dtype=np.float32), (rows, cols)), shape=(n_nodes, n_nodes)
    )
    adjacency = ((directed + directed.T) > 0).astype(np.float32).tocsr()
    feature_columns = [c for c in cora_content.columns if c not in (PAPER_ID, SUBJECT)]
    features = sp.csr_matrix(cora_content[feature_columns].to_numpy(dtype=np.float32))
    logger.info("Graph: %d nodes, %d undirected edges", n_nodes, adjacency.nnz // 2)
    return {
        "node_ids": node_ids.astype(object),
        "features": features,
        "subjects": cora_content[SUBJECT].astype(str).to_numpy().astype(object),
        "adjacency": adjacency,
        "source": "reference",
    }


def build_node_features(citation_graph: dict[str, Any], model: dict[str, Any]) -> sp.csr_matrix:
    """The features the model reads: (N, F) float32 CSR.

    The architecture's ``row_normalise_features`` divides each node's word
    vector by its sum (the GCN and GAT papers' code); a node without words
    keeps an empty row. Otherwise the 0/1 vectors pass unchanged.
    """
    features = citation_graph["features"].astype(np.float32).tocsr()
    if not model[model["architecture"]]["row_normalise_features"]:
        return features
    return row_normalise(features)


def build_graph_filter(citation_graph: dict[str, Any], model: dict[str, Any]) -> sp.csr_matrix:
    """The graph the model reads: (N, N) float32 CSR.

    GCN, GCNII and GRAND: the filter A_hat = D^-1/2 (A + I) D^-1/2. GAT: A + I, the
    neighbourhoods (each node and its neighbours) its layers attend over;
    the attention supplies the weights.
    """
    if model["architecture"] == "gat":
        return attention_support(citation_graph["adjacency"])
    return gcn_filter(citation_graph["adjacency"])


def encode_labels(citation_graph: dict[str, Any]) -> tuple[np.ndarray, list[str]]:
    """One-hot subjects, classes in sorted name order (as scikit-learn's ``LabelEncoder``).

    Returns:
        labels (N, C) float32 (an all-zero row for an unlabelled node) and the
        C class names.
    """
    subjects = np.asarray(citation_graph["subjects"], dtype=object)
    class_names = sorted({s for s in subjects if s})
    index = {name: k for k, name in enumerate(class_names)}
    labels = np.zeros((len(subjects), len(class_names)), dtype=np.float32)
    for node, subject in enumerate(subjects):
        if subject:
            labels[node, index[subject]] = 1.0
    return labels, class_names


def build_masks(
    citation_graph: dict[str, Any], labels: np.ndarray, reference_split: dict[str, int]
) -> dict[str, np.ndarray]:
    """Boolean node masks ``train``, ``val``, ``test`` (each (N,)).

    Reference split: walk the nodes in file order and take the first
    ``train_per_class`` of each class for training; of the remaining nodes,
    in order, the next ``val_size`` validate and the following ``test_size``
    test. Planetoid split: the indices read from its files.
    """
    n_nodes = labels.shape[0]
    masks = {name: np.zeros(n_nodes, dtype=bool) for name in ("train", "val", "test")}
    if citation_graph["source"] == "planetoid":
        for name, mask in masks.items():
            mask[citation_graph[f"{name}_index"]] = True
    else:
        per_class = reference_split["train_per_class"]
        classes = labels.argmax(axis=1)
        labelled = labels.sum(axis=1) > 0
        taken = np.zeros(labels.shape[1], dtype=int)
        for node in range(n_nodes):
            if labelled[node] and taken[classes[node]] < per_class:
                masks["train"][node] = True
                taken[classes[node]] += 1
        remaining = np.flatnonzero(~masks["train"] & labelled)
        val_size, test_size = reference_split["val_size"], reference_split["test_size"]
        if remaining.size < val_size + test_size:
            raise ValueError(
                f"Parameters 'cora_gcn.reference_split.val_size' ({val_size}) + 'test_size' "
                f"({test_size}) exceed the {remaining.size} labelled nodes left after training"
            )
        masks["val"][remaining[:val_size]] = True
        masks["test"][remaining[val_size : val_size + test_size]] = True
    unlabelled = [name for name, mask in masks.items() if (labels[mask].sum(axis=1) == 0).any()]
    if unlabelled:
        raise ValueError(f"Masks {unlabelled} include nodes without a label")
    logger.info(
        "Masks (%s split): %s",
        citation_graph["source"],
        {name: int(mask.sum()) for name, mask in masks.items()},
    )
    return masks


# ---------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------


def train_model(
    node_features: sp.csr_matrix,
    graph_filter: sp.csr_matrix,
    labels: np.ndarray,
    masks: dict[str, np.ndarray],
    model: dict[str, Any],
    training: dict[str, Any],
) -> tuple[Any, dict[str, Any]]:
    """Build the chosen architecture and train it full-batch (``full_batch.train_full_batch``);
    with ``model.ensemble``, train each member in turn and wrap them into one model.

    Args:
        node_features: (N, F) CSR.
        graph_filter: (N, N): A_hat (GCN, GCNII, GRAND) or A + I (GAT).
        labels: (N, C) one-hot.
        masks: ``train``/``val`` (N,) bool: loss on the first, validation
            (early stopping) on the second.
        model: ``architecture``, ``ensemble``, ``ensemble_weights`` and one section
            per architecture.
        training: one section per architecture, ``verbose``.

    Returns:
        The trained model (the kept epoch's weights restored; an ensemble, the
        weighted mean of its members' probabilities, ``models.ensemble``) and the
        training history of ``architecture``: per-epoch ``loss, accuracy,
        val_loss, val_accuracy, learning_rate, epoch_seconds`` plus
        ``fit_seconds`` (tracing included), ``compile_seconds``,
        ``mean_epoch_seconds`` (validation included), ``epochs_trained`` and
        ``best_epoch``. An ensemble's ``fit_seconds`` is every member's fit, and
        it adds ``<member>_fit_seconds``, ``<member>_epochs_trained`` and
        ``<member>_best_epoch`` for each member.
    """
    members = [model["architecture"], *model["ensemble"]]
    inputs = model_inputs(node_features, graph_filter)
    verbose = bool(training["verbose"])
    trained = [
        _train_architecture(name, inputs, labels, masks, model[name], training[name], verbose)
        for name in members
    ]
    keras_model, history = trained[0]
    if len(trained) == 1:
        return keras_model, history
    from advanced_dl.models.ensemble import build_probability_ensemble

    history = dict(history)
    for architecture, (_, member_history) in zip(members, trained, strict=True):
        for name in ("fit_seconds", "epochs_trained", "best_epoch"):
            if name in member_history:
                history[f"{architecture}_{name}"] = member_history[name]
    history["fit_seconds"] = sum(h["fit_seconds"] for _, h in trained)
    ensemble = build_probability_ensemble([m for m, _ in trained], model["ensemble_weights"])
    return ensemble, history


def _train_architecture(
    architecture: str,
    inputs: tuple[Any, Any],
    labels: np.ndarray,
    masks: dict[str, np.ndarray],
    layers: dict[str, Any],
    optimisation: dict[str, Any],
    verbose: bool,
) -> tuple[Any, dict[str, Any]]:
    """``architecture`` built from its model section (``layers``) and trained with its
    training section (``optimisation``) on ``inputs`` (``model_inputs``' tensors)."""
    from .full_batch import ConsistencyConfig, EarlyStoppingConfig, train_full_batch

    x, a = inputs
    keras_model = _build_model(
        architecture,
        layers,
        tuple(int(size) for size in x.shape),
        labels.shape[1],
        float(optimisation["learning_rate"]),
    )
    result = train_full_batch(
        keras_model,
        x,
        a,
        labels,
        train_mask=masks["train"],
        val_mask=masks["val"],
        epochs=optimisation["epochs"],
        early_stopping=EarlyStoppingConfig(
            patience=optimisation["early_stopping_patience"],
            min_delta=float(optimisation["early_stopping_min_delta"]),
            restore_best_weights=bool(optimisation["restore_best_weights"]),
            monitor=optimisation["early_stopping_monitor"],
        ),
        hold_epochs=optimisation["hold_epochs"],
        decay_rate=float(optimisation["decay_rate"]),
        loss_average=optimisation["loss_average"],
        consistency=(
            ConsistencyConfig(
                samples=optimisation["consistency"]["samples"],
                weight=float(optimisation["consistency"]["weight"]),
                temperature=float(optimisation["consistency"]["temperature"]),
                confidence=float(optimisation["consistency"]["confidence"]),
                warmup_epochs=int(optimisation["consistency"]["warmup_epochs"]),
            )
            if optimisation.get("consistency")
            else None
        ),
        ema_momentum=float(optimisation["ema_momentum"]),
        verbose=verbose,
    )
    history = result.as_metrics()
    history["compile_seconds"] = result.compile_seconds
    logger.info(
        "Trained the %s %d epochs in %.2f s (%.2f ms per epoch, tracing %.2f s); kept epoch %d",
        architecture.upper(),
        result.epochs_trained,
        result.fit_seconds,
        1000 * history["mean_epoch_seconds"],
        result.compile_seconds,
        result.best_epoch + 1,
    )
    return keras_model, history


def _build_model(
    architecture: str,
    layers: dict[str, Any],
    features_shape: tuple[int, int],
    n_classes: int,
    learning_rate: float,
) -> Any:
    """The compiled Keras model of ``architecture`` with its section's settings."""
    n_nodes, n_features = features_shape
    if architecture == "grand":
        from advanced_dl.models.grand import build_grand

        # The section's names are build_grand's arguments; the features are prepared earlier.
        settings = {k: v for k, v in layers.items() if k != "row_normalise_features"}
        return build_grand(n_nodes, n_features, n_classes, learning_rate=learning_rate, **settings)
    if architecture == "gcnii":
        from advanced_dl.models.gcnii import build_gcnii

        return build_gcnii(
            n_nodes,
            n_features,
            n_classes,
            layers=layers["layers"],
            hidden_units=layers["hidden_units"],
            alpha=float(layers["alpha"]),
            lambda_=float(layers["identity_lambda"]),
            dropout_rate=float(layers["dropout_rate"]),
            conv_l2_factor=float(layers["conv_l2_factor"]),
            dense_l2_factor=float(layers["dense_l2_factor"]),
            initialisation=layers["initialisation"],
            learning_rate=learning_rate,
        )
    if architecture == "gat":
        from advanced_dl.models.gat import build_gat

        return build_gat(
            n_nodes,
            n_features,
            n_classes,
            hidden_units=layers["hidden_units"],
            attention_heads=layers["attention_heads"],
            output_heads=layers["output_heads"],
            dropout_rate=float(layers["dropout_rate"]),
            attention_dropout_rate=float(layers["attention_dropout_rate"]),
            projection_dropout_rate=float(layers["projection_dropout_rate"]),
            l2_factor=float(layers["l2_factor"]),
            learning_rate=learning_rate,
        )
    from advanced_dl.models.gcn import build_gcn

    return build_gcn(
        n_nodes,
        n_features,
        n_classes,
        hidden_units=layers["hidden_units"],
        dropout_rate=float(layers["dropout_rate"]),
        l2_factor=float(layers["l2_factor"]),
        learning_rate=learning_rate,
    )


def evaluate_model(
    trained_model: Any,
    node_features: sp.csr_matrix,
    graph_filter: sp.csr_matrix,
    labels: np.ndarray,
    masks: dict[str, np.ndarray],
    class_names: list[str],
    inference_samples: int,
) -> tuple[dict[str, float], pd.DataFrame]:
    """Score the model on the test mask (the reference reported all nodes; fixed).

    Returns:
        Metrics ``test_accuracy``, ``test_macro_f1``, ``test_loss``,
        ``selected_val_accuracy`` (the kept weights' validation accuracy; the
        per-epoch curve is ``val_accuracy``), and the per-class report on the test mask: one row
        per class plus ``macro avg`` and ``weighted avg``, columns
        ``class, precision, recall, f1, support``. Predictions as
        ``features.graph.node_probabilities`` makes them with ``inference_samples``;
        when that is above 0, ``expectation_val_accuracy`` is the validation
        accuracy of the single inference-mode pass, so one run compares the two
        on validation (the test set is scored once, the configured way).
    """
    from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_recall_fscore_support

    probabilities = node_probabilities(
        trained_model, node_features, graph_filter, inference_samples
    )
    predicted = probabilities.argmax(axis=1)
    truth = labels.argmax(axis=1)
    test, val = masks["test"], masks["val"]
    class_ids = list(range(len(class_names)))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth[test], predicted[test], labels=class_ids, zero_division=0
    )
    report = pd.DataFrame(
        {
            "class": class_names,
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": support.astype(int),
        }
    )
    total = max(int(support.sum()), 1)
    summary = pd.DataFrame(
        {
            "class": ["macro avg", "weighted avg"],
            "precision": [precision.mean(), (precision * support).sum() / total],
            "recall": [recall.mean(), (recall * support).sum() / total],
            "f1": [f1.mean(), (f1 * support).sum() / total],
            "support": [int(support.sum())] * 2,
        }
    )
    metrics = {
        "test_accuracy": float(accuracy_score(truth[test], predicted[test])),
        "test_macro_f1": float(
            f1_score(
                truth[test], predicted[test], labels=class_ids, average="macro", zero_division=0
            )
        ),
        "test_loss": float(
            log_loss(truth[test], np.clip(probabilities[test], 1e-7, 1.0), labels=class_ids)
        ),
        "selected_val_accuracy": float(accuracy_score(truth[val], predicted[val])),
    }
    if inference_samples:
        expectation = node_probabilities(trained_model, node_features, graph_filter)
        metrics["expectation_val_accuracy"] = float(
            accuracy_score(truth[val], expectation[val].argmax(axis=1))
        )
    logger.info("Test metrics: %s", metrics)
    return metrics, pd.concat([report, summary], ignore_index=True)


def embed_hidden_layer(
    trained_model: Any,
    node_features: sp.csr_matrix,
    graph_filter: sp.csr_matrix,
    tsne: dict[str, Any],
    seed: int,
) -> pd.DataFrame:
    """t-SNE of the first graph layer's activations (inference mode).

    Args:
        tsne: ``perplexity``, ``max_iter`` (scikit-learn's, >= 250) and
            ``max_nodes`` (null embeds every node; a number embeds a seeded
            random sample of that many nodes, for quick runs).

    Returns:
        (n, 3) table ``node, tsne_1, tsne_2`` (n = N or ``max_nodes``).
    """
    from sklearn.manifold import TSNE

    from advanced_dl.models import hidden_activations_model

    max_nodes, max_iter = tsne["max_nodes"], tsne["max_iter"]
    hidden = np.asarray(
        hidden_activations_model(trained_model)(
            model_inputs(node_features, graph_filter), training=False
        )
    )
    nodes = np.arange(hidden.shape[0])
    if max_nodes is not None and max_nodes < nodes.size:
        nodes = np.sort(np.random.default_rng(seed).choice(nodes, size=max_nodes, replace=False))
    perplexity = min(float(tsne["perplexity"]), (nodes.size - 1) / 3)
    # PCA's start divides by the activations' spread: when every node has the same
    # activations (all hidden units still at zero after a few epochs) it yields NaN, on
    # which scikit-learn's Barnes-Hut tree crashes the process. Start at random then.
    spread = bool(np.ptp(hidden[nodes], axis=0).any())
    if not spread:
        logger.warning("Every node has the same hidden activations: t-SNE starts at random")
    embedding = TSNE(
        n_components=2,
        perplexity=perplexity,
        max_iter=max_iter,
        init="pca" if spread else "random",
        random_state=seed,
    ).fit_transform(hidden[nodes])
    return pd.DataFrame({"node": nodes, "tsne_1": embedding[:, 0], "tsne_2": embedding[:, 1]})


# ---------------------------------------------------------------------------
# Serving
# ---------------------------------------------------------------------------


def neighbourhood_weights(
    trained_model: Any,
    node_features: sp.csr_matrix,
    graph_filter: sp.csr_matrix,
    masks: dict[str, np.ndarray],
    neighbourhood_figure: dict[str, Any],
) -> pd.DataFrame:
    """The weight each neighbour of one node gets in the first graph layer.

    GAT: the attention coefficients of every head (inference mode); GCN:
    A_hat's fixed entries, one "head". The node is ``neighbourhood_figure.node``
    or, when null, the test node with the most neighbours not above
    ``max_neighbours`` (the lowest index among ties).

    Returns:
        (K * heads, 4) table ``node, neighbour, head, weight``: K is the node's
        neighbourhood (itself included); weights sum to 1 per head for GAT.
    """
    support = graph_filter.tocsr()
    degrees = np.diff(support.indptr) - (support.diagonal() != 0)
    node = neighbourhood_figure["node"]
    if node is None:
        candidates = np.flatnonzero(
            masks["test"] & (degrees <= neighbourhood_figure["max_neighbours"])
        )
        node = int(candidates[np.argmax(degrees[candidates])])
    elif node >= support.shape[0]:
        raise ValueError(
            f"Parameter 'cora_gcn.neighbourhood_figure.node' ({node}) names no node: the graph "
            f"has {support.shape[0]} (0..{support.shape[0] - 1})"
        )
    if trained_model.name != "gat":
        row = support.getrow(node).tocoo()
        return pd.DataFrame(
            {"node": node, "neighbour": row.col, "head": 0, "weight": row.data.astype(np.float64)}
        )
    edges, coefficients = trained_model.get_layer("gat_hidden").attention(
        model_inputs(node_features, graph_filter)
    )
    edges, coefficients = np.asarray(edges), np.asarray(coefficients, dtype=np.float64)
    around = edges[:, 0] == node
    heads = coefficients.shape[1]
    return pd.DataFrame(
        {
            "node": node,
            "neighbour": np.repeat(edges[around, 1], heads),
            "head": np.tile(np.arange(heads), int(around.sum())),
            "weight": coefficients[around].ravel(),
        }
    )


def build_served_model(
    trained_model: Any,
    node_features: sp.csr_matrix,
    graph_filter: sp.csr_matrix,
    citation_graph: dict[str, Any],
    class_names: list[str],
    inference_samples: int,
) -> Any:
    """The served model: node indices in, class probabilities and predicted class out,
    predicted as evaluation predicts (``inference_samples``)."""
    from advanced_dl.serving.cora_gcn import CoraGcnServingModel

    return CoraGcnServingModel(
        keras_model=trained_model,
        features=node_features,
        graph_filter=graph_filter,
        class_names=list(class_names),
        node_ids=[str(node) for node in citation_graph["node_ids"]],
        inference_samples=inference_samples,
    )
