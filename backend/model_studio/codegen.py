"""Compile a valid design into a standalone, readable PyTorch module.

The generated source inlines `model_studio/nn/runtime.py` (blocks and the `GameTransformer` base)
and defines `class GeneratedModel(GameTransformer)`: `__init__` builds each block in forward
order, and `forward` is written out one line per block, commented with the block's id and type.
The file needs only torch, and it is the model that is trained and exported.

Safety: block types come from the closed catalogue (an unknown type never reaches this module, and
each type maps to fixed code here); every literal is `repr()` of a typed value from the
validator's resolved props, never raw JSON; the name and description appear only as `repr()`
string literals; ids (already `^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`) become attribute names through
`attribute_names`, which avoids keywords and every attribute of `GameTransformer`; and the file
name is the validated design id. Canvas positions never reach the source.

Note: the runtime is inlined, so a generated model's `GameTransformer` is the generated module's
own class, not `model_studio.nn.GameTransformer`; the two behave the same.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import importlib.machinery
import importlib.util
import itertools
import keyword
import linecache
import math
import os
import pprint
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, BinaryIO

import msgspec
import torch

from model_studio.catalogue import load_catalogue
from model_studio.contracts import CompileResult, DesignError, ModelArchitecture
from model_studio.nn import runtime
from model_studio.validation import DesignAnalysis, DesignDecodeError, Shape, analyse, decode_design

GENERATOR_VERSION = 1
GENERATED_DIR = "generated"
MODULE_PREFIX = "model_studio_generated_"
DEFAULT_SEED = 0
FILE_MODE = 0o644
CONFIG_WIDTH = 100  # characters per line of the CONFIG literal
CONTRACT_HEADING = "Forward contract"  # where the runtime docstring turns from its file to the model

# Blocks that only wire tensors together: they own no module.
WIRING_BLOCKS = frozenset({"board_input", "load_balance_router", "grad_checkpoint", "residual_add"})
MODULE_BLOCKS = frozenset({"embedding", "ntuple", "tuple_embedding", "transformer_layer", "moe_layer", "dense", "layer_norm", "aux_loss_head", "action_output"})

DesignInput = ModelArchitecture | bytes | str | dict[str, Any]


class InvalidDesignError(ValueError):
    """The design is not valid, so it cannot be compiled; `errors` are the validator's."""

    def __init__(self, errors: list[DesignError]):
        lines = [f"{error.code}" + (f" [{error.component}]" if error.component else "") + f": {error.message}" for error in errors]
        super().__init__("invalid design:\n  " + "\n  ".join(lines))
        self.errors = errors


@dataclass(frozen=True)
class GeneratedModule:
    """The generated source, its JSON-able config and the exact parameter count."""

    source: str
    config: dict[str, Any]
    param_count: int


def valid_analysis(design: DesignInput) -> DesignAnalysis:
    """Decode (re-decoding a `ModelArchitecture` too, so its ids and props are checked) and
    analyse; raise `InvalidDesignError` unless the design is valid."""
    try:
        raw = msgspec.to_builtins(design) if isinstance(design, ModelArchitecture) else design
        decoded = decode_design(raw)
    except DesignDecodeError as exc:
        raise InvalidDesignError([exc.error]) from None
    analysis = analyse(decoded)
    if analysis.errors:
        raise InvalidDesignError(analysis.errors)
    return analysis


def architecture_sha256(analysis: DesignAnalysis) -> str:
    """Hash what defines the model: id, component order, types, resolved props and edges.

    Positions, name and description are left out, so moving or renaming blocks on the canvas
    keeps checkpoints usable; component and edge order are kept because they fix the parameter
    order (and so the optimizer state) and the order of residual sums.
    """
    design = analysis.design
    canonical = {
        "id": design.id,
        "components": [[c.id, c.type, analysis.props[c.id]] for c in design.components],
        "edges": design.edges,
    }
    return hashlib.sha256(msgspec.json.encode(canonical, order="sorted")).hexdigest()


def design_sha256(design: DesignInput) -> str:
    """`architecture_sha256` of a valid design: the key that ties checkpoints to designs."""
    return architecture_sha256(valid_analysis(design))


