"""Write the starter designs in `schema/templates/`. Run: `.venv/bin/python tools/make_templates.py`.

Chains are laid out top to bottom so they open tidy on a phone; the files are committed and the
PWA bundles them.
"""

import json
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[1] / "schema" / "templates"
ROW = 110  # canvas units between blocks in a chain


def chain(design_id, name, description, meta, blocks, extra_edges=()):
    """blocks: (id, type, props, column, wire, row) tuples, wired in order unless `wire` is False;
    a block sits on the row after the previous one unless it names its own."""
    components, edges, previous, row = [], [], None, -1
    for cid, kind, props, column, wire, own_row in blocks:
        row = own_row if own_row is not None else row + 1
        components.append({"id": cid, "type": kind, "props": props, "position": {"x": 40 + 200 * column, "y": 40 + ROW * row}})
        if previous and wire:
            edges.append([previous, cid])
        previous = cid
    edges.extend(extra_edges)
    return {"schemaVersion": 1, "id": design_id, "name": name, "description": description, "meta": meta, "components": components, "edges": edges}


def block(cid, kind, props=None, column=0, wire=True, row=None):
    return (cid, kind, props or {}, column, wire, row)


def templates():
    yield chain(
        "tiny-dense", "Tiny dense", "A two-layer MLP over a 16-wide embedding: the fast baseline.",
        {"d_model": 16, "n_heads": 4},
        [block("board", "board_input"), block("embed", "embedding"), block("hidden1", "dense", {"units": 256}),
         block("hidden2", "dense", {"units": 256}), block("policy", "action_output")],
    )
    yield chain(
        "tuple-network", "Tuple network",
        "The classic 2048 tuple network: the pattern of 4 tiles in each row, column and 2x2 square looks up a learned "
        "32-wide vector; the 17 are summed, then one small ReLU layer. About 35.7M parameters, nearly all in the lookup tables.",
        {"d_model": 64, "n_heads": 4},
        [block("board", "board_input"), block("tuples", "ntuple", {"n_tuples": 17, "units": 32}),
         block("hidden", "dense", {"units": 64, "activation": "relu"}), block("policy", "action_output")],
    )
    # The attention templates share their layers; the tuple ones differ only in their tokens.
    cells, tuples = block("embed", "embedding"), block("tuples", "tuple_embedding", {"n_tuples": 17})
    transformer = [block("layer1", "transformer_layer"), block("layer2", "transformer_layer"), block("norm", "layer_norm"), block("policy", "action_output")]
    moe = [block("layer1", "transformer_layer"), block("router", "load_balance_router", {"top_k": 2, "lb_coef": 0.01}),
           block("experts", "moe_layer", {"n_experts": 4, "ff_mult": 2}), block("norm", "layer_norm"), block("policy", "action_output"),
           block("aux", "aux_loss_head", {"target": "empty_cells", "weight": 0.1}, column=1, wire=False, row=6)]
    yield chain(
        "small-transformer", "Small transformer", "Two pre-norm transformer layers (d_model 64, 4 heads) over the 16 cells.",
        {"d_model": 64, "n_heads": 4}, [block("board", "board_input"), cells, *transformer],
    )
    yield chain(
        "moe-router", "MoE with router", "A transformer layer, then a routed 4-expert MoE layer with a load-balancing loss, and an aux head that predicts empty cells.",
        {"d_model": 64, "n_heads": 4}, [block("board", "board_input"), cells, *moe], extra_edges=[["norm", "aux"]],
    )
    yield chain(
        "tuple-transformer", "Tuple transformer",
        "Two pre-norm transformer layers (d_model 40, 4 heads) over 17 tuple tokens instead of 16 cells: the pattern of 4 tiles "
        "in each row, column and 2x2 square looks up its own learned token. About 44.6M parameters, nearly all in the lookup tables.",
        {"d_model": 40, "n_heads": 4}, [block("board", "board_input"), tuples, *transformer],
    )
    yield chain(
        "tuple-moe", "MoE over tuples",
        "moe-router's layers over 17 tuple tokens instead of 16 cells: a transformer layer, then a routed 4-expert MoE layer with a "
        "load-balancing loss, and an aux head that predicts empty cells. About 44.6M parameters, nearly all in the lookup tables.",
        {"d_model": 40, "n_heads": 4}, [block("board", "board_input"), tuples, *moe], extra_edges=[["norm", "aux"]],
    )
    deep = [block("board", "board_input"), block("embed", "embedding")]
    for i in range(1, 7):
        deep += [block(f"ckpt{i}", "grad_checkpoint"), block(f"layer{i}", "transformer_layer")]
    deep += [block("norm", "layer_norm"), block("policy", "action_output")]
    yield chain("deep-checkpointed", "Deep, checkpointed", "Six transformer layers (d_model 128, 8 heads), each recomputed in the backward pass to save memory.", {"d_model": 128, "n_heads": 8}, deep)
    yield chain(
        "residual-mlp", "Residual MLP", "A wide dense trunk with a skip connection: two branches joined by a residual add.",
        {"d_model": 32, "n_heads": 4},
        [block("board", "board_input"), block("embed", "embedding"), block("trunk", "dense", {"units": 256}),
         block("branch", "dense", {"units": 256}, column=1), block("join", "residual_add", wire=False),
         block("policy", "action_output")],
        extra_edges=[["trunk", "join"], ["branch", "join"]],
    )


if __name__ == "__main__":
    TEMPLATES.mkdir(parents=True, exist_ok=True)
    for design in templates():
        (TEMPLATES / f"{design['id']}.json").write_text(json.dumps(design, indent=2) + "\n")
        print("wrote", design["id"])
