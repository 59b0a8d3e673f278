"""The command line: every command listed, only the one asked for imported."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bookbuild.cli import COMMANDS

REPOSITORY = Path(__file__).parent.parent


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "build.py", *args], cwd=REPOSITORY, capture_output=True,
                          text=True)


def test_help_lists_every_command():
    out = run("--help")
    assert out.returncode == 0
    assert "{" + ",".join(COMMANDS) + "}" in out.stdout


def test_a_command_imports_its_own_module_only():
    """`build.py lint` does not pay for the print and EPUB code (nor WeasyPrint's import)."""
    probe = ("import sys\nfrom bookbuild import cli\ntry:\n    cli.main(['lint', '--help'])\n"
             "except SystemExit:\n    pass\nprint(sorted(m for m in sys.modules if m in "
             "('bookbuild.print', 'bookbuild.epub', 'bookbuild.dist', 'weasyprint')))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPOSITORY, capture_output=True, text=True)
    assert "--unknown-words" in out.stdout            # lint's own options are there
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_out_is_a_folder_for_every_command_and_options_are_not_abbreviated(tmp_path):
    """`epub --out DIR` writes DIR/<slug>.epub, as `pdf --out DIR` writes DIR/<slug>.pdf (it
    was taken for `--output FILE`, an abbreviation); `--out` and `--output` together are
    refused, and no option is taken for an abbreviation of another (`--page` for `--page-map`)."""
    import shutil

    book = tmp_path / "book"
    shutil.copytree(REPOSITORY / "tests" / "fixtures" / "mini-book" / "book", book)
    out = run("-q", "epub", "--book", str(book), "--out", str(tmp_path / "ebooks"), "--no-page-list")
    assert out.returncode == 0, out.stderr
    assert [p.suffix for p in (tmp_path / "ebooks").iterdir()] == [".epub"]
    both = run("epub", "--book", str(book), "--out", str(tmp_path), "-o", str(tmp_path / "x.epub"))
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
    short = run("epub", "--book", str(book), "--page", str(tmp_path / "map.json"))
    assert short.returncode == 2 and "unrecognized arguments: --page" in short.stderr