@functools.cache
def _reserved_attributes() -> frozenset[str]:
    return frozenset(dir(runtime.GameTransformer()))


def attribute_names(order: list[str]) -> dict[str, str]:
    """Map each block id to a unique Python attribute name, in `order`.

    '-' becomes '_', a leading digit gets a `block_` prefix, and a name that is a keyword,
    an attribute of `GameTransformer` (`forward`, `train`, `type`...) or already taken gets '_'
    appended until it is free.
    """
    names: dict[str, str] = {}
    taken = set(_reserved_attributes())
    for cid in order:
        name = cid.replace("-", "_")
        if name[0].isdigit():
            name = "block_" + name
        while keyword.iskeyword(name) or name in taken:
            name += "_"
        if not name.isidentifier():
            raise ValueError(f"block id {cid!r} does not map to an identifier")
        taken.add(name)
        names[cid] = name
    return names


def _literal(value: object) -> str:
    """`repr()` of a typed prop value; anything but a bool, int, finite float or str is refused."""
    if type(value) not in (bool, int, float, str) or (type(value) is float and not math.isfinite(value)):
        raise TypeError(f"not a plain literal: {value!r}")
    return repr(value)


def _describe(shape: Shape) -> str:
    if shape.kind == "tokens":
        return f" -> tokens (B, {shape.tokens}, {shape.width})"
    return f" -> {shape.kind} (B, {shape.width})"


def _module_expression(kind: str, props: dict[str, Any], shape_in: Shape, routing: tuple[int, float] | None) -> str:
    """The constructor call for a block that owns a module."""
    match kind:
        case "embedding":
            return f"TileEmbedding(d_model={_literal(props['d_model'])}, positional={_literal(props['positional'])})"
        case "ntuple":
            return (
                f"NTupleNetwork(n_tuples={_literal(props['n_tuples'])}, units={_literal(props['units'])}, "
                f"symmetries={_literal(props['symmetries'])})"
            )
        case "tuple_embedding":
            return f"TupleEmbedding(n_tuples={_literal(props['n_tuples'])}, d_model={_literal(props['d_model'])})"
        case "transformer_layer":
            return f"TransformerLayer(width={_literal(shape_in.width)}, n_heads={_literal(props['n_heads'])}, ff_mult={_literal(props['ff_mult'])})"
        case "moe_layer":
            top_k, lb_coef = routing
            return (
                f"MoELayer(width={_literal(shape_in.width)}, n_experts={_literal(props['n_experts'])}, "
                f"ff_mult={_literal(props['ff_mult'])}, top_k={_literal(top_k)}, lb_coef={_literal(float(lb_coef))})"
            )
        case "dense":
            return f"Dense(in_features={_literal(shape_in.features)}, units={_literal(props['units'])}, activation={_literal(props['activation'])})"
        case "layer_norm":
            return f"nn.LayerNorm({_literal(shape_in.width)})"
        case "aux_loss_head":
            return f"AuxLossHead(in_features={_literal(shape_in.features)}, target={_literal(props['target'])}, weight={_literal(float(props['weight']))})"
        case "action_output":
            return f"ActionOutput(in_features={_literal(shape_in.features)})"
    raise ValueError(f"no code generator for block type {kind!r}")


def _forward_line(analysis: DesignAnalysis, cid: str, kind: str, names: dict[str, str], checkpoint_of: dict[str, str]) -> str:
    """One statement of `forward` for block `cid`, with a comment naming it."""
    local = f"x_{names[cid]}"
    sources = [f"x_{names[src]}" for src in analysis.inputs[cid]]
    comment = f"  # {cid}: {kind}"
    match kind:
        case "board_input":
            return f"{local} = board{comment}{_describe(analysis.shapes[cid])}"
        case "load_balance_router":
            moe = analysis.outputs[cid][0]
            top_k, lb_coef = analysis.routing[moe]
            return f"{local} = {sources[0]}{comment}: {moe} routes each token to its top {top_k}, lb_coef {lb_coef!r}"
        case "grad_checkpoint":
            return f"{local} = {sources[0]}{comment}: {checkpoint_of[cid]} is recomputed in the backward pass"
        case "residual_add":
            return f"{local} = {' + '.join(sources)}{comment}{_describe(analysis.shapes[cid])}"
        case "aux_loss_head":
            return f"self.{names[cid]}({sources[0]}){comment}: prediction kept for aux_loss()"
        case "action_output":
            return f"{local} = self.{names[cid]}({sources[0]}){comment} -> (logits, value)"
    call = f"self.{names[cid]}({sources[0]})"
    if cid in analysis.checkpointed:
        call = f"self.run_checkpointed(self.{names[cid]}, {sources[0]})"
        comment += ", checkpointed"
    return f"{local} = {call}{comment}{_describe(analysis.shapes[cid])}"


