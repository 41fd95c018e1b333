"""A tiny, safe integer arithmetic language for the catalogue's formulas.

Grammar: ``expr := term (("+" | "-") term)*``, ``term := factor ("*" factor)*``,
``factor := INT | NAME | "(" expr ")"``. There is no division, so every result is an exact
integer, and the TypeScript twin (`pwa/src/model/formula.ts`) gives the same numbers; the
conformance vectors hold the two together.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

Formula = Callable[[Mapping[str, int]], int]

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z0-9_]*)|(\S))")


class FormulaError(ValueError):
    pass


def _tokenize(text: str) -> list[str]:
    tokens = []
    for number, name, symbol in _TOKEN.findall(text):
        token = number or name or symbol
        if symbol and symbol not in "+-*()":
            raise FormulaError(f"unexpected {symbol!r} in formula {text!r}")
        tokens.append(token)
    return tokens


def compile_formula(text: str) -> Formula:
    """Parse `text` once; the returned function evaluates it against named integers.

    The parser checks the grammar and rebuilds the expression from its tokens alone (integers,
    `e['name']` lookups, `+ - *` and parentheses), which Python then compiles: validation runs
    these formulas for every block on every edit, and compiled code is several times faster than
    walking a tree of closures.
    """
    tokens = _tokenize(text)
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        if position >= len(tokens):
            raise FormulaError(f"formula {text!r} ends early")
        position += 1
        return tokens[position - 1]

    def expr() -> str:
        source = term()
        while peek() in ("+", "-"):
            op = take()
            source = f"({source} {op} {term()})"
        return source

    def term() -> str:
        source = factor()
        while peek() == "*":
            take()
            source = f"({source} * {factor()})"
        return source

    def factor() -> str:
        token = take()
        if token == "(":
            source = expr()
            if take() != ")":
                raise FormulaError(f"missing ')' in formula {text!r}")
            return source
        if token.isdigit():
            return str(int(token))
        if token[0].isalpha() or token[0] == "_":
            return f"e[{token!r}]"
        raise FormulaError(f"unexpected {token!r} in formula {text!r}")

    source = expr()
    if position != len(tokens):
        raise FormulaError(f"unexpected {tokens[position]!r} in formula {text!r}")
    return eval(compile(f"lambda e: {source}", f"<formula {text!r}>", "eval"), {"__builtins__": {}})


def formula_names(text: str) -> set[str]:
    """The variable names a formula reads."""
    return {t for t in _tokenize(text) if t[0].isalpha() or t[0] == "_"}
