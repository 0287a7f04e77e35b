"""A tiny OData `$filter` parser: eq, startswith, and, or, parentheses, string literals."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<punct>[(),])|(?P<word>[A-Za-z0-9_.\-/@:]+))"
)


class FilterError(ValueError):
    pass


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise FilterError(f"Syntax error at position {pos} in '{text}'.")
        pos = m.end()
        kind = m.lastgroup
        value = m.group(kind)
        if kind == "str":
            value = value[1:-1].replace("''", "'")
        tokens.append((kind, value))
    return tokens


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def parse_filter(text: str, allowed: set[str]) -> Predicate:
    """A predicate over documents; raises FilterError for anything Graph would reject."""
    tokens = _tokenize(text)
    pos = 0

    def peek() -> tuple[str, str] | None:
        return tokens[pos] if pos < len(tokens) else None

    def take(kind: str | None = None, value: str | None = None) -> str:
        nonlocal pos
        tok = peek()
        if tok is None or (kind and tok[0] != kind) or (value and tok[1].lower() != value):
            raise FilterError(f"Syntax error: expected {value or kind} in '{text}'.")
        pos += 1
        return tok[1]

    def prop(name: str) -> str:
        if name not in allowed:
            raise FilterError(
                f"Unsupported or invalid query filter clause specified for property '{name}'."
            )
        return name

    def literal() -> Any:
        tok = peek()
        if tok and tok[0] == "str":
            return take("str")
        word = take("word").lower()
        return {"true": True, "false": False, "null": None}.get(word, word)

    def term() -> Predicate:
        tok = peek()
        if tok == ("punct", "("):
            take("punct")
            inner = expr()
            take("punct", ")")
            return inner
        word = take("word")
        if word.lower() == "startswith":
            take("punct", "(")
            name = prop(take("word"))
            take("punct", ",")
            prefix = _fold(take("str"))
            take("punct", ")")
            return lambda d: isinstance(d.get(name), str) and _fold(d[name]).startswith(prefix)
        name = prop(word)
        op = take("word").lower()
        if op not in ("eq", "ne"):
            raise FilterError(f"Unsupported operator '{op}'.")
        value = _fold(literal())
        if op == "eq":
            return lambda d: _fold(d.get(name)) == value
        return lambda d: _fold(d.get(name)) != value

    def conjunction() -> Predicate:
        parts = [term()]
        while peek() and peek()[0] == "word" and peek()[1].lower() == "and":
            take()
            parts.append(term())
        return lambda d: all(p(d) for p in parts)

    def expr() -> Predicate:
        parts = [conjunction()]
        while peek() and peek()[0] == "word" and peek()[1].lower() == "or":
            take()
            parts.append(conjunction())
        return lambda d: any(p(d) for p in parts)

    result = expr()
    if peek() is not None:
        raise FilterError(f"Syntax error: unexpected '{peek()[1]}' in '{text}'.")
    return result
