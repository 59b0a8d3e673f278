"""Every problem code in bookbuild/errors.py has a test: a planted fault for each code no other test provokes, and the check that none is left out.

A code that no test names yet goes into tests/untested-codes.yaml with its reason ("cannot: …"
when no input can provoke it, "not yet: …" otherwise); a test that names it takes it off that list.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bookbuild import cli
from bookbuild.errors import CODES, RETIRED

TESTS = Path(__file__).parent
REPOSITORY = TESTS.parent
FIXTURES = TESTS / "fixtures"
MINI = FIXTURES / "mini-book"
RECEIVED = FIXTURES / "received" / "mini.received.md"
UNTESTED = TESTS / "untested-codes.yaml"


def run(*argv: str) -> tuple[int, str]:
    """`build.py ARGV` in this process: exit code and what it printed."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, err.getvalue()


def build_py(folder: Path, *argv: str, **env: str) -> tuple[int, str]:
    """`build.py ARGV` in a process of its own, run in `folder` with `env` added."""
    done = subprocess.run([sys.executable, str(REPOSITORY / "build.py"), *argv], cwd=folder, text=True,
                          capture_output=True, env={**os.environ, **env}, timeout=600)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stderr


def edit(path: Path, old: str, new: str) -> int:
    """Replace `old` once; the line it began on."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, (path.name, old)
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text[:text.index(old)].count("\n") + 1


def said(err: str, code: str) -> list[str]:
    """The lines of `err` that report `code`."""
    return [line for line in err.splitlines() if f" {code}: " in line]


# --- every code is tested ---------------------------------------------------------------------

def text_of_tests() -> str:
    """Every test module and golden file, less the list of untested codes."""
    files = [p for p in TESTS.rglob("*") if p.is_file() and p != UNTESTED and "fixtures" not in p.parts
             and p.suffix in (".py", ".txt", ".json", ".yaml", ".md")]
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in files)


def untested() -> dict[str, str]:
    return yaml.safe_load(UNTESTED.read_text(encoding="utf-8")) or {}


def test_every_problem_code_is_named_in_a_test_or_listed_as_untested_with_a_reason():
    text = text_of_tests()
    missing = [c for c in CODES if c not in RETIRED and not re.search(rf"\b{c}\b", text) and c not in untested()]
    assert missing == [], f"no test names {missing}: add one, or list it in {UNTESTED.name} with the reason"


def test_the_untested_list_holds_only_untested_codes_with_reasons():
    text, listed = text_of_tests(), untested()
    assert all(code in CODES for code in listed), sorted(set(listed) - set(CODES))
    assert [c for c in listed if re.search(rf"\b{c}\b", text)] == [], "tested now: take them off the list"
    assert all(re.match(r"(cannot|not yet): \S", reason) for reason in listed.values()), listed


def test_every_code_is_reported_somewhere_in_bookbuild():
    """A code that no module reports is dead: retire it (errors.RETIRED) or report it."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in (REPOSITORY / "bookbuild").rglob("*.py")
                       if p.name != "errors.py")
    reported = set(re.findall(r"\b[A-Z]\d{3}\b", source))
    dead = [c for c in CODES if c not in RETIRED and c not in reported]
    assert dead == [c for c in untested() if untested()[c].startswith("cannot: no module reports it")], dead


# --- import (I) -------------------------------------------------------------------------------

def import_report(tmp_path: Path, manuscript: str) -> tuple[int, str, list[dict]]:
    received = tmp_path / "planted.received.md"
    received.write_text(manuscript, encoding="utf-8")
    # The mini manuscript's import settings, beside it as the importer looks for them.
    shutil.copy(RECEIVED.with_name("mini.import.yaml"), tmp_path / "planted.import.yaml")
    code, err = run("-q", "import", str(received), "--out", str(tmp_path / "book"), "--report", str(tmp_path / "report"))
    report = tmp_path / "report" / "import-report.json"
    problems = json.loads(report.read_text(encoding="utf-8"))["problems"] if report.exists() else []
    return code, err, problems


