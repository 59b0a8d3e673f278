"""Messages that say where: raw images, ids used twice, WeasyPrint's warnings (issue 15, case 10)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bookbuild.cli import main
from bookbuild.errors import BuildError
from bookbuild.read import read_book

FIXTURE = Path(__file__).parent / "fixtures" / "mini-book"
EXILE = "02-the-opposition-in-exile.md"


@pytest.fixture
def repo(tmp_path) -> Path:
    shutil.copytree(FIXTURE, tmp_path / "repo", ignore=shutil.ignore_patterns("build"))
    return tmp_path / "repo"


def plant(repo: Path, name: str, paragraph: str) -> int:
    """`paragraph` after the chapter's title; the line it lands on."""
    chapter = repo / "book" / "text" / name
    text = chapter.read_text(encoding="utf-8")
    cut = text.index("\n\n", text.index("# ")) + 2
    chapter.write_text(text[:cut] + paragraph + "\n\n" + text[cut:], encoding="utf-8")
    return text.count("\n", 0, cut) + 1


def problems_of(repo: Path, cache: Path) -> list[str]:
    with pytest.raises(BuildError) as caught:
        read_book(repo / "book", cache)
    return [str(p) for p in caught.value.problems if p.severity == "error"]


def test_a_raw_image_from_outside_is_located_at_its_tag(repo, tmp_path):
    line = plant(repo, EXILE, "A raw picture, <img src='file:///etc/passwd' alt='x'>, and text.")
    [problem] = problems_of(repo, tmp_path / "cache")
    assert f"/book/text/{EXILE}:{line}:16: error F003: image file:///etc/passwd" in problem


def test_an_id_taken_from_a_later_unit_is_blamed_where_it_was_added(repo, tmp_path):
    """`{#foreword}` given to a unit read before the foreword: the fault is where it was added,
    not the foreword's own heading (its file name gives it that id)."""
    book_yaml = repo / "book" / "book.yaml"
    entries = book_yaml.read_text(encoding="utf-8")
    foreword = "  - {file: text/00-foreword.md, role: foreword}\n"
    grain = "  - {file: text/01-the-grain-crisis.md, role: chapter, number: 1}\n"
    book_yaml.write_text(entries.replace(foreword + grain, grain + foreword), encoding="utf-8")
    chapter = repo / "book" / "text" / "01-the-grain-crisis.md"
    chapter.write_text(chapter.read_text(encoding="utf-8").replace("{#the-grain-crisis}", "{#foreword}", 1),
                       encoding="utf-8")
    problems = [p for p in problems_of(repo, tmp_path / "cache") if " R004: " in p]
    assert len(problems) == 1 and problems[0].endswith(
        "/book/text/01-the-grain-crisis.md:1:29: error R004: unit id 'foreword' is used twice "
        "(also in text/00-foreword.md)"), problems


def test_each_repeated_id_is_located_at_its_own_place(repo, tmp_path):
    chapter = repo / "book" / "text" / "03-the-turn.md"
    text = chapter.read_text(encoding="utf-8")
    first = text.count("\n") + 2
    chapter.write_text(text + "\n## Afterword {#foreword}\n\nA [marked]{#foreword} word.\n", encoding="utf-8")
    problems = [p for p in problems_of(repo, tmp_path / "cache") if " R004: " in p]
    assert [p.split("/book/")[1].split(": error")[0] for p in problems] == [
        f"text/03-the-turn.md:{first}:15", f"text/03-the-turn.md:{first + 2}:12"]


def test_a_weasyprint_warning_is_located_in_the_source(repo, capsys):
    line = plant(repo, EXILE, 'A styled <span style="colr: red">word</span> here.')
    assert main(["pdf", "--book", str(repo / "book")]) == 0
    err = capsys.readouterr().err
    assert f"book/text/{EXILE}:{line}:23: warning P002: WeasyPrint: Ignored `colr: red`" in err, err


def test_a_missing_print_font_names_a_file_and_the_install_command(tmp_path, monkeypatch):
    """P005 (issue 15 printed it with an empty path): fontconfig with no font folders finds no
    EB Garamond, as on a machine without fonts-ebgaramond."""
    from bookbuild.errors import Problems
    from bookbuild.print.checks import check_font_installed

    if not shutil.which("fc-list"):
        pytest.skip("fontconfig's fc-list is not installed")
    conf = tmp_path / "fonts.conf"
    conf.write_text(f'<?xml version="1.0"?>\n<fontconfig><cachedir>{tmp_path}/cache</cachedir></fontconfig>\n')
    monkeypatch.setenv("FONTCONFIG_FILE", str(conf))
    problems = Problems()
    check_font_installed(problems)
    [p005] = [p for p in problems.items if p.code == "P005"]
    assert p005.path == "scripts/ensure-system.sh" and "apt-get install fonts-ebgaramond" in p005.message
    assert str(p005).startswith("scripts/ensure-system.sh: error P005: font \"EB Garamond 12\"")


def test_no_problem_is_reported_without_a_file():
    """Every problem names a file (issue 15: P005 printed `: error P005: …`); an empty path in
    the code that reports one would print the same."""
    import re

    empty = re.compile(r"""\b(?:error|warning|add)\(\s*["']{2}\s*,""")
    package = Path(__file__).resolve().parent.parent / "bookbuild"
    found = [f"{p.relative_to(package.parent)}:{n}" for p in sorted(package.rglob("*.py"))
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if empty.search(line)]
    assert found == []
