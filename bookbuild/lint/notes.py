"""Notes: referenced but not defined, defined but not referenced, out of order, a unit opening on Ibid."""
from __future__ import annotations

import re
from collections.abc import Iterator

from .report import Finding, at
from .source import Text

IBID = re.compile(r"^[\s\x00*_]*Ibid\b", re.I)


def check(texts: list[Text]) -> Iterator[Finding]:
    previous_unit = None
    for t in texts:
        defined: dict[str, tuple[str, int, int, int]] = {}
        for note in t.notes:
            if note[0] in defined:
                yield at(t, note[1], "L011", f"note [^{note[0]}] is defined twice; this definition "
                         f"is never used", note[0])
            else:
                defined[note[0]] = note
        referenced: dict[str, int] = {}
        for label, offset in t.note_refs:
            referenced.setdefault(label, offset)
            if label not in defined:
                yield at(t, offset, "L010", f"note [^{label}] is referenced but never defined", label)
        for label, note in defined.items():
            if label not in referenced:
                yield at(t, note[1], "L011", f"note [^{label}] is defined but never referenced", label)
        yield from _order(t, list(referenced.items()), "referenced")
        yield from _order(t, [(label, n[1]) for label, n in defined.items()], "defined")
        first = next((defined[label] for label in referenced if label in defined), None)
        if first is not None:
            if IBID.match(t.view[first[2]:first[3]]):
                where = f"in {previous_unit}" if previous_unit else "nowhere (no note comes before it)"
                yield at(t, first[1], "L013", f"the unit’s first note [^{first[0]}] says “Ibid.”, but "
                         f"the note before it is {where}; notes restart in each unit", first[0])
            previous_unit = t.path


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
