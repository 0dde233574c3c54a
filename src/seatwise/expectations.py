"""Checking a scenario's ``expect:`` block against what the simulation produced.

An expectation is a partial document: every field it gives must match, every field it omits
is not checked. Lists (``invoices``, ``lines``, ``notifications``) must have exactly the
expected length. Values compare by their text, so ``amount: 8176.64`` and
``amount: "8176.64"`` mean the same.
"""

from __future__ import annotations

from typing import Any

from seatwise.yaml_source import Node


def _text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def mismatches(expected: Node, actual: Any, path: str = "") -> list[str]:
    """Every difference between the expectation and the document, with its line."""
    where = f"line {expected.line}: {path or 'document'}"
    if expected.is_mapping:
        if not isinstance(actual, dict):
            return [f"{where}: expected a mapping, got {_text(actual)}"]
        found: list[str] = []
        for key, child in expected.mapping(allowed=set(actual)).items():
            found.extend(mismatches(child, actual[key], f"{path}.{key}" if path else key))
        return found
    if expected.is_sequence:
        items = expected.items()
        if not isinstance(actual, list):
            return [f"{where}: expected a list, got {_text(actual)}"]
        if len(items) != len(actual):
            return [f"{where}: expected {len(items)} item(s), got {len(actual)}"]
        found = []
        for index, (child, value) in enumerate(zip(items, actual, strict=True)):
            found.extend(mismatches(child, value, f"{path}[{index}]"))
        return found
    want = "null" if expected.is_null else expected.raw()
    if want != _text(actual):
        return [f"{where}: expected {want}, got {_text(actual)}"]
    return []
