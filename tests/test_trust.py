"""Faults planted in a copy of the mini-book: each ends in a located error or a correct build, never a traceback."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bookbuild import safeyaml

REPOSITORY = Path(__file__).parent.parent
FIXTURE = Path(__file__).parent / "fixtures" / "mini-book"


@pytest.fixture
def copy(mini_copy, tmp_path) -> Path:
    """A copy of the mini-book (book/, its art in book/images/) in a folder of its own; its
    build/cache/ holds the parts of the session's layout (tests/conftest.py)."""
    return mini_copy(tmp_path / "proj")


def build(folder: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPOSITORY / "build.py"), *args], cwd=folder,
                          capture_output=True, text=True, timeout=timeout)


def said(out: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in out.stdout + out.stderr, out.stderr
    return out.stdout + out.stderr


def test_a_python_tag_in_book_yaml_is_a_located_error_for_every_command(copy, tmp_path):
    marker = tmp_path / "ran"
    config = copy / "book" / "book.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("short_title: A Test Book",
                                   f'short_title: !!python/object/apply:os.system ["touch {marker}"]'),
                      encoding="utf-8")
    line = text[:text.index("short_title")].count("\n") + 1
    for command in ("lint", "pdf", "epub", "proof", "dist", "check-sources"):
        out = build(copy, command, "--book", "book")
        assert out.returncode != 0, command
        assert f"book/book.yaml:{line}:14: error" in said(out), (command, out.stderr)
        assert "is not allowed" in out.stderr + out.stdout
    assert not marker.exists()


def test_text_that_is_not_utf8_is_located(copy):
    chapter = copy / "book" / "text" / "01-the-grain-crisis.md"
    chapter.write_bytes(chapter.read_bytes().replace(b"\n\n", "\n\nCaf\xe9 and ".encode("latin-1"), 1))
    glossary = copy / "book" / "glossary.yaml"
    glossary.write_bytes(glossary.read_bytes() + "# \xff\n".encode("latin-1"))
    lint = said(build(copy, "lint", "--book", "book"))
    assert "book/text/01-the-grain-crisis.md:3:4: error L027: not UTF-8 text (byte 0xe9" in lint
    last_line = glossary.read_bytes().count(b"\n")
    assert f"book/glossary.yaml:{last_line}:3: error L027" in lint
    pdf = said(build(copy, "pdf", "--book", "book"))
    assert "book/text/01-the-grain-crisis.md:3:4: error R001" in pdf
    assert "book/glossary.yaml" in pdf and "R006" in pdf


def test_a_byte_order_mark_is_named(copy):
    chapter = copy / "book" / "text" / "03-the-turn.md"
    chapter.write_bytes(b"\xef\xbb\xbf" + chapter.read_bytes())
    out = said(build(copy, "epub", "--book", "book"))
    assert "book/text/03-the-turn.md:1:1: error R013: the file starts with a byte-order mark" in out
    assert "R003" not in out


def test_an_alias_bomb_is_a_located_error_not_gigabytes(copy):
    bomb = ["bomb:", "  - &a [x, x, x, x, x, x, x, x, x]"]
    for n in range(1, 9):
        bomb.append(f"  - &{chr(97 + n)} [{', '.join(['*' + chr(96 + n)] * 9)}]")
    glossary = copy / "book" / "glossary.yaml"
    glossary.write_text("\n".join(bomb) + "\n", encoding="utf-8")
    started = time.monotonic()
    out = build(copy, "lint", "--book", "book", timeout=60)
    assert time.monotonic() - started < 30
    assert out.returncode == 1
    assert "book/glossary.yaml:" in said(out) and "alias bomb" in out.stdout


