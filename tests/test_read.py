"""The read and transform stages on the mini-book, and the problems they report."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bookbuild.errors import BuildError
from bookbuild.read import read_book
from bookbuild.transform import transform

FIXTURE = Path(__file__).parent / "fixtures" / "mini-book"


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    return read_book(FIXTURE / "book", tmp_path_factory.mktemp("cache"))


@pytest.fixture
def copy(tmp_path):
    """A writable copy of the mini-book repository."""
    shutil.copytree(FIXTURE, tmp_path / "repo")
    return tmp_path / "repo"


def problems_of(root: Path, cache: Path) -> list[str]:
    with pytest.raises(BuildError) as caught:
        read_book(root, cache)
    return [str(p) for p in caught.value.problems]


def test_units_in_reading_order(book):
    assert [(u.id, u.role, u.number) for u in book.units] == [
        ("foreword", "foreword", None),
        ("the-grain-crisis", "chapter", 1),
        ("the-opposition-in-exile", "chapter", 2),
        ("the-turn", "chapter", 3),
    ]
    assert [u.title for u in book.units][1] == "The Grain Crisis of 1928"
    assert [u.notes_count for u in book.units] == [1, 5, 2, 2]


def test_notes_restart_in_every_unit_with_unique_ids(book):
    for unit in book.units:
        assert [n.number for n in unit.notes] == list(range(1, unit.notes_count + 1))
        for note in unit.notes:
            assert note.id.startswith(f"{unit.id}-fn")
            assert f'id="{note.ref_ids[0]}"' in unit.html
    note = book.unit("the-grain-crisis").notes[0]
    assert note.line == 21 and "<em>Pravda</em>" in note.html
    assert "footnote-back" not in note.html


def test_only_absent_art_is_reported(book):
    assert [str(w) for w in book.warnings] == [
        "tests/fixtures/mini-book/book/text/01-the-grain-crisis.md:9:1: warning F001: "
        "art for images/molotov.jpg is absent (each edition's missing_art says how it is set)"]
    figures = {f.id: f for u in book.units for f in u.figures}
    assert not figures["fig-molotov"].present and figures["fig-molotov"].line == 9
    assert figures["fig-poster"].present and figures["fig-poster"].path.name == "poster.png"
    assert 'class="absent"' in book.unit("the-grain-crisis").html


def test_russian_is_marked(book):
    assert '<span lang="ru">гласность</span>' in book.unit("foreword").html
    exile = book.unit("the-opposition-in-exile").html
    assert '<div class="document" lang="ru">' in exile and '<div class="caption">' in exile


def test_data_files(book):
    assert [t.term for t in book.glossary] == ["CC", "Gosplan", "NEP", "OGPU", "STO"]
    assert book.glossary[1].original == "Госплан" and book.glossary[1].see_also == ["STO"]
    assert [g.group for g in book.congresses] == ["Party Congresses", "Party Conferences"]
    molotov = next(p for p in book.people if p.surname == "Molotov")
    assert molotov.alias == "Skriabin" and "<p>" in molotov.text_html
    skriabin = next(h for h in book.index if h.id == "skriabin")
    assert skriabin.see == ["molotov-viacheslav-mikhailovich"]
    # Catalog data keeps its double hyphens; Pandoc's smart punctuation stays off there.
    assert "Politics and government--1917-1936" in book.inline_html["cip.4"]


def test_second_read_comes_from_the_cache(tmp_path):
    read_book(FIXTURE / "book", tmp_path)
    cached = sorted(p.name for p in (tmp_path / "read").iterdir())
    # Pandoc's HTML of the four units, the data texts and the catalog texts; each unit's surnames.
    assert len([n for n in cached if not n.startswith("surnames-")]) == 6
    assert len([n for n in cached if n.startswith("surnames-")]) == 4
    again = read_book(FIXTURE / "book", tmp_path)
    assert sorted(p.name for p in (tmp_path / "read").iterdir()) == cached
    assert again.unit("the-turn").notes_count == 2


def test_index_mentions_are_marked(tmp_path):
    book = transform(read_book(FIXTURE / "book", tmp_path))
    by_heading: dict[str, int] = {}
    for m in book.mentions:
        by_heading[m.heading] = by_heading.get(m.heading, 0) + 1
    assert by_heading["smirnov-ivan-nikitich"] == 2  # one by its full form, one marked by hand
    assert by_heading["smirnov-aleksandr-petrovich"] == 1
    assert "skriabin" not in by_heading
    turn = book.unit("the-turn").html
    assert '<span class="noix">Smirnov</span>' in turn
    assert all(f'id="{m.anchor}"' in book.unit(m.unit).html for m in book.mentions)
    # Headings and notes are not indexed.
    assert 'data-heading' not in turn.split("<h1>")[1].split("</h1>")[0]


def test_note_problems_point_at_the_source(copy, tmp_path):
    chapter = copy / "book" / "text" / "03-the-turn.md"
    text = chapter.read_text()
    text = text.replace("ordered.[^1]", "ordered.[^1] Again.[^1] Missing.[^7]")
    text += "[^9]: Never referenced.\n"
    chapter.write_text(text)
    problems = problems_of(copy / "book", tmp_path / "cache")
    where = "book/text/03-the-turn.md"
    assert [p.split(where)[1] for p in problems if where in p] == [
        ":3:425: warning N004: note [^1] is referenced again (first on line 3); "
        "both places print the same number",
        ":3:438: error N003: note [^7] is referenced but never defined",
        ":11:1: error N002: note [^9] is defined but never referenced"]


def test_a_note_referenced_twice_prints_one_number(copy, tmp_path):
    chapter = copy / "book" / "text" / "03-the-turn.md"
    chapter.write_text(chapter.read_text().replace("ordered.[^1]", "ordered.[^1] Once more.[^1]"))
    book = read_book(copy / "book", tmp_path)
    unit = book.unit("the-turn")
    assert unit.notes_count == 2
    assert len(unit.notes[0].ref_ids) == 2
    assert unit.html.count('href="#the-turn-fn1"') == 2
    assert unit.html.count("<sup>1</sup>") == 2
    assert [str(w).split(": ", 1)[1] for w in book.warnings if w.code == "N004"] == [
        "warning N004: note [^1] is referenced again (first on line 3); both places print the same number"]


def test_all_problems_are_reported_at_once(copy, tmp_path):
    (copy / "book" / "images" / "molotov.jpg").write_text("not a picture")
    exile = copy / "book" / "text" / "02-the-opposition-in-exile.md"
    exile.write_text(exile.read_text().replace("(#the-turn)", "(#the-turns)")
                     .replace("images/poster.png", "../../secret.png"))
    turn = copy / "book" / "text" / "03-the-turn.md"
    turn.write_text(turn.read_text().replace("{#the-turn}", "{#foreword}"))
    problems = problems_of(copy / "book", tmp_path / "cache")
    codes = sorted(p.split(": ")[1].split()[1] for p in problems)
    assert codes == ["F002", "F003", "R004", "R005"], problems
    assert any("01-the-grain-crisis.md:9:1: error F002: images/molotov.jpg is not an image" in p
               for p in problems)


@pytest.mark.parametrize("before, after, message", [
    ("trim: 6x9in, bleed: 0.125in, notes: endnotes}", "trim: 0x9in, bleed: 0.125in, notes: endnotes}",
     'book.yaml:29:79: error C004: editions.paperback.trim: "0x9in" is not a possible page size'),
    ("trim: 6x9in, bleed: 0.125in, notes: endnotes}", "trim: 6 by 9, bleed: 0.125in, notes: endnotes}",
     'book.yaml:29:79: error C004: editions.paperback.trim: expected WIDTHxHEIGHT in in/mm/cm/pt, got "6 by 9"'),
    ("notes: endnotes}", "notes: endnotes, colour: red}",
     "book.yaml:29:119: error C002: editions.paperback.colour: unknown setting"),
    ('isbn: "9781893638815"', 'isbn: "9781893638816"',
     'book.yaml:29:36: error C004: editions.paperback.isbn: "9781893638816" is not a valid ISBN-13'),
    ("year: 2019", "year: twenty", 'book.yaml:9:7: error C003: year: expected a whole number, got "twenty"'),
])
def test_configuration_problems_name_the_setting(copy, tmp_path, before, after, message):
    config = copy / "book" / "book.yaml"
    text = config.read_text()
    assert before in text
    config.write_text(text.replace(before, after, 1))
    problems = problems_of(copy / "book", tmp_path / "cache")
    assert any(message in p for p in problems), problems


def test_an_initial_keeps_to_the_name_after_it(tmp_path):
    """No line may end with "I." before "N. Smirnov": a no-break space follows an initial, also
    across a mention's span; sentence ends and abbreviations inside words keep their spaces."""
    from bookbuild.transform import keep_initials_together

    book = read_book(FIXTURE / "book", tmp_path)
    unit = book.units[0]
    unit.html = ('<p>I. N. <span class="ix">Smirnov</span> and Iu. Larin, in St. Petersburg; '
                 'the U.S. press; it ended. Then И. Н. Смирнов <a href="#x">wrote</a>.</p>')
    unit.notes[0].html = "<p>L. D. Trotsky, <em>Moia zhizn’</em>.</p>"
    keep_initials_together(book)
    assert unit.html == ('<p>I.\u00a0N.\u00a0<span class="ix">Smirnov</span> and Iu.\u00a0Larin, '
                         'in St.\u00a0Petersburg; the U.S. press; it ended. Then И.\u00a0Н.\u00a0Смирнов '
                         '<a href="#x">wrote</a>.</p>')
    assert unit.notes[0].html == "<p>L.\u00a0D.\u00a0Trotsky, <em>Moia zhizn’</em>.</p>"


def test_index_matches_are_cached_per_text_and_a_one_unit_transform_marks_that_unit(tmp_path):
    whole = transform(read_book(FIXTURE / "book", tmp_path))
    cached = sorted((tmp_path / "read").glob("mentions-*.json"))
    assert len(cached) == len([u for u in whole.units if u.html])
    again = transform(read_book(FIXTURE / "book", tmp_path))
    assert [(m.heading, m.anchor) for m in again.mentions] == [(m.heading, m.anchor) for m in whole.mentions]
    assert sorted((tmp_path / "read").glob("mentions-*.json")) == cached
    one = transform(read_book(FIXTURE / "book", tmp_path), only={"the-turn"})
    assert {m.unit for m in one.mentions} == {"the-turn"}
    assert 'class="ix"' not in one.unit("the-grain-crisis").html
