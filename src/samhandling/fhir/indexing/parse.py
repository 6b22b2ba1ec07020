"""The FHIRPath subset of the index fast path: tokenizer and parser (see ``paths``).

The AST is made of plain tuples:

* ``("union", [path, ...])``;
* ``("path", start, [step, ...])`` with start ``("name", identifier)`` (a type filter or a
  member, decided when compiling), ``("resource",)`` for ``%resource`` or
  ``("paren", union)``;
* steps ``("member", name)``, ``("oftype", type)`` (``as``, ``as()``, ``ofType()``),
  ``("where_resolve", type)``, ``("where_eq", name, literal)``, ``("extension", url)`` and
  ``("index", n)`` (``[n]``, ``first()``).
"""

from __future__ import annotations

import re
from typing import Any

from samhandling.fhir.indexing.types import normalize_type_name

__all__ = ["Unsupported", "parse"]


class Unsupported(Exception):
    """The expression is outside the fast-path subset."""


_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<int>\d+)|(?P<env>%[A-Za-z_]\w*)"
    r"|(?P<id>[A-Za-z_]\w*)|(?P<sym>[.|()\[\]=]))"
)


def _tokenize(expression: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = expression.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise Unsupported(f"unsupported syntax at {text[pos:]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match[kind]))
        pos = match.end()
    return tokens


class _Parser:
    """Recursive descent over the supported subset; AST nodes are plain tuples."""

    def __init__(self, expression: str) -> None:
        self.tokens = _tokenize(expression)
        self.pos = 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else ("end", "")

    def take(self, value: str | None = None, kind: str | None = None) -> str:
        token = self.peek()
        if (value is not None and token[1] != value) or (kind is not None and token[0] != kind):
            raise Unsupported(f"expected {value or kind}, got {token[1]!r}")
        self.pos += 1
        return token[1]

    def parse(self) -> tuple[Any, ...]:
        node = self.union()
        if self.peek()[0] != "end":
            raise Unsupported(f"unexpected {self.peek()[1]!r}")
        return node

    def union(self) -> tuple[Any, ...]:
        parts = [self.path()]
        while self.peek()[1] == "|":
            self.take("|")
            parts.append(self.path())
        return ("union", parts)

    def path(self) -> tuple[Any, ...]:
        start = self.term()
        steps: list[tuple[Any, ...]] = []
        while True:
            kind, value = self.peek()
            if value == ".":
                self.take(".")
                steps.append(self.invocation())
            elif value == "[":
                self.take("[")
                steps.append(("index", int(self.take(kind="int"))))
                self.take("]")
            elif kind == "id" and value == "as":
                self.take()
                steps.append(("oftype", self.type_name()))
            else:
                return ("path", start, steps)

    def term(self) -> tuple[Any, ...]:
        kind, value = self.peek()
        if value == "(":
            self.take("(")
            inner = self.union()
            self.take(")")
            return ("paren", inner)
        if kind == "env" and value == "%resource":
            self.take()
            return ("resource",)
        if kind == "id" and self.peek(1)[1] != "(":
            return ("name", self.take())
        raise Unsupported(f"unsupported term {value!r}")

    def type_name(self) -> str:
        name = self.take(kind="id")
        if name in ("FHIR", "System") and self.peek()[1] == ".":
            self.take(".")
            name = f"{name}.{self.take(kind='id')}"
        return normalize_type_name(name)

    def invocation(self) -> tuple[Any, ...]:
        name = self.take(kind="id")
        if self.peek()[1] != "(":
            return ("member", name)
        self.take("(")
        if name in ("as", "ofType"):
            node: tuple[Any, ...] = ("oftype", self.type_name())
        elif name == "where":
            node = self.condition()
        elif name == "extension":
            node = ("extension", _literal(self.take(kind="str")))
        elif name == "first":
            node = ("index", 0)
        else:
            raise Unsupported(f"unsupported function {name}()")
        self.take(")")
        return node

    def condition(self) -> tuple[Any, ...]:
        if self.peek()[1] == "resolve":
            self.take("resolve")
            self.take("(")
            self.take(")")
            self.take("is")
            return ("where_resolve", self.type_name())
        name = self.take(kind="id")
        self.take("=")
        return ("where_eq", name, _literal(self.take(kind="str")))


def _literal(token: str) -> str:
    return re.sub(r"\\(.)", r"\1", token[1:-1])


def parse(expression: str) -> tuple[Any, ...]:
    """The AST of ``expression``; raises Unsupported outside the fast-path subset."""
    return _Parser(expression).parse()
