"""The EPUB edition of the mini-book: validators, notes, index, page list, reproducibility, bad input."""
from __future__ import annotations

import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from lxml import etree

import realbook
from bookbuild import validate
from bookbuild.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "mini-book"
REAL_BOOK = realbook.BOOK
NS = {"x": "http://www.w3.org/1999/xhtml", "epub": "http://www.idpf.org/2007/ops",
      "opf": "http://www.idpf.org/2007/opf"}
EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"
NOTE_REF = re.compile(r"\[\^([^\]\s]+)\](?!:)")


def copy_book(tmp_path: Path) -> Path:
    """A private copy of the mini-book, so that a test may break it."""
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE, repo, ignore=shutil.ignore_patterns("build"))
    return repo


def build(book: Path, out: Path, *extra: str) -> int:
    return main(["-q", "epub", "--book", str(book), "-o", str(out), *extra])


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    return copy_book(tmp_path_factory.mktemp("mini"))


@pytest.fixture(scope="module")
def plain(repo, tmp_path_factory) -> Path:
    """The mini-book without a page map."""
    out = tmp_path_factory.mktemp("plain") / "mini-book.epub"
    assert build(repo / "book", out, "--no-page-list") == 0
    return out


@pytest.fixture(scope="module")
def paged(repo, tmp_path_factory) -> Path:
    """The mini-book with a page map such as the PDF build writes."""
    page_map = tmp_path_factory.mktemp("map") / "pagemap.json"
    page_map.write_text(json.dumps(fake_page_map(repo / "book")), encoding="utf-8")
    out = tmp_path_factory.mktemp("paged") / "mini-book.epub"
    assert build(repo / "book", out, "--page-map", str(page_map)) == 0
    return out


def fake_page_map(book: Path, first_words: bool = True) -> dict:
    """In the PDF build's shape: front matter on pages i–iv, then each unit on a recto
    (a blank verso before it when needed), two paragraphs to a page; every id lands
    on its paragraph's page. (`labels` and `first_words` repeat `pages` for the tests.)"""
    from bookbuild.read import read_book
    from bookbuild.transform import transform

    labels = ["i", "ii", "iii", "iv"]
    words = ["", "", "", ""]
    anchors: dict[str, int] = {}
    for unit in transform(read_book(book)).units:
        if len(labels) % 2:
            labels.append(str(len(labels) - 3))
            words.append("")
        root = etree.fromstring(f"<div>{unit.html}</div>")
        anchors[unit.id] = len(labels)
        labels.append(str(len(labels) - 3))
        words.append(" ".join(root.find(".//h1").itertext()).split()[0])
        paragraphs = [p for p in root.iter("p") if not any(a.tag == "section" for a in p.iterancestors()
                                                          if "footnotes" in (a.get("class") or ""))]
        for n, p in enumerate(paragraphs):
            if n and n % 2 == 0:
                labels.append(str(len(labels) - 3))
                words.append(" ".join("".join(p.itertext()).split()[:8]))
            for el in p.iter():
                if el.get("id"):
                    anchors[el.get("id")] = len(labels) - 1
    return {"pages": [{"label": label, "index": i, "text": text if first_words else None}
                      for i, (label, text) in enumerate(zip(labels, words))],
            "anchor_pages": anchors, "labels": labels, "first_words": words}


