"""A book unlike the real one (tests/fixtures/any-book: British spelling, footnotes, an appendix,
lists, a multi-paragraph quotation, tables of pandoc's four kinds, no back matter) through lint,
the PDF, the EPUB with its validators, and the proof."""
from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from bookbuild import validate
from bookbuild.cli import main
from bookbuild.lint import lint_book
from bookbuild.lint.spelling import dictionary_for

FIXTURE = Path(__file__).parent / "fixtures" / "any-book"
XHTML = "{http://www.w3.org/1999/xhtml}"
british = pytest.mark.skipif(not (dictionary_for("en-GB")[0] or Path("/nonexistent")).exists(),
                             reason="wbritish is not installed (scripts/ensure-system.sh installs it)")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, str]:
    """The fixture's title folder, copied, with its PDF and EPUB built, and what the builds said."""
    repo = tmp_path_factory.mktemp("any") / "repo"
    shutil.copytree(FIXTURE, repo)
    said = io.StringIO()
    with contextlib.redirect_stderr(said):
        assert main(["-q", "pdf", "--book", str(repo / "book")]) == 0
        assert main(["-q", "epub", "--book", str(repo / "book")]) == 0
    return repo, said.getvalue()


def _set_language(book: Path, language: str) -> None:
    config = book / "book.yaml"
    config.write_text(re.sub(r"(?m)^language: .*$", f"language: {language}", config.read_text()))


@british
def test_lint_finds_nothing_in_a_clean_book_of_another_shape():
    """British spelling against the British dictionary; list markers, table alignment and
    a quotation running over two paragraphs are the book's form, not faults."""
    assert [str(p) for p in lint_book(FIXTURE / "book").problems()] == []


@british
def test_the_dictionary_follows_the_books_language(tmp_path):
    shutil.copytree(FIXTURE / "book", tmp_path / "book")
    _set_language(tmp_path / "book", "en-US")
    words = {f.subject for f in lint_book(tmp_path / "book").findings if f.code == "L022"}
    assert {"colour", "harbour", "labour", "organised"} <= {w.lower() for w in words}
    _set_language(tmp_path / "book", "fr")
    codes = [f.code for f in lint_book(tmp_path / "book").findings]
    assert "L025" in codes and "L022" not in codes


def test_a_lint_message_never_carries_lints_masking(tmp_path):
    """Markup is masked with NUL inside lint; a message shows the words, and the HTML proof
    (XML) can hold it."""
    shutil.copytree(FIXTURE / "book", tmp_path / "book")
    preface = tmp_path / "book" / "text" / "01-preface.md"
    preface.write_text(preface.read_text().replace("the names of streets", "the **names**,  of streets"))
    messages = [f.message for f in lint_book(tmp_path / "book").findings if f.code == "L007"]
    assert messages == ["double space between “names,” and “of”"]
    assert main(["-q", "proof", "--book", str(tmp_path / "book")]) == 0
    html = (tmp_path / "build" / "proof" / "any-book.html").read_text(encoding="utf-8")
    assert "double space between “names,” and “of”" in html and "\x00" not in html


def _epub_docs(repo: Path) -> dict[str, etree._Element]:
    with zipfile.ZipFile(repo / "build" / "any-book.epub") as epub:
        return {n: etree.fromstring(epub.read(n)) for n in epub.namelist() if n.startswith("EPUB/text/0")}


def test_every_table_list_and_quotation_reaches_the_epub(built):
    docs = _epub_docs(built[0])
    council = docs["EPUB/text/03-the-council.xhtml"]
    tables = council.findall(f".//{XHTML}table")
    assert len(tables) == 5  # simple, multiline, grid, pipe without a header, pipe with a blank corner
    cells = [" ".join("".join(c.itertext()).split()) for t in tables for c in t.iter(f"{XHTML}td", f"{XHTML}th")]
    for cell in ("East shed", "All cranes working; the night watch was doubled after the storm.",
                 "Six, with a sergeant", "12:25", "Herring", "1920"):
        assert cell in cells
    assert all("".join(th.itertext()).strip() for th in council.iter(f"{XHTML}th"))
    assert len(council.find(f".//{XHTML}ol").findall(f"{XHTML}li")) == 3
    sea = docs["EPUB/text/02-the-colour-of-the-sea.xhtml"]
    assert len(sea.find(f".//{XHTML}ul").findall(f"{XHTML}li")) == 3
    assert len(sea.find(f".//{XHTML}blockquote").findall(f"{XHTML}p")) == 2
    assert sea.find(f".//{XHTML}h2") is not None
    appendix = docs["EPUB/text/04-appendix-decrees.xhtml"]
    assert len(appendix.find(f".//{XHTML}ol").findall(f"{XHTML}li")) == 3


def test_the_epub_passes_every_validator(built, tmp_path):
    epub = built[0] / "build" / "any-book.epub"
    try:
        reports = [validate.run_epubcheck(epub, tmp_path / v, v) for v in validate.EPUBCHECKS]
        reports.append(validate.run_ace(epub, tmp_path / "ace"))
    except validate.ValidatorMissing as exc:
        pytest.skip(str(exc))
    assert [m for r in reports for m in r.messages] == []


def test_every_character_is_in_its_face(built):
    """Bold punctuation (**“Note”:**) and everything else is set in EB Garamond: no fallback
    (P006), no character missing from its face (P011)."""
    assert re.findall(r".*(?:error|warning) P0(?:06|11):.*", built[1]) == []


def test_footnotes_print_on_the_page_of_their_reference(built):
    text = subprocess.run(["pdftotext", "-layout", str(built[0] / "build" / "any-book.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    pages = text.split("\f")
    note = next(p for p in pages if "Pewter was the favourite comparison" in p)
    assert "The harbour was grey in the morning" in note
    assert "“Note”:" in text and "Appendix" in text
