"""The importer driven by a manuscript's settings file: a manuscript of another shape
(tests/fixtures/received-other: other section names, lists, a table, a quotation, an appendix,
no back matter) imports with every piece in its kind; this book's manuscript imports to the
same sources as before the settings existed; bad settings are located errors."""
from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path

import pypandoc
import pytest

from bookbuild import safeyaml
from bookbuild.importer.noloss import check_sources
from bookbuild.cli import main
from bookbuild.importer.command import import_manuscript

HERE = Path(__file__).parent
OTHER = HERE / "fixtures" / "received-other" / "harbour.received.md"
REAL = HERE.parent / "book" / "received" / "bolsheviks-against-stalinism.received.md"
REAL_DIGESTS = HERE / "fixtures" / "received" / "real-import.sha256"

# What the other manuscript holds, by kind, as a reader sees it (its own punctuation kept).
EXPECTED = {
    "paragraph": [
        "This little book was written in the autumn of 1920 -- while the harbour town recovered its "
        "colour and its labour. Its punctuation is the author's own and stays so.",
        "The harbour was grey in the morning and the colour of pewter by noon. The labourers gathered "
        "at the centre of the quay.",
        "Three things were decided that morning:", "The chairman read the resolution aloud:",
        "The vote was taken at once.", "The quay at noon, painted in 1921.",
        "The council met daily in the customs house. Its order of business:",
        "A week later the council voted again.", "The council issued three decrees.",
        "The harbour and its stores belong to the town.", "Every labourer is paid from the common stores.",
    ],
    "quotation": ['"We, the workers of the harbour, take charge of its labour.',
                  '"We shall answer to the town for every barrel."'],
    "list item": ["that the cranes would be repaired;", "that the fishing fleet would sail at dawn;",
                  "that nobody would be turned away.", "the reports of the berths;",
                  "the stores, barrel by barrel;", "any other business."],
    "table cell": ["Berth", "Ships", "Crews", "North", "4", "60", "South", "2", "31"],
    "heading": ["Preface", "The Colour of the Sea", "The First Morning", "The Council",
                "Appendix: The Decrees", "1. On the harbour", "2. On labour"],
    "note": ["Pewter was the favourite comparison of the harbour's painters.",
             "The minutes record no abstentions.", "On the second vote, see the Appendix."],
}


def _text(inlines: list) -> str:
    out = []
    for node in inlines:
        kind, content = node["t"], node.get("c")
        if kind == "Str":
            out.append(content)
        elif kind in ("Space", "SoftBreak", "LineBreak"):
            out.append(" ")
        elif kind == "Quoted":
            mark = '"' if content[0]["t"] == "DoubleQuote" else "'"
            out.append(mark + _text(content[1]) + mark)
        elif kind in ("Emph", "Strong", "SmallCaps", "Underline", "Strikeout"):
            out.append(_text(content))
        elif kind in ("Span", "Link"):
            out.append(_text(content[1]))
    return "".join(out)


def pieces(markdown: str) -> tuple[Counter, int]:
    """(kind, text) of every block of a Markdown file, as pandoc reads it, and its images."""
    found: Counter = Counter()
    images = markdown.count("![")
    ast = json.loads(pypandoc.convert_text(markdown, "json", format="markdown-smart"))

    def walk(blocks: list, kind: str) -> None:
        for block in blocks:
            t, c = block["t"], block.get("c")
            if t in ("Para", "Plain"):
                found[(kind, _text(c))] += 1
                for note in _notes(c):
                    walk(note, "note")
            elif t == "Header":
                found[("heading", _text(c[2]))] += 1
            elif t in ("BulletList", "OrderedList"):
                for item in (c if t == "BulletList" else c[1]):
                    walk(item, "list item")
            elif t == "BlockQuote":
                walk(c, "quotation")
            elif t == "Table":
                head, bodies = c[3], c[4]
                rows = head[1] + [r for body in bodies for r in body[2] + body[3]]
                for row in rows:
                    for cell in row[1]:
                        walk(cell[4], "table cell")

    walk(ast["blocks"], "paragraph")
    return found, images


def _notes(inlines: list) -> list:
    return [node["c"] for node in inlines if node["t"] == "Note"]


