"""The seed's entry points (its §5.1 and §5.2), so code written against the seed works:

    from model_studio.nn import DynamicModelConfig, GameTransformer
    model = GameTransformer.from_architecture(arch)     # the compiled GeneratedModel
    config = DynamicModelConfig.from_architecture(arch)  # d_model, n_heads, n_experts, n_layers

Both take a design as a dict, JSON text or `ModelArchitecture`, and raise
`codegen.InvalidDesignError` for an invalid one.

Why here and not in `runtime.py`: the compiler inlines runtime.py into every generated file, and
that file must run with torch alone, so runtime.py cannot reach the compiler. This module extends
the runtime instead, and imports `model_studio.codegen` when called rather than at import time,
because codegen itself imports this package (for the runtime).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from torch import nn

from model_studio.nn import runtime

if TYPE_CHECKING:
    from model_studio.codegen import DesignInput


class GameTransformer(runtime.GameTransformer):
    """`runtime.GameTransformer` plus the seed's `from_architecture`.

    A generated model subclasses its own file's inlined copy of the runtime base, so it is not an
    instance of this class (nor of `runtime.GameTransformer`); the forward contract is the same.
    """

    @staticmethod
    def from_architecture(arch: DesignInput, seed: int | None = 0) -> nn.Module:
        """The design's `GeneratedModel`, compiled in memory (`codegen.build_model`, weights drawn
        from `seed`). The seed imported `generated/<id>.py`; building from the design itself gives
        exactly this design even while a newer version of it is being compiled to that file."""
        from model_studio.codegen import build_model

        return build_model(arch, seed)


@dataclass(frozen=True)
class DynamicModelConfig:
    """The seed's summary of a design's size (§5.2), read from the validator's resolved props, so
    it describes the model that is built rather than the defaults a block may override.

    The seed reads `d_model` and `n_heads` from the design's `meta`, the design-wide values every
    block inherits; here a block's own prop wins, as it does in the compiled model. So `d_model`
    is the embedding's token width (the widest, with several embeddings) and `n_heads` the
    transformer layers' head count (the most, if they differ; `meta.n_heads` without transformer
    layers). `n_experts` is the most experts of any `moe_layer` (an unset prop counts as its
    catalogue default), 0 without MoE layers; `n_layers` counts the `transformer_layer` blocks.
    """

    d_model: int
    n_heads: int
    n_experts: int
    n_layers: int

    @classmethod
    def from_architecture(cls, arch: DesignInput) -> DynamicModelConfig:
        from model_studio.codegen import valid_analysis

        analysis = valid_analysis(arch)
        design = analysis.design

        def resolved(block_type: str, prop: str) -> list[int]:
            return [analysis.props[c.id][prop] for c in design.components if c.type == block_type]

        return cls(
            d_model=max(resolved("embedding", "d_model") + resolved("tuple_embedding", "d_model"), default=design.meta.d_model),
            n_heads=max(resolved("transformer_layer", "n_heads"), default=design.meta.n_heads),
            n_experts=max(resolved("moe_layer", "n_experts"), default=0),
            n_layers=len(resolved("transformer_layer", "n_heads")),
        )