def read(epub: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(epub) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def xhtml(files: dict[str, bytes], name: str) -> etree._Element:
    return etree.fromstring(files[f"EPUB/text/{name}"])


def chapters(repo: Path) -> list[Path]:
    return sorted((repo / "book" / "text").glob("0[1-9]-*.md"))


# The validators -----------------------------------------------------------------

@pytest.mark.parametrize("version", validate.EPUBCHECKS)
def test_epubcheck_finds_nothing(plain, paged, tmp_path, version):
    """Every EPUBCheck a receiver runs: no error or warning, and (the current one) no USAGE
    note but those validate.ACCEPTED_USAGE explains."""
    if not shutil.which("java"):
        pytest.skip("EPUBCheck needs Java: run scripts/install-validators.sh")
    for epub in (plain, paged):
        try:
            report = validate.run_epubcheck(epub, tmp_path / epub.parent.name, version)
        except validate.ValidatorMissing as exc:
            pytest.skip(str(exc))
        assert report.messages == [] and report.count("fatal", "error", "warning", "usage") == 0


def test_epubcheck_counts_every_place_it_names():
    """EPUBCheck lists a few dozen places of a message and counts the rest: they count too,
    and accepted USAGE notes are counted apart."""
    data = {"messages": [
        {"ID": "OPF-027", "severity": "ERROR", "message": "Undefined property",
         "locations": [{"path": "a.xhtml", "line": 3, "column": 4}], "additionalLocations": 896},
        {"ID": "CSS-028", "severity": "USAGE", "message": "Use of Font-face declaration",
         "locations": [{"path": "epub.css", "line": 1, "column": 1}] * 2}]}
    report = validate.parse_epubcheck(data, "EPUBCheck 4.0.1")
    assert report.counts == {"fatal": 0, "error": 897, "warning": 0, "usage accepted": 2}
    assert report.messages[0] == "a.xhtml:3:4: error OPF-027: Undefined property"
    assert "896 more" in report.messages[1] and len(report.messages) == 2


def test_ace_finds_no_violation(paged, tmp_path):
    try:
        report = validate.run_ace(paged, tmp_path / "ace")
    except validate.ValidatorMissing as exc:
        pytest.skip(str(exc))
    assert report.messages == [] and validate.violations(report) == 0


# Notes --------------------------------------------------------------------------------

def test_each_chapter_has_its_notes_numbered_as_printed_with_backlinks(repo, plain):
    files = read(plain)
    for source in chapters(repo):
        text = source.read_text(encoding="utf-8")
        refs = [m.group(1) for m in NOTE_REF.finditer(text)]
        doc = xhtml(files, f"{source.stem}.xhtml")
        noterefs = doc.findall(".//x:a[@epub:type='noteref']", NS)
        assert len(noterefs) == len(refs), source.name
        assert [a.text for a in noterefs] == [str(i) for i in range(1, len(refs) + 1)]
        assert all(a.get("role") == "doc-noteref" for a in noterefs)
        section = doc.find(".//x:section[@role='doc-endnotes']", NS)
        assert section.get(EPUB_TYPE) is None and section.find("x:h2", NS).text == "Notes"
        ids = {el.get("id"): el for el in doc.iter() if el.get("id")}
        for a in noterefs:
            note = ids[a.get("href")[1:]]
            # The pop-up target: typed `footnote` (known to EPUBCheck 4.0.1 to 5), not an aside.
            assert (note.tag, note.get(EPUB_TYPE), note.get("role")) == (
                f"{{{NS['x']}}}div", "footnote", "doc-footnote")
            assert note.getparent().tag == f"{{{NS['x']}}}li"
            assert note.getparent().getparent().getparent() is section
            back = note.find("x:p/x:a[@role='doc-backlink']", NS)
            assert back is not None and back is note.find(".//x:a", NS) and back.get(EPUB_TYPE) is None
            assert back.text == f"{a.text}." and ids[back.get("href")[1:]].get(EPUB_TYPE) == "noteref"


# Index ----------------------------------------------------------------------------------

def locators(files: dict[str, bytes]) -> list[etree._Element]:
    return xhtml(files, "index.xhtml").findall(".//x:a[@epub:type='index-locator']", NS)


def target(files: dict[str, bytes], href: str) -> etree._Element | None:
    name, _, anchor = href.partition("#")
    doc = xhtml(files, name)
    return next((el for el in doc.iter() if el.get("id") == anchor), None)


def test_index_locators_land_on_mentions_and_biographies(plain):
    files = read(plain)
    found = locators(files)
    assert len(found) > 10
    for a in found:
        el = target(files, a.get("href"))
        assert el is not None, a.get("href")
        if a.text == "biography":
            assert "biography" in el.get("class")
        else:
            assert "ix" in el.get("class") and a.text.isdigit()
    index = xhtml(files, "index.xhtml")
    assert index.find(".//x:section[@epub:type='index']", NS).get("role") == "doc-index"
    smirnov = index.find(".//x:li[@id='ixe-smirnov-ivan-nikitich']", NS)
    mention = target(files, smirnov.find("x:a[@epub:type='index-locator']", NS).get("href"))
    assert mention.text in ("Smirnov", "Ivan Nikitich Smirnov")
    see = index.find(".//x:li[@id='ixe-skriabin']//x:span[@epub:type='index-xref-preferred']/x:a", NS)
    assert see.get("href") == "#ixe-molotov-viacheslav-mikhailovich"


# Print pages ------------------------------------------------------------------------------

def test_page_breaks_sit_where_print_pages_begin(paged, repo):
    files = read(paged)
    page_map = fake_page_map(repo / "book")
    nav = xhtml(files, "nav.xhtml")
    page_list = nav.find(".//x:nav[@epub:type='page-list']", NS)
    assert page_list.get("role") == "doc-pagelist"
    links = list(page_list.iter("{*}a"))
    assert [a.text for a in links] == page_map["labels"]
    after = text_after_markers(files)
    for label, words in zip(page_map["labels"], page_map["first_words"]):
        following = after[label]
        words = words.replace(" ", "")
        if words == "":
            assert following.startswith("\u2980"), label  # a blank page: the next page follows
        elif label in {page_map["labels"][page_map["anchor_pages"][u.stem[3:]]] for u in chapters(repo)}:
            assert words in following[:80], (label, following[:80])  # after "Chapter N"
        else:
            assert following.startswith(words), (label, words, following[:80])
    opf = etree.fromstring(files["EPUB/package.opf"])
    assert opf.findtext(".//opf:meta[@property='source-of']", namespaces=NS) == "pagination"
    assert "pageNavigation" in [m.text for m in opf.findall(".//opf:meta", NS)]


def test_without_first_words_pages_still_hold_their_anchors(repo, tmp_path):
    page_map = fake_page_map(repo / "book", first_words=False)
    (tmp_path / "map.json").write_text(json.dumps(page_map), encoding="utf-8")
    out = tmp_path / "book.epub"
    assert build(repo / "book", out, "--page-map", str(tmp_path / "map.json")) == 0
    files = read(out)
    label = None
    seen = 0
    for name in re.findall(r'idref="x-([^"]+)"', files["EPUB/package.opf"].decode()):
        for el in xhtml(files, f"{name}.xhtml").iter():
            if el.get(EPUB_TYPE) == "pagebreak":
                label = el.get("aria-label")
                seen += 1
            elif el.get("id") in page_map["anchor_pages"] and el.tag != "{%s}section" % NS["x"]:
                # (A unit's section holds the marker of the page it starts on.)
                assert label == page_map["labels"][page_map["anchor_pages"][el.get("id")]], el.get("id")
    assert seen == len(page_map["labels"])


def test_the_pdf_builds_page_map_is_used_by_default(mini_pdf, mini_epub):
    """`build.py pdf`, then `build.py epub` with no page map named (tests/conftest.py)."""
    page_map = json.loads((mini_pdf.cache / "pagemap.json").read_text(encoding="utf-8"))
    files = read(mini_epub)
    page_list = xhtml(files, "nav.xhtml").find(".//x:nav[@epub:type='page-list']", NS)
    assert [a.text for a in page_list.iter("{*}a")] == [p["label"] for p in page_map["pages"]]
    after = text_after_markers(files)
    body = [p for p in page_map["pages"] if p["label"].isdigit() and p["text"]]
    exact = [p for p in body if after[p["label"]].startswith(p["text"].replace(" ", ""))]
    # Print adds words of its own ("Chapter 1", an absent photograph's frame), so
    # not every page can be found by its first words.
    assert len(exact) >= 0.6 * len(body), [p["label"] for p in body if p not in exact]


def test_a_page_may_begin_at_any_element(repo, tmp_path):
    """Every id the read stage makes starts a page of its own: each marker must
    still sit where XHTML allows a span (inside lists, tables, figures, notes)."""
    from bookbuild.read import read_book
    from bookbuild.transform import transform

    if not shutil.which("java"):
        pytest.skip("EPUBCheck needs Java: run scripts/install-validators.sh")
    ids = [el.get("id") for unit in transform(read_book(repo / "book")).units
           for el in etree.fromstring(f"<div>{unit.html}</div>").iter() if el.get("id")]
    page_map = {"pages": [{"label": str(n), "text": None} for n in range(1, len(ids) + 1)],
                "anchor_pages": {anchor: n for n, anchor in enumerate(ids)}}
    (tmp_path / "map.json").write_text(json.dumps(page_map), encoding="utf-8")
    out = tmp_path / "book.epub"
    assert build(repo / "book", out, "--page-map", str(tmp_path / "map.json")) == 0
    report = validate.run_epubcheck(out, tmp_path)
    assert report.messages == []


def test_index_locators_name_print_pages(paged, repo):
    files = read(paged)
    page_map = fake_page_map(repo / "book")
    for a in locators(files):
        anchor = a.get("href").partition("#")[2]
        if anchor in page_map["anchor_pages"]:
            assert a.text == page_map["labels"][page_map["anchor_pages"][anchor]]


def text_after_markers(files: dict[str, bytes]) -> dict[str, str]:
    """For every page-break marker, the reading-order text that follows it, without
    spaces (another marker shows as ⦀)."""
    spine = [n for n in sorted(files) if n.startswith("EPUB/text/") and "nav" not in n]
    order = re.findall(r'idref="x-([^"]+)"', files["EPUB/package.opf"].decode())
    pieces = []
    for name in order:
        if f"EPUB/text/{name}.xhtml" not in spine:
            continue
        doc = xhtml(files, f"{name}.xhtml")
        for marker in doc.iter("{*}span"):
            if marker.get(EPUB_TYPE) == "pagebreak":
                marker.text = f"\u2980{marker.get('aria-label')}\u2981"
        pieces.append("".join(doc.find("x:body", NS).itertext()))
    text = re.sub(r"\s+", "", "".join(pieces))
    return {m.group(1): text[m.end():] for m in re.finditer(r"\u2980([^\u2981]+)\u2981", text)}


def test_without_page_map_no_page_list_is_claimed(plain):
    files = read(plain)
    assert b"page-list" not in files["EPUB/text/nav.xhtml"]
    opf = files["EPUB/package.opf"].decode()
    assert "pageBreakSource" not in opf and "printPageNumbers" not in opf


# Package ----------------------------------------------------------------------------------

def opf_meta(epub: Path, prop: str) -> list[str]:
    opf = etree.fromstring(read(epub)["EPUB/package.opf"])
    return [m.text for m in opf.findall(f".//opf:meta[@property='{prop}']", NS)]


def dc(epub: Path, name: str) -> list[str]:
    opf = etree.fromstring(read(epub)["EPUB/package.opf"])
    return [e.text for e in opf.iter(f"{{http://purl.org/dc/elements/1.1/}}{name}")]


def test_metadata(plain):
    def meta(prop):
        return opf_meta(plain, prop)
    assert meta("belongs-to-collection") == ["Was There an Alternative?"]
    assert meta("group-position") == ["2"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta("dcterms:modified")[0])
    assert meta("role") == ["aut", "trl"]
    assert meta("file-as") == ["Rogovin, Vadim Z.", "Choate, Frederick S."]


def test_accessibility_metadata_claims_what_the_epub_holds(plain):
    """The mini-book packs one picture (with its caption as alt text) and lacks another."""
    doc = xhtml(read(plain), "02-the-opposition-in-exile.xhtml")
    images = [img for img in doc.iter(f"{{{NS['x']}}}img")]
    assert images and all(img.get("alt") for img in images)
    assert opf_meta(plain, "schema:accessMode") == ["textual", "visual"]
    assert opf_meta(plain, "schema:accessModeSufficient") == ["textual"]
    assert "alternativeText" in opf_meta(plain, "schema:accessibilityFeature")
    summary = opf_meta(plain, "schema:accessibilitySummary")[0]
    assert "One illustration is missing" in summary and "WCAG 2.1 Level AA" not in summary
    # No conformance claim without the evidence for it.
    assert opf_meta(plain, "dcterms:conformsTo") == [] and opf_meta(plain, "a11y:certifiedBy") == []


def test_without_pictures_no_visual_mode_or_text_alternatives_are_claimed(tmp_path):
    repo = copy_book(tmp_path)
    (repo / "book" / "images" / "poster.png").unlink()
    out = tmp_path / "book.epub"
    assert build(repo / "book", out, "--no-page-list") == 0
    assert opf_meta(out, "schema:accessMode") == ["textual"]
    assert "alternativeText" not in opf_meta(out, "schema:accessibilityFeature")
    summary = opf_meta(out, "schema:accessibilitySummary")[0]
    assert "no images but its cover" in summary and "text alternatives" not in summary


def test_without_an_ebook_isbn_a_stable_identifier_and_a_warning(plain, repo, tmp_path, capsys):
    """Never a print edition's ISBN; the same UUID every build; the editor is told."""
    identifier = dc(plain, "identifier")
    assert len(identifier) == 1 and identifier[0].startswith("urn:uuid:")
    assert dc(plain, "date") == [] and opf_meta(plain, "dcterms:issued") == ["2019"]
    capsys.readouterr()
    again = tmp_path / "again.epub"
    assert build(repo / "book", again, "--no-page-list") == 0
    err = capsys.readouterr().err
    assert dc(again, "identifier") == identifier
    found = re.search(r"book\.yaml:(\d+):\d+: warning E003: editions\.ebook\.isbn: missing: the ebook is not "
                      r"ready for retail", err)
    assert found, err
    lines = (repo / "book" / "book.yaml").read_text(encoding="utf-8").splitlines()
    assert lines[int(found.group(1)) - 1].strip().startswith("ebook:")
    assert "warning E004: published: no full publication date" in err
    assert b"9781893638815" not in read(plain)["EPUB/package.opf"]


def test_the_ebooks_isbn_and_publication_date(tmp_path, capsys):
    repo = copy_book(tmp_path)
    config = repo / "book" / "book.yaml"
    text = config.read_text(encoding="utf-8")
    text = text.replace("ebook:     {format: epub, page_source: paperback}",
                        'ebook:     {format: epub, page_source: paperback, isbn: "978-1-893638-83-9"}')
    config.write_text(text.replace("year: 2019\n", "year: 2019\npublished: \"2019-09-17\"\n"), encoding="utf-8")
    out = tmp_path / "book.epub"
    capsys.readouterr()
    assert build(repo / "book", out, "--no-page-list") == 0
    err = capsys.readouterr().err
    assert "E003" not in err and "E004" not in err
    assert dc(out, "identifier") == ["urn:isbn:9781893638839"]
    assert dc(out, "date") == ["2019-09-17"] and opf_meta(out, "dcterms:issued") == []


def test_the_page_list_names_its_print_edition_as_every_epubcheck_knows(paged):
    opf = etree.fromstring(read(paged)["EPUB/package.opf"])
    source = opf.find(".//dc:source", {"dc": "http://purl.org/dc/elements/1.1/"})
    assert source.text == "urn:isbn:9781893638815"
    refine = opf.find(f".//opf:meta[@refines='#{source.get('id')}']", NS)
    assert (refine.get("property"), refine.text) == ("source-of", "pagination")
    assert "pageBreakSource" not in read(paged)["EPUB/package.opf"].decode()


def test_russian_is_marked_in_both_attributes(plain):
    doc = xhtml(read(plain), "00-foreword.xhtml")
    russian = [el for el in doc.iter() if el.get("lang") == "ru"]
    assert russian and all(el.get("{http://www.w3.org/XML/1998/namespace}lang") == "ru" for el in russian)


def test_absent_art_is_a_marked_frame_and_present_art_is_packed(plain):
    files = read(plain)
    doc = xhtml(files, "01-the-grain-crisis.xhtml")
    frame = doc.find(".//x:figure[@id='fig-molotov']/x:div[@class='figure-placeholder']", NS)
    assert frame is not None and "Molotov" in frame.get("aria-label")
    assert "EPUB/images/poster.png" in files
    assert all(not name.startswith("EPUB/images/molotov") for name in files)


def test_with_missing_art_caption_a_figure_without_art_is_its_caption_alone(tmp_path):
    repo = copy_book(tmp_path)
    config = repo / "book" / "book.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "ebook:     {format: epub, page_source: paperback}",
        "ebook:     {format: epub, page_source: paperback, missing_art: caption}"), encoding="utf-8")
    out = tmp_path / "book.epub"
    assert build(repo / "book", out, "--no-page-list") == 0
    files = read(out)
    doc = xhtml(files, "01-the-grain-crisis.xhtml")
    figure = doc.find(".//x:figure[@id='fig-molotov']", NS)
    # Read once, as text: no image, frame or figure role; the id stays for links and pages.
    assert [etree.QName(c).localname for c in figure] == ["figcaption"]
    assert figure.get("role") == "none" and "Molotov" in "".join(figure.itertext())
    text = " ".join(" ".join(xhtml(files, n[len("EPUB/text/"):]).itertext())
                    for n in files if n.endswith(".xhtml"))
    assert not re.search(r"not available|absent|molotov\.jpg", text, re.I)
    assert xhtml(files, "02-the-opposition-in-exile.xhtml").find(".//x:figure[@id='fig-poster']/x:img", NS) is not None
    assert "One illustration of the print edition is not included" in opf_meta(out, "schema:accessibilitySummary")[0]


