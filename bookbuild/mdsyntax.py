"""Pandoc Markdown syntax shared by every stage: attributes, brackets, grid tables, and the one note scanner."""
from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass

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


# --- notes -------------------------------------------------------------------------------------

# A definition is `[^label]:` at the start of a line; every other `[^label]` is a reference,
# also one a colon follows ("as he wrote[^3]: …"), as Pandoc reads them.
NOTE_DEF = re.compile(r"^\[\^(?P<label>[^\]\s]+)\]:", re.M)
NOTE_REF = re.compile(r"\[\^(?P<label>[^\]\s]+)\]")
CODE_FENCE = re.compile(r"^(?:```|~~~)")
# Code spans and comments hold no notes.
NO_NOTES = re.compile(r"<!--.*?-->|`[^`\n]+`", re.S)


@dataclass(frozen=True)
class NoteMark:
    """A note reference `[^label]`, or a definition's `[^label]:`, and where it stands in its
    text (offsets; line and column from 1)."""

    label: str
    start: int
    end: int
    line: int
    col: int


@dataclass(frozen=True)
class NoteMarks:
    """A text's note references and definitions, each in text order."""

    refs: list[NoteMark]
    defs: list[NoteMark]

    @property
    def defined(self) -> set[str]:
        return {d.label for d in self.defs}


def note_marks(text: str) -> NoteMarks:
    """Every note reference and definition of a Pandoc Markdown text, outside fenced code,
    code spans and comments: the scanner behind every stage's note checks."""
    view = _without_code(text)
    starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def mark(m: re.Match) -> NoteMark:
        line = bisect.bisect_right(starts, m.start())
        return NoteMark(m.group("label"), m.start(), m.end(), line, m.start() - starts[line - 1] + 1)

    defs = [mark(m) for m in NOTE_DEF.finditer(view)]
    at_def = {d.start for d in defs}
    refs = [mark(m) for m in NOTE_REF.finditer(view) if m.start() not in at_def]
    return NoteMarks(refs, defs)


def undefined_references(refs: Iterable[NoteMark], defined: Iterable[str]) -> list[NoteMark]:
    """Each reference whose label is not among the `defined` ("note referenced, never
    defined"): one function for read (N003), lint (L010), the no-loss check (S002) and the
    importer (I003)."""
    labels = set(defined)
    return [r for r in refs if r.label not in labels]


def unreferenced_definitions(marks: NoteMarks) -> list[NoteMark]:
    """Each definition whose label no reference has."""
    referenced = {r.label for r in marks.refs}
    return [d for d in marks.defs if d.label not in referenced]


def _without_code(text: str) -> str:
    """`text` with fenced code blocks, code spans and comments blanked, at the same offsets."""
    chars = list(text)
    fenced = False
    offset = 0
    for line in text.split("\n"):
        fence = CODE_FENCE.match(line)
        if fenced or fence:
            chars[offset:offset + len(line)] = " " * len(line)
        if fence:
            fenced = not fenced
        offset += len(line) + 1
    view = "".join(chars)
    return NO_NOTES.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), view)
