"""`build.py pdf`: the print interior of one edition, build/<slug>.pdf, with its page map."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from ..config import display_path
from ..errors import BuildError, Problem, Problems, shown
from ..fsutil import sweep_leftovers, write_atomic
from ..model import Book, Edition
from .pagemap import page_map_current, write_page_map



def add_arguments(parser) -> None:
    parser.add_argument("--book", default="book", help="the book folder (default: book)")
    parser.add_argument("--edition", default=None,
                        help="print edition in book.yaml (default: the first print edition)")
    parser.add_argument("--out", help="output folder (default: build/ beside the book folder)")
    parser.add_argument("--cache", help="cache folder (default: build/cache beside the book folder)")
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")


def run(args) -> int:
    """read → transform → lay out (checked before and after) → write the PDF and its page map."""
    from ..pipeline import Folders, read, settle, teller
    from .parts import Pool

    started = time.monotonic()
    folders = Folders.of(args.book, args.out, args.cache)
    sweep_leftovers(folders.out, folders.cache)
    last = LastBuild(args, folders.root, folders.out, folders.cache)
    if last.replayed():
        return 0
    quiet = getattr(args, "quiet", False)
    say = teller(quiet, "pdf: ")
    from .layout import submit_early

    def early(partial: Book) -> None:
        """The longest parts that need no units, begun while the units are read (submit_early)."""
        try:
            edition = print_edition(partial, args.edition)
        except BuildError:
            return  # said again, where it belongs, once the book is read
        submit_early(partial, edition, pool)

    with Pool(folders.cache / "print") as pool:
        pool.warm(str(folders.root))
        book = read(folders.root, folders.cache, early=early)
        edition = print_edition(book, args.edition)
        if say:
            say(f"read {len(book.units)} units in {time.monotonic() - started:.1f} s")
        problems = Problems(list(book.warnings))
        data, result = build_pdf(book, edition, problems, folders.cache, say=say, pool=pool)
    problems = settle(problems, args.strict)
    target = folders.out / output_name(book, edition)
    write_atomic(target, data)
    write_page_map(book, edition, result.pages, folders.cache)
    summary = f"{display_path(target)}: {len(result.pages.labels)} pages, {len(problems.warnings)} warning(s)"
    for line in shown(problems):
        print(line, file=sys.stderr)
    if not quiet:
        print(f"pdf: {summary}, {time.monotonic() - started:.1f} s", file=sys.stderr)
    last.save(book, edition, target, data, shown(problems), summary)
    return 0


def print_edition(book: Book, name: str | None) -> Edition:
    """The print edition `name`; None is the first print edition book.yaml lists."""
    if name is None:
        name = next((n for n, e in book.config.editions.items() if e.format == "print"), "")
    edition = book.config.editions.get(name)
    if edition is None or edition.format != "print":
        names = ", ".join(n for n, e in book.config.editions.items() if e.format == "print") or "none"
        # An edition that is there points at its format, one that is not at the editions.
        raise BuildError([Problem(*book.config.where.at(f"editions.{name}.format"), "error", "P001",
                                  f'"{name}" is not a print edition in book.yaml (print editions: {names})')])
    return edition


def output_name(book: Book, edition: Edition) -> str:
    """`<slug>.pdf` for the first print edition, `<slug>-<edition>.pdf` for the others."""
    first = next(n for n, e in book.config.editions.items() if e.format == "print")
    suffix = "" if edition.name == first else f"-{edition.name}"
    return f"{book.config.slug}{suffix}.pdf"


def build_pdf(book: Book, edition: Edition, problems: Problems, cache: Path | None = None,
              workers: int | None = None, say=None, pool=None, pages_only: bool = False):
    """Lay out and assemble the PDF in memory, with the checks before the layout (fonts) and
    after it (the PDF, its pages, its printer's rules) in `problems`. `pages_only` stops at the
    page map (`result.pages`), with no PDF and no checks of it."""
    from . import checks
    from .layout import print_book

    checks.before_layout(book, problems)
    try:
        result = print_book(book, edition, problems, cache / "print" if cache else None, workers,
                            say=say, pool=pool, pages_only=pages_only,
                            meanwhile=lambda: checks.while_laying_out(book, problems))
    except BuildError:
        raise
    except Exception as exc:  # WeasyPrint raises anything from deep inside the layout.
        problems.error(display_path(book.root), 0, 0, "P002", f"layout failed: {type(exc).__name__}: {exc}")
        raise BuildError(problems.items) from exc
    if not pages_only:
        checks.after_layout(book, edition, result, problems, cache)
    return result.pdf, result


def ebook_page_map(book: Book, cache: Path, say=None, pool=None) -> Path | None:
    """The page map of the edition the ebook takes its page numbers from, laid out
    again only when the key of its inputs changed (unchanged parts come from the cache).
    Only the pages are laid out: no running heads, folios or PDF."""
    source = next((e.page_source for e in book.config.editions.values()
                   if e.format == "epub" and e.page_source), None)
    if not source:
        return None
    path = cache / "pagemap.json"
    if page_map_current(book.root, cache):
        return path
    edition = print_edition(book, source)
    if say:
        say(f"epub: laying out the {source} edition for its page numbers")
    _, result = build_pdf(book, edition, Problems(), cache, pool=pool, pages_only=True,
                          say=(lambda message: say(f"epub: {message}")) if say else None)
    write_page_map(book, edition, result.pages, cache)
    return path


# --- unchanged builds ---------------------------------------------------------------------
# Reading the book alone takes longer than an editor should wait for a build with
# nothing to do: when every input is as it was for the last build, and the files that
# build wrote are as it wrote them, its messages are repeated and nothing is written.

class LastBuild:
    """The last build of this edition (bookbuild/outputcache.py) and this build's key."""

    def __init__(self, args, root: Path, out_dir: Path, cache: Path):
        from ..outputcache import Inputs, Stamp

        self.quiet = getattr(args, "quiet", False)
        self.cache = cache
        self.stamp = Stamp(cache, f"pdf-{args.edition or 'first'}")
        inputs = Inputs("pdf", root, args.edition, out_dir.resolve(), cache.resolve(), args.strict,
                        os.environ.get("SOURCE_DATE_EPOCH", ""), os.environ.get("PYPANDOC_PANDOC", ""))
        # File times count as well as contents: the PDF is dated by its newest source file.
        inputs.code().tree(root, skip=("received",)).stats(root).stats(root / "images")
        for fonts in ("/usr/share/fonts", "/usr/local/share/fonts", "/var/cache/fontconfig"):
            inputs.stats(Path(fonts))
        self.key = inputs.hexdigest()

    def replayed(self) -> bool:
        record = self.stamp.fresh(self.key)
        if record is None:
            return False
        for message in record["messages"]:
            print(message, file=sys.stderr)
        if not self.quiet:
            print(f"pdf: up to date, nothing changed: {record['summary']}", file=sys.stderr)
        return True

    def save(self, book: Book, edition: Edition, target: Path, data: bytes, problems: list[str],
             summary: str) -> None:
        # The page maps write_page_map wrote: a build that finds one gone runs again.
        maps = [self.cache / f"pagemap-{edition.name}.json"]
        if any(e.page_source == edition.name for e in book.config.editions.values()):
            maps.append(self.cache / "pagemap.json")
        outputs = {target: data, **{path: path.read_bytes() for path in maps}}
        self.stamp.save(self.key, outputs, list(problems), summary)
