"""`build.py proof`: proof sheets of the print interior with source markers, an HTML proof, spreads and contact sheets."""
from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ..config import display_path
from ..errors import BuildError, Problems
from ..fsutil import write_atomic
from ..model import DATA_ROLES
from ..print.engine import PACKAGE_ROOT

TEMPLATES = PACKAGE_ROOT / "templates" / "proof"


def add_arguments(parser) -> None:
    parser.add_argument("--book", default="book", help="the book folder (default: book)")
    parser.add_argument("--edition", default=None,
                        help="print edition in book.yaml (default: the first print edition)")
    parser.add_argument("--out", help="output folder (default: build/proof beside the book folder)")
    parser.add_argument("--cache", help="cache folder (default: build/cache beside the book folder)")
    parser.add_argument("--since", metavar="REF", help="mark the blocks changed since this git revision "
                                                       "and list them on a first sheet")
    parser.add_argument("--chapter", metavar="N", help="only this chapter (number, unit id or file name), "
                                                       "with its folios from the last print build")
    parser.add_argument("--no-pictures", action="store_true", help="skip the PNG spreads and contact sheets")


def run(args) -> int:
    # The layout worker starts first, and imports WeasyPrint while this process imports
    # and reads the rest.
    from ..fsutil import sweep_leftovers
    from ..print.parts import Pool

    started = time.monotonic()
    root = Path(args.book).resolve()
    cache = Path(args.cache) if args.cache else root.parent / "build" / "cache"
    sweep_leftovers(cache.parent, cache)
    # One chapter is one layout: one worker, ready by the time the book is read (a second one
    # warming would slow the reading, and might take the layout before it is ready).
    with Pool(cache / "print", 1 if args.chapter else None) as pool:
        pool.warm(str(root))
        return _run(args, started, root, cache, pool)


def _run(args, started: float, root: Path, cache: Path, pool) -> int:
    """read → transform (one unit's, for --chapter) → lay out (checked before and after) →
    proof sheets → write; for the whole book, the HTML proof and the pictures too."""
    from ..print import print_edition
    from .changes import changes_since

    quiet = getattr(args, "quiet", False)

    def say(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr)

    def progress(message: str) -> None:
        say(f"proof: [{time.monotonic() - started:4.1f} s] {message}")

    out_dir = Path(args.out) if args.out else root.parent / "build" / "proof"
    pool.say = progress
    book, unit = read(root, cache, args.chapter)
    progress(f"read {len(book.units)} units")
    edition = print_edition(book, args.edition)
    problems = Problems()
    check_before_layout(problems)
    changes = changes_since(root, args.since) if args.since else None
    interior = lay_out(book, edition, unit, problems, cache, pool, say)
    progress("laid out; making the proof sheets")
    sheets = proof_sheets(book, edition, interior, unit, changes, args.since or "")
    target = write_sheets(sheets, out_dir)
    if unit is None:
        write_html_and_pictures(book, edition, interior, sheets.slug, out_dir, args.no_pictures, say)
    for problem in problems:
        print(problem, file=sys.stderr)
    say(f"proof: {display_path(target)}: {sheets.ahead + len(interior.labels)} sheets, "
        f"{sum(m.first for m in interior.marks)} source markers"
        f"{f', {len(sheets.changed)} changed since {args.since}' if changes else ''}, "
        f"{len(problems.warnings)} warning(s), {time.monotonic() - started:.1f} s")
    return 0


def read(root: Path, cache: Path, chapter: str | None):
    """The book read and transformed, and the unit --chapter names (None: the whole book).
    For one chapter only that unit is transformed: the others need no index mentions."""
    from ..read import read_book
    from ..transform import transform
    from .interior import find_unit

    book = read_book(root, cache)
    unit = find_unit(book, chapter) if chapter else None
    return transform(book, only={unit.id} if unit else None), unit


def check_before_layout(problems: Problems) -> None:
    from ..print.checks import check_font_installed

    check_font_installed(problems)
    if problems.errors:
        raise BuildError(problems.items)


def lay_out(book, edition, unit, problems: Problems, cache: Path, pool, say):
    """The whole interior, or one unit's pages with their folios from the last print build;
    WeasyPrint's warnings (P002) are the layout's check."""
    from .interior import one_unit, whole_book

    if unit is None:
        interior = whole_book(book, edition, problems, cache, pool=pool)
    else:
        interior = one_unit(book, edition, unit, problems, cache, say=say, pool=pool)
    for message in dict.fromkeys(interior.warnings):
        problems.warning(display_path(book.root), 0, 0, "P002", f"WeasyPrint: {message}")
    if problems.errors:
        raise BuildError(problems.items)
    return interior


@dataclass
class Sheets:
    """The proof PDF, its sidecar's data, and what the summary counts."""

    stem: str
    pdf: bytes
    sidecar: dict
    slug: object
    changed: set[str]
    ahead: int


