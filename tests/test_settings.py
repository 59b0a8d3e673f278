"""Settings declared once (bookbuild/settings.py): each is documented and checked, and later
checks point at the line each setting was read from."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from bookbuild.config import load_config
from bookbuild.errors import BuildError, Problems
from bookbuild.model import Book, Config
from bookbuild.settings import Check, check_of, declared, reference

FIXTURE = Path(__file__).parent / "fixtures" / "mini-book"
REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "book-yaml.md"
SETTINGS = list(declared(Config))
CHECKED = [(name, f) for name, f, _ in SETTINGS if type(check_of(f)) is not Check]


@pytest.fixture
def copy(tmp_path):
    shutil.copytree(FIXTURE, tmp_path / "repo")
    return tmp_path / "repo"


def concrete(name: str) -> list:
    """`editions.<name>.case.wrap` → the keys of one such setting in the mini-book."""
    keys: list = []
    for part in name.replace("[]", ".[]").split("."):
        keys.append(0 if part == "[]" else "paperback" if part == "<name>" else part)
    return keys


def with_value(copy: Path, keys: list, value) -> tuple[Path, int, int]:
    """The mini-book's book.yaml with one setting set to `value`; where that value stands."""
    path = copy / "book" / "book.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    node = data
    for key in keys[:-1]:
        if isinstance(node, dict) and node.get(key) is None:
            node[key] = {}
        node = node[key]
    node[keys[-1]] = value
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    found = yaml.compose(text)
    for key in keys:
        found = found.value[key] if isinstance(key, int) else next(v for k, v in found.value if k.value == key)
    return path, found.start_mark.line + 1, found.start_mark.column + 1


def wrong_type(hint) -> object:
    """A value of another type than the setting's: a list for a mapping, a mapping for the rest."""
    import dataclasses
    import types
    import typing

    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    mapping = (typing.get_origin(hint) or hint) is dict or dataclasses.is_dataclass(hint)
    return [1] if mapping else {"wrong": 1}


@pytest.mark.parametrize("name, f, hint", SETTINGS, ids=[s[0] for s in SETTINGS])
def test_every_setting_has_a_doc_and_refuses_a_value_of_another_type_at_its_line(copy, name, f, hint):
    assert f.metadata["doc"].strip(), name
    assert callable(check_of(f))
    keys = concrete(name)
    path, line, col = with_value(copy, keys, wrong_type(hint))
    problems = Problems()
    assert load_config(path, problems) is None
    setting = ".".join(str(k) if not isinstance(k, int) else f"[{k}]" for k in keys).replace(".[", "[")
    assert [(p.line, p.col, p.code) for p in problems] == [(line, col, "C003")], problems.items
    assert problems.items[0].message.startswith(f"{setting}: expected ")


@pytest.mark.parametrize("name, f", CHECKED, ids=[c[0] for c in CHECKED])
def test_a_setting_with_a_check_refuses_a_wrong_value_at_its_line(copy, name, f):
    keys = concrete(name)
    reads_list = "list" in str(f.type)
    path, line, col = with_value(copy, keys, ["@@"] if reads_list else "@@")
    problems = Problems()
    assert load_config(path, problems) is None
    assert [(p.line, p.col, p.code) for p in problems] == [(line, col, "C004")], problems.items
    assert '"@@"' in problems.items[0].message


def test_the_settings_reference_is_made_from_the_declarations():
    made = reference(Config, "book.yaml settings")
    if os.environ.get("SAVE_GOLDEN_FILES"):
        REFERENCE.parent.mkdir(exist_ok=True)
        REFERENCE.write_text(made, encoding="utf-8")
    assert REFERENCE.read_text(encoding="utf-8") == made, "python -m bookbuild.model > docs/book-yaml.md"
    assert "| `editions.<name>.caliper` | a paper thickness per page" in made


def test_release_settings_problems_point_at_the_lines_read_not_the_file_now(copy):
    """check_settings reports from the positions the loader kept: an edit to book.yaml after
    reading (here three lines put on top) does not move its lines, and nothing re-reads it."""
    from bookbuild.dist.release import check_settings

    path = copy / "book" / "book.yaml"
    text = path.read_text(encoding="utf-8")
    book = Book(copy / "book", load_config(path, Problems()), [])
    path.write_text("# moved\n# by\n# three\n" + text, encoding="utf-8")
    problems = Problems()
    check_settings(book, problems)
    lines = text.splitlines()
    row = next(i for i, t in enumerate(lines) if t.startswith("  cloth:"))
    at = f"{row + 1}:{lines[row].index('{') + 1}"
    shown = [str(p) for p in problems]
    assert f"book/book.yaml:{at}: error D003: editions.cloth.caliper: missing (the spine is pages × caliper; " \
           "e.g. 0.0025in for 55 lb cream)" in "\n".join(shown)
    assert not any(p.line == 0 for p in problems), shown


def test_an_edition_that_is_not_a_print_edition_is_reported_at_book_yaml_line(copy):
    from bookbuild.print import print_edition

    path = copy / "book" / "book.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    book = Book(copy / "book", load_config(path, Problems()), [])
    editions = next(i for i, t in enumerate(lines) if t == "editions:") + 2
    ebook = next(i for i, t in enumerate(lines) if t.startswith("  ebook:")) + 1
    for name, where in (("hardback", f"{editions}:3"), ("ebook", f"{ebook}:{lines[ebook - 1].index('epub') + 1}")):
        with pytest.raises(BuildError) as caught:
            print_edition(book, name)
        assert re.fullmatch(rf'.*book\.yaml:{where}: error P001: "{name}" is not a print edition in book\.yaml '
                            r"\(print editions: paperback, cloth\)", str(caught.value.problems[0])), \
            str(caught.value.problems[0])
