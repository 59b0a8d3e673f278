"""Printer profiles (printers/*.yaml): each rule a printer publishes, checked on the mini-book and its release."""
from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pikepdf
import pytest

from bookbuild import cli, printers
from bookbuild.dist import barcode, cover, pdfx, preflight
from bookbuild.errors import Problems

FIXTURES = Path(__file__).parent / "fixtures"
MINI = FIXTURES / "mini-book"
PT = 72.0


def mini_copy(tmp: Path, laid_out=None, printer: str = "ingramspark") -> Path:
    """The mini-book (no release settings) with its paperback sent to `printer`; with
    `laid_out` (the session's layout, tests/conftest.py) its cache holds those parts, so
    only what a test changes is laid out again."""
    root = tmp / "repo"
    shutil.copytree(MINI, root, ignore=shutil.ignore_patterns("build", "dist"))
    if laid_out is not None:
        shutil.copytree(laid_out.parts, root / "build" / "cache" / "print")
    path = root / "book" / "book.yaml"
    edit(path, "  paperback: {format: print,", f"  paperback: {{format: print, printer: {printer},")
    return root / "book"


def pdf(book: Path, capsys) -> tuple[int, str]:
    code = cli.main(["-q", "pdf", "--book", str(book), "--cache", str(book.parent / "build" / "cache")])
    return code, capsys.readouterr().err


def edit(path: Path, old: str, new: str) -> int:
    """Replace `old` once; the line it was on."""
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))
    return text[:text.index(old)].count("\n") + 1


# --- the profiles as data ---------------------------------------------------------------------

@pytest.mark.parametrize("name", printers.names())
def test_every_profile_loads(name):
    problems = Problems()
    profile = printers.load(name, problems)
    assert problems.items == [] and profile is not None and profile.key == name
    assert profile.offers((6 * PT, 9 * PT)) and not profile.offers((6.2 * PT, 9 * PT))
    assert printers.length(profile.interior.safe) >= 0.25 * PT


def test_gutter_grows_with_the_page_count():
    kdp = printers.load("kdp", Problems())
    assert [kdp.gutter(n) / PT for n in (24, 150, 151, 500, 501, 828)] == [0.375, 0.375, 0.5, 0.625, 0.75, 0.875]


def test_a_broken_profile_is_located(tmp_path, monkeypatch):
    (tmp_path / "broken.yaml").write_text("name: Broken\ntrims: [6x9in]\ninterior: {safe: half an inch}\n"
                                          "standards: [PDF/X-1a:2003]\n")
    monkeypatch.setattr(printers, "PROFILES", tmp_path)
    problems = Problems()
    assert printers.load("broken", problems) is None
    assert [p.code for p in problems] == ["K001"] and "half an inch" in problems.items[0].message
    assert (problems.items[0].line, problems.items[0].col) == (3, len("interior: {safe: ") + 1)


# --- interiors --------------------------------------------------------------------------------

def test_the_mini_books_interior_meets_both_printers(mini_pdf, tmp_path, capsys):
    for printer in printers.names():
        book = mini_copy(tmp_path / printer, mini_pdf, printer)
        code, err = pdf(book, capsys)
        assert code == 0 and " K0" not in err, err


def test_a_heading_moved_into_the_margin_is_refused(mini_pdf, tmp_path, capsys):
    book = mini_copy(tmp_path, mini_pdf)
    edit(book / "text" / "02-the-opposition-in-exile.md", "{#the-opposition-in-exile}\n\n",
         "{#the-opposition-in-exile}\n\n## Exile {style=\"margin-left: -0.6in\"}\n\n")
    yaml_line = next(n for n, line in enumerate((book / "book.yaml").read_text().splitlines(), 1)
                     if "printer: ingramspark" in line)
    code, err = pdf(book, capsys)
    assert code == 1
    # Pandoc puts the heading's attributes on its section: the section's pages breach.
    assert re.search(rf"book\.yaml:{yaml_line}:\d+: error K004: ink within 0\.5 in of the trim on \d page\(s\) "
                     r"\(printer ingramspark: IngramSpark\): page 5: inside 0\.2\d+ in \(\"Exile", err), err


def test_a_trim_the_printer_does_not_offer_is_refused(mini_pdf, tmp_path, capsys):
    book = mini_copy(tmp_path, mini_pdf, "kdp")
    line = edit(book / "book.yaml", "binding: paperback, trim: 6x9in", "binding: paperback, trim: 6.3x9in")
    code, err = pdf(book, capsys)
    assert code == 1
    assert re.search(rf"book\.yaml:{line}:\d+: error K002: trim 6\.3 × 9 in is not one Amazon KDP offers "
                     r"\(printer kdp: Amazon KDP\)", err), err


def test_an_unknown_printer_is_named(mini_pdf, tmp_path, capsys):
    book = mini_copy(tmp_path, mini_pdf, "lulu")
    code, err = pdf(book, capsys)
    assert code == 1 and 'error K001: printer "lulu": no printers/lulu.yaml (profiles: ingramspark, kdp)' in err


