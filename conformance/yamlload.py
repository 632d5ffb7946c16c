"""YAML loading that remembers line numbers, so errors can name the line."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml


class LineDict(dict[str, Any]):
    """A mapping from a YAML file, with the line it starts on (1-based)."""

    line: int = 0


class LineList(list[Any]):
    """A sequence from a YAML file, with the line it starts on (1-based)."""

    line: int = 0


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that builds LineDict/LineList and refuses duplicate keys."""

    def construct_mapping(
        self, node: yaml.MappingNode, deep: bool = False
    ) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"found the key {key!r} twice",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _mapping(loader: _LineLoader, node: yaml.MappingNode) -> Iterator[LineDict]:
    data = LineDict()
    data.line = node.start_mark.line + 1
    yield data
    data.update(loader.construct_mapping(node, deep=True))


def _sequence(loader: _LineLoader, node: yaml.SequenceNode) -> Iterator[LineList]:
    data = LineList()
    data.line = node.start_mark.line + 1
    yield data
    data.extend(loader.construct_sequence(node, deep=True))


_LineLoader.add_constructor("tag:yaml.org,2002:map", _mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _sequence)


def load(text: str) -> Any:
    """Parse one YAML document; raises yaml.YAMLError with a mark on bad input."""
    return yaml.load(text, Loader=_LineLoader)


def line_of(document: Any, path: list[str | int]) -> int | None:
    """The line of the deepest node on `path` that knows its line."""
    line = getattr(document, "line", None)
    node = document
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        line = getattr(node, "line", None) or line
    return line


def mark_line(error: yaml.YAMLError) -> int | None:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    return None if mark is None else int(mark.line) + 1
