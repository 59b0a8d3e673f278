"""The EPUB in a reading engine (epub.js in headless Chromium): wide tables, night-theme contrast, line pitch."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import realbook
from bookbuild.epub import markup as epubmarkup
from bookbuild.cli import main
from bookbuild.readingcheck import run_reading_check

FIXTURE = Path(__file__).parent / "fixtures" / "mini-book"
REAL_BOOK = realbook.BOOK
# A ration card of twenty coupons, as the famine chapter has of fourteen.
TABLE = "\n\n" + "| " + " | ".join(f"Coupon {n}" for n in range(1, 21)) + " |\n" \
        + "|" + "---|" * 20 + "\n" + "| " + " | ".join("Rye bread" for _ in range(20)) + " |\n\n"
LINK = '\n\nSee <a href="#the-turn" style="color: #0000ee">the turn</a> for what followed.\n\n'


def planted(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE, repo, ignore=shutil.ignore_patterns("build"))
    chapter = repo / "book" / "text" / "02-the-opposition-in-exile.md"
    text = chapter.read_text()
    cut = text.index("\n\n", text.index("# ")) + 2
    chapter.write_text(text[:cut] + TABLE + LINK + text[cut:])
    return repo / "book"


def epub(book: Path, out: Path) -> Path:
    assert main(["-q", "epub", "--book", str(book), "-o", str(out), "--no-page-list"]) == 0
    return out


def test_a_wide_table_is_set_to_fit_and_the_check_sees_one_that_is_not(tmp_path, monkeypatch):
    book = planted(tmp_path)
    fitted = run_reading_check(epub(book, tmp_path / "fitted.epub"), tmp_path / "shots")
    assert fitted.counts["wide"] == 0, fitted.messages
    # The same table left as pandoc set it: cut off and printed over on a phone.
    monkeypatch.setattr(epubmarkup, "NARROW_COLUMNS", 100)
    raw = run_reading_check(epub(book, tmp_path / "raw.epub"), tmp_path / "shots-raw")
    wide = [m for m in raw.messages if "wider than the screen" in m]
    assert wide and all(m.startswith("EPUB/text/02-the-opposition-in-exile.xhtml: ") for m in wide), raw.messages
    assert any(": phone-night: " in m for m in wide)
    assert any("table" in m and "Coupon 1" in m for m in wide)


def test_a_fixed_link_colour_fails_in_the_night_theme_only(tmp_path):
    report = run_reading_check(epub(planted(tmp_path), tmp_path / "book.epub"), tmp_path / "shots")
    contrast = [m for m in report.messages if "contrast" in m]
    assert contrast and all("phone-night" in m and 'a "the turn"' in m for m in contrast), report.messages
    assert report.counts["pitch"] == 0 and report.counts.get("request", 0) == 0
    shots = sorted(p.name for p in (tmp_path / "shots").iterdir())
    assert "phone-night-chapter-opening.png" in shots and "tablet-light-glossary.png" in shots


@pytest.mark.integration
def test_the_real_book_reads_on_a_phone_at_night(tmp_path):
    """At 390 px in a night theme (and 1024 px): nothing wider than the screen, no link under
    4.5:1, no body paragraph set closer than 1.3, no year range broken in a heading."""
    report = run_reading_check(epub(REAL_BOOK, tmp_path / "book.epub"), tmp_path / "shots")
    assert report.messages == [] and sum(report.counts.values()) == 0
    assert len(list((tmp_path / "shots").glob("*.png"))) >= realbook.expect("reading_screenshots", 1)
