"""Parameter schema of ``cora_gcn`` (``conf/base/parameters_cora_gcn.yml``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from advanced_dl.schema import (
    DropoutRate,
    LearningRate,
    NonNegativeFloat,
    NonNegativeInt,
    Patience,
    PositiveFloat,
    PositiveInt,
    Schema,
)


class ReferenceSplitParameters(Schema):
    train_per_class: PositiveInt
    val_size: PositiveInt
    test_size: PositiveInt


class PlanetoidSplitParameters(Schema):
    val_size: PositiveInt


class GcnParameters(Schema):
    hidden_units: PositiveInt
    dropout_rate: DropoutRate
    l2_factor: NonNegativeFloat
    row_normalise_features: bool


class GatParameters(Schema):
    hidden_units: PositiveInt  # per head
    attention_heads: PositiveInt
    output_heads: PositiveInt
    dropout_rate: DropoutRate  # on each layer's input
    attention_dropout_rate: DropoutRate
    projection_dropout_rate: DropoutRate
    l2_factor: NonNegativeFloat
    row_normalise_features: bool


class GcniiParameters(Schema):
    layers: PositiveInt  # graph convolutions, each with the initial residual
    hidden_units: PositiveInt
    alpha: Annotated[float, Field(ge=0, le=1)]  # share of the initial representation H0
    identity_lambda: PositiveFloat  # lambda of beta_l = log(lambda / l + 1)
    dropout_rate: DropoutRate
    conv_l2_factor: NonNegativeFloat
    dense_l2_factor: NonNegativeFloat
    row_normalise_features: bool
    # glorot: Keras' defaults; reference: the GCNII code's (PyTorch's) initial weights
    initialisation: Literal["glorot", "reference"]


class GrandParameters(Schema):
    order: NonNegativeInt  # propagation steps: the average of A_hat^k X, k = 0..order
    dropnode_rate: DropoutRate  # chance that a node's whole feature row is dropped
    input_dropout_rate: DropoutRate
    # after_propagation: the paper's; before_propagation: on the raw features (faster)
    input_dropout_position: Literal["after_propagation", "before_propagation"]
    hidden_dropout_rate: DropoutRate
    hidden_units: PositiveInt
    l2_factor: NonNegativeFloat  # on every dense kernel and bias
    row_normalise_features: bool
    # glorot: Keras' defaults; reference: the GRAND code's initial weights
    initialisation: Literal["glorot", "reference"]
    # uniform: GRAND's average over hops 0..order; personalized_pagerank: GRAND+'s
    # weights, proportional to teleport_probability * (1 - teleport_probability)^k
    hop_weights: Literal["uniform", "personalized_pagerank"]
    teleport_probability: float = Field(gt=0, le=1)


Architecture = Literal["gcn", "gat", "gcnii", "grand"]


class ModelParameters(Schema):
    architecture: Architecture
    # Architectures trained beside `architecture`, each with its own sections; the
    # prediction is the weighted mean of every member's class probabilities. []: one model.
    ensemble: list[Architecture]
    # The weights of [architecture, *ensemble] in that mean (positive, summing to 1);
    # null: equal weights.
    ensemble_weights: list[PositiveFloat] | None
    gcn: GcnParameters
    gat: GatParameters
    gcnii: GcniiParameters
    grand: GrandParameters

    @model_validator(mode="after")
    def _ensemble_is_consistent(self) -> ModelParameters:
        members = [self.architecture, *self.ensemble]
        weights = self.ensemble_weights
        if weights is not None and (len(weights) != len(members) or abs(sum(weights) - 1) > 1e-6):
            raise ValueError(
                f"ensemble_weights {weights} must give each of {members} (architecture, then "
                f"ensemble) a weight, the weights summing to 1; or be null for equal weights"
            )
        if not self.ensemble:
            return self
        if len(set(members)) != len(members):
            raise ValueError(
                f"ensemble {self.ensemble} must name each architecture once and not "
                f"'architecture' ({self.architecture!r}) again"
            )
        if "gat" in members:
            raise ValueError(
                f"ensemble of {members}: GAT reads the graph as A + I and the others as "
                f"A_hat, so its members would need different inputs; leave 'gat' out"
            )
        normalised = {m: getattr(self, m).row_normalise_features for m in members}
        if len(set(normalised.values())) > 1:
            raise ValueError(
                f"ensemble members must read the same features, but "
                f"row_normalise_features differs: {normalised}"
            )
        return self


class ConsistencyParameters(Schema):
    """GRAND's objective: ``samples`` random versions per epoch, their consistency loss."""

    samples: PositiveInt
    weight: NonNegativeFloat  # lambda, the consistency loss's weight
    temperature: Annotated[float, Field(gt=0, le=1)]  # sharpening of the averaged prediction
    # GRAND+'s confidence-aware loss: only nodes whose averaged prediction exceeds it
    # count; 0 counts every node (GRAND).
    confidence: Annotated[float, Field(ge=0, lt=1)]
    # the weight rises linearly from 0 over these epochs (GRAND+); 0: full from the start
    warmup_epochs: NonNegativeInt


