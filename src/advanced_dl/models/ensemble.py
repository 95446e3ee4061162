"""An ensemble of trained node classifiers: the weighted mean of their class probabilities.

Members are trained apart, each with its own objective and early stopping
(``pipelines/cora_gcn``); afterwards they are wrapped into one Keras model, so
evaluation, the figures, saving and serving handle an ensemble as one model.
A call in training mode reaches every member, so Monte Carlo averaging
(``features.graph.node_probabilities``) draws each member's dropout.
"""

from __future__ import annotations

import keras

ENSEMBLE_NAME = "ensemble"


def build_probability_ensemble(
    members: list[keras.Model], member_weights: list[float] | None = None
) -> keras.Model:
    """One model ``[features, graph_filter] -> (N, C)``: the weighted mean of ``members``'
    outputs (``member_weights``, positive, summing to 1; None: equal weights).

    Every member must take the same inputs (shapes, sparsity) and give class
    probabilities over the same classes; their names must differ (they are the
    ensemble's layer names). The members' weights are shared, not copied.
    """
    if len(members) < 2:
        raise ValueError(f"An ensemble needs at least 2 members, got {len(members)}")
    if member_weights is None:
        member_weights = [1.0 / len(members)] * len(members)
    if len(member_weights) != len(members) or min(member_weights) <= 0:
        raise ValueError(
            f"member_weights must give each of the {len(members)} members a positive "
            f"weight, got {member_weights}"
        )
    if abs(sum(member_weights) - 1.0) > 1e-6:
        raise ValueError(f"member_weights must sum to 1, got {member_weights}")
    names = [member.name for member in members]
    if len(set(names)) != len(names):
        raise ValueError(f"Ensemble members need distinct names, got {names}")
    first = members[0]
    for member in members[1:]:
        same_inputs = [(t.shape, t.sparse) for t in member.inputs] == [
            (t.shape, t.sparse) for t in first.inputs
        ]
        if not same_inputs or member.outputs[0].shape != first.outputs[0].shape:
            raise ValueError(
                f"Member {member.name!r} does not take {first.name!r}'s inputs or give its "
                f"output shape {first.outputs[0].shape}"
            )
    inputs = [
        keras.Input(batch_shape=t.shape, sparse=t.sparse, dtype=t.dtype, name=name)
        for t, name in zip(first.inputs, ("features", "graph_filter"), strict=True)
    ]
    # Built-in layers only (Rescaling, Add), so the saved ensemble needs nothing registered
    # beyond its members' layers; float32 whatever the precision policy, as probabilities.
    weighted = [
        keras.layers.Rescaling(float(weight), dtype="float32", name=f"{member.name}_weight")(
            member(inputs)
        )
        for member, weight in zip(members, member_weights, strict=True)
    ]
    mean = keras.layers.Add(dtype="float32", name="mean_probabilities")(weighted)
    return keras.Model(inputs, mean, name=ENSEMBLE_NAME)


def ensemble_members(model: keras.Model) -> list[keras.Model]:
    """The member models of an ensemble, in order; ``[model]`` for any other model."""
    if model.name != ENSEMBLE_NAME:
        return [model]
    return [layer for layer in model.layers if isinstance(layer, keras.Model)]
