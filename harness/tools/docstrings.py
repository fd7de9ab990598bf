"""Descriptions of a tool and its parameters, read from a Google or Sphinx docstring."""

from __future__ import annotations

import inspect
import re

_ARGS_HEADER = re.compile(
    r"^(\s*)(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments)\s*:\s*$", re.I
)
_ANY_HEADER = re.compile(r"^\s*[A-Z][A-Za-z ]*:\s*$")
_GOOGLE_ITEM = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SPHINX_PARAM = re.compile(r"^:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """``(description, {parameter: description})`` from a Google or Sphinx docstring.

    The description is the first paragraph. Parameters come from an ``Args:`` section
    (Google style) or ``:param name:`` lines (Sphinx style).
    """
    lines = inspect.cleandoc(doc or "").splitlines()
    first: list[str] = []
    for line in lines:
        if not line.strip() or _ANY_HEADER.match(line) or line.lstrip().startswith(":"):
            break
        first.append(line.strip())
    params: dict[str, str] = {}
    current: str | None = None  # the parameter continuation lines belong to
    section_indent: int | None = None  # inside a Google "Args:" section when set
    item_indent = 0
    for line in lines:
        if not line.strip():
            continue
        header = _ARGS_HEADER.match(line)
        sphinx = _SPHINX_PARAM.match(line.strip())
        if header:
            section_indent, item_indent, current = len(header.group(1)), 0, None
        elif sphinx:
            section_indent, current = None, sphinx.group(1)
            params[current] = sphinx.group(2).strip()
        elif section_indent is not None and _indent(line) > section_indent:
            item = _GOOGLE_ITEM.match(line.strip())
            if item and (not item_indent or _indent(line) <= item_indent):
                item_indent, current = _indent(line), item.group(1)
                params[current] = item.group(2).strip()
            elif current is not None:
                params[current] = f"{params[current]} {line.strip()}".strip()
        elif current is not None and section_indent is None and _indent(line) > 0:
            params[current] = f"{params[current]} {line.strip()}".strip()  # Sphinx continuation
        else:
            section_indent, current = None, None
    return " ".join(first), params
