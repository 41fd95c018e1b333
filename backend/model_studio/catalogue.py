"""The block catalogue (`schema/catalogue.json`), loaded once into typed, read-only form.

The catalogue is data shared with the PWA: block props, ports, width flow, and the exact
parameter and activation formulas, which `formula.compile_formula` turns into callables.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Literal

import msgspec

from model_studio.formula import Formula, compile_formula

SCHEMA_DIR = Path(os.environ.get("MODEL_STUDIO_SCHEMA_DIR", Path(__file__).resolve().parents[2] / "schema"))
CATALOGUE_PATH = SCHEMA_DIR / "catalogue.json"

TensorKind = Literal["board", "tokens", "vector"]


class PropSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    type: Literal["int", "float", "bool", "enum"]
    default: int | float | bool | str
    doc: str
    min: int | float | None = None
    max: int | float | None = None
    choices: tuple[str, ...] | None = None
    meta: str | None = None  # name of the design-level `meta` field that supplies the default


class InputSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    min: int
    max: int
    accepts: tuple[TensorKind, ...]


class OutputSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    kind: Literal["board", "tokens", "vector", "same"]
    width: str | None = None
    tokens: str | None = None  # tokens per board of a `tokens` output; None: T, the input's count


class BlockSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    label: str
    color: str
    doc: str
    props: dict[str, PropSpec]
    inputs: InputSpec
    output: OutputSpec | None
    params: str
    activations: str
    paramsDoc: str | None = None
    activationsDoc: str | None = None
    sparseParams: str | None = None  # how many of `params` train with sparse gradients (SparseAdam)
    sparseParamsDoc: str | None = None


class MemorySpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    doc: str
    minibatch: int
    bytes_per_float: int
    floats_per_param: int
    floats_per_sparse_param: int  # a sparse table's parameters: no dense gradient
    runtime_baseline_mb: int  # the training process before any model; reported beside the estimate
    runtimeBaselineDoc: str


class UnroutedSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    doc: str
    top_k: int
    lb_coef: float


class Limits(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    max_components: int
    max_edges: int
    max_layers: int
    max_params: int
    max_width: int
    max_experts: int
    max_memory_mb: int
    max_name_length: int
    max_props: int


class CatalogueDoc(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    catalogueVersion: int
    doc: str
    constants: dict[str, int]
    constantDocs: dict[str, str]
    limits: Limits
    limitDocs: dict[str, str]
    widthFlow: str
    memory: MemorySpec
    unrouted: UnroutedSpec
    blocks: dict[str, BlockSpec]
    errors: dict[str, str]


class CompiledBlock(msgspec.Struct, frozen=True):
    """A block spec with its formulas parsed, ready to evaluate."""

    spec: BlockSpec
    params: Formula
    activations: Formula
    output_width: Formula | None
    output_tokens: Formula | None  # None: the output has T tokens, as its input
    sparse_params: Formula | None  # None: every parameter trains densely


class Catalogue(msgspec.Struct, frozen=True):
    doc: CatalogueDoc
    blocks: dict[str, CompiledBlock]

    @property
    def limits(self) -> Limits:
        return self.doc.limits

    @property
    def constants(self) -> dict[str, int]:
        return self.doc.constants


# Blocks counted against `max_layers`: the ones that carry a weight matrix.
LAYER_TYPES = frozenset({"transformer_layer", "moe_layer", "dense"})


def _compile(doc: CatalogueDoc) -> Catalogue:
    blocks = {}
    for name, spec in doc.blocks.items():
        width = spec.output.width if spec.output is not None else None
        tokens = spec.output.tokens if spec.output is not None else None
        blocks[name] = CompiledBlock(
            spec=spec,
            params=compile_formula(spec.params),
            activations=compile_formula(spec.activations),
            output_width=compile_formula(width) if width else None,
            output_tokens=compile_formula(tokens) if tokens else None,
            sparse_params=compile_formula(spec.sparseParams) if spec.sparseParams else None,
        )
    return Catalogue(doc=doc, blocks=blocks)


def parse_catalogue(raw: bytes) -> Catalogue:
    return _compile(msgspec.json.decode(raw, type=CatalogueDoc))


@functools.cache
def load_catalogue() -> Catalogue:
    return parse_catalogue(CATALOGUE_PATH.read_bytes())