def test_fonts_are_subset_and_embedded_with_a_true_bold(plain):
    from fontTools.ttLib import TTFont

    files = read(plain)
    fonts = {n: d for n, d in files.items() if n.startswith("EPUB/fonts/")}
    assert set(fonts) == {"EPUB/fonts/EBGaramond-Regular.otf", "EPUB/fonts/EBGaramond-Italic.otf",
                          "EPUB/fonts/EBGaramond-Bold.ttf", "EPUB/fonts/EBGaramond-BoldItalic.ttf"}
    assert all(len(d) < 160_000 for d in fonts.values())
    bold = TTFont(io.BytesIO(fonts["EPUB/fonts/EBGaramond-Bold.ttf"]))
    assert bold["OS/2"].usWeightClass == 700
    # Every character the book sets is in the bold too: Cyrillic, dashes and quotes included.
    regular = set(TTFont(io.BytesIO(fonts["EPUB/fonts/EBGaramond-Regular.otf"])).getBestCmap())
    assert regular - set(bold.getBestCmap()) <= {0xA0}
    css = files["EPUB/styles/epub.css"].decode()
    assert 'font-weight: bold;\n  src: url("../fonts/EBGaramond-Bold.ttf")' in css


def test_two_builds_are_byte_identical_and_zipped_as_ocf(repo, plain, tmp_path):
    again = tmp_path / "again.epub"
    assert build(repo / "book", again, "--no-page-list") == 0
    assert again.read_bytes() == plain.read_bytes()
    with zipfile.ZipFile(plain) as zf:
        infos = zf.infolist()
    assert infos[0].filename == "mimetype" and infos[0].compress_type == zipfile.ZIP_STORED
    assert [i.filename for i in infos[1:]] == sorted(i.filename for i in infos[1:])
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