def test_a_manuscript_without_chapter_headings_is_refused(tmp_path):
    code, err, _ = import_report(tmp_path, "# Foreword\n\nA book with no chapters.\n")
    assert code == 1 and re.search(r"planted\.received\.md:1:1: error I002: no chapter headings", err), err
    assert not (tmp_path / "book").exists()


def test_import_reports_stray_note_definitions_their_order_a_missing_series_and_a_doubtful_paragraph(tmp_path):
    text = RECEIVED.read_text(encoding="utf-8")
    text = text.replace("- [4.](#) *Ibid.*, p. 46.", "- [4.](#) *Ibid.*, p. 46.\n- [7.](#) A note nobody refers to."
                        "\n- [8.](#) Nor to this one.")
    text = text.replace("Series: Was there an alternative? | ", "")
    text = text.replace("Bolshevism was not only a Russian phenomenon.",
                        "The conclusion says this:\n\n“the opposition was not only a Russian phenomenon.”")
    code, _, problems = import_report(tmp_path, text)
    assert code == 0
    found = {(p["code"], p["line"]): p["message"] for p in problems}
    lines = text.splitlines()
    seven, colon = lines.index("- [7.](#) A note nobody refers to.") + 1, lines.index("The conclusion says this:") + 1
    assert found[("I004", seven)] == "chapter 1: note 7 has no reference in the text: place its reference"
    assert found[("I004", seven + 1)].startswith("chapter 1: note 8 has no reference")
    assert any(code == "I012" and "[1, 2, 3, 4, 7, 8]" in m for (code, _), m in found.items())
    assert found[("I007", 3)] == "front pages: series not found; fill it in book/book.yaml"
    assert found[("I006", colon + 2)].startswith(f"paragraph may continue the one at line {colon}")


# --- the no-loss check (S) ----------------------------------------------------------------------

def test_no_loss_check_names_each_kind_of_loss(tmp_path):
    """A book imported from the mini manuscript loses a figure, a glossary definition's words,
    a biography's words, a congress date and a unit file."""
    assert run("-q", "import", str(RECEIVED), "--out", str(tmp_path / "book"), "--report", str(tmp_path / "r"))[0] == 0
    book = tmp_path / "book"
    assert run("-q", "check-sources", "--book", str(book)) == (0, "")
    chapter = next((book / "text").glob("01-*.md"))
    chapter.write_text(re.sub(r"^!\[.*\n", "", chapter.read_text(encoding="utf-8"), count=1, flags=re.M),
                       encoding="utf-8")
    edit(book / "glossary.yaml", "founded", "set up")
    edit(book / "biographies.yaml", "Moscow", "Petrograd")
    edit(book / "congresses.yaml", "2–19 December", "2–9 December")
    conclusion = next((book / "text").glob("*conclusion*.md"))
    conclusion.unlink()
    code, err = run("-q", "check-sources", "--book", str(book))
    assert code == 1
    assert said(err, "S004") == [f"book/text/{chapter.name}: error S004: 1 of the manuscript's 1 figures are missing"]
    for code, words in (("S005", "founded"), ("S006", "Studied at Moscow"), ("S007", "19 December 1927")):
        assert re.search(rf"book/received/mini\.received\.md:\d+:1: error {code}: “[^”]*{words}” not found in book/",
                         err), (code, err)
    assert any(f"text/{conclusion.name} is missing" in line for line in said(err, "S008")), err


def test_an_import_record_that_names_no_manuscript_is_an_error(tmp_path):
    assert run("-q", "import", str(RECEIVED), "--out", str(tmp_path / "book"), "--report", str(tmp_path / "r"))[0] == 0
    (tmp_path / "book" / "received" / "import.yaml").write_text("manuscript: gone.received.md\n", encoding="utf-8")
    code, err = run("-q", "check-sources", "--book", str(tmp_path / "book"))
    assert code == 1
    assert [line.split("/received/", 1)[1] for line in said(err, "S010")] == [
        "import.yaml: error S010: the manuscript it names, gone.received.md, is not in received/"], err


# --- read: configuration, sources, notes (C, R, N) --------------------------------------------------

