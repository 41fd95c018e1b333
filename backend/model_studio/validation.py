"""Validate a design against the schema and the catalogue's rules, and size it.

`validate_design` never raises on bad input: whatever it is given, it answers with a
`ValidationResult` whose errors carry stable codes (the catalogue's `errors`), the offending
component's id and, where one exists, a fix hint. `analyse` exposes the full inference
(resolved props, widths, routing, checkpointing) that the compiler builds on.

The TypeScript twin lives in `pwa/src/model/validate.ts`; both must agree with every
conformance vector in `schema/cases/`.
"""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import msgspec

from model_studio.catalogue import LAYER_TYPES, Catalogue, CompiledBlock, Limits, PropSpec, load_catalogue
from model_studio.contracts import DesignError, MemoryBreakdown, ModelArchitecture, ValidationResult

MIB = 1 << 20
ROUTER, MOE, CHECKPOINT = "load_balance_router", "moe_layer", "grad_checkpoint"
BOARD_INPUT, ACTION_OUTPUT = "board_input", "action_output"
SINK_TYPES = frozenset({ACTION_OUTPUT, "aux_loss_head"})
EMBEDDINGS = frozenset({"embedding", "tuple_embedding"})
CHECKPOINT_TARGETS = frozenset({"transformer_layer", MOE, "dense", ROUTER})

_COMPONENT_PATH = re.compile(r"\$\.components\[(\d+)\]")


@dataclass(frozen=True)
class Shape:
    kind: str  # "board" | "tokens" | "vector"
    width: int
    tokens: int = 0  # tokens per board, for kind "tokens": 16 cells, or a tuple_embedding's n_tuples

    @property
    def features(self) -> int:
        """Values per board once flattened: every token's width for tokens."""
        return self.width * self.tokens if self.kind == "tokens" else self.width

    def __str__(self) -> str:
        return f"tokens[{self.tokens}x{self.width}]" if self.kind == "tokens" else f"{self.kind}[{self.width}]"


