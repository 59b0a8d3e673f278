"""Fixture books built once per session, in temporary copies, for the modules that test their editions."""
from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from bookbuild import cli

REPOSITORY = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
MINI = FIXTURES / "mini-book"


@dataclass(frozen=True)
class Built:
    """A fixture book built as `make` builds it: `repo` holds book/ and images/, `build` the
    outputs and build/cache/ (parts, page maps), `parts` the print parts of its first layout
    (kept apart: later builds add the proof's parts to the cache), `said` what each command
    printed."""

    repo: Path
    parts: Path
    said: dict[str, str]

    @property
    def book(self) -> Path:
        return self.repo / "book"

    @property
    def build(self) -> Path:
        return self.repo / "build"

    @property
    def cache(self) -> Path:
        return self.build / "cache"

    def output(self, suffix: str) -> Path:
        return self.build / f"{self.repo.name}{suffix}"


def run(*argv: str) -> tuple[int, str]:
    """`build.py ARGV` in this process: its exit code and what it printed."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, err.getvalue()


def copy_fixture(fixture: Path, target: Path, laid_out: Built | None = None) -> Path:
    """A private copy of a fixture book (mtimes kept: the package dates come from them);
    with `laid_out`, its cache starts with that build's laid-out print parts, so a build of
    the copy lays out only the parts a test changed (parts are keyed by their content)."""
    shutil.copytree(fixture, target, ignore=shutil.ignore_patterns("build", "dist"))
    if laid_out is not None:
        seed_parts(laid_out, target / "build" / "cache")
    return target


def commit(repo: Path) -> Path:
    """`repo` committed in a git repository of its own (the proof's slug names the commit);
    build/ and dist/ ignored, as in the project."""
    shutil.copy(REPOSITORY / ".gitignore", repo / ".gitignore")
    ident = ["-c", "user.name=Test", "-c", "user.email=test@example.org", "-c", "commit.gpgsign=false"]
    for command in (["init", "-q"], ["add", "-A"], [*ident, "commit", "-q", "-m", "The mini-book"]):
        subprocess.run(["git", "-C", str(repo), *command], check=True, capture_output=True)
    return repo


def seed_parts(laid_out: Built, cache: Path) -> Path:
    shutil.copytree(laid_out.parts, cache / "print", dirs_exist_ok=True)
    return cache


@pytest.fixture(scope="session")
def mini_pdf(tmp_path_factory) -> Built:
    """The mini-book's paperback interior laid out once per session, from nothing: build/mini-book.pdf,
    the page maps and every part in build/cache/."""
    session = tmp_path_factory.mktemp("session")
    repo = commit(copy_fixture(MINI, session / "mini-book"))
    code, said = run("-q", "pdf", "--book", str(repo / "book"))
    assert code == 0, said
    parts = shutil.copytree(repo / "build" / "cache" / "print", session / "mini-book-parts")
    return Built(repo, parts, {"pdf": said})


@pytest.fixture(scope="session")
def mini_epub(mini_pdf) -> Path:
    """The mini-book's EPUB as `make epub` makes it: its page-list from the session's page map."""
    code, said = run("-q", "epub", "--book", str(mini_pdf.book))
    assert code == 0, said
    mini_pdf.said["epub"] = said
    return mini_pdf.output(".epub")


@pytest.fixture(scope="session")
def mini_proof(mini_pdf) -> Path:
    """The mini-book's full proof (build/proof/), from the session's laid-out parts."""
    code, said = run("-q", "proof", "--book", str(mini_pdf.book))
    assert code == 0, said
    mini_pdf.said["proof"] = said
    return mini_pdf.build / "proof"


@pytest.fixture
def mini_copy(tmp_path, mini_pdf):
    """Makes private copies of the mini-book to plant faults in: `mini_copy(target=None,
    cache=None)` copies it to `target` (tmp_path/repo) and puts the session's laid-out parts
    in `cache` (its build/cache)."""
    def make(target: Path | None = None, cache: Path | None = None) -> Path:
        repo = copy_fixture(MINI, target or tmp_path / "repo")
        seed_parts(mini_pdf, cache or repo / "build" / "cache")
        return repo
    return make
