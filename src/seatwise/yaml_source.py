"""Strict YAML reading that remembers where every value came from.

PyYAML composes the document into nodes; :class:`Node` wraps one with the file name and the
line, so every error can say ``scenario.yaml:12: events[3].at: …``. Scalars are read from
their source text, so ``price: 108.10`` stays exactly ``108.10`` (never a float), and
duplicate keys are an error rather than a silent overwrite.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from typing import NoReturn
from zoneinfo import ZoneInfo

import yaml

from seatwise.core.errors import FieldError, SeatwiseError
from seatwise.core.limits import check_instant

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"


class SourceError(SeatwiseError):
    """Bad input in a file: says the file, the line and the problem."""

    def __init__(self, file: str, line: int | None, message: str) -> None:
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {message}")
        self.file = file
        self.line = line
        self.reason = message


class Node:
    """One YAML node, its file, its line (1-based) and its path in the document."""

    def __init__(self, node: yaml.Node, file: str, path: str = "") -> None:
        self.node = node
        self.file = file
        self.path = path

    @property
    def line(self) -> int:
        return int(self.node.start_mark.line) + 1

    def fail(self, message: str) -> NoReturn:
        prefix = f"{self.path}: " if self.path else ""
        raise SourceError(self.file, self.line, prefix + message)

    def _child(self, node: yaml.Node, key: str | int) -> Node:
        if isinstance(key, int):
            path = f"{self.path}[{key}]"
        else:
            path = f"{self.path}.{key}" if self.path else key
        return Node(node, self.file, path)

    # -- shapes --------------------------------------------------------------------------------

    @property
    def is_scalar(self) -> bool:
        return isinstance(self.node, yaml.ScalarNode)

    @property
    def is_sequence(self) -> bool:
        return isinstance(self.node, yaml.SequenceNode)

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.node, yaml.MappingNode)

    @property
    def is_null(self) -> bool:
        return self.is_scalar and self.node.tag == _NULL

    def mapping(self, allowed: set[str], required: tuple[str, ...] = ()) -> dict[str, Node]:
        """The entries of a mapping; unknown, duplicate or missing keys are errors."""
        if not self.is_mapping:
            self.fail("must be a mapping of fields")
        entries: dict[str, Node] = {}
        for key_node, value_node in self.node.value:
            key_wrapper = Node(key_node, self.file, self.path)
            if not key_wrapper.is_scalar:
                key_wrapper.fail("a key must be a plain name")
            key = str(key_node.value)
            if key in entries:
                Node(key_node, self.file, self.path).fail(f"duplicate field {key!r}")
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                self._child(key_node, key).fail(f"unknown field (known here: {known})")
            entries[key] = self._child(value_node, key)
        missing = [key for key in required if key not in entries]
        if missing:
            self.fail(f"missing field {missing[0]!r}")
        return entries

    def items(self) -> list[Node]:
        if not self.is_sequence:
            self.fail("must be a list")
        return [self._child(child, index) for index, child in enumerate(self.node.value)]

    def __iter__(self) -> Iterator[Node]:
        return iter(self.items())

    # -- scalars -------------------------------------------------------------------------------

    def raw(self) -> str:
        """The scalar's source text."""
        if not self.is_scalar:
            self.fail("must be a single value")
        return str(self.node.value)

    def text(self) -> str:
        if not self.is_scalar or self.is_null:
            self.fail("must be text")
        return self.raw()

    def integer(self, minimum: int | None = None, maximum: int | None = None) -> int:
        if not self.is_scalar or self.node.tag != _INT:
            self.fail(f"{self.raw() if self.is_scalar else 'this'} is not a whole number")
        digits = self.raw().replace("_", "")
        if len(digits.lstrip("+-")) > 30:  # refused before Python builds a huge number
            self.fail(f"{digits[:12]}… is far too large")
        try:
            value = int(digits)
        except ValueError:  # YAML 1.1's hexadecimal, octal, sexagesimal…
            self.fail(f"{self.raw()} is not a whole number written in decimal")
        if minimum is not None and value < minimum:
            self.fail(f"{value} is below the minimum of {minimum}")
        if maximum is not None and value > maximum:
            self.fail(f"{value:,} is above the maximum of {maximum:,}")
        return value

    def boolean(self) -> bool:
        if not self.is_scalar or self.node.tag != _BOOL:
            self.fail("must be true or false")
        return self.raw().lower() in {"true", "yes", "on", "y"}

    def instant(self, tz: ZoneInfo) -> datetime:
        """An ISO 8601 instant with a time zone (``2021-02-15T00:00:00Z``), or a date, which
        means midnight in ``tz``. Returned in UTC."""
        text = self.text().strip()
        try:
            if len(text) == 10:
                day = date.fromisoformat(text)
                value = datetime.combine(day, time(), tzinfo=tz)
                return check_instant(value, "")
            value = datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            self.fail(f"{text!r} is not an ISO 8601 instant like 2021-02-15T09:00:00Z")
        if value.tzinfo is None:
            self.fail(f"{text!r} has no time zone: add Z (UTC) or an offset like +01:00")
        try:
            return check_instant(value, "")
        except FieldError as error:
            self.fail(error.reason)

    # -- plain data ----------------------------------------------------------------------------

    def to_data(self, lines: dict[str, int] | None = None, prefix: str = "") -> object:
        """Plain Python data (dict, list, str, int, bool, None, ``Decimal`` for numbers with a
        fraction), recording the line of every path in ``lines``."""
        if lines is not None:
            lines[prefix] = self.line
        if self.is_mapping:
            result: dict[str, object] = {}
            for key, child in self.mapping(allowed=_AnyKey()).items():
                path = f"{prefix}.{key}" if prefix else key
                result[key] = child.to_data(lines, path)
            return result
        if self.is_sequence:
            return [
                child.to_data(lines, f"{prefix}[{index}]")
                for index, child in enumerate(self.items())
            ]
        tag = self.node.tag
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return self.boolean()
        if tag == _INT:
            return self.integer()
        if tag == _FLOAT:
            try:
                return Decimal(self.raw())
            except ArithmeticError:
                self.fail(f"{self.raw()!r} is not a number")
        return self.raw()


class _AnyKey(set[str]):
    """An ``allowed`` set that allows every key (for free-form data such as a plan)."""

    def __contains__(self, item: object) -> bool:
        return True


def load(text: str, file: str) -> Node:
    """The single document of a YAML text, as a :class:`Node`."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        line = int(mark.line) + 1 if mark is not None else None
        raise SourceError(file, line, f"not valid YAML: {error.problem}") from None
    except yaml.YAMLError as error:
        raise SourceError(file, None, f"not valid YAML: {error}") from None
    if root is None:
        raise SourceError(file, 1, "the file is empty")
    return Node(root, file)
