"""Speed without other output: unchanged, cached and incremental builds give a cold build's bytes."""
from __future__ import annotations

import importlib.util
import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import pypandoc

from bookbuild import read
from bookbuild.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "mini-book"
BENCH = Path(__file__).parent.parent / "scripts" / "bench.py"
EDITED = "01-the-grain-crisis.md"


def copy_book(target: Path) -> Path:
    shutil.copytree(FIXTURE, target, ignore=shutil.ignore_patterns("build"))
    return target


def epub(repo: Path, capsys) -> tuple[bytes, str]:
    """`build.py epub` with the page map from the print layout, as `make epub` runs it."""
    capsys.readouterr()
    assert main(["epub", "--book", str(repo / "book")]) == 0
    return (repo / "build" / "mini-book.epub").read_bytes(), capsys.readouterr().err


def edit(book: Path) -> None:
    source = book / "text" / EDITED
    text = source.read_text(encoding="utf-8")
    at = text.index("\n[^1]:")
    source.write_text(text[:at] + "\nA sentence added by an editor.\n" + text[at:], encoding="utf-8")


@pytest.fixture(scope="module")
def cold(tmp_path_factory, mini_pdf) -> tuple[Path, bytes, str]:
    """The mini-book's EPUB built once, from nothing but the print parts of the session's
    layout (tests/conftest.py): repository, EPUB bytes, messages. (`fresh` below is built
    from nothing at all, so an incremental build is still compared with a cold one.)"""
    repo = copy_book(tmp_path_factory.mktemp("cold") / "repo")
    shutil.copytree(mini_pdf.parts, repo / "build" / "cache" / "print")
    proc = subprocess.run([sys.executable, "build.py", "epub", "--book", str(repo / "book")],
                          cwd=Path(__file__).parent.parent, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return repo, (repo / "build" / "mini-book.epub").read_bytes(), proc.stderr


def warnings_of(messages: str) -> list[str]:
    return [line for line in messages.splitlines() if " warning " in line]


def test_an_unchanged_book_writes_nothing_and_repeats_the_warnings(cold, capsys):
    repo, data, messages = cold
    out = repo / "build" / "mini-book.epub"
    before = out.stat().st_mtime_ns
    again, err = epub(repo, capsys)
    assert again == data and out.stat().st_mtime_ns == before
    assert "up to date" in err
    assert warnings_of(err) == warnings_of(messages) != []


def test_a_rebuild_from_the_stage_caches_is_byte_identical(cold, capsys):
    repo, data, _ = cold
    shutil.rmtree(repo / "build" / "cache" / "outputs")
    again, err = epub(repo, capsys)
    assert "up to date" not in err
    assert again == data


def test_an_edit_rebuilds_to_the_bytes_of_a_cold_build_of_the_edited_book(cold, tmp_path, capsys):
    repo = tmp_path / "warm"
    shutil.copytree(cold[0], repo)
    edit(repo / "book")
    incremental, err = epub(repo, capsys)
    assert "up to date" not in err and incremental != cold[1]
    fresh = copy_book(tmp_path / "fresh")
    shutil.rmtree(fresh / "book")
    # copytree keeps modification times, and the package's date comes from them.
    shutil.copytree(repo / "book", fresh / "book")
    assert epub(fresh, capsys)[0] == incremental


@pytest.mark.parametrize("change", ["output removed", "page map changed", "art added"])
def test_a_changed_input_or_output_builds_again(change, cold, tmp_path, capsys):
    repo = tmp_path / "repo"
    shutil.copytree(cold[0], repo)
    epub(repo, capsys)
    if change == "output removed":
        (repo / "build" / "mini-book.epub").unlink()
    elif change == "page map changed":
        page_map = repo / "build" / "cache" / "pagemap.json"
        page_map.write_text(page_map.read_text(encoding="utf-8").replace('"label": "1"', '"label": "1a"', 1),
                            encoding="utf-8")
    else:
        from PIL import Image

        Image.new("RGB", (60, 90), (122, 28, 28)).save(repo / "book" / "images" / "cover.png")
    data, err = epub(repo, capsys)
    assert "up to date" not in err
    if change == "page map changed":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            assert b">1a</a>" in zf.read("EPUB/text/nav.xhtml")


def test_an_unchanged_pdf_is_not_laid_out_again(cold, tmp_path, capsys):
    repo = tmp_path / "repo"
    shutil.copytree(cold[0], repo)
    args = ["pdf", "--book", str(repo / "book")]
    assert main(args) == 0
    out = repo / "build" / "mini-book.pdf"
    before = out.stat().st_mtime_ns
    capsys.readouterr()
    assert main(args) == 0
    assert "up to date" in capsys.readouterr().err and out.stat().st_mtime_ns == before
    # A newer file time alone changes the PDF's date, so it builds again.
    os.utime(repo / "book" / "text" / EDITED)
    assert main(args) == 0
    assert "up to date" not in capsys.readouterr().err


# Pandoc in batches ------------------------------------------------------------

def command_line(text: str, args: tuple[str, ...]) -> tuple[str, list[str]]:
    proc = subprocess.run([pypandoc.get_pandoc_path(), *args], input=text.encode("utf-8"),
                          capture_output=True, check=True)
    stderr = proc.stderr.decode("utf-8")
    return proc.stdout.decode("utf-8"), [" ".join(w.split()) for w in re.split(r"^\[WARNING\]\s*", stderr,
                                                                                 flags=re.M) if w.strip()]


def test_batched_pandoc_gives_the_command_lines_html_and_warnings():
    texts = [p.read_text(encoding="utf-8") for p in sorted((FIXTURE / "book" / "text").glob("*.md"))]
    texts += ["| a | b |\n|---|---|\n| 1 | 2 |\n",
              "::: {.document}\nunclosed\n\n[^x]: never used\n",
              "Smart \"quotes\" -- and dashes."]
    for args in (read.PANDOC_ARGS, read.LITERAL_ARGS):
        for text, batched in zip(texts, read._pandoc_batch(texts, args)):
            html, warnings = command_line(text, args)
            assert batched.html == html
            assert [" ".join(w.split()) for w in batched.warnings] == warnings


def test_pandoc_warnings_are_reported_from_the_cache_too(tmp_path):
    repo = copy_book(tmp_path / "repo")
    source = repo / "book" / "text" / EDITED
    source.write_text(source.read_text(encoding="utf-8") + "\n::: {.aside}\nnever closed\n",
                      encoding="utf-8")
    cache = tmp_path / "cache"
    cold = [str(w) for w in read.read_book(repo / "book", cache).warnings]
    warm = [str(w) for w in read.read_book(repo / "book", cache).warnings]
    assert any(" R010: " in w for w in cold) and warm == cold


# The benchmark's own helpers ------------------------------------------------

def load_bench():
    spec = importlib.util.spec_from_file_location("bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    # Its dataclasses look their module up in sys.modules.
    sys.modules["bench"] = module
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_edits_a_middle_chapter_before_its_notes(tmp_path):
    bench = load_bench()
    repo = copy_book(tmp_path / "repo")
    path, number = bench.middle_chapter(repo)
    assert number == 2 and path.name.startswith("02-")
    before = path.read_text(encoding="utf-8")
    bench.add_sentence(path, 1)
    after = path.read_text(encoding="utf-8")
    added = after.index("This sentence number 1")
    assert after.replace(after[added:after.index("\n\n", added) + 2], "") == before
    assert after.index("[^1]:") > added


def test_the_benchmark_measures_a_process_tree():
    bench = load_bench()
    run = bench.measure("sleep", ["sh", "-c", "sleep 0.2 & sleep 0.2; wait"], Path.cwd())
    assert run.code == 0 and run.seconds >= 0.2
    assert run.tree_peak > 0 and run.largest_process > 0
