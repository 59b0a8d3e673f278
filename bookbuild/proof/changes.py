"""What changed in book/ since a git revision: line ranges per file, and the blocks they fall in."""
from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BuildError, Problem
from .interior import Mark

HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
WHOLE_FILE = (1, 10**9)


@dataclass
class Changes:
    """Changed lines of the working tree against `ref`, per file relative to the book folder."""

    ref: str
    lines: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)

    def touches(self, file: str, start: int, end: int) -> bool:
        return any(a <= end and start <= b for a, b in self.lines.get(file, []))


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    # Read-only: no optional index refresh written behind the user's back.
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    return subprocess.run(["git", "-c", "core.quotepath=off", *args], cwd=root, capture_output=True,
                          text=True, env=env)


def version(root: Path) -> str:
    """`git describe --always --dirty` of the repository holding the book, or "unversioned"."""
    try:
        done = _git(root, "describe", "--always", "--dirty")
    except OSError:
        return "unversioned"
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "unversioned"


def changes_since(book_root: Path, ref: str) -> Changes:
    """`git diff REF` of the book folder against the working tree, untracked files included."""
    def fail(message: str) -> BuildError:
        return BuildError([Problem(str(book_root), 0, 0, "error", "Q002", message)])

    try:
        top = _git(book_root, "rev-parse", "--show-toplevel")
    except OSError as exc:
        raise fail(f"git cannot be run: {exc}") from exc
    if top.returncode:
        raise fail("the book is not in a git repository, so there is nothing to compare with")
    repo = Path(top.stdout.strip()).resolve()
    where = book_root.resolve().relative_to(repo).as_posix() or "."
    if _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode:
        raise fail(f"'{ref}' is not a revision of this repository")
    diff = _git(repo, "diff", "--no-color", "--no-ext-diff", "--no-renames", "--unified=0",
                "--src-prefix=a/", "--dst-prefix=b/", ref, "--", where)
    if diff.returncode:
        raise fail(f"git diff {ref} failed: {diff.stderr.strip()}")
    changes = Changes(ref)
    prefix = "" if where == "." else where + "/"
    current, old = None, ""
    for line in diff.stdout.splitlines():
        if line.startswith("--- a/"):
            old = line[6:]
        elif line.startswith("+++ "):
            current = line[6:].removeprefix(prefix) if line.startswith("+++ b/") else None
            if current is None:
                changes.deleted.append(old.removeprefix(prefix))
        elif current is not None:
            m = HUNK.match(line)
            if m:
                start, count = int(m.group(1)), int(m.group(2) or 1)
                # Lines removed and none added: the blocks either side of the gap.
                span = (max(start, 1), start + 1) if count == 0 else (start, start + count - 1)
                changes.lines.setdefault(current, []).append(span)
    untracked = _git(repo, "ls-files", "--others", "--exclude-standard", "--", where)
    for path in untracked.stdout.splitlines():
        changes.lines[path.removeprefix(prefix)] = [WHOLE_FILE]
    return changes


def changed_marks(changes: Changes, marks: list[Mark]) -> set[str]:
    """Ids of the blocks whose source lines changed."""
    return {m.id for m in marks if changes.touches(m.ref.file, m.ref.line, m.ref.end)}


def unplaced(changes: Changes, marks: list[Mark]) -> list[tuple[str, int]]:
    """Changed lines in no printed block (book.yaml, a removed block, …), as (file, first line)."""
    out = []
    for file, spans in sorted(changes.lines.items()):
        for a, b in spans:
            if not any(m.ref.file == file and m.ref.line <= b and a <= m.ref.end for m in marks):
                out.append((file, a if (a, b) != WHOLE_FILE else 1))
    return out
