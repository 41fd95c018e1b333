"""The torch side of Model Studio: the blocks and the `GameTransformer` base (see `runtime`),
and the seed's `from_architecture` entry points (see `seed_api`).

`GameTransformer` here is `seed_api.GameTransformer`, the runtime base plus `from_architecture`.
"""

from model_studio.nn.runtime import (
    ACTIONS,
    CELLS,
    VOCAB,
    ActionOutput,
    AuxLossHead,
    Dense,
    MoELayer,
    NTupleNetwork,
    TileEmbedding,
    TransformerLayer,
    TupleEmbedding,
    aux_target,
)
from model_studio.nn.seed_api import DynamicModelConfig, GameTransformer

__all__ = [
    "ACTIONS",
    "CELLS",
    "VOCAB",
    "ActionOutput",
    "AuxLossHead",
    "Dense",
    "DynamicModelConfig",
    "GameTransformer",
    "MoELayer",
    "NTupleNetwork",
    "TileEmbedding",
    "TransformerLayer",
    "TupleEmbedding",
    "aux_target",
]
