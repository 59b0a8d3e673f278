"""`build.py pdf`: the print interior of one edition, build/<slug>.pdf, with its page map."""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from ..config import display_path
from ..errors import BuildError, Problem, Problems, shown
from ..fsutil import sweep_leftovers, tree_digest, write_atomic
from ..model import Book, Edition

FONT_FAMILY = "EB Garamond 12"


def add_arguments(parser) -> None:
    parser.add_argument("--book", default="book", help="the book folder (default: book)")
    parser.add_argument("--edition", default="paperback", help="print edition in book.yaml (default: paperback)")
    parser.add_argument("--out", help="output folder (default: build/ beside the book folder)")
    parser.add_argument("--cache", help="cache folder (default: build/cache beside the book folder)")
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")


def run(args) -> int:
    from ..read import read_book
    from ..transform import transform

    started = time.monotonic()
    root = Path(args.book).resolve()
    out_dir = Path(args.out) if args.out else root.parent / "build"
    cache = Path(args.cache) if args.cache else root.parent / "build" / "cache"
    sweep_leftovers(out_dir, cache)
    last = LastBuild(args, root, out_dir, cache)
    if last.replayed():
        return 0
    from .parts import Pool

    quiet = getattr(args, "quiet", False)
    say = None if quiet else (lambda message: print(f"pdf: {message}", file=sys.stderr, flush=True))
    with Pool(cache / "print") as pool:
        pool.warm(str(root.parent))
        book = transform(read_book(root, cache))
        edition = print_edition(book, args.edition)
        problems = Problems(list(book.warnings))
        if say:
            say(f"read {len(book.units)} units in {time.monotonic() - started:.1f} s")
        data, result = build_pdf(book, edition, problems, cache, say=say, pool=pool)
    if args.strict:
        problems = Problems([replace(p, severity="error") for p in problems])
    if problems.errors:
        raise BuildError(problems.items)
    target = out_dir / output_name(book, edition)
    write_atomic(target, data)
    write_page_map(book, edition, result.pages, cache)
    for line in shown(problems):
        print(line, file=sys.stderr)
    if not quiet:
        print(f"pdf: {display_path(target)}: {len(result.pages.labels)} pages, "
              f"{len(problems.warnings)} warning(s), {time.monotonic() - started:.1f} s", file=sys.stderr)
    last.save(book, edition, target, data, shown(problems),
              f"{display_path(target)}: {len(result.pages.labels)} pages, {len(problems.warnings)} warning(s)")
    return 0


def print_edition(book: Book, name: str) -> Edition:
    edition = book.config.editions.get(name)
    if edition is None or edition.format != "print":
        names = ", ".join(n for n, e in book.config.editions.items() if e.format == "print") or "none"
        raise BuildError([Problem(display_path(book.root / "book.yaml"), 0, 0, "error", "P001",
                                  f'"{name}" is not a print edition in book.yaml (print editions: {names})')])
    return edition


def output_name(book: Book, edition: Edition) -> str:
    """`<slug>.pdf` for the first print edition, `<slug>-<edition>.pdf` for the others."""
    first = next(n for n, e in book.config.editions.items() if e.format == "print")
    suffix = "" if edition.name == first else f"-{edition.name}"
    return f"{book.config.slug}{suffix}.pdf"


def build_pdf(book: Book, edition: Edition, problems: Problems, cache: Path | None = None,
              workers: int | None = None, say=None, pool=None, pages_only: bool = False):
    """Lay out and assemble the PDF in memory; layout and font problems go into `problems`.
    `pages_only` stops at the page map (`result.pages`), with no PDF and no checks of it."""
    from .checks import check_coverage, check_layout
    from .layout import print_book

    check_font_installed(problems)
    if problems.errors:
        raise BuildError(problems.items)
    check_coverage(book, problems)
    if problems.errors:
        raise BuildError(problems.items)
    try:
        result = print_book(book, edition, problems, cache / "print" if cache else None, workers,
                            say=say, pool=pool, pages_only=pages_only)
    except Exception as exc:  # WeasyPrint raises anything from deep inside the layout.
        problems.error(display_path(book.root), 0, 0, "P002", f"layout failed: {type(exc).__name__}: {exc}")
        raise BuildError(problems.items) from exc
    if pages_only:
        return result.pdf, result
    for message in dict.fromkeys(result.warnings):
        problems.warning(display_path(book.root), 0, 0, "P002", f"WeasyPrint: {message}")
    check_fonts(result.pdf, problems, display_path(book.root))
    check_layout(book, result, problems)
    check_printer(book, edition, result.pdf, result.pages.labels, problems)
    return result.pdf, result


def check_printer(book: Book, edition: Edition, data: bytes, labels: list[str], problems: Problems) -> None:
    """The interior against the rules of the edition's printer (printers/*.yaml), if it names one."""
    from .. import printers
    from ..config import Positions

    place = printers.Place(Positions(book.root / "book.yaml"), edition.name)
    profile = printers.edition_profile(edition, problems, place)
    if profile is not None:
        printers.check_interior(data, edition, profile, labels, problems, place)


