"""`build.py new --book DIR`: a new title's book folder that builds at once (templates/new/)."""
from __future__ import annotations

import argparse
import datetime
import re
import shutil
import sys
from pathlib import Path

from .errors import BuildError, Problem

TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "new"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--book", type=Path, required=True,
                        help="the new book folder (e.g. ../another-title/book); must not hold a book")
    parser.add_argument("--title", default="A New Title", help="the title (book.yaml's title)")
    parser.add_argument("--slug", default="", help="output file names; from the folder's name when empty")
    parser.add_argument("--language", default="en-US", help="language code: en-US, en-GB, …")


def run(args: argparse.Namespace) -> int:
    root = args.book.resolve()
    if root.exists() and any(root.iterdir()):
        # Never write over a book: whatever is there may be the only copy.
        raise BuildError([Problem(str(args.book), 0, 0, "error", "S009",
                                  f"{args.book} exists and is not empty; `new` writes only a new folder")])
    slug = args.slug or slug_of(root)
    create(root, args.title, slug, args.language)
    if not args.quiet:
        print(f"new: {args.book} holds {args.title!r} ({slug}); build it with "
              f"`python build.py epub --book {args.book}` and `pdf`", file=sys.stderr)
    return 0


def slug_of(root: Path) -> str:
    """The title folder's name (`another-title` for another-title/book), as a file name."""
    name = root.parent.name if root.name == "book" else root.name
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "new-title"


def create(root: Path, title: str, slug: str, language: str) -> None:
    """Copies the template folder to `root`, filling book.yaml in."""
    import jinja2

    shutil.copytree(TEMPLATE, root, ignore=shutil.ignore_patterns("*.j2"), dirs_exist_ok=True)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE), keep_trailing_newline=True,
                             autoescape=False)
    text = env.get_template("book.yaml.j2").render(
        title=_yaml_scalar(title), slug=slug, language=language, year=datetime.date.today().year)
    (root / "book.yaml").write_text(text, encoding="utf-8")


def _yaml_scalar(text: str) -> str:
    """`text` as a YAML scalar that reads back as itself (quoted when it needs to be)."""
    import json

    return text if re.fullmatch(r"[A-Za-z0-9][\w ,.’'–-]*", text) and ": " not in text else json.dumps(text)
