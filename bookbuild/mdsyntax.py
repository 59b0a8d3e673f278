"""Pandoc Markdown syntax helpers shared by the indexer, the linter, the no-loss check and the proof."""
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


def grid_lines(text: str, cells_only: bool = False) -> list[tuple[int, str]]:
    """(line number, text) of every line, except that each cell of a grid table comes as one
    line of its own, numbered by the first source line of its row (a cell's lines are
    interleaved with its neighbours' in the source). With `cells_only`, the cells alone."""
    out: list[tuple[int, str]] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if not lines[i].startswith("+-"):
            if not cells_only:
                out.append((i + 1, lines[i]))
            i += 1
            continue
        cuts = [k for k, ch in enumerate(lines[i]) if ch == "+"]
        row: list[list[str]] = [[] for _ in cuts[1:]]
        start = i + 2
        i += 1
        while i < len(lines) and lines[i][:1] in ("|", "+"):
            if lines[i].startswith("+"):
                out.extend((start, " ".join(cell)) for cell in row)
                row = [[] for _ in cuts[1:]]
                start = i + 2
            else:
                for n, (a, b) in enumerate(zip(cuts, cuts[1:])):
                    row[n].append(lines[i][a + 1:b])
            i += 1
    return out