def test_ink_box_finds_type_near_the_edge():
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=432, height=648)
    assert printers.ink_box(page) is None
    page.insert_text((20, 300), "Edge", fontsize=12)
    x0, y0, x1, y1 = printers.ink_box(page)
    assert 0.25 < x0 < 0.32 and 4.1 < y1 < 4.3


def test_ink_cache_measures_a_page_once_and_only_the_same_page(tmp_path, monkeypatch):
    """printers.InkCache: a page seen before is not rendered again; a page whose content
    changed is; an entry edited in the cache file (its seal no longer matches) is measured
    again rather than believed."""
    import json

    import pymupdf

    def document(word: str):
        doc = pymupdf.open()
        for x in (20, 200):
            doc.new_page(width=432, height=648).insert_text((x, 300), word, fontsize=12)
        return doc

    rendered = []
    real = printers.ink_box
    monkeypatch.setattr(printers, "ink_box", lambda page: rendered.append(page.number) or real(page))
    path = tmp_path / "ink.json"

    def measure(doc) -> list:
        cache = printers.InkCache(path)
        boxes = [cache.ink_box(page) for page in doc]
        cache.save()
        return boxes

    first = measure(document("Edge"))
    assert rendered == [0, 1] and 0.25 < first[0][0] < 0.32
    rendered.clear()
    assert measure(document("Edge")) == first and rendered == []  # the same pages: from the cache
    changed = measure(document("Edges"))
    assert rendered == [0, 1] and changed[0][2] > first[0][2]  # other content: measured
    data = json.loads(path.read_text())
    key = next(iter(data))
    data[key][0] = [3.0, 3.0, 3.1, 3.1]  # an edited entry, its seal unchanged
    path.write_text(json.dumps(data))
    rendered.clear()
    assert measure(document("Edges")) == changed and len(rendered) == 1


def test_ink_boxes_of_many_pages_are_measured_on_two_cores_alike(monkeypatch, tmp_path):
    """printers.ink_boxes: half the pages in a forked copy, half here, the same boxes as one by
    one; a copy that fails leaves its pages to this process, which measures them itself."""
    import os

    import pymupdf

    doc = pymupdf.open()
    for n in range(printers.FORK_PAGES + 4):
        page = doc.new_page(width=432, height=648)
        if n % 5:
            page.insert_text((20 + 3 * n, 100 + 4 * n), f"Page {n}", fontsize=12)
    data = doc.tobytes()
    pages = list(range(len(doc)))
    alike = {i: printers.ink_box(doc[i]) for i in pages}
    parent = os.getpid()
    measured = []
    real = printers.ink_box
    monkeypatch.setattr(printers, "ink_box", lambda page: os.getpid() == parent and measured.append(page.number)
                        or real(page))
    assert printers.ink_boxes(data, pages) == alike
    assert 0 < len(measured) < len(pages)  # the copy measured the rest
    assert alike[0] is None and alike[1] is not None

    # Through the cache: measured on two cores, kept, and found there by the next build.
    path = tmp_path / "ink.json"
    cache = printers.InkCache(path)
    with pymupdf.open(stream=data, filetype="pdf") as opened:
        cache.measure(opened, data)
        assert [cache.ink_box(page) for page in opened] == [alike[i] for i in pages]
    cache.save()
    again = printers.InkCache(path)
    with pymupdf.open(stream=data, filetype="pdf") as opened:
        assert all(again._key(page) in again.entries for page in opened)

    # The next build keys the pages on two cores too, alike, and renders none of them.
    with pymupdf.open(stream=data, filetype="pdf") as opened:
        keys = [printers.InkCache(None)._key(page) for page in opened]
    keyed = []
    real_key = printers.InkCache._key
    monkeypatch.setattr(printers.InkCache, "_key", lambda self, page: os.getpid() == parent
                        and keyed.append(page.number) or real_key(self, page))
    measured.clear()
    with pymupdf.open(stream=data, filetype="pdf") as opened:
        next_build = printers.InkCache(path)
        next_build.measure(opened, data)
        assert [next_build.keys[id(opened), i] for i in pages] == keys
        assert [next_build.ink_box(page) for page in opened] == [alike[i] for i in pages]
    assert not measured and 0 < len(set(keyed)) < len(pages)
    monkeypatch.setattr(printers.InkCache, "_keys_of", lambda *args: os._exit(3))  # the copy fails
    with pymupdf.open(stream=data, filetype="pdf") as opened:
        assert printers.InkCache(path)._keys(opened, data) == keys

    measured.clear()
    monkeypatch.setattr(printers, "_render", lambda *args: os._exit(3))  # the copy fails
    assert printers.ink_boxes(data, pages) == alike and sorted(measured) == pages


