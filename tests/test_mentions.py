"""Names in the text: a surname alone that several index headings bear, settled by its context or reported."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from bookbuild.mentions import find_mentions, match_mentions, visible
from bookbuild.read import read_book
from bookbuild.transform import transform

MINI = Path(__file__).parent / "fixtures" / "mini-book"
IVAN, ALEKSANDR, KOSIOR = "smirnov-ivan-nikitich", "smirnov-aleksandr-petrovich", "kosior-stanislav-vikentievich"
HEADINGS = [
    {"id": IVAN, "heading": "Smirnov, Ivan Nikitich", "forms": ["Ivan Nikitich Smirnov", "I. N. Smirnov"]},
    {"id": ALEKSANDR, "heading": "Smirnov, Aleksandr Petrovich",
     "forms": ["Aleksandr Petrovich Smirnov", "A. P. Smirnov"]},
    {"id": KOSIOR, "heading": "Kosior, Stanislav Vikentievich", "forms": ["Kosior", "Stanislav Kosior"]},
    {"id": "kosior-vladislav", "heading": "Kosior, Vladislav", "forms": ["Vladislav Kosior"]},
]


def settled(text: str) -> list[tuple[str, str]]:
    return [(text[s:e], ref) for s, e, ref in find_mentions(text, HEADINGS).settled]


def ambiguous(text: str) -> list[tuple[int, str]]:
    return [(s, text[s:e]) for s, e, _ in find_mentions(text, HEADINGS).ambiguous]


def test_the_nearest_full_mention_in_the_paragraph_settles_it():
    text = "I. N. Smirnov wrote; Smirnov’s letter went round.\n\nSmirnov, said A. P. Smirnov, was wrong."
    assert settled(text) == [("Smirnov", IVAN), ("Smirnov", ALEKSANDR)]
    at = text.index("A. P.")
    assert match_mentions(text, HEADINGS) == [(0, 13, IVAN), (at, at + 13, ALEKSANDR)]   # forms alone


def test_inverted_initials_name_the_person():
    assert settled("The grouping of Eismont, Tolmachëv, Smirnov, A. P. and others") == [("Smirnov", ALEKSANDR)]


def test_the_units_title_then_its_captions_then_its_most_named():
    named_elsewhere = "\n\nA. P. Smirnov spoke.\n\nA. P. Smirnov spoke again."
    assert settled("# The Fate of I. N. Smirnov {#fate}\n\nSmirnov was arrested." + named_elsewhere)[0] == \
        ("Smirnov", IVAN)
    caption = "![I. N. Smirnov (1881–1936)](images/smirnov.jpg){#fig-smirnov}\n\nSmirnov was arrested."
    assert settled(caption + "\n\nA. P. Smirnov spoke.")[0] == ("Smirnov", IVAN)
    three_to_one = "I. N. Smirnov.\n\nI. N. Smirnov.\n\nI. N. Smirnov.\n\nA. P. Smirnov.\n\nSmirnov left."
    assert settled(three_to_one) == [("Smirnov", IVAN)]
    two_to_one = "I. N. Smirnov.\n\nI. N. Smirnov.\n\nA. P. Smirnov.\n\nSmirnov left."
    assert settled(two_to_one) == [] and ambiguous(two_to_one) == [(two_to_one.rindex("Smirnov"), "Smirnov")]


def test_what_nothing_settles_is_reported_and_what_is_no_mention_is_not():
    assert ambiguous("Smirnov left.") == [(0, "Smirnov")]
    assert ambiguous("See [Smirnov](#bio-smirnov).\n\n[^1]: Smirnov, in a note.\n\n## Smirnov\n") == []
    # A surname that one heading has as a form is that heading's, as before.
    assert ambiguous("Kosior spoke.") == [] and match_mentions("Kosior spoke.", HEADINGS) == [(0, 6, KOSIOR)]


def test_the_read_stage_marks_what_is_settled_and_warns_of_the_rest(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(MINI, repo)
    index_path = repo / "book" / "index.yaml"
    index = yaml.safe_load(index_path.read_text(encoding="utf-8"))
    next(h for h in index if h["id"] == ALEKSANDR)["forms"] = ["A. P. Smirnov"]
    index_path.write_text(yaml.safe_dump(index, allow_unicode=True), encoding="utf-8")
    unit = repo / "book" / "text" / "02-the-opposition-in-exile.md"
    before = unit.read_text(encoding="utf-8")
    unit.write_text(before + "\nIvan Nikitich Smirnov wrote. Smirnov’s letter went round.\n\n"
                    "A. P. Smirnov stayed in Moscow.\n\nSmirnov answered nobody.\n", encoding="utf-8")
    book = read_book(repo / "book", tmp_path / "cache")
    lone_line = before.count("\n") + 6
    assert [(Path(p.path).name, p.line, p.col) for p in book.warnings if p.code == "N006"] == \
        [("02-the-opposition-in-exile.md", lone_line, 1)]
    html = book.unit("the-opposition-in-exile").html
    assert html.count(f'data-ref="{IVAN}"') == 1
    transform(book)
    assert sum(m.heading == IVAN and m.unit == "the-opposition-in-exile" for m in book.mentions) == 2


# The surnames the name index missed when the text named their bearers by surname alone.
EIGHT = ("Alliluyeva", "Riutin", "Kosior", "Slepkov", "Maretsky", "Ivanov", "Smirnov", "Yakovlev")


@pytest.mark.integration
def test_every_surname_alone_in_the_real_book_is_indexed_or_reported():
    """Each of the eight surnames, wherever the index may count it (found by a plain search,
    not by the matcher), is in a mention or reported (N006): no silent omission."""
    root = Path(__file__).resolve().parent.parent / "book"
    config = yaml.safe_load((root / "book.yaml").read_text(encoding="utf-8"))
    index = yaml.safe_load((root / "index.yaml").read_text(encoding="utf-8"))
    silent, seen = [], set()
    for entry in config["contents"]:
        if not entry["file"].startswith("text/"):
            continue
        text = (root / entry["file"]).read_text(encoding="utf-8")
        found = find_mentions(text, index)
        spans = [(s, e) for s, e, _ in found.found + found.settled + found.ambiguous]
        view = visible(text)
        for m in re.finditer(rf"(?<![\w’'-])(?:{'|'.join(EIGHT)})(?!\w)", view.text):
            if any(a <= m.start() < b for a, b in view.links):
                continue                            # a link's text: a cross-reference, not a mention
            seen.add(m.group())
            if not any(s <= m.start() < e for s, e in spans):
                silent.append(f"{entry['file']}:{text.count(chr(10), 0, m.start()) + 1}: {m.group()}")
    assert seen == set(EIGHT) and silent == []
