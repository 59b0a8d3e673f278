"""`build.py new`: a new title's book folder builds an EPUB, a PDF, lint and a proof with no edits."""
from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from bookbuild import safeyaml
from bookbuild.cli import main

NEW_CHAPTER = "text/01-chapter-one.md"


@pytest.fixture(scope="module")
def titles(tmp_path_factory) -> Path:
    """Two new titles side by side, one of them in British English with a photograph."""
    top = tmp_path_factory.mktemp("titles")
    assert main(["-q", "new", "--book", str(top / "another-title" / "book")]) == 0
    assert main(["-q", "new", "--book", str(top / "third" / "book"), "--title", "The Third: A Title",
                 "--language", "en-GB"]) == 0
    return top


def test_new_writes_the_book_folder_with_required_fields_marked(titles):
    book = titles / "another-title" / "book"
    config = safeyaml.load((book / "book.yaml").read_text(encoding="utf-8"))
    assert config["slug"] == "another-title" and config["language"] == "en-US"
    assert [e["file"] for e in config["contents"]] == [NEW_CHAPTER]
    required = [line.split(":")[0] for line in (book / "book.yaml").read_text().splitlines()
                if "# required" in line]
    assert required == ["slug", "title", "authors", "publisher", "language", "editions", "contents"]
    for name in ("glossary.yaml", "congresses.yaml", "biographies.yaml", "index.yaml",
                 "wordlist.txt", "lint-ignore.yaml", "expectations.yaml", NEW_CHAPTER):
        assert (book / name).is_file(), name
    third = safeyaml.load((titles / "third" / "book" / "book.yaml").read_text(encoding="utf-8"))
    assert third["title"] == "The Third: A Title" and third["language"] == "en-GB"


def test_new_refuses_a_folder_that_holds_anything(titles, capsys):
    book = titles / "another-title" / "book"
    before = (book / "book.yaml").read_bytes()
    assert main(["new", "--book", str(book)]) == 1
    assert "error S009" in capsys.readouterr().err
    assert (book / "book.yaml").read_bytes() == before


def test_a_new_title_builds_every_output_with_no_edits(titles):
    book = titles / "another-title" / "book"
    assert main(["-q", "lint", "--strict", "--book", str(book)]) == 0
    assert main(["-q", "pdf", "--book", str(book)]) == 0
    assert main(["-q", "epub", "--book", str(book)]) == 0
    pdf = titles / "another-title" / "build" / "another-title.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Chapter One" in text and "first chapter of a new title" in text
    with zipfile.ZipFile(titles / "another-title" / "build" / "another-title.epub") as epub:
        chapters = [n for n in epub.namelist() if "chapter-one" in n]
        assert chapters and "first chapter of a new title" in epub.read(chapters[0]).decode()
    assert main(["-q", "proof", "--book", str(book)]) == 0
    assert (titles / "another-title" / "build" / "proof" / "another-title-proof.pdf").is_file()


def test_art_is_found_in_the_book_folder_of_its_own_title(titles):
    """The photograph lives in third/book/images/; a file of that name beside the other title's
    book folder, or in the project, is never taken."""
    book = titles / "third" / "book"
    Image.new("RGB", (300, 200), (40, 90, 140)).save(book / "images" / "harbour.png")
    chapter = book / NEW_CHAPTER
    chapter.write_text(chapter.read_text(encoding="utf-8") +
                       "\n![The harbour at dawn.](images/harbour.png){#fig-harbour}\n", encoding="utf-8")
    assert main(["-q", "epub", "--book", str(book), "--no-page-list"]) == 0
    with zipfile.ZipFile(titles / "third" / "build" / "third.epub") as epub:
        assert "EPUB/images/harbour.png" in epub.namelist()
    assert not (titles / "another-title" / "build" / "third.epub").exists()
