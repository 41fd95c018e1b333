"""The torch side of Model Studio: the blocks and the `GameTransformer` base (see `runtime`)."""

from model_studio.nn.runtime import (
    ACTIONS,
    CELLS,
    VOCAB,
    ActionOutput,
    AuxLossHead,
    Dense,
    GameTransformer,
    MoELayer,
    TileEmbedding,
    TransformerLayer,
    aux_target,
)

__all__ = [
    "ACTIONS",
    "CELLS",
    "VOCAB",
    "ActionOutput",
    "AuxLossHead",
    "Dense",
    "GameTransformer",
    "MoELayer",
    "TileEmbedding",
    "TransformerLayer",
    "aux_target",
]