@pytest.fixture(scope="module")
def other(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("other") / "book"
    report = import_manuscript(OTHER, out)
    return out, report


def test_every_piece_of_another_manuscript_is_found_once_in_its_kind(other):
    book, _ = other
    found: Counter = Counter()
    images = 0
    for entry in safeyaml.load((book / "book.yaml").read_text(encoding="utf-8"))["contents"]:
        counted, pictures = pieces((book / entry["file"]).read_text(encoding="utf-8"))
        found += counted
        images += pictures
    expected = Counter((kind, text) for kind, texts in EXPECTED.items() for text in texts)
    assert images == 0  # nothing became a figure on a guess
    assert found == expected


def test_another_manuscript_makes_a_book_without_back_matter(other):
    book, report = other
    config = safeyaml.load((book / "book.yaml").read_text(encoding="utf-8"))
    assert [e["role"] for e in config["contents"]] == ["preface", "chapter", "chapter", "appendix"]
    assert config["title"] == "Ten Days in the Harbour Town" and config["authors"] == [{"name": "Jane Q. Writer"}]
    assert config["publisher"] == {"name": "Harbour Press"} and config["year"] == 1921
    assert "series" not in config and "subtitle" not in config
    assert not any((book / f).exists() for f in ("glossary.yaml", "congresses.yaml", "biographies.yaml", "index.yaml"))
    assert report["counts"]["notes_per_unit"] == {"text/00-preface.md": 0, "text/01-the-colour-of-the-sea.md": 2,
                                                  "text/02-the-council.md": 1, "text/03-appendix-the-decrees.md": 0}
    # The author's punctuation is kept: no typography corrections without `typography: house`.
    assert set(report["counts"]["corrections"]) == {"front-field", "notes-heading"}
    # The italic line after the notes is kept as text, and said to be.
    assert [(p["code"], p["line"]) for p in report["problems"]] == [("I021", 46)]


def test_the_no_loss_check_reads_the_manuscript_the_record_names(other, tmp_path):
    book, _ = other
    copy = tmp_path / "book"
    shutil.copytree(book, copy)
    assert check_sources(copy).errors == []
    # A file sorting before the recorded manuscript is not what the book came from.
    (copy / "received" / "a-draft.received.md").write_text("# 1. Something else\n\nNot this book.\n")
    assert check_sources(copy).errors == []
    chapter = copy / "text" / "02-the-council.md"
    chapter.write_text(chapter.read_text().replace("2. the stores, barrel by barrel;\n", ""))
    assert [(p.code, p.line) for p in check_sources(copy).errors] == [("S001", 53)]


def test_another_manuscript_builds_every_edition(other, tmp_path):
    shutil.copytree(other[0], tmp_path / "book")
    assert main(["-q", "pdf", "--book", str(tmp_path / "book")]) == 0
    assert main(["-q", "epub", "--book", str(tmp_path / "book")]) == 0
    assert (tmp_path / "build" / "ten-days-in-the-harbour-town.epub").is_file()


def test_a_book_begun_with_new_has_nothing_to_compare(tmp_path):
    assert main(["-q", "new", "--book", str(tmp_path / "book")]) == 0
    assert check_sources(tmp_path / "book").items == []


@pytest.mark.parametrize("text, message", [
    ("chapter: '^# (\\d+)'\n", "chapter: the pattern needs two groups"),
    ("units: {Preface: prefix}\n", "units: roles must be among"),
    ("typography: restyled\n", "typography: keep (the author's punctuation)"),
    ("glossary: true\n", "glossary: unknown setting"),
])
def test_wrong_settings_are_located_errors(tmp_path, capsys, text, message):
    manuscript = tmp_path / "x.received.md"
    shutil.copyfile(OTHER, manuscript)
    (tmp_path / "x.import.yaml").write_text("# settings\n" + text)
    assert main(["-q", "import", str(manuscript), "--out", str(tmp_path / "book"), "--report", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"x.import.yaml:2:1: error I020: {message}" in err and "Traceback" not in err
    assert not (tmp_path / "book").exists()


@pytest.mark.integration
def test_this_book_imports_to_the_same_sources_as_before_its_settings_file(tmp_path):
    """Every file the importer wrote before the settings existed, byte for byte (the digests
    in tests/fixtures/received/real-import.sha256); the record and settings come beside them."""
    if not REAL.exists():
        pytest.skip("the received manuscript is not in book/received/")
    import_manuscript(REAL, tmp_path / "book")
    expected = dict(reversed(line.split("  ", 1)) for line in REAL_DIGESTS.read_text().splitlines())
    got = {str(p.relative_to(tmp_path / "book")): hashlib.sha256(p.read_bytes()).hexdigest()
           for p in (tmp_path / "book").rglob("*") if p.is_file() and not p.name.endswith(".received.md")}
    assert {k: v for k, v in got.items() if k in expected} == expected
    assert set(got) - set(expected) == {"received/import.yaml", "received/bolsheviks-against-stalinism.import.yaml"}
    assert check_sources(tmp_path / "book").errors == []


def test_without_settings_nothing_is_guessed(tmp_path, capsys):
    """No settings file: the front-page lines are not taken for facts on a guess (I022 for
    each), and book.yaml's required facts are asked for (I023); nothing is written."""
    manuscript = tmp_path / "bare.received.md"
    shutil.copyfile(OTHER, manuscript)
    assert main(["-q", "import", str(manuscript), "--out", str(tmp_path / "book"), "--report", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "bare.received.md:1:1: warning I022: front-page line “Ten Days in the Harbour Town” matches no" in err
    assert "bare.received.md:3:1: warning I022: front-page line “by Jane Q. Writer”" in err
    assert "bare.received.md: error I023: book.yaml needs `title`" in err
    # Without a pattern for it, the appendix is not a unit: its text stays text, and is said to.
    assert "bare.received.md:66:1: warning I021: “The council issued three decrees.”" in err
    assert not (tmp_path / "book").exists()
