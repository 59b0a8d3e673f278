"""What every command's pipeline shares: where it reads and writes, the book read and transformed, problems settled."""
from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

from .errors import BuildError, Problems
from .model import Book


@dataclass
class Folders:
    """The book folder, and the output and cache folders beside it unless the command names others."""

    root: Path
    out: Path
    cache: Path

    @classmethod
    def of(cls, book: str | Path, out: str | Path | None = None, cache: str | Path | None = None,
           out_name: str = "build") -> "Folders":
        root = Path(book).resolve()
        return cls(root, Path(out) if out else root.parent / out_name,
                   Path(cache) if cache else root.parent / "build" / "cache")


def read(root: Path, cache: Path | None = None, only: set[str] | None = None, early=None) -> Book:
    """Stages 1 and 2: the whole book read and checked (`read.read_book`, which calls
    `early(book)` once the data files are read), then transformed (`transform.transform`;
    `only` the units named). Imported here, not at the top, so that a command that replays
    an unchanged build pays for neither."""
    from .read import read_book
    from .transform import transform

    return transform(read_book(root, cache, early=early), only=only)


def settle(problems: Problems, strict: bool = False) -> Problems:
    """The problems a stage found: with `strict`, warnings count as errors; any error stops
    the command (BuildError) before it writes anything."""
    if strict:
        problems = Problems([replace(p, severity="error") for p in problems])
    if problems.errors:
        raise BuildError(problems.items)
    return problems


def teller(quiet: bool, prefix: str = ""):
    """A `say(message)` that prints progress to stderr, or None when quiet."""
    if quiet:
        return None
    return lambda message: print(f"{prefix}{message}", file=sys.stderr, flush=True)
