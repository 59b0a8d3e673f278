"""`build.py lint`: golden tests per code, faults planted in a copy of book/, the command line."""
from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest
import yaml

from bookbuild import cli
from bookbuild.errors import CODES
from bookbuild.lint import lint_book
from bookbuild.lint.report import SEVERITY
from bookbuild.lint.spelling import DICTIONARY

HERE = Path(__file__).parent
GOLDEN = HERE / "lint"
REPO = HERE.parent
# SAVE_GOLDEN_FILES=1 rewrites tests/lint/*/golden.txt from the current output, on purpose.
SAVE = os.environ.get("SAVE_GOLDEN_FILES") == "1"

needs_dictionary = pytest.mark.skipif(
    not DICTIONARY.exists(), reason=f"{DICTIONARY} missing: scripts/ensure-system.sh installs wamerican")


def lint_lines(folder: Path, monkeypatch) -> list[str]:
    """Lint `folder/book` from inside `folder`, so that the paths printed are stable."""
    options = {}
    if (folder / "options.yaml").exists():
        options = yaml.safe_load((folder / "options.yaml").read_text(encoding="utf-8"))
    monkeypatch.chdir(folder)
    dictionary = Path(options["dictionary"]) if "dictionary" in options else None
    return [str(p) for p in lint_book(Path("book"), dictionary).problems()]


def test_every_lint_code_has_a_severity_and_a_golden_test():
    lint_codes = {c for c in CODES if c.startswith("L")}
    assert set(SEVERITY) == lint_codes
    assert {p.name for p in GOLDEN.iterdir() if p.is_dir()} == lint_codes


@needs_dictionary
@pytest.mark.parametrize("code", sorted(p.name for p in GOLDEN.iterdir() if p.is_dir()))
def test_golden(code, monkeypatch):
    folder = GOLDEN / code
    got = "".join(line + "\n" for line in lint_lines(folder / "in", monkeypatch))
    golden = folder / "golden.txt"
    if SAVE:
        golden.write_text(got, encoding="utf-8")
    assert got == golden.read_text(encoding="utf-8")
    assert f" {code}: " in got, f"the golden test of {code} never shows {code}"


# --- the real book ----------------------------------------------------------------------------

@pytest.fixture
def book_copy(tmp_path):
    """A copy of the repository's book/ (the received manuscript left out: lint does not read it)."""
    shutil.copytree(REPO / "book", tmp_path / "book", ignore=shutil.ignore_patterns("received"))
    return tmp_path / "book"


def plant(path: Path, old: str, new: str) -> tuple[int, int]:
    """Replace the first `old` in a file with `new`; the (line, col) where `new` starts."""
    text = path.read_text(encoding="utf-8")
    at = text.index(old)
    path.write_text(text[:at] + new + text[at + len(old):], encoding="utf-8")
    return text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)


@needs_dictionary
def test_the_committed_book_lints_clean_in_a_few_seconds(monkeypatch):
    monkeypatch.chdir(REPO)
    started = time.monotonic()
    result = lint_book(Path("book"))
    elapsed = time.monotonic() - started
    assert [str(p) for p in result.problems(strict=True)] == []
    assert result.ignored > 0
    assert elapsed < 15, f"lint took {elapsed:.1f} s"


@needs_dictionary
def test_faults_planted_in_a_copy_are_reported_where_they_are(book_copy, monkeypatch):
    text = book_copy / "text"
    ch10 = text / "10-trotskys-deportation.md"
    ch12 = text / "12-defeat-of-the-rightists.md"
    ch20 = text / "20-the-right-ultraleft-bloc.md"
    ch36 = text / "36-the-riutin-platform.md"
    quote = plant(ch10, "“On Trotsky’s counter-revolutionary activity,”",
                  "\"On Trotsky’s counter-revolutionary activity,”")
    note = plant(ch10, "the OGPU to deliver an ultimatum", "the OGPU[^99] to deliver an ultimatum")
    note = (note[0], note[1] + len("the OGPU"))
    typo = plant(ch12, "Bukharin", "Bukhanin")
    variant = plant(ch36, "Riutin", "Ryutin")
    dashed = plant(ch10, "starting in October 1928,", "starting in October 1928-1929,")
    dashed = (dashed[0], dashed[1] + len("starting in October 1928"))
    mark = plant(ch20, "Syrtsov", "[Smirnov]{.ix ref=nobody}")
    monkeypatch.chdir(book_copy.parent)
    found = {(p.path, p.line, p.col, p.code) for p in lint_book(Path("book")).problems()}
    assert ("book/text/10-trotskys-deportation.md", *quote, "L001") in found
    assert ("book/text/10-trotskys-deportation.md", *note, "L010") in found
    assert ("book/text/12-defeat-of-the-rightists.md", *typo, "L022") in found
    assert ("book/text/36-the-riutin-platform.md", *variant, "L009") in found
    assert ("book/text/10-trotskys-deportation.md", *dashed, "L005") in found
    assert ("book/text/20-the-right-ultraleft-bloc.md", *mark, "L015") in found
    # The straight quote leaves its partner unbalanced (L002); [^99] is out of order (L012).
    assert {code for *_, code in found} == {"L001", "L002", "L005", "L009", "L010", "L012", "L015", "L022"}


@needs_dictionary
def test_a_data_file_finding_points_into_the_yaml(book_copy, monkeypatch):
    bios = book_copy / "biographies.yaml"
    line, col = plant(bios, "Soviet playwright.", "Soviet playwrite.")
    monkeypatch.chdir(book_copy.parent)
    found = {(p.path, p.line, p.col, p.code) for p in lint_book(Path("book")).problems()}
    assert ("book/biographies.yaml", line, col + len("Soviet "), "L022") in found


# --- the command line -------------------------------------------------------------------------

def run_cli(args: list[str], monkeypatch, folder: Path) -> int:
    monkeypatch.chdir(folder)
    return cli.main(["-q", "lint", *args])


@needs_dictionary
def test_exit_status_json_and_strict(monkeypatch, capsys):
    warnings_only = GOLDEN / "L007" / "in"
    assert run_cli([], monkeypatch, warnings_only) == 0
    assert "warning L007" in capsys.readouterr().out
    assert run_cli(["--strict"], monkeypatch, warnings_only) == 1
    assert "error L007" in capsys.readouterr().out
    assert run_cli(["--json"], monkeypatch, warnings_only) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["errors"] == 0 and report["warnings"] == 1
    assert report["problems"][0] == {"path": "book/text/01-spaces.md", "line": 3, "col": 9,
                                     "severity": "warning", "code": "L007",
                                     "message": "double space between “plan” and “failed.”"}
    assert run_cli([], monkeypatch, GOLDEN / "L010" / "in") == 1
    assert re.search(r"^book/text/01-notes\.md:3:\d+: error L010: ", capsys.readouterr().out, re.M)


@needs_dictionary
def test_unknown_words_lists_candidates_for_the_word_list(monkeypatch, capsys):
    assert run_cli(["--unknown-words"], monkeypatch, GOLDEN / "L022" / "in") == 0
    listed = dict(line.split("\t")[::-1] for line in capsys.readouterr().out.splitlines())
    assert listed == {"recieve": "1", "Tomsky": "2", "Pravdaa": "1"}
