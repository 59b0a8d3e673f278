"""Golden outputs of the mini-book: the EPUB's XHTML and package document, and the HTML print hands WeasyPrint.

A change in what the pipeline makes shows up here as a readable diff. When the change is
meant, rewrite the goldens and review them with git diff:
    SAVE_GOLDEN_FILES=1 .venv/bin/python -m pytest tests/test_goldens.py
"""
from __future__ import annotations

import difflib
import os
import re
import zipfile
from pathlib import Path

import pytest

GOLDENS = Path(__file__).parent / "goldens" / "mini-book"
SAVE = os.environ.get("SAVE_GOLDEN_FILES") == "1"


def normalize(text: str, repo: Path) -> str:
    """What changes from one checkout or one day to the next, replaced by a name for it: the
    session copy's folder, and the modification date (taken from the sources' file times)."""
    text = text.replace(str(repo.resolve()), "{repo}").replace(str(repo), "{repo}")
    return re.sub(r'(property="dcterms:modified">)[^<]+', r"\1{modified}", text)


def compare(kind: str, made: dict[str, str]) -> None:
    """`made` (file name → text) against tests/goldens/mini-book/<kind>/, file by file."""
    folder = GOLDENS / kind
    if SAVE:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        for name, text in made.items():
            (folder / name).write_text(text, encoding="utf-8")
    golden = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())}
    assert sorted(made) == sorted(golden), f"{kind}: documents made differ from the goldens"
    changed = [name for name in made if made[name] != golden[name]]
    diff = "".join(line for name in changed for line in difflib.unified_diff(
        golden[name].splitlines(keepends=True), made[name].splitlines(keepends=True),
        f"golden/{kind}/{name}", f"made/{kind}/{name}", n=2))
    assert not changed, f"{kind}: {changed} differ (SAVE_GOLDEN_FILES=1 rewrites them):\n{diff[:6000]}"


def test_epub_documents_are_the_golden_ones(mini_pdf, mini_epub):
    """Every XHTML document of the EPUB (with its page-list from the print layout) and its
    package document."""
    with zipfile.ZipFile(mini_epub) as zf:
        made = {Path(name).name: normalize(zf.read(name).decode("utf-8"), mini_pdf.repo)
                for name in zf.namelist() if name.endswith((".xhtml", ".opf"))}
    assert len(made) > 10
    compare("epub", made)


def print_html(mini_pdf) -> dict[str, str]:
    """Each part's HTML as it is handed to WeasyPrint (the contents and the index as their
    last round has them), caught by the layout's `decorate` hook, which may rewrite a part's
    HTML before layout and here returns it unchanged. The running heads' and folios' layer
    is left out."""
    from bookbuild.errors import Problems
    from bookbuild.print.layout import book_parts, print_book
    from bookbuild.read import read_book
    from bookbuild.transform import transform

    book = transform(read_book(mini_pdf.book, mini_pdf.cache))
    handed: dict[str, str] = {}

    def keep(part, html: str) -> str:
        handed[part.key] = html
        return html

    problems = Problems()
    print_book(book, book.config.editions["paperback"], problems, mini_pdf.cache / "print",
               decorate=keep, pages_only=True)
    assert not problems.errors, problems.items
    # Numbered in the book's order (the parts are rendered longest first).
    placed = [p.key for p in book_parts(book) if p.key in handed]
    return {f"{n:02}-{key}.html": normalize(handed[key], mini_pdf.repo) for n, key in enumerate(placed)}


def test_print_html_is_the_golden_one(mini_pdf):
    made = print_html(mini_pdf)
    assert any("the-grain-crisis" in name for name in made) and any("index" in name for name in made)
    compare("print", made)


@pytest.mark.parametrize("kind", ["epub", "print"])
def test_goldens_hold_no_volatile_text(kind):
    """What normalize() replaces stays replaced: no temporary folder, no build date."""
    for path in (GOLDENS / kind).iterdir():
        text = path.read_text(encoding="utf-8")
        assert "/tmp/" not in text and "pytest-" not in text, path.name
        assert not re.search(r"20\d\d-\d\d-\d\dT\d\d:\d\d", text), path.name