def check_font_installed(problems: Problems) -> None:
    """Regular and italic from Debian, bold and bold italic made from PyPI's variable font."""
    from ..fonts import FontMissing, bold_faces

    try:
        bold_faces(say=lambda message: print(message, file=sys.stderr))
    except FontMissing as exc:
        problems.error("requirements.txt", 0, 0, "P005", f"EB Garamond Bold: {exc}")
    fc_list = shutil.which("fc-list")
    if not fc_list:
        return
    found = subprocess.run([fc_list, FONT_FAMILY, "family"], capture_output=True, text=True).stdout
    if not found.strip():
        problems.error("scripts/ensure-system.sh", 0, 0, "P005", f'font "{FONT_FAMILY}" is not installed '
                                                                 "(Debian: apt-get install fonts-ebgaramond)")


def pdf_fonts(data: bytes) -> list[tuple[str, bool]]:
    """(base font name, embedded?) for every font the PDF's pages use."""
    import pikepdf

    fonts: dict[str, bool] = {}
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            resources = page.obj.get("/Resources", {})
            for font in (resources.get("/Font") or {}).values():
                descendant = font.get("/DescendantFonts")
                desc_font = descendant[0] if descendant else font
                descriptor = desc_font.get("/FontDescriptor")
                embedded = descriptor is not None and any(
                    k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
                name = str(font.get("/BaseFont", "?")).lstrip("/")
                fonts[name] = fonts.get(name, True) and embedded
    return sorted(fonts.items())


def check_fonts(data: bytes, problems: Problems, where: str) -> None:
    for name, embedded in pdf_fonts(data):
        family = name.split("+", 1)[-1]
        if not embedded:
            problems.error(where, 0, 0, "P004", f"font {family} is not embedded")
        elif not family.startswith("EB-Garamond"):
            problems.warning(where, 0, 0, "P006", f"some characters fell back to {family}: "
                                                  "EB Garamond has no glyph for them")


def write_page_map(book: Book, edition: Edition, pages, cache: Path) -> None:
    """anchor id → page label and index, every page's label and first words, the figures
    print set after text that followed them, and the printed index: for the EPUB."""
    by_page: dict[int, list[str]] = {}
    for anchor, index in pages.anchors.items():
        by_page.setdefault(index, []).append(anchor)
    after = None
    page_list = []
    for index, label in enumerate(pages.labels):
        page_list.append({"label": label, "index": index, "after": after, "text": pages.first_words[index]})
        if by_page.get(index):
            after = by_page[index][-1]
    data = {
        "key": layout_key(book),
        "edition": edition.name,
        "pages": page_list,
        "anchors": {a: pages.labels[i] for a, i in pages.anchors.items()},
        "anchor_pages": dict(pages.anchors),
        "figures_moved": dict(pages.moved),
        # The index as printed, entry by entry: the EPUB's carries the same locators.
        "index": [{"letter": letter, "entries": [{"id": e.id, "locators": e.locators, "see_sep": e.see_sep}
                                                 for e in entries]}
                  for letter, entries in pages.index],
    }
    text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    write_atomic(cache / f"pagemap-{edition.name}.json", text)
    if any(e.page_source == edition.name for e in book.config.editions.values()):
        write_atomic(cache / "pagemap.json", text)


def layout_key(book: Book) -> str:
    """Changes whenever anything that can move a print page changes: sources, styles,
    print templates and the print code."""
    return layout_key_of(book.root, book.sources_key or None)


def layout_key_of(root: Path, sources_key: str | None = None) -> str:
    """`layout_key` of the book folder `root`; its sources as given by `sources_key` (taken
    when reading began), else as they are now."""
    here = Path(__file__).parent
    repo = root.parent
    paths = [repo / "styles" / "base.css", repo / "styles" / "print.css"] + list((repo / "templates" / "print").rglob("*.*"))
    paths += [here / name for name in ("__init__.py", "layout.py", "parts.py")]
    paths += [here.parent / name for name in ("read.py", "transform.py")]
    digest = hashlib.sha256((sources_key or tree_digest(root, skip=("received",))).encode())
    for path in sorted(p for p in paths if p.is_file()):
        digest.update(str(path.relative_to(repo) if path.is_relative_to(repo) else path.name).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def page_map_current(root: Path, cache: Path) -> bool:
    """Whether the ebook's page map (cache/pagemap.json) was made from these sources and code."""
    try:
        return json.loads((cache / "pagemap.json").read_text(encoding="utf-8")).get("key") == \
            layout_key_of(root)
    except (OSError, ValueError):
        return False


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
        self.stamp = Stamp(cache, f"pdf-{args.edition}")
        inputs = Inputs("pdf", root, args.edition, out_dir.resolve(), cache.resolve(), args.strict,
                        os.environ.get("SOURCE_DATE_EPOCH", ""), os.environ.get("PYPANDOC_PANDOC", ""))
        # File times count as well as contents: the PDF is dated by its newest source file.
        inputs.code().tree(root, skip=("received",)).stats(root).stats(root.parent / "images")
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
