"""The shared transform, seen in every edition: touching note references are kept apart."""
from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from bookbuild.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "mini-book"
X = "{http://www.w3.org/1999/xhtml}"


@pytest.fixture(scope="module")
def touching(tmp_path_factory) -> Path:
    """The mini-book with two references side by side ("[^2][^3]") in chapter 3."""
    repo = tmp_path_factory.mktemp("touching") / "repo"
    shutil.copytree(FIXTURE, repo, ignore=shutil.ignore_patterns("build"))
    source = repo / "book" / "text" / "03-the-turn.md"
    text = source.read_text(encoding="utf-8")
    assert "into the same fate.[^2]" in text
    source.write_text(text.replace("into the same fate.[^2]", "into the same fate.[^2][^3]")
                      + "[^3]: A second note on the same sentence.\n", encoding="utf-8")
    return repo


def test_touching_note_references_get_a_comma_in_the_ebook(touching, tmp_path):
    out = tmp_path / "book.epub"
    assert main(["-q", "epub", "--book", str(touching / "book"), "-o", str(out), "--no-page-list"]) == 0
    with zipfile.ZipFile(out) as zf:
        doc = etree.fromstring(zf.read("EPUB/text/03-the-turn.xhtml"))
    first = next(a for a in doc.iter(f"{X}a") if a.get("class") == "noteref" and a.text == "2")
    comma, second = first.getnext(), first.getnext().getnext()
    assert (comma.tag, comma.get("class"), comma.text) == (f"{X}sup", "noteref-sep", ",")
    assert (second.get("class"), second.text) == ("noteref", "3") and not first.tail and not comma.tail
    # References that do not touch are left as they are.
    assert sum(el.get("class") == "noteref-sep" for el in doc.iter()) == 1


@pytest.mark.parametrize("edition", ["paperback", "cloth"])
def test_touching_note_references_get_a_comma_in_print(touching, tmp_path, edition):
    """The paperback sets notes at the chapter's end, the cloth at the foot of the page."""
    assert main(["-q", "pdf", "--book", str(touching / "book"), "--edition", edition,
                 "--out", str(tmp_path)]) == 0
    pdf = next(tmp_path.glob("*.pdf"))
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "the same fate.2,3" in text.replace("\n", " ")
