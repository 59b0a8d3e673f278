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