@pytest.fixture
def mini(tmp_path) -> Path:
    """A copy of the mini-book (book/ and images/) to plant faults in."""
    return shutil.copytree(MINI, tmp_path / "repo", ignore=shutil.ignore_patterns("build"))


def epub(repo: Path, *extra: str) -> tuple[int, str]:
    """The EPUB without a page-list: the read stage's problems without a print layout."""
    return run("-q", "epub", "--book", str(repo / "book"), "-o", str(repo / "out.epub"), "--no-page-list", *extra)


@pytest.mark.parametrize("content, message", [
    ("", "book.yaml:1:1: error C001: book.yaml is empty"),
    ("title: [A Test Book\n", "book.yaml:2:1: error C001: not valid YAML: did not find expected ',' or ']'"),
])
def test_a_book_yaml_that_cannot_be_read_is_located(mini, content, message):
    (mini / "book" / "book.yaml").write_text(content, encoding="utf-8")
    code, err = epub(mini)
    assert code == 1 and said(err, "C001")[0].endswith(message), err
    assert not (mini / "out.epub").exists()


def test_index_headings_that_name_no_person_or_heading_are_located(mini):
    index = mini / "book" / "index.yaml"
    person = edit(index, "  person: rykov-aleksei-ivanovich", "  person: rykov-nobody")
    see = edit(index, "see: [molotov-viacheslav-mikhailovich]", "see: [nobody-at-all]")
    code, err = epub(mini)
    assert code == 1
    assert [line.split("book/", 1)[1] for line in said(err, "R008")] == [
        f"index.yaml:{person - 4}:1: error R008: 'Rykov, Aleksei Ivanovich': person 'rykov-nobody' has no biography",
        f"index.yaml:{see - 3}:1: error R008: 'Skriabin, V. M.': see 'nobody-at-all' is not an index heading"]


def test_a_note_defined_twice_is_an_error(mini):
    chapter = mini / "book" / "text" / "03-the-turn.md"
    line = edit(chapter, "[^2]: See the", "[^1]: The same note again.\n[^2]: See the")
    code, err = epub(mini)
    assert code == 1
    first = chapter.read_text(encoding="utf-8").splitlines().index("[^1]: *Pravda*, 2 March 1930.") + 1
    assert [line_.split("book/", 1)[1] for line_ in said(err, "N001")] == [
        f"text/03-the-turn.md:{line}:1: error N001: note [^1] is defined twice (first on line {first})"]


def test_notes_out_of_reading_order_print_in_reading_order(mini):
    chapter = mini / "book" / "text" / "03-the-turn.md"
    text = chapter.read_text(encoding="utf-8")
    chapter.write_text(text.replace("ordered.[^1]", "ordered.[^2]").replace("same fate.[^2]", "same fate.[^1]"),
                       encoding="utf-8")
    code, err = epub(mini)
    assert code == 0
    col = text.splitlines()[2].index("ordered.[^1]") + len("ordered.") + 1
    assert [line.split("book/", 1)[1] for line in said(err, "N005")] == [
        f"text/03-the-turn.md:3:{col}: warning N005: note [^2] is note 1 in reading order; it prints as 1"]


def test_pandoc_failing_is_a_located_error(mini, tmp_path):
    """A Pandoc that fails (out of memory, a crash) stops the read with R002, not a traceback."""
    import pypandoc

    fake = tmp_path / "pandoc"
    fake.write_text(f'#!/bin/sh\n[ "$1" = --version ] && exec "{pypandoc.get_pandoc_path()}" "$@"\n'
                    'echo "pandoc: out of memory" >&2\nexit 251\n')
    fake.chmod(0o755)
    code, err = build_py(mini, "epub", "--book", "book", "-o", "out.epub", "--no-page-list",
                         PYPANDOC_PANDOC=str(fake))
    assert code == 1
    assert "book/text/00-foreword.md: error R002: Pandoc failed: pandoc: out of memory" in err, err
    assert not (mini / "out.epub").exists()


# --- print (P) ----------------------------------------------------------------------------------

