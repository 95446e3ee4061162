"""Nodes of ``cora_gcn`` (ALGORITHMS.md section 4): a two-layer GCN on the Cora citation graph.

Shapes: N nodes (2708), F word features (1433), C classes (7). Nodes keep
features and graphs as SciPy CSR matrices; TensorFlow is imported only by
the nodes that build, train or run the model.
"""

from __future__ import annotations

import hashlib
import logging
import tarfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from matplotlib.figure import Figure

from advanced_dl.plotting import plot_training_curves

from .planetoid import PLANETOID_CORA_SHA256, PLANETOID_FILES, load_planetoid

logger = logging.getLogger(__name__)

SPLITS = ("reference", "planetoid")
PAPER_ID = "paper_id"
SUBJECT = "subject"


class CoraDataError(ValueError):
    """The Cora files do not have the expected content."""


# ---------------------------------------------------------------------------
# Ingestion
# ---------------------------------------------------------------------------


def _member_bytes(tar: tarfile.TarFile, archive: Path, member: str) -> bytes:
    try:
        stream = tar.extractfile(member)
    except KeyError:
        stream = None
    if stream is None:
        raise CoraDataError(f"{archive} has no file {member!r}; it holds {tar.getnames()}")
    return stream.read()


def _check_member_sha256(data: bytes, archive: Path, member: str, expected: str | None) -> None:
    if not expected:
        return
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected.lower():
        raise CoraDataError(
            f"{archive}:{member} has SHA-256 {actual}, expected {expected} (the original "
            f"LINQS file). Set the parameter cora_gcn.cora_files.*.sha256 to null to "
            "accept a different version."
        )


