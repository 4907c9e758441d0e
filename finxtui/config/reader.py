"""Reading a TOML value with its type checked, and naming the file and line of a bad one."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from finxtui.config.settings import ConfigError


def line_of(text: str, table: str | None, key: str) -> int | None:
    """The line number of ``key`` inside ``[table]`` (None: top level), for error messages."""
    current: str | None = None
    header = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+\s*(#.*)?$")
    for number, line in enumerate(text.splitlines(), 1):
        m = header.match(line)
        if m:
            current = m.group(1).replace('"', "").replace(" ", "")
            continue
        if current == (table.replace('"', "").replace(" ", "") if table else None) and re.match(
                rf"^\s*\"?{re.escape(key)}\"?\s*=", line):
            return number
    return None


class Reader:
    """Checks values from a parsed TOML file and names file:line on the first bad one."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text

    def error(self, table: str | None, key: str, problem: str) -> ConfigError:
        line = line_of(self.text, table, key)
        where = f"{self.path}:{line}" if line else str(self.path)
        name = f"{table}.{key}" if table else key
        return ConfigError(f"{where}: {name}: {problem}")

    def get(self, data: Mapping[str, Any], table: str | None, key: str, kind: type | tuple[type, ...],
            default: Any = None, choices: tuple[Any, ...] | None = None, low: float | None = None,
            high: float | None = None) -> Any:
        if key not in data:
            return default
        value: Any = data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise self.error(table, key, f"expected {_kind_name(kinds)}, got {value!r}")
        if not _is_kind(value, kinds):
            raise self.error(table, key, f"expected {_kind_name(kinds)}, got {value!r}")
        if choices is not None and value not in choices:
            raise self.error(table, key, f"must be one of {', '.join(map(str, choices))}, got {value!r}")
        if low is not None and value < low:
            raise self.error(table, key, f"must be at least {low}, got {value!r}")
        if high is not None and value > high:
            raise self.error(table, key, f"must be at most {high}, got {value!r}")
        return value


def _is_kind(value: Any, kinds: tuple[type, ...]) -> bool:
    # A function, not an inline isinstance: mypy would narrow ``value`` to object and lose its comparisons.
    return isinstance(value, kinds)


def _kind_name(kinds: tuple[type, ...]) -> str:
    names = {str: "a string", int: "a whole number", float: "a number", bool: "true or false",
             list: "a list", dict: "a table"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def line_in_array(text: str, table: str, index: int, key: str) -> int | None:
    """The line of ``key`` in the ``index``-th ``[[table]]`` (or of that header when the key is missing)."""
    header = re.compile(r"^\s*\[\[\s*" + re.escape(table) + r"\s*\]\]\s*(#.*)?$")
    other = re.compile(r"^\s*\[")
    seen, start = -1, None
    for number, line in enumerate(text.splitlines(), 1):
        if header.match(line):
            seen += 1
            if seen == index:
                start = number
            elif seen > index:
                break
            continue
        if start is not None:
            if other.match(line):
                break
            if re.match(rf"^\s*\"?{re.escape(key)}\"?\s*=", line):
                return number
    return start