def proof_sheets(book, edition, interior, unit, changes, since: str) -> Sheets:
    """The pages on proof sheets with slug and source markers, after a list of the blocks
    changed since `since` when asked."""
    from .changes import changed_marks, version
    from .sheets import Slug, proof_pdf

    changed = changed_marks(changes, interior.marks) if changes else set()
    slug = Slug(book.config.title, edition.name, version(book.repository), build_date(), since)
    front = changes_sheet(book, edition, interior, changes, changed, slug, unit) if changes else None
    data = proof_pdf(interior, edition, slug, changed, front)
    ahead = _page_count(front)
    stem = f"{book.config.slug}-proof" + (f"-{unit_name(unit)}" if unit else "")
    return Sheets(stem, data, sidecar(interior, slug, changed, ahead, unit), slug, changed, ahead)


def write_sheets(sheets: Sheets, out_dir: Path) -> Path:
    target = out_dir / f"{sheets.stem}.pdf"
    write_atomic(target, sheets.pdf)
    write_atomic(out_dir / f"{sheets.stem}.json", json.dumps(sheets.sidecar, ensure_ascii=False, indent=1) + "\n")
    return target


def write_html_and_pictures(book, edition, interior, slug, out_dir: Path, no_pictures: bool, say) -> None:
    """The HTML proof (with lint's findings), the spreads and the contact sheets."""
    from .htmlproof import html_proof
    from .pictures import contact_sheets, spreads

    # pdftoppm runs in other processes while lint and the HTML proof take this one.
    with ThreadPoolExecutor(1) as pool:
        pictures = None if no_pictures else pool.submit(
            lambda: spreads(interior, out_dir / "spreads", _titles(book))
            + contact_sheets(interior, out_dir, slug))
        html, lint_note = html_proof(book, edition, slug)
        page = out_dir / f"{book.config.slug}.html"
        write_atomic(page, html)
        say(f"proof: {display_path(page)}: {lint_note}")
        if pictures is not None:
            say(f"proof: {len(pictures.result())} pictures under {display_path(out_dir)}")


def unit_name(unit) -> str:
    return f"chapter-{unit.number}" if unit.role == "chapter" and unit.number else unit.id


def build_date() -> str:
    """Now, or SOURCE_DATE_EPOCH when set (two proofs of the same sources can then be compared)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")


def _titles(book) -> dict[str, str]:
    titles = {u.id: (f"Chapter {u.number}: {u.title}" if u.role == "chapter" and u.number else u.title)
              for u in book.units}
    titles.update({e.role: book.data_title(e.role) for e in book.config.contents if e.role in DATA_ROLES})
    return titles


def _page_count(pdf: bytes | None) -> int:
    if not pdf:
        return 0
    import io

    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        return len(doc.pages)


def changes_sheet(book, edition, interior, changes, changed: set[str], slug, unit) -> bytes:
    """The first sheet(s) under --since: every changed block with its page and sheet."""
    from ..print.engine import standalone_pdf
    from .changes import unplaced
    from .sheets import MARGIN_X, MARGIN_Y, sheet_size

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    width, height = sheet_size(edition)

    def render(ahead: int) -> bytes:
        rows = [{"source": str(m.ref), "page": interior.labels[m.page], "sheet": ahead + m.page + 1,
                 "words": interior.words.get(m.id, "")}
                for m in interior.marks if m.first and m.id in changed]
        html = env.get_template("changes.html.j2").render(
            since=changes.ref, title=slug.title, edition=slug.edition, version=slug.version, date=slug.date,
            rows=rows, unplaced=[] if unit else unplaced(changes, interior.marks), deleted=changes.deleted,
            unit=unit.title if unit else "", width=f"{width:.2f}", height=f"{height:.2f}",
            margin_x=f"{MARGIN_X:.2f}", margin_y=f"{MARGIN_Y:.2f}",
            css=(TEMPLATES / "changes.css").read_text(encoding="utf-8"))
        return standalone_pdf(html)[0]

    # The sheet numbers in the list count the list's own pages.
    first = render(1)
    pages = _page_count(first)
    return first if pages == 1 else render(pages)


def sidecar(interior, slug, changed: set[str], ahead: int, unit) -> dict:
    """The proof as data, for tools and tests: every marker with its sheet, page and source."""
    return {
        "title": slug.title, "edition": slug.edition, "version": slug.version, "date": slug.date,
        "since": slug.since, "unit": unit.id if unit else None, "front_sheets": ahead,
        "pages": [{"sheet": ahead + i + 1, "label": label, "book_page": interior.book_pages[i] + 1}
                  for i, label in enumerate(interior.labels)],
        "marks": [{"id": m.id, "source": str(m.ref), "file": m.ref.file, "line": m.ref.line, "end": m.ref.end,
                   "sheet": ahead + m.page + 1, "page": interior.labels[m.page], "top": round(m.top, 2),
                   "bottom": round(m.bottom, 2), "first": m.first, "changed": m.id in changed,
                   "words": interior.words.get(m.id, "")}
                  for m in interior.marks],
    }
