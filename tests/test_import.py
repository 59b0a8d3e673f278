"""The importer on a small received manuscript with every quirk, and on the real one."""
from __future__ import annotations

import filecmp
import json
import re
from pathlib import Path

import pytest
import yaml

from bookbuild.importer.noloss import check_sources
from bookbuild.cli import main
from bookbuild.importer.command import import_manuscript

FIXTURE = Path(__file__).parent / "fixtures" / "received" / "mini.received.md"
REAL = Path(__file__).parent.parent / "book" / "received" / "bolsheviks-against-stalinism.received.md"


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    out = tmp_path_factory.mktemp("mini") / "book"
    report = import_manuscript(FIXTURE, out)
    return out, report


def chapter(out: Path, number: int) -> str:
    return next((out / "text").glob(f"{number:02d}-*.md")).read_text(encoding="utf-8")


def test_units_one_file_each_at_one_heading_level(mini):
    out, report = mini
    book = yaml.safe_load((out / "book.yaml").read_text(encoding="utf-8"))
    roles = [c["role"] for c in book["contents"]]
    assert roles == ["about-the-author", "foreword", "chapter", "chapter", "conclusion",
                     "glossary", "congresses", "biographies", "index"]
    for entry in book["contents"][:5]:
        text = (out / entry["file"]).read_text(encoding="utf-8")
        headings = re.findall(r"^#+ .*", text, re.M)
        assert len(headings) == 1 and headings[0].startswith("# "), entry["file"]
    assert report["counts"]["chapters"] == 2


def test_every_note_format_becomes_a_linked_pandoc_note(mini):
    out, _ = mini
    one = chapter(out, 1)
    assert re.findall(r"\[\^(\d+)\](?!:)", one) == ["1", "2", "3", "4"]
    assert re.findall(r"^\[\^(\d+)\]:", one, re.M) == ["1", "2", "3", "4"]
    two = chapter(out, 2)
    assert re.findall(r"^\[\^(\d+)\]:", two, re.M) == ["1", "2"]
    assert "<sup>" not in one + two


def test_reference_numbered_twice_is_reported_with_its_line(mini):
    _, report = mini
    dup = [p for p in report["problems"] if p["code"] == "I005"]
    assert [(p["line"], "note 4" in p["message"]) for p in dup] == [(68, True)]
    assert any(c["kind"] == "duplicate-note-ref" and c["line"] == 68 for c in report["corrections"])


def test_split_paragraph_rejoined_around_its_caption(mini):
    out, report = mini
    one = chapter(out, 1)
    assert "split in the middle of its sentence continues here" in one
    para = one.index("split in the middle")
    assert one.index("![Viacheslav Mikhailovich Molotov (1890–1986)]") > para
    assert any(c["kind"] == "rejoined" and c["line"] == 66 for c in report["corrections"])


def test_captions_become_figures_with_ids_and_image_files(mini):
    out, report = mini
    assert "](images/viacheslav-mikhailovich-molotov.jpg){#fig-viacheslav-mikhailovich-molotov}" in chapter(out, 1)
    assert "{#fig-poster-by-deni}" in chapter(out, 2)
    assert [f["id"] for f in report["figures"]] == [
        "fig-the-russian-edition-of-vadim-rogovin", "fig-viacheslav-mikhailovich-molotov", "fig-poster-by-deni"]


def test_russian_document_is_a_block_with_caption_and_rejoined_words(mini):
    out, _ = mini
    two = chapter(out, 2)
    assert "::: {.document lang=ru}" in two
    assert "Гершевича" in two and "Герше- вича" not in two
    assert "1929" in two and "1 9 2 9" not in two
    assert "<p>" not in two and "<u>" not in two
    assert not re.search(r"^#+ Выписка", two, re.M)
    document = two[two.index("::: {.document"):]
    assert document.index("Transcript of the OGPU") < document.index("The chapter ends")


def test_typography_and_misplaced_apostrophe(mini):
    out, _ = mini
    one = chapter(out, 1)
    assert "Biulleten’ oppozitsii" in one
    assert "1928–1929" in one
    foreword = (out / "text" / "00-foreword.md").read_text(encoding="utf-8")
    assert "“glasnost”" in foreword