@dataclass
class DesignAnalysis:
    """Everything inferred from a decoded design. Maps are keyed by component id."""

    design: ModelArchitecture
    errors: list[DesignError] = field(default_factory=list)
    props: dict[str, dict[str, Any]] = field(default_factory=dict)
    inputs: dict[str, list[str]] = field(default_factory=dict)
    outputs: dict[str, list[str]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # topological, over the acyclic part
    shapes: dict[str, Shape | None] = field(default_factory=dict)
    params: dict[str, int] = field(default_factory=dict)
    activations: dict[str, int] = field(default_factory=dict)
    sparse_params: dict[str, int] = field(default_factory=dict)  # of params, those trained sparsely
    routing: dict[str, tuple[int, float]] = field(default_factory=dict)  # moe id -> (top_k, lb_coef)
    checkpointed: set[str] = field(default_factory=set)
    param_total: int = 0
    memory_mb: int = 0
    # memory_mb in parts, each rounded up on its own, and the training process beside it.
    weights_mb: int = 0  # the weights, their gradients and Adam's two moments
    activations_mb: int = 0  # one minibatch's activations kept for the backward pass
    runtime_baseline_mb: int = 0  # the training process before any model

    def error(self, code: str, message: str, component: str | None = None, hint: str | None = None) -> None:
        self.errors.append(DesignError(code=code, message=message, component=component, hint=hint))

    def result(self) -> ValidationResult:
        return ValidationResult(
            valid=not self.errors,
            paramCount=self.param_total / 1_000_000,
            paramCountExact=self.param_total,
            estimatedMemory=self.memory_mb,
            memoryBreakdown=MemoryBreakdown(weightsAndOptimizer=self.weights_mb, activations=self.activations_mb, runtimeBaseline=self.runtime_baseline_mb),
            errors=self.errors,
        )


class DesignDecodeError(ValueError):
    """The document is not JSON or does not match the ModelArchitecture schema."""

    def __init__(self, error: DesignError):
        super().__init__(error.message)
        self.error = error


def _json_number(text: str) -> int | float:
    """JSON has one number type: `4.0` is the integer 4 to a JavaScript client, so it is here too.
    A number past a double's range (`1e400`) is refused, as msgspec's typed decoding does: as
    infinity it would be stored as `null` and the design could no longer be read back."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text[:32]}")
    return int(value) if value.is_integer() else value


_JSON_DECODER = msgspec.json.Decoder(float_hook=_json_number)


def decode_design(document: bytes | str | Any) -> ModelArchitecture:
    """Decode JSON text or already-parsed JSON data into a typed design."""
    try:
        if not isinstance(document, (bytes, bytearray, memoryview, str)):
            document = msgspec.json.encode(document)  # one path, so numbers read as they would as text
        raw = _JSON_DECODER.decode(document)
    except RecursionError:  # msgspec's depth guard: no design nests more than a few levels
        raise DesignDecodeError(DesignError(code="invalid_json", message="Not valid JSON for a design: nested too deeply")) from None
    except (msgspec.DecodeError, TypeError, ValueError, OverflowError) as exc:
        raise DesignDecodeError(DesignError(code="invalid_json", message=f"Not valid JSON: {exc}")) from None
    try:
        return msgspec.convert(raw, type=ModelArchitecture)
    except msgspec.ValidationError as exc:
        raise DesignDecodeError(_schema_error(str(exc), raw)) from None


def _schema_error(message: str, raw: Any) -> DesignError:
    """Name the component the schema error sits in, when its id is readable."""
    component = None
    match = _COMPONENT_PATH.search(message)
    if match and isinstance(raw, dict) and isinstance(raw.get("components"), list):
        index = int(match.group(1))
        if index < len(raw["components"]) and isinstance(raw["components"][index], dict):
            candidate = raw["components"][index].get("id")
            component = candidate if isinstance(candidate, str) else None
    return DesignError(code="schema_violation", message=f"Design does not match the schema: {message}", component=component)


def validate_design(document: bytes | str | Any, catalogue: Catalogue | None = None) -> ValidationResult:
    """Validate JSON text, parsed JSON or a `ModelArchitecture`; never raises on bad input."""
    try:
        design = document if isinstance(document, ModelArchitecture) else decode_design(document)
    except DesignDecodeError as exc:
        baseline = (catalogue or load_catalogue()).doc.memory.runtime_baseline_mb
        breakdown = MemoryBreakdown(weightsAndOptimizer=0, activations=0, runtimeBaseline=baseline)
        return ValidationResult(valid=False, paramCount=0.0, paramCountExact=0, estimatedMemory=0, memoryBreakdown=breakdown, errors=[exc.error])
    return analyse(design, catalogue).result()


def analyse(design: ModelArchitecture, catalogue: Catalogue | None = None) -> DesignAnalysis:
    """Run every rule and the width inference; see the module docstring."""
    catalogue = catalogue or load_catalogue()
    analysis = DesignAnalysis(design=design)
    types = _check_components(analysis, catalogue)
    _check_edges(analysis, catalogue, types)
    _check_endpoints(analysis, types)
    in_cycle = _check_cycles(analysis, types)
    _check_reachability(analysis, types)
    _check_arity(analysis, catalogue, types)
    _check_routers_and_checkpoints(analysis, types)
    _infer_shapes(analysis, catalogue, types, in_cycle)
    _check_limits(analysis, catalogue, types)
    return analysis


def _check_components(analysis: DesignAnalysis, catalogue: Catalogue) -> dict[str, str]:
    """Ids, types and props. Returns id -> type for the first component of each id."""
    types: dict[str, str] = {}
    meta = analysis.design.meta
    for component in analysis.design.components:
        cid = component.id
        if cid in types:
            analysis.error("duplicate_id", f"Id {cid!r} is used by more than one component.", cid, "Give every block its own id.")
            continue
        types[cid] = component.type
        analysis.inputs[cid], analysis.outputs[cid] = [], []
        block = catalogue.blocks.get(component.type)
        if block is None:
            known = ", ".join(catalogue.blocks)
            analysis.error("unknown_block_type", f"Block {cid!r} has unknown type {component.type!r}.", cid, f"Known types: {known}.")
            continue
        props, ok = {}, True
        for name, spec in block.spec.props.items():
            props[name] = getattr(meta, spec.meta) if spec.meta else spec.default
        for name, value in component.props.items():
            spec = block.spec.props.get(name)
            if spec is None:
                allowed = ", ".join(block.spec.props) or "none"
                analysis.error("unknown_prop", f"{component.type} {cid!r} has no prop {name!r}.", cid, f"Props of {component.type}: {allowed}.")
                ok = False
                continue
            decoded = _decode_prop(analysis, cid, name, spec, value)
            if decoded is None:
                ok = False
            else:
                props[name] = decoded
        if ok:
            analysis.props[cid] = props
    return types


def _decode_prop(analysis: DesignAnalysis, cid: str, name: str, spec: PropSpec, value: Any) -> Any:
    """Typed decoding of one prop; records an error and returns None when it fails."""
    if spec.type == "bool":
        decoded = value if isinstance(value, bool) else None
    elif isinstance(value, bool) or isinstance(value, str) != (spec.type == "enum"):
        decoded = None
    elif spec.type == "int":
        decoded = value if isinstance(value, int) else None  # integral floats arrive as ints (_json_number)
    elif spec.type == "float":
        decoded = float(value)
    else:
        decoded = value
    if decoded is None:
        analysis.error("prop_type", f"Prop {name!r} of {cid!r} must be {_TYPE_WORDS[spec.type]}, not {value!r}.", cid)
        return None
    if spec.type == "enum":
        if decoded not in spec.choices:
            analysis.error("prop_out_of_range", f"Prop {name!r} of {cid!r} is {decoded!r}.", cid, f"Choose one of: {', '.join(spec.choices)}.")
            return None
    elif spec.type != "bool" and not (spec.min <= decoded <= spec.max):
        analysis.error("prop_out_of_range", f"Prop {name!r} of {cid!r} is {value!r}, outside [{spec.min}, {spec.max}].", cid, f"Use a value from {spec.min} to {spec.max}.")
        return None
    return decoded


_TYPE_WORDS = {"int": "an integer", "float": "a number", "bool": "true or false", "enum": "a string"}


def _check_edges(analysis: DesignAnalysis, catalogue: Catalogue, types: dict[str, str]) -> None:
    seen: set[tuple[str, str]] = set()
    for source, target in analysis.design.edges:
        if source not in types or target not in types:
            missing = source if source not in types else target
            anchor = source if source in types else (target if target in types else None)
            analysis.error("dangling_edge", f"Edge {source!r} -> {target!r} names {missing!r}, which does not exist.", anchor, "Delete the edge or add the block.")
            continue
        if source == target:
            analysis.error("self_loop", f"Edge {source!r} -> {target!r} joins a block to itself.", source)
            continue
        if (source, target) in seen:
            analysis.error("duplicate_edge", f"Edge {source!r} -> {target!r} appears more than once.", source)
            continue
        seen.add((source, target))
        source_block, target_block = catalogue.blocks.get(types[source]), catalogue.blocks.get(types[target])
        if source_block is not None and source_block.spec.output is None:
            analysis.error("no_output_port", f"{types[source]} {source!r} has no output, so it cannot feed {target!r}.", source)
            continue
        if target_block is not None and target_block.spec.inputs.max == 0:
            analysis.error("no_input_port", f"{types[target]} {target!r} takes no input, so {source!r} cannot feed it.", target)
            continue
        analysis.outputs[source].append(target)
        analysis.inputs[target].append(source)


def _check_endpoints(analysis: DesignAnalysis, types: dict[str, str]) -> None:
    boards = [cid for cid, kind in types.items() if kind == BOARD_INPUT]
    if not boards:
        analysis.error("missing_board_input", "The design has no board_input.", None, "Add a board_input block.")
    for extra in boards[1:]:
        analysis.error("multiple_board_inputs", f"{extra!r} is a second board_input; a design has exactly one.", extra, "Delete it and wire its blocks to the first.")
    if ACTION_OUTPUT not in types.values():
        analysis.error("missing_action_output", "The design has no action_output.", None, "Add an action_output block at the end.")


def _check_cycles(analysis: DesignAnalysis, types: dict[str, str]) -> set[str]:
    """Tarjan's strongly connected components, iteratively (designs can be 1000 deep)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    in_cycle: set[str] = set()
    counter = 0
    for root in types:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors = analysis.outputs[node]
            if child < len(successors):
                work.append((node, child + 1))
                nxt = successors[child]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                members = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.append(member)
                    if member == node:
                        break
                if len(members) > 1:
                    in_cycle.update(members)
                    first = next(cid for cid in types if cid in members)
                    path = " -> ".join(m for m in types if m in members)
                    analysis.error("cycle", f"Blocks {path} form a cycle.", first, "Remove one edge of the loop; data must flow one way.")
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return in_cycle


def _reach(starts: list[str], step: dict[str, list[str]]) -> set[str]:
    seen = set(starts)
    queue = deque(starts)
    while queue:
        for nxt in step[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def _check_reachability(analysis: DesignAnalysis, types: dict[str, str]) -> None:
    boards = [cid for cid, kind in types.items() if kind == BOARD_INPUT]
    reachable = _reach(boards, analysis.outputs) if boards else set(types)
    sinks = [cid for cid, kind in types.items() if kind in SINK_TYPES]
    useful = _reach(sinks, analysis.inputs) if sinks else set(types)
    for cid, kind in types.items():
        if cid not in reachable:
            analysis.error("unreachable", f"{kind} {cid!r} cannot be reached from the board_input.", cid, "Wire an input into it, or delete it.")
        elif cid not in useful:
            analysis.error("dead_end", f"The output of {kind} {cid!r} reaches no action_output or aux_loss_head.", cid, "Wire its output onward, or delete it.")


def _check_arity(analysis: DesignAnalysis, catalogue: Catalogue, types: dict[str, str]) -> None:
    for cid, kind in types.items():
        block = catalogue.blocks.get(kind)
        if block is None:
            continue
        count, spec = len(analysis.inputs[cid]), block.spec.inputs
        if 0 < count < spec.min:
            analysis.error("too_few_inputs", f"{kind} {cid!r} has {count} input(s) and needs at least {spec.min}.", cid, f"Wire {spec.min - count} more input(s) into it.")
        elif count > spec.max:
            analysis.error("too_many_inputs", f"{kind} {cid!r} has {count} inputs and takes at most {spec.max}.", cid, "Join branches with a residual_add first." if spec.max == 1 else None)


def _check_routers_and_checkpoints(analysis: DesignAnalysis, types: dict[str, str]) -> None:
    for cid, kind in types.items():
        successors = analysis.outputs[cid]
        if kind == ROUTER:
            if len(successors) != 1 or types[successors[0]] != MOE:
                analysis.error("router_not_before_moe", f"Router {cid!r} must feed exactly one moe_layer.", cid, "Wire its output straight into one moe_layer.")
                continue
            router_props, moe_props = analysis.props.get(cid), analysis.props.get(successors[0])
            if router_props and moe_props and router_props["top_k"] > moe_props["n_experts"]:
                analysis.error(
                    "top_k_exceeds_experts",
                    f"Router {cid!r} sends each token to {router_props['top_k']} experts, but {successors[0]!r} has {moe_props['n_experts']}.",
                    cid,
                    f"Set top_k to at most {moe_props['n_experts']}.",
                )
        elif kind == CHECKPOINT:
            target = successors[0] if len(successors) == 1 else None
            if target is None or types[target] not in CHECKPOINT_TARGETS:
                analysis.error(
                    "checkpoint_target_invalid",
                    f"Checkpoint {cid!r} must feed exactly one transformer_layer, moe_layer, dense or load_balance_router.",
                    cid,
                    "Wire it straight into the one layer it should recompute.",
                )
                continue
            if types[target] == ROUTER:
                routed = analysis.outputs[target]
                if len(routed) != 1 or types[routed[0]] != MOE:
                    continue  # the router's own error says what is wrong
                target = routed[0]
            analysis.checkpointed.add(target)


def _output_shape(kind: str, block: CompiledBlock, env: dict[str, int]) -> Shape:
    """A block's own output: a tokens output has its `tokens` formula's count, else its input's T."""
    if kind != "tokens":
        return Shape(kind, block.output_width(env))
    return Shape(kind, block.output_width(env), block.output_tokens(env) if block.output_tokens else env["T"])


def _infer_shapes(analysis: DesignAnalysis, catalogue: Catalogue, types: dict[str, str], in_cycle: set[str]) -> None:
    """Kahn's order over the acyclic part; a block's shape is None when it cannot be inferred."""
    pending = {cid: len(analysis.inputs[cid]) for cid in types}
    queue = deque(cid for cid, count in pending.items() if count == 0 and cid not in in_cycle)
    constants, limits = catalogue.constants, catalogue.limits
    while queue:
        cid = queue.popleft()
        analysis.order.append(cid)
        for nxt in analysis.outputs[cid]:
            pending[nxt] -= 1
            if pending[nxt] == 0 and nxt not in in_cycle:
                queue.append(nxt)
        analysis.shapes[cid] = None
        block, props = catalogue.blocks.get(types[cid]), analysis.props.get(cid)
        if block is None or props is None:
            continue
        spec = block.spec
        sources = [analysis.shapes.get(src) for src in analysis.inputs[cid]]
        if not (spec.inputs.min <= len(sources) <= spec.inputs.max) or any(s is None for s in sources):
            continue
        env = {**constants, **props}  # formulas read ints; a bool prop counts as 0 or 1
        shape_in = sources[0] if sources else None
        if shape_in is not None:
            if not _inputs_fit(analysis, cid, types[cid], spec.inputs.accepts, sources):
                continue
            env["w"], env["feat"] = shape_in.width, shape_in.features
            if shape_in.kind == "tokens":
                env["T"] = shape_in.tokens
        _check_block_rules(analysis, cid, types[cid], props, shape_in, limits)
        if types[cid] == MOE:
            source = analysis.inputs[cid][0]
            router = analysis.props.get(source) if types[source] == ROUTER else None
            top_k, lb_coef = (router["top_k"], router["lb_coef"]) if router else (catalogue.doc.unrouted.top_k, catalogue.doc.unrouted.lb_coef)
            analysis.routing[cid] = (top_k, lb_coef)
            env["top_k"] = top_k
        analysis.params[cid] = block.params(env)
        analysis.activations[cid] = block.activations(env)
        if block.sparse_params is not None:
            analysis.sparse_params[cid] = block.sparse_params(env)
        if spec.output is None:
            continue
        shape = shape_in if spec.output.kind == "same" else _output_shape(spec.output.kind, block, env)
        if shape.kind != "board" and shape.width > limits.max_width:
            analysis.error("width_limit", f"{types[cid]} {cid!r} outputs width {shape.width}, above the limit of {limits.max_width}.", cid, f"Use a width of at most {limits.max_width}.")
            continue
        analysis.shapes[cid] = shape


def _inputs_fit(analysis: DesignAnalysis, cid: str, kind: str, accepts: tuple[str, ...], sources: list[Shape]) -> bool:
    for shape in sources:
        if shape.kind not in accepts:
            hint = "Put an embedding between the board_input and this block." if shape.kind == "board" else f"{kind} takes {' or '.join(accepts)}."
            analysis.error("incompatible_input", f"{kind} {cid!r} cannot take {shape.kind} input.", cid, hint)
            return False
    if any(shape != sources[0] for shape in sources[1:]):
        found = ", ".join(str(s) for s in sources)
        analysis.error("width_mismatch", f"{kind} {cid!r} joins inputs of different shapes: {found}.", cid, "Give every branch the same kind, width and token count.")
        return False
    return True


def _check_block_rules(analysis: DesignAnalysis, cid: str, kind: str, props: dict[str, Any], shape_in: Shape | None, limits: Limits) -> None:
    if kind in EMBEDDINGS and props["d_model"] % 8:
        nearest = max(8, (props["d_model"] + 4) // 8 * 8)  # ties round up, as Math.round does
        analysis.error("d_model_not_multiple_of_8", f"Embedding {cid!r} has d_model {props['d_model']}, not a multiple of 8.", cid, f"Nearest valid d_model is {nearest}.")
    elif kind == "transformer_layer" and shape_in.width % props["n_heads"]:
        width, heads = shape_in.width, props["n_heads"]
        nearest = min((d for d in range(1, width + 1) if width % d == 0), key=lambda d: (abs(d - heads), d))
        analysis.error("n_heads_not_divisor", f"Transformer {cid!r} has {heads} heads, which do not divide its width {width}.", cid, f"Nearest valid n_heads is {nearest}.")
    elif kind == MOE and props["n_experts"] > limits.max_experts:
        analysis.error("too_many_experts", f"MoE layer {cid!r} has {props['n_experts']} experts; at most {limits.max_experts} are supported.", cid, f"Use at most {limits.max_experts} experts.")


def activation_floats_per_board(analysis: DesignAnalysis) -> int:
    """The memory estimate's activation floats per board: stored + recompute_peak (the catalogue's
    memory doc): every block not checkpointed, plus the largest checkpointed block once."""
    stored = sum(count for cid, count in analysis.activations.items() if cid not in analysis.checkpointed)
    recompute_peak = max((analysis.activations.get(cid, 0) for cid in analysis.checkpointed), default=0)
    return stored + recompute_peak


def _check_limits(analysis: DesignAnalysis, catalogue: Catalogue, types: dict[str, str]) -> None:
    limits, memory = catalogue.limits, catalogue.doc.memory
    layers = [cid for cid, kind in types.items() if kind in LAYER_TYPES]
    if len(layers) > limits.max_layers:
        first_over = layers[limits.max_layers]
        analysis.error("layer_limit", f"The design has {len(layers)} weighted layers; the limit is {limits.max_layers}.", first_over, f"Remove {len(layers) - limits.max_layers} layer(s).")
    analysis.param_total = sum(analysis.params.values())
    sparse = sum(analysis.sparse_params.values())
    weight_floats = (analysis.param_total - sparse) * memory.floats_per_param + sparse * memory.floats_per_sparse_param
    weight_bytes = memory.bytes_per_float * weight_floats
    activation_bytes = memory.bytes_per_float * memory.minibatch * activation_floats_per_board(analysis)
    analysis.memory_mb = -(-(weight_bytes + activation_bytes) // MIB)
    # The parts, each rounded up on its own like the total: they add up to it or to 1 MiB more.
    analysis.weights_mb = -(-weight_bytes // MIB)
    analysis.activations_mb = -(-activation_bytes // MIB)
    analysis.runtime_baseline_mb = memory.runtime_baseline_mb
    if analysis.param_total > limits.max_params:
        analysis.error("param_limit", f"The model has {analysis.param_total:,} parameters; the limit is {limits.max_params:,}.", None, "Use fewer or narrower layers.")
    if analysis.memory_mb > limits.max_memory_mb:
        analysis.error("memory_limit", f"Training would need about {analysis.memory_mb} MiB; the limit is {limits.max_memory_mb} MiB.", None, "Use fewer or narrower layers, or add gradient checkpoints.")
