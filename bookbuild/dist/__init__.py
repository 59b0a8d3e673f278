"""`build.py dist`: every edition of book.yaml, checked, into dist/<version>/ (interiors, covers, EPUB, ONIX)."""
from __future__ import annotations

import sys
import time

from ..config import display_path
from ..errors import shown


def add_arguments(parser) -> None:
    parser.add_argument("--book", default="book", help="the book folder (default: book)")
    parser.add_argument("--out", help="where releases go (default: dist/ beside the book folder)")
    parser.add_argument("--cache", help="cache folder (default: build/cache beside the book folder); "
                                        "the staging folder and validator reports go beside it")
    parser.add_argument("--force", action="store_true", help="replace a release of the same version")
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.add_argument("--skip-validators", action="store_true",
                        help="leave out EPUBCheck and Ace (the manifest says so); for quick trial runs")


def run(args) -> int:
    """read → transform → the release: checked, every edition built and checked, moved into dist/."""
    from ..fsutil import sweep_leftovers
    from ..pipeline import Folders, read, teller
    from .release import make_release

    started = time.monotonic()
    quiet = getattr(args, "quiet", False)
    folders = Folders.of(args.book, args.out, args.cache, out_name="dist")
    sweep_leftovers(folders.cache.parent, folders.cache)
    book = read(folders.root, folders.cache)
    target, warnings = make_release(book, folders.out, folders.cache, force=args.force, strict=args.strict,
                                    validators=not args.skip_validators,
                                    say=teller(quiet) or (lambda message: None))
    for line in shown(warnings):
        print(line, file=sys.stderr)
    if not quiet:
        files = sorted(p for p in target.rglob("*") if p.is_file())
        for path in files:
            print(f"  {path.relative_to(target)}  {path.stat().st_size:,} bytes", file=sys.stderr)
        print(f"dist: {display_path(target)}: {len(files)} files, {len(warnings)} warning(s), "
              f"{time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0
