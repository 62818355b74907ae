"""YAML with positions: parse once into data *and* a node tree, so that a
validation error found on the data can be reported at its line and column.

Floats are read as ``Decimal`` straight from their text: points never pass
through binary floating point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from scoring_core.errors import Problem

M = TypeVar("M", bound=BaseModel)


class _DecimalLoader(yaml.SafeLoader):
    pass


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    return Decimal(str(loader.construct_scalar(node)).replace("_", ""))  # type: ignore[arg-type]


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


@dataclass(frozen=True, slots=True)
class MarkedDocument:
    source: str
    data: Any
    root: yaml.Node | None

    def where(self, loc: tuple[str | int, ...]) -> str:
        """``file:line:column`` of the deepest node along ``loc`` (a pydantic error path)."""
        node = self.root
        for step in loc:
            child = _child(node, step)
            if child is None:
                break
            node = child
        if node is None:
            return self.source
        mark = node.start_mark
        return f"{self.source}:{mark.line + 1}:{mark.column + 1}"

    def problem(self, loc: tuple[str | int, ...], message: str) -> Problem:
        return Problem(self.where(loc), message)


def _child(node: yaml.Node | None, step: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(step):
                found: yaml.Node = value
                return found
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
        child: yaml.Node = node.value[step]
        return child
    return None


def parse_marked(text: str, source: str) -> MarkedDocument:
    """Parse YAML text; a syntax error becomes a Problem at its position."""
    loader = _DecimalLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise YamlSyntaxError(Problem(where, f"YAML 格式错误：{exc.problem}")) from exc
    finally:
        loader.dispose()
    return MarkedDocument(source, data, root)


def validate_marked(
    text: str, source: str, model: type[M], error: Callable[[list[Problem]], Exception]
) -> tuple[MarkedDocument, M]:
    """Parse YAML text and validate it with ``model``; any problem raises ``error(problems)``."""
    try:
        doc = parse_marked(text, source)
    except YamlSyntaxError as exc:
        raise error([exc.problem]) from exc
    try:
        return doc, model.model_validate(doc.data)
    except ValidationError as exc:
        raise error(pydantic_problems(doc, exc.errors())) from exc


class YamlSyntaxError(Exception):
    """Raised by parse_marked; callers wrap it in their own ConfigError branch."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def pydantic_problems(doc: MarkedDocument, errors: list[Any]) -> list[Problem]:
    """Turn pydantic's errors into positioned problems, in Chinese where we can."""
    problems = []
    for err in errors:
        loc = tuple(err["loc"])
        problems.append(doc.problem(loc, f"{'.'.join(str(p) for p in loc)}：{_say(err)}"))
    return problems


_TYPE_WORDS = {
    "missing": "缺少此项",
    "extra_forbidden": "不认识的字段",
    "decimal_parsing": "应为数字",
    "decimal_max_places": "最多两位小数",
    "greater_than": "应大于 0",
    "string_type": "应为文字",
    "list_type": "应为列表",
    "int_parsing": "应为整数",
    "literal_error": "取值不在允许范围内",
    "enum": "取值不在允许范围内",
}


def _say(err: Any) -> str:
    word = _TYPE_WORDS.get(err["type"])
    return f"{word}（{err['msg']}）" if word else str(err["msg"])