def test_the_book_font_not_installed_stops_the_pdf(mini, tmp_path):
    """Fontconfig that knows no fonts: EB Garamond 12 is not installed."""
    config = tmp_path / "fonts.conf"
    config.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig></fontconfig>\n')
    code, err = build_py(mini, "-q", "pdf", "--book", "book", FONTCONFIG_FILE=str(config))
    assert code == 1
    assert 'scripts/ensure-system.sh: error P005: font "EB Garamond 12" is not installed' in err, err
    assert not (mini / "build" / "mini-book.pdf").exists()


def test_weasyprint_warnings_and_a_fallback_font_are_reported(mini_copy):
    """A style WeasyPrint ignores is its warning (P002); words set in another family are P006."""
    repo = mini_copy()
    text = repo / "book" / "text"
    edit(text / "03-the-turn.md", "kept silent in public", "kept [silent]{style=\"font-family: 'DejaVu Sans'\"} in public")
    edit(text / "02-the-opposition-in-exile.md", "\n\n[^1]:",
         '\n\n<p style="color: nonsense">A paragraph whose colour WeasyPrint cannot read.</p>\n\n[^1]:')
    code, err = run("-q", "pdf", "--book", str(repo / "book"))
    assert code == 0
    assert [line.split(": warning ")[1] for line in said(err, "P002")] == [
        "P002: WeasyPrint: Ignored `color: nonsense` at 1:1, invalid value."]
    assert [line.split(": warning ")[1] for line in said(err, "P006")] == [
        "P006: some characters fell back to DejaVu-Sans: EB Garamond has no glyph for them"]


def test_an_index_mention_that_print_does_not_set_is_reported(mini_copy):
    """A paragraph hidden from print (display: none) keeps its name out of the layout: its index
    mention has no page, and the index cannot point at it."""
    repo = mini_copy()
    edit(repo / "book" / "text" / "03-the-turn.md", "\n\n[^1]:",
         '\n\n<p style="display: none">Bukharin kept this note to himself.</p>\n\n[^1]:')
    code, err = run("-q", "pdf", "--book", str(repo / "book"))
    assert code == 0
    lines = said(err, "P003")
    assert len(lines) == 1 and re.search(r"warning P003: index mention #ix-bukharin-nikolai-ivanovich-\d+ is not in "
                                         r"the layout$", lines[0]), err


def test_a_font_the_pdf_does_not_embed_is_an_error():
    """WeasyPrint embeds every font it sets, so a PDF made here with one of PDF's standard
    fonts (never embedded) stands in for a WeasyPrint that stopped embedding."""
    import pikepdf

    from bookbuild.errors import Problems
    from bookbuild.print.checks import check_fonts

    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(432, 648))
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    page.Contents = pdf.make_stream(b"BT /F1 12 Tf 72 600 Td (Words) Tj ET")
    data = io.BytesIO()
    pdf.save(data)
    problems = Problems()
    check_fonts(data.getvalue(), problems, "book")
    assert [str(p) for p in problems] == ["book: error P004: font Helvetica is not embedded"]


# --- proof (Q) ---------------------------------------------------------------------------------

def test_a_printed_block_whose_words_the_source_spells_otherwise_has_no_marker(mini_copy):
    """Raw HTML that opens with character references prints words the source does not hold
    as such: the block is set, named in Q004, and left without a source marker."""
    repo = mini_copy()
    edit(repo / "book" / "text" / "02-the-opposition-in-exile.md", "\n\n[^1]:",
         "\n\n<p>&#8220;Caf&#233;&#8221; &#8212; so the exiles named their hut, by hand.</p>\n\n[^1]:")
    code, err = run("-q", "proof", "--book", str(repo / "book"), "--chapter", "2", "--no-pictures")
    assert code == 0
    assert [line.split("book/", 1)[1] for line in said(err, "Q004")] == [
        "text/02-the-opposition-in-exile.md: warning Q004: printed block not found in the source, so it has no "
        "marker: ““Café” — so the exiles named their hut, by hand.”"]
    data = json.loads((repo / "build" / "proof" / "mini-book-proof-chapter-2.json").read_text(encoding="utf-8"))
    assert not any("Café" in mark["words"] for mark in data["marks"])
    assert any(mark["words"].startswith("Exile did not") for mark in data["marks"])


