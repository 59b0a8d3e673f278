"""`build.py dist`: every edition of book.yaml, checked, into dist/<version>/ (interiors, covers, EPUB, ONIX)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

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
    from ..read import read_book
    from ..transform import transform
    from ..fsutil import sweep_leftovers
    from .release import make_release

    started = time.monotonic()
    quiet = getattr(args, "quiet", False)
    root = Path(args.book).resolve()
    out_root = Path(args.out) if args.out else root.parent / "dist"
    cache = Path(args.cache) if args.cache else root.parent / "build" / "cache"
    sweep_leftovers(cache.parent, cache)

    def say(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr)

    book = transform(read_book(root, cache))
    target, warnings = make_release(book, out_root, cache, force=args.force, strict=args.strict,
                                    validators=not args.skip_validators, say=say)
    for line in shown(warnings):
        print(line, file=sys.stderr)
    if not quiet:
        files = sorted(p for p in target.rglob("*") if p.is_file())
        for path in files:
            print(f"  {path.relative_to(target)}  {path.stat().st_size:,} bytes", file=sys.stderr)
        print(f"dist: {display_path(target)}: {len(files)} files, {len(warnings)} warning(s), "
              f"{time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0
