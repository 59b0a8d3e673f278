"""The Markdown syntax every stage shares: the note scanner, and the four note checks built on it."""
from __future__ import annotations

from pathlib import Path

from bookbuild.errors import Problems
from bookbuild.importer.noloss import _check_notes as no_loss_notes
from bookbuild.importer.units import Item, Note, ParsedUnit, resolve_notes
from bookbuild.lint.notes import check as lint_notes
from bookbuild.lint.source import markdown_text
from bookbuild.mdsyntax import note_marks, undefined_references, unreferenced_definitions
from bookbuild.read import Source, _check_notes as read_notes

# Note 2 is referenced twice and never defined; note 9 is defined and never referenced; the
# marks in code, a code span and a comment are no notes; "[^2]:" inside a line is a reference.
TEXT = """# Title {#t}

One[^1] and two[^2], as he wrote[^2]: again[^3].
Not `[^4]` nor <!-- [^5] -->.

```
[^6]
```

[^1]: The first, which cites [^3].
[^3]: The third.
[^9]: Never referenced.
"""


def labels(marks):
    return [(m.label, m.line, m.col) for m in marks]


def test_references_and_definitions_with_their_places():
    marks = note_marks(TEXT)
    assert labels(marks.refs) == [("1", 3, 4), ("2", 3, 16), ("2", 3, 33), ("3", 3, 44), ("3", 10, 30)]
    assert labels(marks.defs) == [("1", 10, 1), ("3", 11, 1), ("9", 12, 1)]
    assert TEXT[marks.refs[2].start:marks.refs[2].end] == "[^2]"


def test_every_reference_without_a_definition():
    marks = note_marks(TEXT)
    assert labels(undefined_references(marks.refs, marks.defined)) == [("2", 3, 16), ("2", 3, 33)]
    assert labels(unreferenced_definitions(marks)) == [("9", 12, 1)]


def test_code_and_comments_hold_no_notes():
    marks = note_marks("`[^1]` <!--\n[^2]\n-->\n~~~\n[^3]:\n~~~\n")
    assert marks.refs == [] and marks.defs == []


def test_read_lint_and_the_no_loss_check_report_the_same_places():
    """Each stage keeps its code (it says which stage found it); the places are the scanner's."""
    read = Problems()
    read_notes(Source(None, Path("t.md"), "t.md", TEXT), read)
    lint = list(lint_notes([markdown_text("t.md", TEXT)]))
    no_loss = Problems()
    no_loss_notes("t.md", TEXT, no_loss)
    expected = [(3, 16), (3, 33)]
    assert [(p.line, p.col) for p in read.items if p.code == "N003"] == expected
    assert [(f.line, f.col) for f in lint if f.code == "L010"] == expected
    assert [(p.line, p.col) for p in no_loss.items if p.code == "S002"] == expected


def test_the_importer_writes_a_placeholder_for_each_note_without_text():
    parsed = ParsedUnit([Item("para", "One[^1] and two[^2].", 40), Item("para", "Three[^3].", 44)],
                        [Note(1, "First.", 50)], [], [])
    problems = Problems()
    resolve_notes(parsed, "Chapter 1", "received.md", problems)
    assert [(p.code, p.line) for p in problems.items if p.code == "I003"] == [("I003", 40), ("I003", 44)]
    assert [n.number for n in parsed.notes] == [1, 2, 3]
    assert ".missing" in parsed.notes[1].text