# --- printers (K) -------------------------------------------------------------------------------

def test_type_in_the_gutter_is_refused_by_its_printer(mini_copy):
    """KDP wants 0.375 in inside for 24–150 pages and 0.25 in elsewhere: a section moved 0.55 in
    into the inside margin (0.875 in) of its recto keeps KDP's safe zone there and breaks its
    gutter (on the verso after it, the same move breaks the safe zone: K004)."""
    repo = mini_copy()
    config = repo / "book" / "book.yaml"
    at = edit(config, "  paperback: {format: print,", "  paperback: {format: print, printer: kdp,")
    edit(repo / "book" / "text" / "02-the-opposition-in-exile.md", "{#the-opposition-in-exile}\n\n",
         "{#the-opposition-in-exile}\n\n## Exile {style=\"margin-left: -0.55in\"}\n\n")
    code, err = run("-q", "pdf", "--book", str(repo / "book"))
    assert code == 1 and len(said(err, "K005")) == 1, err
    assert re.search(rf"book\.yaml:{at}:\d+: error K005: inside margin under 0\.375 in for \d+ pages on 1 page\(s\) "
                     r"\(printer kdp: Amazon KDP\): page 5: 0\.3\d+ in", err), err


# --- dist (D) -----------------------------------------------------------------------------------

def tagged_release_repo(tmp_path: Path) -> Path:
    """The mini-book with tests/fixtures/two-editions/book.yaml, committed and tagged v2.0.0."""
    repo = shutil.copytree(MINI, tmp_path / "repo", ignore=shutil.ignore_patterns("build", "dist"))
    shutil.copy(FIXTURES / "two-editions" / "book.yaml", repo / "book" / "book.yaml")
    shutil.copy(REPOSITORY / ".gitignore", repo / ".gitignore")
    return repo


def commit_and_tag(repo: Path) -> None:
    ident = ["-c", "user.name=Test", "-c", "user.email=test@example.org", "-c", "commit.gpgsign=false"]
    for command in (["init", "-q"], ["add", "-A"], [*ident, "commit", "-q", "-m", "planted"], ["tag", "v2.0.0"]):
        subprocess.run(["git", "-C", str(repo), *command], check=True, capture_output=True)


def dist(repo: Path) -> tuple[int, str]:
    return run("-q", "dist", "--book", str(repo / "book"), "--cache", str(repo.parent / "cache"))


def test_a_shared_isbn_and_a_missing_tool_stop_a_release_before_it_builds(tmp_path, monkeypatch):
    repo = tagged_release_repo(tmp_path)
    line = edit(repo / "book" / "book.yaml", 'isbn: "9781893638822"', 'isbn: "9781893638815"')
    edit(repo / "book" / "book.yaml", "Identifiers: LCCN 2019022149 (print) | ISBN 9781893638815 (pbk. : alk. paper) "
         "| ISBN 9781893638822 (cloth : alk. paper)", "Identifiers: LCCN 2019022149 (print) | ISBN 9781893638815")
    commit_and_tag(repo)
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("git", "pdftoppm", "pdftotext", "qpdf", "gs"):  # every tool but zbarimg
        (tools / tool).symlink_to(shutil.which(tool))
    monkeypatch.setenv("PATH", str(tools))
    code, err = dist(repo)
    assert code == 1
    assert re.search(rf"book\.yaml:{line}:\d+: error D005: editions\.cloth\.isbn: 9781893638815 is the ISBN of "
                     r"the paperback edition too", err), err
    lines = said(err, "D010")
    assert len(lines) == 1 and lines[0].endswith("error D010: zbarimg is not installed (Debian: apt-get install "
                                                 "zbar-tools; make setup installs it)"), err
    assert not (repo / "dist").exists() and not (tmp_path / "cache" / "print").exists()


def test_a_lint_error_stops_a_release_before_it_builds(tmp_path):
    repo = tagged_release_repo(tmp_path)
    edit(repo / "book" / "text" / "03-the-turn.md", "In the winter of 1929", "On 30 February 1929")
    commit_and_tag(repo)
    code, err = dist(repo)
    assert code == 1
    assert said(err, "L020") and said(err, "D006")[0].endswith("error D006: lint found 1 error(s)"), err
    assert not (repo / "dist").exists() and not (tmp_path / "cache" / "print").exists()