def parse_content(text: str, source: str) -> pd.DataFrame:
    """Parse ``cora.content``: ``<paper id> <F binary features> <subject>``, tab-separated.

    Returns:
        (N, F + 2) table: ``paper_id`` (str), ``subject`` (str), then features
        ``w0 .. w{F-1}`` (uint8), in file order.

    Raises:
        CoraDataError: naming ``source`` and the offending rows (1-based line
            numbers) or paper ids for wrong column counts, non-binary features
            or duplicate ids.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise CoraDataError(f"{source} is empty")
    fields = [line.rstrip("\n").split("\t") for line in lines]
    widths = np.array([len(row) for row in fields])
    expected_width = int(Counter(widths.tolist()).most_common(1)[0][0])
    bad_rows = np.flatnonzero(widths != expected_width)
    if expected_width < 3 or bad_rows.size:
        shown = ", ".join(
            f"line {i + 1} ({fields[i][0]!r}: {widths[i]} columns)" for i in bad_rows[:10]
        )
        raise CoraDataError(
            f"{source}: every row must have the same number of columns (id, features, "
            f"subject; most rows have {expected_width}); {bad_rows.size} rows differ: {shown}"
        )
    paper_ids = np.array([row[0] for row in fields])
    subjects = np.array([row[-1] for row in fields])
    raw = np.array([row[1:-1] for row in fields])
    binary = (raw == "0") | (raw == "1")
    if not binary.all():
        bad = np.argwhere(~binary)
        shown = ", ".join(
            f"line {r + 1} (paper {paper_ids[r]}, feature {c}: {str(raw[r, c])!r})"
            for r, c in bad[:10]
        )
        raise CoraDataError(
            f"{source}: features must be 0 or 1; {len(bad)} values are not: {shown}"
        )
    counts = Counter(paper_ids.tolist())
    duplicates = sorted(pid for pid, count in counts.items() if count > 1)
    if duplicates:
        raise CoraDataError(
            f"{source}: paper ids must be unique; duplicated: {duplicates[:20]}"
            + (f" (and {len(duplicates) - 20} more)" if len(duplicates) > 20 else "")
        )
    features = pd.DataFrame(
        (raw == "1").astype(np.uint8), columns=[f"w{i}" for i in range(raw.shape[1])]
    )
    table = pd.DataFrame({PAPER_ID: paper_ids, SUBJECT: subjects})
    return pd.concat([table, features], axis=1)


def parse_cites(text: str, source: str) -> pd.DataFrame:
    """Parse ``cora.cites``: lines ``<cited id> <citing id>``, tab-separated.

    Returns:
        (E, 2) table ``cited, citing`` (str), in file order.

    Raises:
        CoraDataError: naming ``source`` and the lines without exactly two columns.
    """
    fields = [line.split() for line in text.splitlines() if line.strip()]
    bad = [i for i, row in enumerate(fields) if len(row) != 2]
    if bad:
        shown = ", ".join(f"line {i + 1} ({len(fields[i])} columns)" for i in bad[:10])
        raise CoraDataError(
            f"{source}: every line must be '<cited id><TAB><citing id>'; {len(bad)} are not: "
            f"{shown}"
        )
    return pd.DataFrame(fields, columns=["cited", "citing"], dtype=str)


def read_cora(cora_archive: Path, cora_files: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read ``cora.content`` and ``cora.cites`` from the LINQS archive.

    The archive's own checksum differs between copies (the mirror rebuilt it),
    so the files inside are checked instead against the SHA-256 values in
    ``cora_files`` (those of the original files). Reading from the archive is
    this node's job: no Kedro dataset reads a member of a tar file.

    Args:
        cora_archive: local path of ``cora.tgz`` (from a ``RemoteFileDataset``).
        cora_files: ``{"content": {"member": ..., "sha256": ...}, "cites": {...}}``.

    Returns:
        The content table (see :func:`parse_content`) and the citations table
        (see :func:`parse_cites`).
    """
    archive = Path(cora_archive)
    for kind in ("content", "cites"):
        if not isinstance(cora_files.get(kind), dict) or not cora_files[kind].get("member"):
            raise ValueError(
                f"Parameter 'cora_gcn.cora_files.{kind}.member' must name the file in the "
                f"archive; got {cora_files.get(kind)!r}"
            )
    with tarfile.open(archive) as tar:
        texts = {}
        for kind in ("content", "cites"):
            member, sha256 = cora_files[kind]["member"], cora_files[kind].get("sha256")
            data = _member_bytes(tar, archive, member)
            _check_member_sha256(data, archive, member, sha256)
            texts[kind] = (data.decode("utf-8"), f"{archive}:{member}")
    content = parse_content(*texts["content"])
    citations = parse_cites(*texts["cites"])
    logger.info(
        "Cora: %d papers, %d features, %d citations",
        len(content),
        content.shape[1] - 2,
        len(citations),
    )
    return content, citations


def validate_split(split: Any) -> str:
    """Return ``split`` if it names a supported split, else raise a clear ValueError."""
    if split not in SPLITS:
        raise ValueError(f"Parameter 'cora_gcn.split' must be one of {list(SPLITS)}; got {split!r}")
    return split


def read_planetoid(split: str, val_size: int, **planetoid_files: Path) -> dict[str, Any]:
    """Read the Planetoid files (checksums verified before unpickling) if ``split`` needs them.

    Args:
        split: ``"reference"`` or ``"planetoid"`` (validated here, first).
        val_size: validation nodes after the training nodes (500).
        planetoid_files: local paths keyed ``x, y, tx, ty, allx, ally, graph, test_index``.

    Returns:
        ``{}`` for the reference split; otherwise :func:`planetoid.load_planetoid`'s dict.
    """
    validate_split(split)
    if split != "planetoid":
        return {}
    paths = {name: planetoid_files[name.replace(".", "_")] for name in PLANETOID_FILES}
    return load_planetoid(paths, sha256=PLANETOID_CORA_SHA256, val_size=val_size)


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