def test_pymupdf_is_loaded_without_its_layout_analysis():
    """bookbuild/mupdf.py: PyMuPDF without `pymupdf.layout` and `pymupdf4llm`, which bring
    numpy and onnxruntime (0.3–2 s of every build that checks a PDF), and it still renders."""
    import subprocess
    import sys

    code = ("import sys; from bookbuild import mupdf; m = mupdf.load(); "
            "d = m.open(); d.new_page().get_pixmap(); "
            "print(sorted(n for n in ('numpy', 'onnxruntime', 'pymupdf4llm') if sys.modules.get(n)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "[]", out


# --- PDF/X fonts ------------------------------------------------------------------------------

def test_pressing_leaves_no_opentype_program_and_one_tag_per_program(tmp_path, capsys):
    """Two parts subset the same face on their own under one tag (as the book's parts are);
    pressed, each program is bare CFF under a tag of its own."""
    from weasyprint import HTML

    parts = [HTML(string=f'<p style="font-family: \'EB Garamond 12\'">{text}</p>').write_pdf()
             for text in ("Grain and exile", "Opposition")]
    merged = pikepdf.new()
    for data in parts:
        merged.pages.extend(pikepdf.open(io.BytesIO(data)).pages)
    buffer = io.BytesIO()
    merged.save(buffer)
    before = pdfx.font_violations(pikepdf.open(io.BytesIO(buffer.getvalue())))
    assert any("OpenType font program" in v for v in before)
    assert any(re.match(r"subset tag [A-Z]{6} names 2 different font programs", v) for v in before)
    from datetime import datetime, timezone
    pressed, violations = pdfx.press(buffer.getvalue(), "Test", datetime(2019, 6, 1, tzinfo=timezone.utc))
    assert violations == [] and preflight.pdf_problems(pressed) == []
    with pikepdf.open(io.BytesIO(pressed)) as out:
        descriptors = [o for o in out.objects if isinstance(o, pikepdf.Dictionary) and o.get("/Type") == "/FontDescriptor"]
        assert len(descriptors) == 2
        assert {str(d.FontFile3.Subtype) for d in descriptors} == {"/CIDFontType0C"}
        assert len({str(d.FontName)[:7] for d in descriptors}) == 2


# --- covers -----------------------------------------------------------------------------------

def test_ean5_add_on_follows_the_standard():
    # Parity of 52495: 3 × (5 + 4 + 5) + 9 × (2 + 9) = 141 → 1 → GLGLL.
    modules = barcode.addon_modules("52495")
    assert modules.startswith("1011") and len(modules) == 47
    assert modules[4:11] == barcode.G_CODES[5] and modules[11:13] == "01" and modules[13:20] == barcode.L_CODES[2]
    assert barcode.price_addon("") == "90000" and barcode.price_addon("24.95 USD") == "52495"
    with pytest.raises(ValueError):
        barcode.price_addon("24.95 EUR")


def test_cover_ink_over_the_limit_is_refused(tmp_path, monkeypatch):
    """The ground as it was (15/100/85/45: 245 %) over IngramSpark's 240 %."""
    from datetime import datetime

    from bookbuild.read import read_book

    book = read_book(mini_copy(tmp_path), tmp_path / "cache")
    edition = book.config.editions["paperback"]
    edition.isbn = "9781893638815"
    g = cover.geometry(edition, 100)
    profile = printers.load("ingramspark", Problems())
    place = printers.Place(book.config.where, "paperback")
    for ground, verdict in (("device-cmyk(0.15 1 0.85 0.45)", ["K007"]), (cover.PRINT_COLORS["ground"], [])):
        monkeypatch.setitem(cover.PRINT_COLORS, "ground", ground)
        data, _ = cover.render_pdf(cover.render_html(book, edition, g, "", datetime(2019, 6, 1)), None)
        problems = Problems()
        total = printers.check_cover_ink(data, profile, problems, place, "cover")
        assert [p.code for p in problems] == verdict, total
        assert all("book.yaml" in p.path and "240 % IngramSpark allows" in p.message for p in problems)


def test_a_standard_the_printer_refuses_and_a_small_barcode_area_are_named(tmp_path):
    from bookbuild.read import read_book

    book = read_book(mini_copy(tmp_path, None, "kdp"), tmp_path / "cache")
    place = printers.Place(book.config.where, "paperback")
    profile = printers.load("kdp", Problems())
    problems = Problems()
    printers.check_standard(pdfx.VERSION, profile, problems, place)
    assert problems.items == []
    printers.check_standard("PDF/X-5g", profile, problems, place)
    printers.check_barcode_area((1.5 * PT, 1.0 * PT), profile, problems, place, "cover")
    printers.check_barcode_area((2.3 * PT, 1.25 * PT), profile, problems, place, "cover")
    assert [p.code for p in problems] == ["K006", "K008"]
    assert "PDF/X-5g is not among the standards Amazon KDP accepts" in problems.items[0].message
    assert "barcode area 1.50 × 1.00 in, Amazon KDP asks 2 × 1.2 in" in problems.items[1].message
    assert all(p.path.endswith("book.yaml") and p.line > 0 for p in problems)