# --- completeness (V) ---------------------------------------------------------------------------

def test_editions_that_order_the_glossary_otherwise_are_an_error(tmp_path):
    """An edition whose glossary runs Gosplan before ГОЭЛРО is reported against book.yaml."""
    from bookbuild import completeness
    from bookbuild.errors import Problems
    from bookbuild.read import read_book
    from bookbuild.transform import transform

    book = transform(read_book(FIXTURES / "back-matter" / "book", tmp_path / "cache"))
    items = completeness.items(book)
    glossary = [i for i in items if i.kind == "glossary"]
    swapped = [glossary[1], glossary[0], *glossary[2:]]
    problems = Problems()
    completeness.check_editions(book, {"EPUB": "|".join(i.text for i in items),
                                       "PDF": "|".join(i.text for i in swapped + items)}, problems)
    assert [(p.code, Path(p.path).name) for p in problems] == [("V002", "book.yaml")]
    assert problems.items[0].message.startswith("PDF: glossary entry 'gl-gosplan' stands where the book has")


def test_an_edition_the_completeness_check_cannot_read_stops_the_release(tmp_path):
    """V003: a damaged edition (not a zip, not a PDF) is named, not read as empty."""
    from bookbuild.dist.release import Output, check_completeness
    from bookbuild.errors import Problems
    from bookbuild.read import read_book

    book = read_book(MINI / "book", tmp_path / "cache")
    ebook = next(n for n, e in book.config.editions.items() if e.format == "epub")
    problems = Problems()
    check_completeness(book, [Output("x.epub", ebook, "epub", "", b"not a zip")], problems, lambda _: None)
    assert [(p.code, p.path) for p in problems.items] == [("V003", "x.epub")]


def release_checks_on(mini_pdf, tmp_path):
    """The mini-book read, its paperback edition, and its interior as WeasyPrint wrote it (not pressed)."""
    from bookbuild.read import read_book

    book = read_book(mini_pdf.repo / "book", tmp_path / "cache")
    edition = next(e for e in book.config.editions.values() if e.format == "print")
    interior = next((mini_pdf.repo / "build").glob("*.pdf")).read_bytes()
    return book, edition, interior


def test_an_interior_not_pressed_to_pdfx_and_without_its_isbn_is_refused(mini_pdf, tmp_path):
    """D007 from the PDF/X verification of an unpressed interior; D011 when the copyright
    page names another ISBN than the edition's."""
    from dataclasses import replace

    from bookbuild.dist import pdfx
    from bookbuild.dist.release import check_interior
    from bookbuild.errors import Problems

    book, edition, interior = release_checks_on(mini_pdf, tmp_path)
    violations = pdfx.verify(interior)
    assert any("output intent" in v for v in violations)
    problems = Problems()
    check_interior(interior, replace(edition, isbn="9780306406157"), violations, "x.pdf", problems)
    codes = {p.code for p in problems.items}
    assert codes == {"D007", "D011"}, problems.items


def test_a_cover_whose_barcode_does_not_scan_is_refused(mini_pdf, tmp_path):
    """D008: zbarimg reads no ISBN from a page with no barcode on it."""
    from bookbuild.dist.release import check_cover
    from bookbuild.errors import Problems

    book, edition, interior = release_checks_on(mini_pdf, tmp_path)
    problems = Problems()
    check_cover(book, interior, edition, [], [], "cover.pdf", problems)
    assert "D008" in {p.code for p in problems.items}, problems.items


def test_an_onix_record_that_is_not_onix_3_is_refused():
    """D009: the ONIX 3.0 schema (as release.build_onix applies it) rejects a record without its header."""
    from bookbuild.dist import onix

    broken = ('<ONIXMessage xmlns="http://ns.editeur.org/onix/3.0/reference" release="3.0">'
              "<Product/></ONIXMessage>")
    assert onix.validate(broken)