# Bad input: a clear error with file:line, and the previous EPUB stays ----------------------

BAD_INPUTS = {
    "broken note reference": ("01-the-grain-crisis.md", "fell far short of the plan.",
                              "fell far short of the plan.[^9]", "N003"),
    "unknown index ref": ("03-the-turn.md", "{.ix ref=smirnov-ivan-nikitich}",
                          "{.ix ref=nobody-at-all}", "R009"),
    "raw HTML not XHTML": ("00-foreword.md", "in outline.", "in <b>outline.", "E001"),
    "raw HTML void tag": ("00-foreword.md", "in outline.", "in outline.<br>", "E001"),
    "script": ("00-foreword.md", "in outline.", "in outline.<script>alert(1)</script>", "E002"),
    "event handler": ("00-foreword.md", "in outline.",
                      'in <span onclick="alert(1)">outline</span>.', "E002"),
    "image outside the repository": ("01-the-grain-crisis.md", "images/molotov.jpg",
                                     "../../outside.png", "F003"),
}


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_bad_input_is_reported_and_keeps_the_previous_epub(case, tmp_path, capsys):
    repo = copy_book(tmp_path)
    out = tmp_path / "book.epub"
    assert build(repo / "book", out) == 0
    before = out.read_bytes()
    name, old, new, code = BAD_INPUTS[case]
    source = repo / "book" / "text" / name
    text = source.read_text(encoding="utf-8")
    assert old in text
    source.write_text(text.replace(old, new, 1), encoding="utf-8")
    line = text[:text.index(old)].count("\n") + 1
    capsys.readouterr()
    assert build(repo / "book", out) == 1
    err = capsys.readouterr().err
    assert re.search(rf"{re.escape(name)}:{line}:\d+: error {code}: ", err), err
    assert out.read_bytes() == before


