import pytest

from model_studio.formula import FormulaError, compile_formula, formula_names


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", 0), ("2 + 3 * 4", 14), ("(2 + 3) * 4", 20), ("10 - 4 - 3", 3), ("w*w + 9*w", 4 * 4 + 36), ("T*(10*w + 2)", 16 * 42), (" w ", 4)],
)
def test_precedence_and_associativity(text, expected):
    assert compile_formula(text)({"w": 4, "T": 16}) == expected


@pytest.mark.parametrize("text", ["", "2 +", "(2", "2)", "2 / 3", "w ** 2", "__import__('os')", "1e3"])
def test_rejects_anything_outside_the_grammar(text):
    with pytest.raises(FormulaError):
        compile_formula(text)


def test_names_are_reported():
    assert formula_names("vocab*d_model + positional*T*d_model") == {"vocab", "d_model", "positional", "T"}


def test_every_catalogue_formula_reads_only_known_names():
    from model_studio.catalogue import load_catalogue

    catalogue = load_catalogue()
    for name, block in catalogue.doc.blocks.items():
        allowed = set(catalogue.constants) | set(block.props) | ({"w", "feat"} if block.inputs.max else set())
        if name == "moe_layer":
            allowed.add("top_k")
        for text in (block.params, block.activations, block.output.width if block.output and block.output.width else "0"):
            assert formula_names(text) <= allowed, (name, text)