def test_front_pages_become_book_facts(mini):
    out, report = mini
    book = yaml.safe_load((out / "book.yaml").read_text(encoding="utf-8"))
    assert book["title"] == "Test Book 1928–1933"
    assert book["subtitle"] == "Leon Trotsky and the Left Opposition"
    # The mini manuscript never states its volume: none is made up, and the report says so.
    assert book["series"] == {"title": "Was There an Alternative?"}
    assert any(p["code"] == "I007" and "series volume" in p["message"] for p in report["problems"])
    assert book["publisher"]["city"] == "Oak Park, Michigan"
    assert book["editions"]["paperback"]["isbn"] == "9781893638815"
    assert book["editions"]["cloth"]["isbn"] == "9781893638822"
    assert book["lccn"] == {"print": "2019022149", "ebook": "2019022406"}
    assert book["original"]["title"] == "Vlast’ i oppozitsii"
    assert any(c["kind"] == "spelling" for c in report["corrections"])


def test_back_matter_rejoined_and_structured(mini):
    out, _ = mini
    glossary = yaml.safe_load((out / "glossary.yaml").read_text(encoding="utf-8"))
    gosplan = next(t for t in glossary if t["term"] == "Gosplan")
    assert gosplan["definition"].endswith("founded in 1921.")
    people = yaml.safe_load((out / "biographies.yaml").read_text(encoding="utf-8"))["people"]
    assert [p["id"] for p in people] == ["bukharin-nikolai-ivanovich", "molotov-viacheslav-mikhailovich"]
    assert "Moscow University" in people[0]["text"]
    assert people[1]["born_os"] == "25 February 1890"


def test_no_loss_check_passes_on_import_and_catches_a_loss(mini, tmp_path):
    out, _ = mini
    assert check_sources(out).errors == []
    copy = tmp_path / "book"
    import shutil
    shutil.copytree(out, copy)
    path = next((copy / "text").glob("01-*.md"))
    text = path.read_text(encoding="utf-8")
    text = text.replace("Bukharin identified two problems.", "").replace("[^2]: *Pravda*", "[^9]: *Pravda*")
    path.write_text(text, encoding="utf-8")
    found = {(p.code, p.line) for p in check_sources(copy).errors}
    assert ("S001", 59) in found
    assert any(code == "S002" for code, _ in found) and any(code == "S003" for code, _ in found)


def test_import_is_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    import_manuscript(FIXTURE, a)
    import_manuscript(FIXTURE, b)
    compared = filecmp.dircmp(a, b)
    assert not compared.diff_files and not compared.left_only and not compared.right_only
    for sub in ("text", "received"):
        assert not filecmp.dircmp(a / sub, b / sub).diff_files


def test_unreadable_manuscript_is_a_clear_error(tmp_path, capsys):
    code = main(["-q", "import", str(tmp_path / "missing.md"), "--out", str(tmp_path / "book"),
                 "--report", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 1 and "error I001" in err and "missing.md" in err and "Traceback" not in err
    assert not (tmp_path / "book").exists()


@pytest.mark.integration
def test_real_manuscript_counts(tmp_path):
    report = import_manuscript(REAL, tmp_path / "book")
    counts = report["counts"]
    assert counts["chapters"] == 50
    assert counts["biographies"] == 93  # the manuscript has 93 entries (88 plus five set as a list)
    assert 880 <= counts["notes"] <= 920
    assert 130 <= counts["figures"] <= 145
    assert counts["congress_dates"] == 24
    per_chapter = {k: v for k, v in counts["notes_per_unit"].items() if re.match(r"text/\d\d-", k)}
    expected = json.loads((Path(__file__).parent / "fixtures" / "received" / "notes-per-chapter.json").read_text())
    assert list(per_chapter.values())[:50] == expected
    problems = {(p["code"], p["line"]) for p in report["problems"]}
    assert ("I005", 909) in problems          # chapter 6: note 22 twice
    assert ("I003", 4214) in problems         # chapter 30: note 20 has no text
    kinds = {(c["kind"], c["line"]) for c in report["corrections"]}
    assert ("duplicate-removed", 2887) in kinds  # chapter 18: a paragraph printed twice
    assert ("note-number", 3280) in kinds        # chapter 21: note 9 printed as 2
    assert check_sources(tmp_path / "book").errors == []


@pytest.mark.integration
def test_committed_book_passes_the_no_loss_check():
    assert check_sources(REAL.parent.parent).errors == []