# The real book -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_epub(tmp_path_factory) -> Path:
    if not (REAL_BOOK / "book.yaml").exists():
        pytest.skip("book/ has not been imported yet (python build.py import)")
    out = tmp_path_factory.mktemp("real") / "book.epub"
    assert build(REAL_BOOK, out) == 0
    return out


@pytest.mark.integration
@pytest.mark.parametrize("version", validate.EPUBCHECKS)
def test_real_book_passes_every_epubcheck(real_epub, tmp_path, version):
    if not shutil.which("java"):
        pytest.skip("EPUBCheck needs Java: run scripts/install-validators.sh")
    report = validate.run_epubcheck(real_epub, tmp_path, version)
    assert report.count("fatal", "error", "warning", "usage") == 0, "\n".join(report.messages[:20])


@pytest.mark.integration
def test_real_book_claims_only_what_it_holds(real_epub):
    """Figures as book.yaml's ebook edition says; the accessibility metadata follows them."""
    from bookbuild.config import load_config
    from bookbuild.errors import Problems

    files = read(real_epub)
    text = {n: xhtml(files, n[len("EPUB/text/"):]) for n in files if n.endswith(".xhtml")}
    images = [img for n, doc in text.items() if n != "EPUB/text/cover.xhtml" for img in doc.iter(f"{{{NS['x']}}}img")]
    modes = opf_meta(real_epub, "schema:accessMode")
    assert modes == (["textual", "visual"] if images else ["textual"])
    assert ("alternativeText" in opf_meta(real_epub, "schema:accessibilityFeature")) == bool(images)
    assert opf_meta(real_epub, "dcterms:conformsTo") == []
    sources = sorted((REAL_BOOK / "text").glob("*.md"))
    figures = sum(s.read_text(encoding="utf-8").count("{#fig-") for s in sources)
    shown = [f for doc in text.values() for f in doc.iter(f"{{{NS['x']}}}figure")]
    assert len(shown) == figures
    ebook = next(e for e in load_config(REAL_BOOK / "book.yaml", Problems()).editions.values() if e.format == "epub")
    if ebook.missing_art == "caption":
        alone = [f for f in shown if "caption-alone" in f.get("class", "")]
        assert len(alone) + len(images) == figures
        assert not any("figure-placeholder" in (el.get("class") or "") for doc in text.values() for el in doc.iter())


