"""calibre's ebook-convert to AZW3 and back: no warning, and notes, links, page breaks and Cyrillic kept."""
from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import pytest

from bookbuild import kindle
from bookbuild.cli import main
from bookbuild.read import read_book

FIXTURE = Path(__file__).parent / "fixtures" / "mini-book"
REAL_BOOK = Path(__file__).parent.parent / "book"

pytestmark = pytest.mark.skipif(not shutil.which("calibre-debug"),
                                reason=f"calibre is not installed: {kindle.CALIBRE_INSTALL}")


def epub(book: Path, out: Path) -> Path:
    assert main(["-q", "epub", "--book", str(book), "-o", str(out)]) == 0
    return out


def notes_in(book: Path, tmp: Path) -> int:
    return sum(u.notes_count for u in read_book(book, tmp / "cache").units)


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kindle")
    book = epub(FIXTURE / "book", tmp / "mini.epub")
    return book, kindle.run_kindle_check(book, tmp / "kindle"), tmp


def test_the_fixture_book_converts_without_a_warning_and_keeps_what_readers_follow(round_trip):
    book, report, tmp = round_trip
    assert report.messages == [] and sum(report.counts.values()) == 0, report.messages
    notes = notes_in(FIXTURE / "book", tmp)
    assert report.kept["total"]["notes"] == report.kept["links"]["notes"] == notes
    assert report.kept["links"]["backlinks"] == notes
    assert report.kept["links"]["index"] == report.kept["total"]["index"] > 0
    assert report.kept["links"]["biographies"] == report.kept["total"]["biographies"] > 0
    cyrillic = len(kindle.CYRILLIC.findall(" ".join(_texts(book))))
    assert report.kept["cyrillic"] == (cyrillic, cyrillic) and cyrillic > 0
    azw3 = tmp / "kindle" / "mini.azw3"
    assert azw3.read_bytes()[60:68] == b"BOOKMOBI"  # a Kindle book (PalmDB type and creator)


def _texts(book: Path) -> list[str]:
    with zipfile.ZipFile(book) as z:
        return [re.sub(r"<[^>]+>", " ", z.read(n).decode()) for n in z.namelist()
                if n.endswith(".xhtml") and not n.endswith("nav.xhtml")]


def test_a_lost_note_a_changed_word_and_a_lost_page_are_reported(round_trip):
    """The comparison on a round trip damaged on purpose: a note's target id dropped, a
    Cyrillic word changed, a page break's anchor gone."""
    book, _, tmp = round_trip
    back = tmp / "kindle" / "mini.roundtrip.epub"
    damaged = tmp / "damaged.epub"
    before = kindle.holdings(book)
    word = before.cyrillic.most_common(1)[0][0]
    note = next(l for l in before.links if l.kind == "notes")
    changed = False
    with zipfile.ZipFile(back) as src, zipfile.ZipFile(damaged, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith(".html"):
                text = data.decode()
                text = text.replace(f'id="{note.target}"', 'id="gone"')
                if word in text and not changed:
                    text, changed = text.replace(word, word[::-1] + "ъ", 1), True
                text = re.sub(r'id="(page-[^"]+)"', lambda m: 'id="moved"' if m.group(1) == "page-1" else m.group(0), text)
                data = text.encode()
            dst.writestr(item, data)
    report = kindle.compare(before, kindle.holdings(damaged), [], [], "calibre")
    assert report.counts["link lost"] >= 1 and report.counts["Cyrillic word lost"] == 1
    assert any(f"→ #{note.target}," in m and "notes" in m for m in report.messages), report.messages
    assert any(repr(word) in m for m in report.messages)
    if "page-1" in before.pages:
        assert report.counts["page break lost"] == 1


def test_calibre_warnings_are_caught(tmp_path):
    """The driver marks what calibre logs as a warning (here: a page without <head>, no language)."""
    page = tmp_path / "bare.html"
    page.write_text("<html><body><p>Один abзац.</p></body></html>", encoding="utf-8")
    warnings = kindle.convert(shutil.which("calibre-debug"), page, tmp_path / "bare.azw3")
    assert any("missing <head/>" in w for w in warnings) and all(w.startswith(kindle.MARKS) for w in warnings)


@pytest.mark.integration
def test_the_real_book_survives_the_kindle_round_trip(tmp_path):
    report = kindle.run_kindle_check(epub(REAL_BOOK, tmp_path / "book.epub"), tmp_path / "kindle")
    assert report.messages == [] and sum(report.counts.values()) == 0, report.messages[:20]
    notes = notes_in(REAL_BOOK, tmp_path)
    assert report.kept["links"]["notes"] == report.kept["links"]["backlinks"] == notes
    assert report.kept["links"] == report.kept["total"]
    assert report.kept["cyrillic"][0] == report.kept["cyrillic"][1] > 0
    assert report.kept["pages"][0] == report.kept["pages"][1] > 0


def test_without_calibre_the_check_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(kindle.ValidatorMissing) as missing:
        kindle.run_kindle_check(tmp_path / "book.epub", tmp_path / "kindle")
    assert f"`{kindle.CALIBRE_INSTALL}`" in str(missing.value)