class OptimisationParameters(Schema):
    """How one architecture is trained (Adam, full batch, early stopping on validation)."""

    learning_rate: LearningRate
    epochs: PositiveInt
    early_stopping_patience: Patience
    early_stopping_min_delta: NonNegativeFloat
    early_stopping_monitor: Literal[
        "val_loss", "val_data_loss", "val_loss_or_accuracy", "val_data_loss_or_accuracy"
    ]
    restore_best_weights: bool
    # null: Adam's rate stays constant (the reference); a number: "hold then decay".
    hold_epochs: NonNegativeInt | None
    decay_rate: NonNegativeFloat
    loss_average: Literal["all_nodes", "masked_nodes"]
    # 0: validate and keep the trained weights; in (0, 1): their moving average
    ema_momentum: Annotated[float, Field(ge=0, lt=1)]
    # null: one forward pass per epoch; a section: GRAND's consistency training.
    consistency: ConsistencyParameters | None = None


class TrainingParameters(Schema):
    gcn: OptimisationParameters
    gat: OptimisationParameters
    gcnii: OptimisationParameters
    grand: OptimisationParameters
    verbose: bool
    distribution: str

    @field_validator("distribution")
    @classmethod
    def _one_device(cls, value: str) -> str:
        if value != "none":
            raise ValueError(
                "cora_gcn trains full-batch on one device, so only 'none' is accepted "
                "(the graph is one batch: there is nothing to split between replicas)"
            )
        return value


class TsneParameters(Schema):
    perplexity: PositiveFloat
    max_iter: Annotated[int, Field(strict=True, ge=250)]  # scikit-learn's minimum
    max_nodes: Annotated[int, Field(strict=True, ge=10)] | None


class NeighbourhoodFigureParameters(Schema):
    node: NonNegativeInt | None  # null: a test node chosen by max_neighbours
    max_neighbours: PositiveInt


class Parameters(Schema):
    dataset: Literal["cora", "citeseer"]
    split: Literal["reference", "planetoid"]
    reference_split: ReferenceSplitParameters
    planetoid_split: PlanetoidSplitParameters
    model: ModelParameters
    training: TrainingParameters
    # 0: one inference-mode pass (the papers'); N: the mean of N training-mode passes
    inference_samples: NonNegativeInt
    tsne: TsneParameters
    neighbourhood_figure: NeighbourhoodFigureParameters

    @model_validator(mode="after")
    def _reference_split_is_cora_only(self) -> Parameters:
        if self.split == "reference" and self.dataset != "cora":
            raise ValueError(
                f"split 'reference' reads the LINQS Cora archive and exists for Cora only; "
                f"with dataset '{self.dataset}' set 'cora_gcn.split' to 'planetoid'"
            )
        return self
