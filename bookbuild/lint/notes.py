"""Notes: referenced but not defined, defined but not referenced, out of order, a unit opening on Ibid."""
from __future__ import annotations

import re
from collections.abc import Iterator

from ..mdsyntax import NoteMark, NoteMarks, undefined_references, unreferenced_definitions
from .report import Finding, at
from .source import Text

IBID = re.compile(r"^[\s\x00*_]*Ibid\b", re.I)


def check(texts: list[Text]) -> Iterator[Finding]:
    previous_unit = None
    for t in texts:
        defined: dict[str, NoteMark] = {}
        for d in t.marks.defs:
            if d.label in defined:
                yield at(t, d.start, "L011", f"note [^{d.label}] is defined twice; this definition "
                         f"is never used", d.label)
            else:
                defined[d.label] = d
        for r in undefined_references(t.marks.refs, defined):
            yield at(t, r.start, "L010", f"note [^{r.label}] is referenced but never defined", r.label)
        referenced: dict[str, int] = {}
        for r in t.marks.refs:
            referenced.setdefault(r.label, r.start)
        for d in unreferenced_definitions(NoteMarks(t.marks.refs, list(defined.values()))):
            yield at(t, d.start, "L011", f"note [^{d.label}] is defined but never referenced", d.label)
        yield from _order(t, list(referenced.items()), "referenced")
        yield from _order(t, [(label, d.start) for label, d in defined.items()], "defined")
        first = next((label for label in referenced if label in defined), None)
        if first is not None:
            if IBID.match(_note_view(t, defined[first].start)):
                where = f"in {previous_unit}" if previous_unit else "nowhere (no note comes before it)"
                yield at(t, defined[first].start, "L013", f"the unit’s first note [^{first}] says “Ibid.”, "
                         f"but the note before it is {where}; notes restart in each unit", first)
            previous_unit = t.path


def _note_view(t: Text, start: int) -> str:
    """The text of the note defined at `start`, as lint sees it."""
    return next((t.view[body:end] for _, where, body, end in t.notes if where == start), "")


def _order(t: Text, labels: list[tuple[str, int]], how: str) -> Iterator[Finding]:
    """Numbered notes run 1, 2, 3 … in reading order: report a number that skips ahead or
    comes back."""
    highest = 0
    for label, offset in labels:
        if not label.isdigit():
            continue
        number = int(label)
        if number > highest + 1:
            yield at(t, offset, "L012", f"note [^{label}] is {how} where [^{highest + 1}] was expected", label)
        elif number <= highest:
            yield at(t, offset, "L012", f"note [^{label}] is {how} after [^{highest}]", label)
        highest = max(highest, number)