@pytest.mark.integration
def test_real_book_page_breaks_sit_where_print_pages_begin(tmp_path):
    """Every body page's marker is followed by the words that begin that page in print
    (the first word may be the tail of a word hyphenated across pages)."""
    if not (REAL_BOOK / "book.yaml").exists():
        pytest.skip("book/ has not been imported yet (python build.py import)")
    out = tmp_path / "book.epub"
    assert build(REAL_BOOK, out) == 0
    page_map = json.loads((REAL_BOOK.parent / "build" / "cache" / "pagemap.json").read_text(encoding="utf-8"))
    with zipfile.ZipFile(out) as zf:
        opf = zf.read("EPUB/package.opf").decode()
        hrefs = dict(re.findall(r'<item id="([^"]+)" href="([^"]+\.xhtml)"', opf))
        text = "".join(zf.read("EPUB/" + hrefs[i]).decode() for i in re.findall(r'idref="([^"]+)"', opf) if i in hrefs)
    text = re.sub(r'<span[^>]*epub:type="pagebreak"[^>]*aria-label="([^"]+)"[^>]*/>', "\u2980\\1\u2981", text)
    text = re.sub(r"<[^>]+>", " ", text)
    markers = {m.group(1): m.end() for m in re.finditer("\u2980([^\u2981]+)\u2981", text)}
    assert set(markers) == {p["label"] for p in page_map["pages"]}

    def letters(s: str) -> str:
        return re.sub(r"\W+", "", s).lower()

    # Body pages only: up to the back matter's first data part, if the book has one.
    back_matter = min((page_map["anchor_pages"][k] for k in ("glossary", "congresses", "biographies", "index")
                       if k in page_map["anchor_pages"]), default=len(page_map["pages"]))
    checked = 0
    for index, page in enumerate(page_map["pages"][:back_matter]):
        words = (page.get("text") or "").split()
        if not page["label"].isdigit() or len(words) < 4 or words[0] == "Art":
            continue
        following = letters(text[markers[page["label"]]:markers[page["label"]] + 300])[:80]
        assert letters(" ".join(words[1:4])) in following, (page["label"], " ".join(words[:6]))
        checked += 1
    assert checked > realbook.expect("page_starts", 0)


# Print pages and the index, against the print edition itself ------------------------------

ART_FRAME = {"figure-placeholder"}


def letters(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).lower()


def reading_tokens(files: dict[str, bytes]) -> list[tuple[str, str, etree._Element]]:
    """The ebook in reading order as ("m", label, marker) and ("w", word, element): without
    absent-art frames and hidden navs, and with each chapter's notes heading read as print
    sets it ("Notes"; the ebook names the chapter in it)."""
    out: list[tuple[str, str, etree._Element]] = []

    def walk(el: etree._Element) -> None:
        if not isinstance(el.tag, str):
            return
        parent = el.getparent()
        if el.get(EPUB_TYPE) == "pagebreak":
            out.append(("m", el.get("aria-label"), el))
        elif ART_FRAME & set((el.get("class") or "").split()) or el.get("hidden") is not None:
            pass
        elif el.tag == "{%s}h2" % NS["x"] and parent is not None and parent.get(EPUB_TYPE) == "endnotes":
            out.append(("w", "Notes", el))
        else:
            out.extend(("w", w, el) for w in (el.text or "").split())
            for child in el:
                walk(child)
        if parent is not None:
            out.extend(("w", w, parent) for w in (el.tail or "").split())

    for name in re.findall(r'idref="x-([^"]+)"', files["EPUB/package.opf"].decode()):
        for child in xhtml(files, f"{name}.xhtml").find("x:body", NS):
            walk(child)
    return out


def at_first_words(words_after: list[str], first_words: str) -> bool:
    """Whether the ebook's words after a marker begin with print's first words of the page
    (five of them; the first may be the tail of a word hyphenated across pages)."""
    want = first_words.split()[:5]
    if not want:
        return False
    got = letters(" ".join(words_after))
    if got.startswith(letters(" ".join(want))):
        return True
    head = letters(words_after[0]) if words_after else ""
    rest = got[len(head):].startswith(letters(" ".join(want[1:])))
    # Print's page may begin inside a word: the ebook's word ends with print's first
    # ("tion"), or, after a name the index counts on the page before, print's first word
    # ends with the ebook's ("nadze’s" after "Lomi-": the marker follows the name, "’s").
    return bool(letters(want[0])) and bool(head) and rest and \
        (head.endswith(letters(want[0])) or letters(want[0]).endswith(head))


def at_block_start(marker: etree._Element) -> bool:
    """Right before a block, or no text between the start of the block (or the contents'
    entry) holding the marker and the marker."""
    from bookbuild.epub.pagebreaks import BLOCKS, STRUCTURAL

    after = marker.getnext()
    if not (marker.tail or "").strip() and after is not None and after.tag in BLOCKS | STRUCTURAL:
        return True  # right before a block
    block = marker.getparent()
    while block.tag not in BLOCKS | {"{%s}a" % NS["x"]}:
        block = block.getparent()
    before = []
    for el in block.iter():
        if el is marker:
            break
        if el.get(EPUB_TYPE) != "pagebreak":
            before.append(el.text or "")
        if el is not block and is_before(el, marker):
            before.append(el.tail or "")
    return not "".join(before).strip()


def is_before(el: etree._Element, marker: etree._Element) -> bool:
    """Whether `el` (not an ancestor of the marker) ends before the marker."""
    return marker not in set(el.iter()) and el.getparent() is not None


def check_page_markers(files: dict[str, bytes], page_map: dict, placed: list) -> tuple[int, list]:
    """Every print page's marker: at the page's first words (counted), or, with a reason
    recorded, at the start of a block; a blank page's marker right before the next page's.
    Returns (markers at their first words, the others with their reasons)."""
    tokens = reading_tokens(files)
    where = {t[1]: i for i, t in enumerate(tokens) if t[0] == "m"}
    reasons = {p.label: p.reason for p in placed}
    labels = [p["label"] for p in page_map["pages"]]
    assert list(where) == labels, "one marker per print page, in print's order"
    exact, others = 0, []
    for page in page_map["pages"]:
        at = where[page["label"]]
        if not page["text"]:
            assert at + 1 == len(tokens) or tokens[at + 1][0] == "m", page["label"]
            exact += 1
            continue
        words = [t[1] for t in tokens[at + 1:at + 120] if t[0] == "w"]
        if at_first_words(words, page["text"]):
            exact += 1
            continue
        marker = tokens[at][2]
        assert reasons[page["label"]], (page["label"], page["text"], " ".join(words[:12]))
        # A page that begins inside a name ("Clara | Zetkin") is marked just after the name,
        # since a marker never splits a name; anything else goes to a block's start.
        assert at_block_start(marker) or just_after_name(marker), (page["label"], reasons[page["label"]])
        others.append((page["label"], reasons[page["label"]]))
    return exact, others


