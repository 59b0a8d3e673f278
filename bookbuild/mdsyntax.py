"""Pandoc Markdown syntax helpers shared by the indexer and the linter."""
from __future__ import annotations

import re

ATTR_KV = re.compile(r"""([\w-]+)=(?:"([^"]*)"|'([^']*)'|([^\s}]+))""")


def attributes(attr: str) -> tuple[set[str], dict[str, str]]:
    """Classes and key=value pairs of a `{…}` attribute block (without the braces)."""
    classes = set(re.findall(r"(?:^|\s)\.([\w-]+)", attr))
    values = {m.group(1): next(g for g in m.groups()[1:] if g is not None) for m in ATTR_KV.finditer(attr)}
    return classes, values


def closing(text: str, i: int, close: str) -> int:
    """Index of the bracket closing the one at i (nesting, escapes), or -1; a blank line ends the search."""
    opening, depth, j = text[i], 0, i
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == opening:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return j
        elif c == "\n" and text.startswith("\n\n", j):
            return -1
        j += 1
    return -1
