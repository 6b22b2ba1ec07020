"""The fhirpathpy fallback for expressions outside the fast-path subset, and syntax checks.

Expressions are adapted before fhirpathpy compiles them, so that its results match the
intended R4 semantics (and the fast path):

* ``x as T`` and ``x.as(T)`` become ``x.ofType(T)``: the official file applies ``as`` to
  repeating elements, which a strict engine (fhirpathpy included) rejects;
* type names are spelled as FHIR types (``as(DateTime)`` -> ``ofType(dateTime)``);
* the root ``Resource.``/``DomainResource.`` becomes the concrete resource type, and union
  parts rooted in another resource type are dropped;
* top-level unions are evaluated part by part, because fhirpathpy's ``|`` loses the type
  information of the items it returns;
* ``resolve()`` is provided: it yields a stub of the type read from the reference string
  (see ``indexing.references``), never fetching anything.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from typing import Any

import fhirpathpy
from antlr4 import CommonTokenStream, InputStream, Token
from antlr4.error.ErrorListener import ErrorListener
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer
from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

from samhandling.fhir.indexing.paths import Accessor, Item
from samhandling.fhir.indexing.references import reference_target_type
from samhandling.fhir.indexing.types import is_resource_type, normalize_type_name
from samhandling.fhir.r4_model import MODEL

__all__ = ["compile_fhirpath", "fhirpath_syntax_error", "rewrite_expression", "split_union"]

_log = logging.getLogger(__name__)


class _RaisingListener(ErrorListener):
    def syntaxError(  # the ANTLR listener API's name
        self, recognizer: Any, symbol: Any, line: int, column: int, msg: str, e: Any
    ) -> None:
        raise ValueError(f"column {column}: {msg}")


def fhirpath_syntax_error(expression: str) -> str | None:
    """None when ``expression`` is syntactically valid FHIRPath, else the error message."""
    listener = _RaisingListener()
    try:
        lexer = FHIRPathLexer(InputStream(expression))
        lexer.removeErrorListeners()
        lexer.addErrorListener(listener)
        parser = FHIRPathParser(CommonTokenStream(lexer))
        parser.removeErrorListeners()
        parser.addErrorListener(listener)
        parser.expression()
        if parser.getCurrentToken().type != Token.EOF:
            return f"unexpected {parser.getCurrentToken().text!r}"
    except Exception as exc:  # the ANTLR runtime raises several kinds of errors
        return str(exc) or type(exc).__name__
    return None


def split_union(expression: str) -> list[str]:
    """The top-level ``|`` parts of ``expression`` (outside parentheses and strings)."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, char in enumerate(expression):
        if char == "'" and (i == 0 or expression[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and char in "([":
            depth += 1
        elif not quoted and char in ")]":
            depth -= 1
        elif not quoted and depth == 0 and char == "|":
            parts.append(expression[start:i])
            start = i + 1
    parts.append(expression[start:])
    return [part.strip() for part in parts if part.strip()]


_AS_OPERATOR = re.compile(r"([\w.\[\]%]+|\))\s+as\s+([\w.]+)")
_AS_FUNCTION = re.compile(r"\.(?:as|ofType)\(\s*([\w.]+)\s*\)")
_ROOT = re.compile(r"^(\(*)([A-Z]\w*)(?=[.)\s]|$)")


def rewrite_expression(expression: str, resource_type: str | None) -> list[str]:
    """The union parts of ``expression`` adapted for fhirpathpy (see the module doc)."""
    parts = []
    for part in split_union(expression):
        part = _AS_OPERATOR.sub(lambda m: f"{m[1]}.ofType({normalize_type_name(m[2])})", part)
        part = _AS_FUNCTION.sub(lambda m: f".ofType({normalize_type_name(m[1])})", part)
        root = _ROOT.match(part)
        if resource_type is not None and root and is_resource_type(root[2]):
            if root[2] in ("Resource", "DomainResource"):
                part = root[1] + resource_type + part[root.end() :]
            elif root[2] != resource_type:
                continue
        parts.append(part)
    return parts


def _resolve(inputs: list[Any]) -> list[Any]:
    stubs = []
    for reference in inputs:
        target = reference_target_type(reference)
        if target is not None:
            stubs.append(ResourceNode.create_node({"resourceType": target}))
    return stubs


_OPTIONS = {
    "returnRawData": True,
    "userInvocationTable": {"resolve": {"fn": _resolve, "arity": {0: []}}},
}


def compile_fhirpath(expression: str, resource_type: str | None, label: str = "") -> Accessor:
    """An accessor evaluating ``expression`` with fhirpathpy on each input item."""
    compiled = [
        fhirpathpy.compile(p, MODEL, _OPTIONS)
        for p in rewrite_expression(expression, resource_type)
    ]
    label = label or expression

    def accessor(items: list[Item], root: dict[str, Any]) -> list[Item]:
        out: list[Item] = []
        context = {"resource": root}
        for value, value_type in items:
            node = value if _is_resource(value) else ResourceNode.create_node(value, value_type)
            for function in compiled:
                try:
                    results = function(node, context)
                except Exception as exc:  # fhirpathpy raises many kinds; skip the parameter
                    _log.warning("FHIRPath evaluation of %s failed: %s", label, exc)
                    continue
                out.extend(item for item in map(_item, results) if item[0] is not None)
        return out

    return accessor


def _is_resource(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("resourceType"), str)


def _item(result: Any) -> Item:
    if isinstance(result, ResourceNode):
        data, path = result.data, result.path
        if isinstance(data, dict) and isinstance(data.get("resourceType"), str):
            return data, data["resourceType"]
        if path is None:
            return data, None
        if "." in path and not path.startswith(("System.", "FHIR.")):
            return data, path  # a backbone element path
        return data, normalize_type_name(path)
    if isinstance(result, bool):
        return result, "boolean"
    if isinstance(result, int):
        return result, "integer"
    if isinstance(result, float | Decimal):
        return result, "decimal"
    if isinstance(result, str):
        return result, "string"
    if isinstance(result, dict):
        return result, result.get("resourceType")
    return (str(result) if result is not None else None), None