def just_after_name(marker: etree._Element) -> bool:
    before = marker.getprevious()
    return before is not None and "ix" in (before.get("class") or "").split() and not (before.tail or "").strip()


def no_marker_in_a_name(files: dict[str, bytes]) -> None:
    for name in files:
        if name.startswith("EPUB/text/"):
            for marker in etree.fromstring(files[name]).iter("{*}span"):
                if marker.get(EPUB_TYPE) == "pagebreak":
                    assert not [a for a in marker.iterancestors()
                                if "ix" in (a.get("class") or "").split()], (name, marker.get("id"))


def printed_index(pdf: Path, first: int) -> list[tuple[str, str]]:
    """The print index's locators as the PDF holds them, in print's order: (the anchor its
    link leads to, its text), from page `first` (0-based) on. Each locator's page label is
    checked against the page its link lands on."""
    import pymupdf

    out = []
    with pymupdf.open(pdf) as doc:
        for number in range(first, doc.page_count):
            page = doc[number]
            for link in page.get_links():
                if not link.get("nameddest"):
                    continue
                text = page.get_textbox(link["from"]).strip().strip(",;. ")
                assert text.split("–")[0] == doc[link["page"]].get_label(), (text, link["nameddest"])
                out.append((link["nameddest"], text))
    return out


def ebook_index(files: dict[str, bytes]) -> dict[str, list[tuple[str, str]]]:
    """Each index entry's locators in the ebook: (the anchor it links to, its text)."""
    index = xhtml(files, "index.xhtml")
    return {li.get("id"): [(a.get("href").partition("#")[2], a.text)
                           for a in li.findall("x:a[@epub:type='index-locator']", NS)]
            for li in index.iter("{%s}li" % NS["x"]) if li.get(EPUB_TYPE) == "index-entry"}


def check_index_is_printed_one(files: dict[str, bytes], pdf: Path, page_map: dict) -> int:
    """Entry by entry, the ebook's locators are the print index's (texts, order, targets).
    Returns how many locators were compared."""
    ebook = ebook_index(files)
    entry_of = {anchor: entry for entry, locs in ebook.items() for anchor, _ in locs}
    printed: dict[str, list[tuple[str, str]]] = {entry: [] for entry in ebook}
    for anchor, text in printed_index(pdf, page_map["anchor_pages"]["index"]):
        assert anchor in entry_of, f"print's locator {text} (#{anchor}) is not in the ebook's index"
        printed[entry_of[anchor]].append((anchor, text))
    for entry, locs in ebook.items():
        assert locs == printed[entry], entry
    return sum(len(locs) for locs in ebook.values())


def test_index_locators_are_the_printed_ones(mini_pdf, tmp_path):
    """The mini-book through the PDF build (the session's, tests/conftest.py), then the EPUB:
    its index carries the print index's locators (ranges, the biography's page) linking the
    same mentions."""
    from bookbuild import epub
    from bookbuild.read import read_book
    from bookbuild.transform import transform

    raw = (mini_pdf.cache / "pagemap.json").read_bytes()
    page_map = json.loads(raw)
    placed: list = []
    out = tmp_path / "book.epub"
    out.write_bytes(epub.build(transform(read_book(mini_pdf.book, tmp_path / "cache")), epub.parse_page_map(raw),
                               None, placed))
    files = read(out)
    compared = check_index_is_printed_one(files, mini_pdf.output(".pdf"), page_map)
    texts = [t for locs in ebook_index(files).values() for _, t in locs]
    assert compared > 10 and any("–" in t for t in texts)
    assert [a for li in xhtml(files, "index.xhtml").iter("{*}a") if "bio" in (li.get("class") or "")
            for a in [li]], "the biography's page is a locator, set in italics"
    no_marker_in_a_name(files)
    exact, others = check_page_markers(files, page_map, placed)
    assert exact >= len(page_map["pages"]) - len(others)


@pytest.mark.integration
def test_real_book_page_list_and_index_are_print_editions(capsys):
    """The real book: every print page's marker stands at the page's first words as the PDF
    has them, or at a block's start with the reason recorded; none inside a name; and the
    index's locators are the printed index's, entry by entry."""
    import pymupdf

    from bookbuild import epub
    from bookbuild.read import read_book
    from bookbuild.transform import transform

    if not (REAL_BOOK / "book.yaml").exists():
        pytest.skip("book/ has not been imported yet (python build.py import)")
    assert main(["-q", "pdf", "--book", str(REAL_BOOK)]) == 0
    build_dir = REAL_BOOK.parent / "build"
    raw = (build_dir / "cache" / "pagemap.json").read_bytes()
    page_map = json.loads(raw)
    book = transform(read_book(REAL_BOOK))
    pdf = build_dir / f"{book.config.slug}.pdf"
    # The page map's first words are the PDF's (less its running heads and absent-art frames).
    with pymupdf.open(pdf) as doc:
        assert doc.page_count == len(page_map["pages"])
        for number, page in enumerate(page_map["pages"]):
            assert doc[number].get_label() in ("", page["label"])
            assert all_in(page["text"].split()[:6], letters(doc[number].get_text())), page["label"]
    placed: list = []
    files = read_bytes_as_files(epub.build(book, epub.parse_page_map(raw), None, placed))
    no_marker_in_a_name(files)
    exact, others = check_page_markers(files, page_map, placed)
    compared = check_index_is_printed_one(files, pdf, page_map) if book.index else 0
    with capsys.disabled():
        print(f"\npage markers: {exact} of {len(page_map['pages'])} at their print page's first words; "
              f"{len(others)} at a block's start: {others}; index: {compared} locators as printed")
    assert len(others) <= 5
    assert compared >= realbook.expect("index_locators", 0)