def _checkpoint_targets(analysis: DesignAnalysis, types: dict[str, str]) -> dict[str, str]:
    """grad_checkpoint id -> id of the block it recomputes (through a router, its moe_layer)."""
    targets = {}
    for cid, kind in types.items():
        if kind == "grad_checkpoint":
            target = analysis.outputs[cid][0]
            targets[cid] = analysis.outputs[target][0] if types[target] == "load_balance_router" else target
    return targets


@functools.cache
def _runtime_parts() -> tuple[str, str]:
    """The forward contract from the runtime's docstring, and the runtime code after it."""
    text = Path(runtime.__file__).read_text(encoding="utf-8")
    tree = ast.parse(text)
    docstring = ast.get_docstring(tree)
    code = "".join(text.splitlines(keepends=True)[tree.body[0].end_lineno :]).strip("\n")
    return docstring[docstring.index(CONTRACT_HEADING) :], code


def _config(analysis: DesignAnalysis, types: dict[str, str], names: dict[str, str]) -> dict[str, Any]:
    design, props = analysis.design, analysis.props
    order = analysis.order
    return {
        "design_id": design.id,
        "design_sha256": architecture_sha256(analysis),
        "generator_version": GENERATOR_VERSION,
        "catalogue_version": load_catalogue().doc.catalogueVersion,
        "param_count": analysis.param_total,
        "estimated_memory_mb": analysis.memory_mb,
        "attributes": {cid: names[cid] for cid in order if types[cid] in MODULE_BLOCKS},
        "moe_layers": [
            {"id": cid, "n_experts": props[cid]["n_experts"], "top_k": analysis.routing[cid][0], "lb_coef": float(analysis.routing[cid][1])}
            for cid in order
            if types[cid] == "moe_layer"
        ],
        "aux_heads": [
            {"id": cid, "target": props[cid]["target"], "weight": float(props[cid]["weight"])} for cid in order if types[cid] == "aux_loss_head"
        ],
        "action_outputs": [cid for cid in order if types[cid] == "action_output"],
        "checkpointed": [cid for cid in order if cid in analysis.checkpointed],
    }


def generate(design: DesignInput) -> GeneratedModule:
    """Generate the module for a valid design; raise `InvalidDesignError` otherwise."""
    analysis = valid_analysis(design)
    design = analysis.design
    types = {c.id: c.type for c in design.components}
    names = attribute_names(analysis.order)
    config = _config(analysis, types, names)
    checkpoint_of = _checkpoint_targets(analysis, types)
    contract, runtime_code = _runtime_parts()

    build, steps, heads = [], [], []
    for cid in analysis.order:
        kind = types[cid]
        if kind in MODULE_BLOCKS:
            shape_in = analysis.shapes[analysis.inputs[cid][0]]
            expression = _module_expression(kind, analysis.props[cid], shape_in, analysis.routing.get(cid))
            build.append(f"        self.{names[cid]} = {expression}  # {cid}: {kind}")
        elif kind not in WIRING_BLOCKS:
            raise ValueError(f"no code generator for block type {kind!r}")
        steps.append(f"        {_forward_line(analysis, cid, kind, names, checkpoint_of)}")
        if kind == "action_output":
            heads.append(f"x_{names[cid]}")

    source = f'''"""PyTorch model for Model Studio design {design.id!r}, generated by model_studio.codegen.

Recompile the design rather than editing this file. It needs only torch: the Model Studio runtime
(the blocks and the GameTransformer base) comes first, then the design's own GeneratedModel.

    model = GeneratedModel()
    logits, value = model(board, action_mask)

{contract}
"""

{runtime_code}


# ---- the design ----

DESIGN_ID = {design.id!r}
DESIGN_NAME = {design.name!r}
DESIGN_DESCRIPTION = {design.description!r}
PARAM_COUNT = {analysis.param_total!r}
CONFIG = {pprint.pformat(config, sort_dicts=False, width=CONFIG_WIDTH)}


class GeneratedModel(GameTransformer):
    """The design's blocks, built in forward order (see DESIGN_NAME and CONFIG)."""

    def __init__(self):
        super().__init__()
{chr(10).join(build)}

    def forward(self, board: torch.Tensor, action_mask: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
{chr(10).join(steps)}
        return self.policy_and_value([{", ".join(heads)}], action_mask)
'''
    return GeneratedModule(source=source, config=config, param_count=analysis.param_total)


