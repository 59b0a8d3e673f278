"""Both editions against book/: every item found (bookbuild.completeness), and the glossary and
biographies in the manuscript's form, on a small book with every kind of field and alias."""
from __future__ import annotations

import shutil
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

import realbook
from bookbuild import cli, completeness
from bookbuild.errors import BuildError, Problems
from bookbuild.print.layout import book_parts, environment, render_part
from bookbuild.read import read_book
from bookbuild.letters import letters
from bookbuild.transform import transform

FIXTURE = Path(__file__).parent / "fixtures" / "back-matter"
REPOSITORY = Path(__file__).parent.parent
X = "{http://www.w3.org/1999/xhtml}"


def build_editions(book: Path, out: Path) -> tuple[Path, Path]:
    """The paperback PDF and the EPUB (its page-list from that PDF's page map)."""
    cache = out / "cache"
    assert cli.main(["-q", "pdf", "--book", str(book), "--out", str(out), "--cache", str(cache)]) == 0
    epub = out / "back-matter.epub"
    assert cli.main(["-q", "epub", "--book", str(book), "-o", str(epub),
                     "--page-map", str(cache / "pagemap.json")]) == 0
    return epub, out / "back-matter.pdf"


def texts(book, epub: Path, pdf: Path) -> dict[str, str]:
    return {"EPUB": completeness.epub_text(epub),
            "PDF": completeness.pdf_text(pdf, book.config.editions[realbook.print_edition()[0]])}


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    return transform(read_book(FIXTURE / "book", tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="module")
def editions(tmp_path_factory):
    """Built from a copy: the EPUB build keeps its caches beside the book."""
    out = tmp_path_factory.mktemp("editions")
    shutil.copytree(FIXTURE, out / "back-matter")
    return build_editions(out / "back-matter" / "book", out)


def xhtml(epub: Path, name: str) -> etree._Element:
    with zipfile.ZipFile(epub) as z:
        return etree.fromstring(z.read(f"EPUB/text/{name}.xhtml"))


def flat(el: etree._Element) -> str:
    return " ".join("".join(el.itertext()).split())


def pdf_lines(pdf: Path) -> str:
    """The PDF's text with lines joined and its hyphenation (U+2010 at a line end) undone."""
    import subprocess
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(text.replace("\u2010\n", "").split())


GLOSSARY_HEADS = ["ГОЭЛРО [Государственная комиссия по электрификации России]", "Gosplan [Госплан]",
                  "RKI [Рабоче-крестьянская инспекция]; Rabkrin [Рабкрин]", "Rabfak [RF]",
                  "STO [Совет труда и обороны]"]
NAMES = ["Avanesov [Martirosov], Varlaam Aleksandrovich", "Kuibyshev, Valerian Vladimirovich",
         "Ordzhonikidze, Grigory Konstantinovich [Sergo]", "Tsiurupa, Aleksandr [Sasha] Dmitrievich"]


def test_glossary_heads_keep_the_manuscript_brackets_and_variants(editions):
    epub, pdf = editions
    heads = [flat(dt) for dt in xhtml(epub, "glossary").iter(X + "dt")]
    assert heads == GLOSSARY_HEADS
    printed = pdf_lines(pdf)
    assert all(f"{h}:" in printed for h in GLOSSARY_HEADS)


def test_cyrillic_headwords_are_tagged_russian_in_both_editions(book, editions):
    dfns = list(xhtml(editions[0], "glossary").iter(X + "dfn"))
    assert [d.get("lang") for d in dfns] == ["ru", None, None, None, None, None]
    glossary = next(p for p in book_parts(book) if p.key == "glossary")
    html = render_part(environment(), book, book.config.editions["paperback"], glossary)
    assert '<dfn lang="ru">ГОЭЛРО</dfn>' in html and "<dfn>Rabkrin</dfn>" in html


def test_a_see_also_the_definition_names_is_linked_there_not_repeated(editions):
    entries = {dt.get("id"): dt.getnext() for dt in xhtml(editions[0], "glossary").iter(X + "dt")}
    sto, gosplan = flat(entries["gl-sto"]), flat(entries["gl-gosplan"])
    assert sto.count("Gosplan") == 1 and "See also Gosplan" in sto
    assert entries["gl-sto"].find(f".//{X}a").get("href") == "#gl-gosplan"
    assert gosplan.endswith("electrification plan. See also STO.")
    printed = pdf_lines(editions[1])
    assert printed.count("See also Gosplan") == 1 and "electrification plan. See also STO." in printed


def test_aliases_stand_where_the_manuscript_puts_them(editions):
    epub, pdf = editions
    names = [flat(p.find(f"{X}p/{X}span")) for p in xhtml(epub, "biographies").iter(X + "div")
             if p.get("class") == "biography"]
    assert names == NAMES
    printed = pdf_lines(pdf)
    assert all(f"{n} (" in printed for n in NAMES)


def test_every_item_of_the_book_is_in_both_editions(book, editions):
    problems = Problems()
    results = completeness.check_editions(book, texts(book, *editions), problems)
    assert not list(problems)
    items = completeness.items(book)
    kinds = Counter(i.kind for i in items)
    assert kinds["glossary"] == len(book.glossary) and kinds["biography"] == len(book.people)
    assert kinds["note"] == sum(len(u.notes) for u in book.units) and kinds["caption"] == 1
    assert [(r.checked, r.found) for r in results] == [(len(items), len(items))] * 2


def test_running_heads_and_folios_are_left_out_of_the_pdf_text(book, editions):
    """The chapter's second paragraph runs onto a page with a running head; found whole."""
    text = texts(book, *editions)["PDF"]
    assert letters(book.config.short_title) not in text
    assert letters("The proposal was accepted in form, and in substance it changed little") in text


def test_a_dropped_glossary_variant_is_reported_for_both_editions(book, tmp_path):
    """Editions made from a copy that lost "Rabkrin [Рабкрин]", checked against the book."""
    copy = tmp_path / "back-matter"
    shutil.copytree(FIXTURE, copy)
    glossary = copy / "book" / "glossary.yaml"
    glossary.write_text(glossary.read_text(encoding="utf-8").replace(
        "  variants:\n    - {term: Rabkrin, original: Рабкрин}\n", ""), encoding="utf-8")
    epub, pdf = build_editions(copy / "book", tmp_path / "out")
    problems = Problems()
    completeness.check_editions(book, texts(book, epub, pdf), problems)
    found = [str(p) for p in problems]
    assert found == [
        f"{FIXTURE.relative_to(REPOSITORY) / 'book' / 'glossary.yaml'}:8:1: error V001: glossary 'RKI': "
        f"variant 'Rabkrin' not found in the {name} (found up to '…rkiрабочекрестьянскаяинспекция')"
        for name in ("EPUB", "PDF")]


def test_entries_out_of_order_are_reported(book):
    """An edition whose glossary runs Gosplan before ГОЭЛРО; the other one in the book's order."""
    items = completeness.items(book)
    glossary = [i for i in items if i.kind == "glossary"]
    swapped = [glossary[1], glossary[0], *glossary[2:]]
    results = [completeness.check_text("EPUB", items, "|".join(i.text for i in items)),
               completeness.check_text("PDF", items, "|".join(i.text for i in swapped + items))]
    assert completeness.order_problems(items, results) == [
        "PDF: glossary entry 'gl-gosplan' stands where the book has 'gl-гоэлро' (entry 1 of 5)"]


def test_an_alias_without_its_place_and_an_unknown_see_also_are_reported(tmp_path):
    copy = tmp_path / "back-matter"
    shutil.copytree(FIXTURE, copy)
    people = copy / "book" / "biographies.yaml"
    people.write_text(people.read_text(encoding="utf-8").replace(
        "alias_after: given_names", "alias_after: middle_name"), encoding="utf-8")
    glossary = copy / "book" / "glossary.yaml"
    glossary.write_text(glossary.read_text(encoding="utf-8").replace("see_also: [STO]", "see_also: [SNK]"),
                        encoding="utf-8")
    with pytest.raises(BuildError) as caught:
        read_book(copy / "book", tmp_path / "cache")
    found = [str(p).split("book/", 1)[1] for p in caught.value.problems if p.code != "F001"]
    assert found == [
        "glossary.yaml:4:1: warning R011: 'Gosplan': see also 'SNK' is not a glossary headword",
        "biographies.yaml:37:1: error R007: Tsiurupa: alias_after must name a filled field "
        "(surname, given_names, patronymic), got 'middle_name'"]


@pytest.mark.integration
def test_the_real_book_is_complete_in_both_editions():
    """Every paragraph, note, caption, glossary and biography field of book/ in the EPUB and the
    paperback PDF as `make pdf epub` builds them, the entries in the book's order."""
    root = realbook.require()
    assert cli.main(["-q", "pdf", "--book", str(root)]) == 0
    assert cli.main(["-q", "epub", "--book", str(root)]) == 0
    book = transform(read_book(root))
    build = realbook.BUILD
    problems = Problems()
    results = completeness.check_editions(
        book, {"EPUB": completeness.epub_text(build / f"{book.config.slug}.epub"),
               "PDF": completeness.pdf_text(build / f"{book.config.slug}.pdf", book.config.editions["paperback"])},
        problems)
    assert [str(p) for p in problems] == []
    items = completeness.items(book)
    assert Counter(i.kind for i in items)["glossary"] == len(book.glossary)
    assert sum(len(r.positions) for r in results) == 2 * (len(book.glossary) + len(book.people))
    assert [r.found for r in results] == [len(items)] * 2
