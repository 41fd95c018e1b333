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
    """Parse `text` once; the returned function evaluates it against named integers."""
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

    def expr() -> Formula:
        node = term()
        while peek() in ("+", "-"):
            op, right, left = take(), term(), node
            node = (lambda e, l=left, r=right: l(e) + r(e)) if op == "+" else (lambda e, l=left, r=right: l(e) - r(e))
        return node

    def term() -> Formula:
        node = factor()
        while peek() == "*":
            take()
            right, left = factor(), node
            node = lambda e, l=left, r=right: l(e) * r(e)  # noqa: E731
        return node

    def factor() -> Formula:
        token = take()
        if token == "(":
            node = expr()
            if take() != ")":
                raise FormulaError(f"missing ')' in formula {text!r}")
            return node
        if token.isdigit():
            value = int(token)
            return lambda e: value
        if token[0].isalpha() or token[0] == "_":
            return lambda e: e[token]
        raise FormulaError(f"unexpected {token!r} in formula {text!r}")

    node = expr()
    if position != len(tokens):
        raise FormulaError(f"unexpected {tokens[position]!r} in formula {text!r}")
    return node


def formula_names(text: str) -> set[str]:
    """The variable names a formula reads."""
    return {t for t in _tokenize(text) if t[0].isalpha() or t[0] == "_"}