def all_in(words: list[str], text: str) -> bool:
    """Whether every word's letters occur in `text` (print's first words leave out the
    contents' folios and absent-art frames, which the PDF's text has, and the PDF's text
    order is not always the reading order: note numbers come first)."""
    return all(letters(word) in text for word in words)


def read_bytes_as_files(data: bytes) -> dict[str, bytes]:
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def test_markers_stay_out_of_names_and_figures_follow_print():
    """A page that begins with a name is marked before its span, one that begins inside a
    name after it; a figure print moved after the next block moves in the ebook too."""
    from bookbuild.epub import markup as mk, pagebreaks as pb

    root = mk.parse_fragment(
        '<section id="s"><p id="a">One two three four five six seven.</p>'
        '<figure id="fig-x"><figcaption>A caption of the figure here</figcaption></figure>'
        '<p id="b">Eight nine <span class="ix" id="m1">Mikhail Ivanovich Kalinin</span> ten eleven '
        'twelve thirteen.</p><p id="c">Then <span class="ix" id="m2">Kalinin</span> spoke at '
        'length to the congress.</p></section>')
    pb.follow_print_figures(root, {"fig-x": 1})
    assert [el.get("id") for el in root[0]] == ["a", "b", "fig-x", "c"]
    pages = [pb.PageStart("1", "One two three four five six"),
             pb.PageStart("2", "Ivanovich Kalinin ten eleven twelve"),
             pb.PageStart("3", "A caption of the figure here"),
             pb.PageStart("4", "Kalinin spoke at length to the")]
    placed = pb.place_pagebreaks([("doc", root)], pages, {"a": 0, "m1": 0, "fig-x": 2, "m2": 3})
    assert [p.label for p in placed] == ["1", "2", "3", "4"]
    for marker in root.iter(mk.h("span")):
        if marker.get(mk.EPUB_TYPE) == "pagebreak":
            assert not any(pb.is_name(a) for a in marker.iterancestors()), marker.get("id")
    by_label = {p.label: p for p in placed}
    page2 = root.find(".//*[@id='page-2']")
    assert page2.getprevious().get("id") == "m1" and "inside the name" in by_label["2"].reason
    assert root.find(".//*[@id='page-4']").getnext().get("id") == "m2" and not by_label["4"].reason
    page3 = root.find(".//*[@id='page-3']")
    assert "fig-x" in [a.get("id") for a in page3.iterancestors()] and not by_label["3"].reason
    assert page3.tail.startswith("A caption")


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares its size and holds no pixels: all an image bomb needs to be."""
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
            + struct.pack(">I", zlib.crc32(chunk)) + b"\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.mark.parametrize("plant, code, message", [
    ("bomb", "F004", "images/poster.png: more than"),
    ("huge", "F004", "images/poster.png: 12000 × 9000 px is 108 megapixels"),
    ("svg", "F005", "images/poster.svg: loads http://example.org/t.png"),
    ("style", "E005", "a style loads http://example.org/t.png"),
])
def test_resources_from_outside_and_image_bombs_are_refused(tmp_path, capsys, plant, code, message):
    repo = copy_book(tmp_path)
    chapter = repo / "book" / "text" / "02-the-opposition-in-exile.md"
    if plant == "bomb":
        (repo / "book" / "images" / "poster.png").write_bytes(_png_header(100_000, 100_000))
    elif plant == "huge":
        (repo / "book" / "images" / "poster.png").write_bytes(_png_header(12_000, 9_000))
    elif plant == "svg":
        (repo / "book" / "images" / "poster.svg").write_text(
            '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
            '<image xlink:href="http://example.org/t.png" width="10" height="10"/></svg>')
        chapter.write_text(chapter.read_text().replace("images/poster.png", "images/poster.svg"))
    else:
        chapter.write_text(chapter.read_text() + '\n<p style="background: url(http://example.org/t.png)">x</p>\n')
    assert build(repo / "book", tmp_path / "book.epub", "--no-page-list") == 1
    err = capsys.readouterr().err
    assert f"error {code}: " in err and message in err, err
    assert re.search(rf"02-the-opposition-in-exile\.md:\d+:1: error {code}", err), err


def test_large_art_is_scaled_down_for_the_ebook(tmp_path):
    from PIL import Image

    repo = copy_book(tmp_path)
    Image.new("RGB", (4000, 3000), (90, 90, 90)).save(repo / "book" / "images" / "poster.png")
    out = tmp_path / "book.epub"
    assert build(repo / "book", out, "--no-page-list") == 0
    with Image.open(io.BytesIO(read(out)["EPUB/images/poster.png"])) as art:
        assert art.size == (2560, 1920)


def test_faces_are_subset_in_two_processes_and_come_back_in_order(tmp_path):
    """`package.SubsetFonts` cuts the faces in two forked processes while the caller goes on:
    each comes back, in the faces' order, as fontTools cuts it alone, and is kept; `covers`
    holds for a text of the same characters only."""
    import importlib

    package = importlib.import_module("bookbuild.epub.package")
    text = "Bolsheviks Against Stalinism 1928–1933 Большевики"
    files = package.font_files()
    unicodes = sorted({ord(c) for c in text} | {0x20, 0xA0})
    begun = package.SubsetFonts(text, tmp_path)
    assert begun.pending and begun.found is None  # at work while this process goes on
    assert begun.covers(text[::-1] + "  ") and not begun.covers(text + "Ж")
    faces = begun.result()
    assert list(faces) == list(files) and len(files) == 4
    assert all(faces[name] == package.subset_font(path, unicodes) for name, path in files.items())
    again = package.SubsetFonts(text, tmp_path)
    assert again.found == faces and not again.pending  # from the cache: no process started
