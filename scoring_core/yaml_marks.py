"""YAML with positions: parse once into data *and* a node tree, so that a
validation error found on the data can be reported at its line and column.

Floats are read as ``Decimal`` straight from their text: points never pass
through binary floating point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from scoring_core.errors import Problem

M = TypeVar("M", bound=BaseModel)


class _DecimalLoader(yaml.SafeLoader):
    pass


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    text = str(loader.construct_scalar(node)).replace("_", "")  # type: ignore[arg-type]
    try:
        value = Decimal(text)
    except InvalidOperation:  # YAML 1.1 floats Decimal does not read: 1:30.5 (base 60)
        value = Decimal("NaN")
    if not value.is_finite():  # .inf, .nan: never points
        raise yaml.constructor.ConstructorError(
            None, None, f"“{node.value}”不是有限的数字，请写如 4 或 2.5 的分值", node.start_mark
        )
    return value


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
    """Turn pydantic's errors into positioned problems, in Chinese."""
    problems = []
    for err in errors:
        loc = tuple(err["loc"])
        field = ".".join(str(p) for p in loc) or "文件内容"
        problems.append(doc.problem(loc, f"{field}：{say(err)}"))
    return problems


#: pydantic error types → what is wrong and what is allowed; ``{…}`` are the error's ctx values.
_TYPE_WORDS = {
    "missing": "缺少此项",
    "extra_forbidden": "不认识的字段（请对照格式说明检查拼写）",
    "decimal_parsing": "应为数字，如 4 或 2.5",
    "decimal_type": "应为数字，如 4 或 2.5",
    "decimal_max_places": "最多两位小数",  # every points field allows two
    "decimal_max_digits": "数字位数太多（最多 {max_digits} 位）",
    "finite_number": "应为有限的数字",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "string_type": "应为文字",
    "string_too_short": "不能为空",
    "string_too_long": "太长了（最多 {max_length} 个字）",
    "string_pattern_mismatch": "格式不对（应符合 {pattern}）",
    "list_type": "应为列表（- 开头的多行，或 [a, b]）",
    "tuple_type": "应为列表（- 开头的多行，或 [a, b]）",
    "dict_type": "应为“名称: 值”的映射",
    "model_type": "应为“名称: 值”的映射",
    "model_attributes_type": "应为“名称: 值”的映射",
    "too_short": "至少要有 {min_length} 个",
    "too_long": "最多 {max_length} 个",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "date_type": "应为日期，写作 2027-01-01",
    "date_parsing": "应为日期，写作 2027-01-01",
    "date_from_datetime_parsing": "应为日期，写作 2027-01-01",
    "date_from_datetime_inexact": "应为日期（不带时刻），写作 2027-01-01",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "literal_error": "取值应为 {expected} 之一",
    "enum": "取值应为 {expected} 之一",
}


def say(err: Any) -> str:
    """One pydantic error in Chinese; our own validators' messages (value_error) are Chinese already."""
    if err["type"] in ("value_error", "assertion_error"):
        return str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    word = _TYPE_WORDS.get(err["type"])
    if word is None:
        msg = str(err["msg"])
        # Our own PydanticCustomErrors speak Chinese already; pydantic's others get a prefix.
        return msg if any("\u4e00" <= ch <= "\u9fff" for ch in msg) else f"取值不符合要求（{msg}）"
    ctx = dict(err.get("ctx", {}))
    if "expected" in ctx:  # "'a', 'b' or 'c'" -> "a、b、c"
        ctx["expected"] = "、".join(v.strip(" '\"") for v in str(ctx["expected"]).replace(" or ", ",").split(","))
    try:
        return word.format(**ctx)
    except (KeyError, IndexError):
        return word.split("（")[0]