def generate_source(design: DesignInput) -> str:
    """The generated module's source text (see `generate`)."""
    return generate(design).source


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A file to write `path` through: a temp file in the same folder, fsynced and moved over
    `path` with `os.replace` when the block ends, removed if it raises. Readers see the old file
    or the whole new one, never a part."""
    descriptor, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(descriptor, FILE_MODE)  # mkstemp makes 0600; exports are ordinary files
        with os.fdopen(descriptor, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through `atomic_file`."""
    with atomic_file(path) as handle:
        handle.write(data)


def compile_design(design: DesignInput, data_dir: str | os.PathLike[str]) -> CompileResult:
    """Write `<data_dir>/generated/<id>.py` atomically.

    In the result, `import_path` is the file's absolute path (pass it to `load_generated`),
    `source_path` the same file relative to `data_dir` (safe to show a client), and `config`
    the dict the file holds as `CONFIG`.
    """
    generated = generate(design)
    directory = Path(data_dir) / GENERATED_DIR
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{generated.config['design_id']}.py"
    data = generated.source.encode("utf-8")
    write_atomic(path, data)
    return CompileResult(
        import_path=str(path.resolve()),
        paramCount=generated.param_count / 1_000_000,
        paramCountExact=generated.param_count,
        config=generated.config,
        source_path=f"{GENERATED_DIR}/{path.name}",
        source_sha256=hashlib.sha256(data).hexdigest(),
    )


_module_numbers = itertools.count()


def import_source(source: str, origin: str) -> ModuleType:
    """Execute generated source as a fresh module with a unique name (never via sys.path)."""
    name = f"{MODULE_PREFIX}{next(_module_numbers)}"
    spec = importlib.machinery.ModuleSpec(name, None, origin=origin)
    spec.has_location = Path(origin).is_file()  # sets __file__ for a real file
    module = importlib.util.module_from_spec(spec)
    if not spec.has_location:
        # Tracebacks and inspect read source through linecache; give them the in-memory text.
        linecache.cache[origin] = (len(source), None, source.splitlines(keepends=True), origin)
    exec(compile(source, origin, "exec"), module.__dict__)
    return module


def load_generated(path: str | os.PathLike[str]) -> ModuleType:
    """Import a generated file (e.g. `CompileResult.import_path`) under a unique module name."""
    path = Path(path)
    return import_source(path.read_text(encoding="utf-8"), str(path.resolve()))


def instantiate(module: ModuleType, seed: int | None = DEFAULT_SEED) -> torch.nn.Module:
    """`module.GeneratedModel()`, its weights drawn from `seed` without touching the global RNG."""
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        return module.GeneratedModel()


def import_generated(generated: GeneratedModule) -> ModuleType:
    """Import generated source from memory, as `load_generated` does from a file."""
    config = generated.config
    return import_source(generated.source, f"<model-studio design {config['design_id']} {config['design_sha256'][:12]}>")


def build_model(design: DesignInput, seed: int | None = DEFAULT_SEED) -> torch.nn.Module:
    """Generate, import and instantiate a design's model in memory (no file is written)."""
    return instantiate(import_generated(generate(design)), seed)