def build_graph(
    cora_content: pd.DataFrame, cora_citations: pd.DataFrame, planetoid: dict[str, Any]
) -> dict[str, Any]:
    """The undirected citation graph with node features and subjects.

    Reference split: nodes in ``cora.content`` order; an edge joins two papers
    when either cites the other. Citations naming a paper absent from the
    content file are dropped (their count is logged), as are self-citations
    (the filter adds every self-loop). Planetoid split: the Planetoid files'
    own nodes, features, labels and graph (``planetoid`` non-empty).

    Returns:
        dict: ``node_ids`` (N,) str, ``features`` (N, F) float32 CSR,
        ``subjects`` (N,) str (empty string for an unlabelled node),
        ``adjacency`` (N, N) float32 CSR (symmetric 0/1, zero diagonal),
        ``source`` ("reference" or "planetoid"), plus for Planetoid its
        ``train_index``, ``val_index``, ``test_index``.
    """
    if planetoid:
        names = _planetoid_class_names(planetoid, cora_content)
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
            "val_index": planetoid["val_index"],
            "test_index": planetoid["test_index"],
        }

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


def build_graph_filter(citation_graph: dict[str, Any]) -> sp.csr_matrix:
    """A_hat = D^-1/2 (A + I) D^-1/2, (N, N) float32 CSR, via spektral's ``GCNConv.preprocess``."""
    from advanced_dl.models.gcn import GCNConv

    adjacency = citation_graph["adjacency"]
    if adjacency.diagonal().any():
        raise ValueError("The adjacency matrix must have no self-loops before adding I")
    graph_filter = GCNConv.preprocess(sp.csr_matrix(adjacency, dtype=np.float32))
    return sp.csr_matrix(graph_filter, dtype=np.float32)


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
        for key in ("train_per_class", "val_size", "test_size"):
            value = reference_split.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(
                    f"Parameter 'cora_gcn.reference_split.{key}' must be a positive integer; "
                    f"got {value!r}"
                )
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


def _model_inputs(features: sp.spmatrix, graph_filter: sp.spmatrix) -> list[Any]:
    from advanced_dl.models.gcn import to_sparse_tensor

    return [to_sparse_tensor(features), to_sparse_tensor(graph_filter)]


def validate_training_params(model_params: dict[str, Any], training: dict[str, Any]) -> None:
    """Raise a ValueError naming the first invalid model or training parameter."""
    checks = [
        ("model.hidden_units", model_params.get("hidden_units"), int, lambda v: v >= 1),
        ("model.dropout_rate", model_params.get("dropout_rate"), float, lambda v: 0 <= v < 1),
        ("model.l2_factor", model_params.get("l2_factor"), float, lambda v: v >= 0),
        ("training.learning_rate", training.get("learning_rate"), float, lambda v: v > 0),
        ("training.epochs", training.get("epochs"), int, lambda v: v >= 1),
    ]
    for name, value, kind, ok in checks:
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if not numeric or (kind is int and not isinstance(value, int)) or not ok(value):
            raise ValueError(f"Parameter 'cora_gcn.{name}' is invalid: {value!r}")
    patience = training.get("early_stopping_patience")
    if patience is not None and (not isinstance(patience, int) or patience < 1):
        raise ValueError(
            f"Parameter 'cora_gcn.training.early_stopping_patience' must be a positive "
            f"integer or null; got {patience!r}"
        )
    hold = training.get("hold_epochs")
    if hold is not None and (not isinstance(hold, int) or hold < 0):
        raise ValueError(
            f"Parameter 'cora_gcn.training.hold_epochs' must be null (constant rate) or an "
            f"integer >= 0; got {hold!r}"
        )