def test_safe_yaml_limits():
    with pytest.raises(safeyaml.LimitError, match="nested deeper"):
        safeyaml.load("a:" + "".join(f"\n{'  ' * i}- " for i in range(1, 80)) + "x")
    with pytest.raises(safeyaml.yaml.YAMLError):
        safeyaml.load("[" * 5000 + "]" * 5000)
    assert safeyaml.load("a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}


def test_lists_nested_200_deep_are_a_located_error(copy):
    chapter = copy / "book" / "text" / "02-the-opposition-in-exile.md"
    text = chapter.read_text(encoding="utf-8")
    line = text.count("\n") + 3 + 19      # "- level 19": the first item more than 40 elements deep
    chapter.write_text(text + "\n\n" + "".join("  " * i + f"- level {i}\n" for i in range(200)), encoding="utf-8")
    for command in ("pdf", "proof"):
        out = build(copy, command, "--book", "book")
        assert out.returncode == 1
        assert f"book/text/02-the-opposition-in-exile.md:{line}:1: error R012" in said(out)


def test_damaged_and_swapped_cache_entries_are_discarded_and_rebuilt(copy):
    assert build(copy, "pdf", "--book", "book").returncode == 0
    assert build(copy, "epub", "--book", "book").returncode == 0
    build_dir = copy / "build"
    good = {name: (build_dir / name).read_bytes() for name in ("mini-book.pdf", "mini-book.epub")}
    cache = build_dir / "cache"
    reads = sorted((cache / "read").glob("[0-9a-f]*.json"))
    reads[0].write_text("{}")
    reads[1].write_text("[1]")
    reads[2].write_text('{"html": "<p>Not the text</p>", "warnings": []}')
    font = sorted((cache / "epub-fonts").iterdir())[0]
    font.write_bytes(font.read_bytes()[:2000])
    parts = sorted((cache / "print").glob("*.pdf"), key=lambda p: p.stat().st_size)
    shutil.copy(parts[-1], parts[0])
    shutil.rmtree(cache / "outputs")
    pdf, epub = build(copy, "pdf", "--book", "book"), build(copy, "epub", "--book", "book")
    assert pdf.returncode == epub.returncode == 0
    messages = said(pdf) + said(epub)
    for damaged in (*reads[:3], font, parts[0]):
        assert messages.count(f"{damaged}: warning B001") == 1, damaged
    assert {name: (build_dir / name).read_bytes() for name in good} == good
    shutil.rmtree(cache / "outputs")
    assert "B001" not in said(build(copy, "pdf", "--book", "book"))


def test_leftovers_of_killed_builds_are_swept(copy):
    build_dir = copy / "build"
    dead = 2 ** 22 + 1       # above Linux's default pid_max: no such process
    leftovers = [build_dir / f".mini-book.pdf.{dead}-abc123.tmp", build_dir / "cache" / "print" / f"k.{dead}.tmp",
                 build_dir / f".dist-1.0.0-{dead}-x1y2"]
    live = build_dir / f".mini-book.epub.{os.getpid()}-abc.tmp"
    for path in leftovers + [live]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir() if path.name.startswith(".dist") else path.write_bytes(b"x" * 1000)
    assert build(copy, "pdf", "--book", "book").returncode == 0
    assert not any(p.exists() for p in leftovers)
    assert live.exists()


def test_lint_from_another_folder_lints_the_project_book(tmp_path):
    elsewhere, here = build(tmp_path, "lint"), build(REPOSITORY, "lint")
    summary = [line for line in said(elsewhere).splitlines() if line.startswith("lint: ") and "done" not in line]
    assert summary == [line for line in said(here).splitlines() if line.startswith("lint: ") and "done" not in line]
    assert re.search(r"[1-9]\d* (error|warning|ignored)", summary[0]), summary   # not a lint of nothing


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mount"), reason="needs root to mount a small tmpfs")
def test_a_full_disk_is_one_line_naming_the_file(copy, tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(small)]).returncode:
        pytest.skip("mount not permitted here")
    try:
        out = build(copy, "pdf", "--book", "book", "--out", str(small))
        assert out.returncode == 1
        assert f"{small}/mini-book.pdf: error B002: cannot write or read: No space left on device" in said(out)
        assert list(small.iterdir()) == []
    finally:
        subprocess.run(["umount", str(small)])


@pytest.mark.skipif(not shutil.which("java"), reason="EPUBCheck needs Java (scripts/install-validators.sh)")
def test_two_epubchecks_at_once_each_read_their_own_report(copy, tmp_path):
    from bookbuild import validate

    assert build(copy, "epub", "--book", "book").returncode == 0
    epub = copy / "build" / "mini-book.epub"
    results, errors = [], []

    def check():
        try:
            results.append(validate.run_epubcheck(epub, tmp_path / "reports"))
        except Exception as exc:  # noqa: BLE001 - the test reports whatever went wrong
            errors.append(exc)
    threads = [threading.Thread(target=check) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 2
    assert results[0].counts == results[1].counts
    assert [p.name for p in (tmp_path / "reports").iterdir()] == [f"epubcheck-{validate.CURRENT}.json"]


def _release(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True)
    for n in range(200):
        (folder / f"file-{n:03}.txt").write_text(text)
    return folder


def test_a_killed_dist_force_always_leaves_a_whole_release(tmp_path):
    """`move_into_place` killed at 40 moments: dist/1.0.0 is always there and whole, old or new."""
    target = tmp_path / "dist" / "1.0.0"
    _release(target, "old")
    script = ("import sys; from pathlib import Path; from bookbuild.dist.release import move_into_place\n"
              "move_into_place(Path(sys.argv[1]), Path(sys.argv[2]), True)\n")
    for attempt in range(40):
        staging = _release(tmp_path / f"build/.dist-1.0.0-{attempt}", f"new {attempt}")
        proc = subprocess.Popen([sys.executable, "-c", script, str(staging), str(target)], cwd=REPOSITORY)
        time.sleep(0.004 * attempt)
        proc.kill()
        proc.wait()
        texts = {p.read_text() for p in target.iterdir()}
        assert len(list(target.iterdir())) == 200 and len(texts) == 1, attempt
    assert not list(target.parent.glob(".*replaced*"))


def test_a_release_set_aside_by_a_killed_run_is_put_back(tmp_path):
    from bookbuild.dist.release import recover_replaced

    target = tmp_path / "1.0.0"
    _release(tmp_path / ".1.0.0.replaced-12345", "old")
    recover_replaced(target)
    assert {p.read_text() for p in target.iterdir()} == {"old"}
    assert [p.name for p in tmp_path.iterdir()] == ["1.0.0"]


def test_an_edit_during_layout_makes_the_next_build_redo_the_page_map(copy):
    """The page map is keyed by the sources as they were read, not as they are when it is written."""
    from bookbuild.print.pagemap import page_map_current

    chapter = copy / "book" / "text" / "03-the-turn.md"
    proc = subprocess.Popen([sys.executable, str(REPOSITORY / "build.py"), "pdf", "--book", "book"], cwd=copy,
                            stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        if line.startswith("pdf: read "):
            chapter.write_text(chapter.read_text(encoding="utf-8") + "\nA paragraph added during layout.\n",
                               encoding="utf-8")
            break
    proc.stderr.read()
    assert proc.wait() == 0
    assert not page_map_current(copy / "book", copy / "build" / "cache")
    epub = said(build(copy, "epub", "--book", "book"))
    assert "laying out the paperback edition for its page numbers" in epub
    assert page_map_current(copy / "book", copy / "build" / "cache")