def train_gcn(
    citation_graph: dict[str, Any],
    graph_filter: sp.csr_matrix,
    labels: np.ndarray,
    masks: dict[str, np.ndarray],
    *,
    model_params: dict[str, Any],
    training: dict[str, Any],
    seed: int,
) -> tuple[Any, dict[str, Any]]:
    """Build the reference GCN and train it full-batch (see ``full_batch.train_full_batch``).

    Args:
        citation_graph: ``features`` (N, F) CSR.
        graph_filter: (N, N) A_hat.
        labels: (N, C) one-hot.
        masks: ``train``/``val`` (N,) bool: loss weighted by the first,
            validation (early stopping on its loss) on the second.

    Returns:
        The trained model (best validation-loss weights restored) and the
        training history: per-epoch ``epoch_loss, epoch_accuracy, epoch_val_loss,
        epoch_val_accuracy, epoch_learning_rate, epoch_wall_seconds`` plus ``fit_seconds`` (tracing
        included), ``compile_seconds``, ``epochs_trained``, ``best_epoch``
        and ``epoch_time_ms`` (mean wall time of an epoch, validation included).
    """
    validate_training_params(model_params, training)
    import keras

    from advanced_dl.models.gcn import build_gcn

    from .full_batch import EarlyStoppingConfig, train_full_batch

    keras.utils.set_random_seed(seed)
    features = citation_graph["features"]
    model = build_gcn(
        n_nodes=features.shape[0],
        n_features=features.shape[1],
        n_classes=labels.shape[1],
        hidden_units=model_params["hidden_units"],
        dropout_rate=float(model_params["dropout_rate"]),
        l2_factor=float(model_params["l2_factor"]),
        learning_rate=float(training["learning_rate"]),
    )
    x, a = _model_inputs(features, graph_filter)
    result = train_full_batch(
        model,
        x,
        a,
        labels,
        train_mask=masks["train"],
        val_mask=masks["val"],
        epochs=training["epochs"],
        early_stopping=EarlyStoppingConfig(
            patience=training.get("early_stopping_patience"),
            min_delta=float(training.get("early_stopping_min_delta", 0.0)),
            restore_best_weights=bool(training.get("restore_best_weights", True)),
        ),
        hold_epochs=training.get("hold_epochs"),
        decay_rate=float(training.get("decay_rate", 0.1)),
        verbose=bool(training.get("verbose", True)),
    )
    # Curves are logged as "epoch_<Keras name>": the plain names are the selected
    # (best-epoch) model's scalars, e.g. val_accuracy in test_metrics.
    history = {
        f"epoch_{name}"
        if isinstance(value, list) and not name.startswith("epoch_")
        else name: value
        for name, value in result.as_metrics().items()
    }
    history["epoch_time_ms"] = 1000.0 * float(np.mean(result.epoch_seconds))
    history["compile_seconds"] = result.compile_seconds
    logger.info(
        "Trained %d epochs in %.2f s (%.2f ms per epoch, tracing %.2f s); best epoch %d",
        result.epochs_trained,
        result.fit_seconds,
        history["epoch_time_ms"],
        result.compile_seconds,
        result.best_epoch + 1,
    )
    return model, history


def evaluate_gcn(
    trained_model: Any,
    citation_graph: dict[str, Any],
    graph_filter: sp.csr_matrix,
    labels: np.ndarray,
    *,
    masks: dict[str, np.ndarray],
    class_names: list[str],
) -> tuple[dict[str, float], pd.DataFrame]:
    """Score the model on the test mask (the reference reported all nodes; fixed).

    Returns:
        Metrics ``test_accuracy``, ``test_macro_f1``, ``test_loss``,
        ``val_accuracy``, and the per-class report on the test mask: one row
        per class plus ``macro avg`` and ``weighted avg``, columns
        ``class, precision, recall, f1, support``.
    """
    from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_recall_fscore_support

    probabilities = np.asarray(
        trained_model(_model_inputs(citation_graph["features"], graph_filter), training=False)
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
        "val_accuracy": float(accuracy_score(truth[val], predicted[val])),
    }
    logger.info("Test metrics: %s", metrics)
    return metrics, pd.concat([report, summary], ignore_index=True)


def embed_hidden_layer(
    trained_model: Any,
    citation_graph: dict[str, Any],
    graph_filter: sp.csr_matrix,
    tsne: dict[str, Any],
    seed: int,
) -> pd.DataFrame:
    """t-SNE of the first GCN layer's activations (inference mode).

    Args:
        tsne: ``perplexity``, ``max_iter`` (scikit-learn's, >= 250) and
            ``max_nodes`` (null embeds every node; a number embeds a seeded
            random sample of that many nodes, for quick runs).

    Returns:
        (n, 3) table ``node, tsne_1, tsne_2`` (n = N or ``max_nodes``).
    """
    from sklearn.manifold import TSNE

    from advanced_dl.models.gcn import hidden_activations_model

    max_nodes, max_iter = tsne.get("max_nodes"), tsne.get("max_iter", 1000)
    if max_nodes is not None and (not isinstance(max_nodes, int) or max_nodes < 10):
        raise ValueError(
            f"Parameter 'cora_gcn.tsne.max_nodes' must be null or >= 10; got {max_nodes!r}"
        )
    if not isinstance(max_iter, int) or max_iter < 250:
        raise ValueError(
            f"Parameter 'cora_gcn.tsne.max_iter' must be an integer >= 250; got {max_iter!r}"
        )
    hidden = np.asarray(
        hidden_activations_model(trained_model)(
            _model_inputs(citation_graph["features"], graph_filter), training=False
        )
    )
    nodes = np.arange(hidden.shape[0])
    if max_nodes is not None and max_nodes < nodes.size:
        nodes = np.sort(np.random.default_rng(seed).choice(nodes, size=max_nodes, replace=False))
    perplexity = min(float(tsne.get("perplexity", 30.0)), (nodes.size - 1) / 3)
    embedding = TSNE(
        n_components=2, perplexity=perplexity, max_iter=max_iter, init="pca", random_state=seed
    ).fit_transform(hidden[nodes])
    return pd.DataFrame({"node": nodes, "tsne_1": embedding[:, 0], "tsne_2": embedding[:, 1]})


# ---------------------------------------------------------------------------
# Figures and serving
# ---------------------------------------------------------------------------


def plot_training_history(training_history: dict[str, Any]) -> Figure:
    """Loss and accuracy per epoch, training and validation."""
    curves = {
        name.removeprefix("epoch_"): values
        for name, values in training_history.items()
        if isinstance(values, list)
    }
    return plot_training_curves(curves, panels=("loss", "accuracy"), title="GCN on Cora")


def plot_hidden_embedding(
    hidden_embedding: pd.DataFrame, labels: np.ndarray, class_names: list[str]
) -> Figure:
    """t-SNE of the hidden layer (``node, tsne_1, tsne_2``), each node coloured by its class."""
    figure = Figure(figsize=(7.5, 6.5), layout="constrained")
    axis = figure.subplots()
    nodes = hidden_embedding["node"].to_numpy()
    points = hidden_embedding[["tsne_1", "tsne_2"]].to_numpy()
    classes = labels[nodes].argmax(axis=1)
    labelled = labels[nodes].sum(axis=1) > 0
    colours = [f"C{k % 10}" for k in range(len(class_names))]
    for k, name in enumerate(class_names):
        chosen = labelled & (classes == k)
        axis.scatter(
            points[chosen, 0],
            points[chosen, 1],
            s=6,
            color=colours[k],
            label=name.replace("_", " "),
            alpha=0.8,
        )
    axis.set_title(f"t-SNE of the first GCN layer's activations ({len(nodes)} nodes)")
    axis.set_xticks([])
    axis.set_yticks([])
    axis.legend(markerscale=3, fontsize=8, loc="best")
    return figure


def build_served_model(
    trained_model: Any,
    citation_graph: dict[str, Any],
    graph_filter: sp.csr_matrix,
    class_names: list[str],
) -> Any:
    """The served model: node indices in, class probabilities and predicted class out."""
    from advanced_dl.serving.cora_gcn import CoraGcnServingModel

    return CoraGcnServingModel(
        keras_model=trained_model,
        features=citation_graph["features"],
        graph_filter=graph_filter,
        class_names=list(class_names),
        node_ids=[str(node) for node in citation_graph["node_ids"]],
    )
