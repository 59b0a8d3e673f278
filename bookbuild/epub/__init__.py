"""`build.py epub`: the EPUB 3 edition, written atomically to build/<slug>.epub."""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined
from lxml import etree
from markupsafe import Markup

from . import markup as mk
from . import pagebreaks as pb
from .package import FONT_DIR, SubsetFonts, iso_modified, sources_modified, subset_fonts, text_cover, zip_epub
from ..config import display_path
from ..errors import BuildError, Problems, shown
from ..fsutil import sweep_leftovers, write_atomic
from ..model import FRONT_ROLES, Book, Edition, Unit
from ..outputcache import Inputs, Stamp

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATES = ROOT / "templates" / "epub"
STYLESHEET = ROOT / "styles" / "epub.css"
PAGE_MAP = Path("build") / "cache" / "pagemap.json"

# book.yaml role -> (epub:type, ARIA role). Ace requires the matching role
# wherever DPUB-ARIA has one; roles without a vocabulary term get neither.
SECTION_TYPES = {
    "foreword": ("foreword", "doc-foreword"),
    "preface": ("preface", "doc-preface"),
    "introduction": ("introduction", "doc-introduction"),
    "prologue": ("prologue", "doc-prologue"),
    "part": ("part", "doc-part"),
    "chapter": ("chapter", "doc-chapter"),
    "conclusion": ("conclusion", "doc-conclusion"),
    "epilogue": ("epilogue", "doc-epilogue"),
    "afterword": ("afterword", "doc-afterword"),
    "appendix": ("appendix", "doc-appendix"),
    "acknowledgments": ("acknowledgments", "doc-acknowledgments"),
    "dedication": ("dedication", "doc-dedication"),
    "epigraph": ("epigraph", "doc-epigraph"),
    "bibliography": ("bibliography", "doc-bibliography"),
}
# EPUB's core media types; other images (TIFF, which print accepts) become PNG.
IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
               ".gif": "image/gif", ".svg": "image/svg+xml", ".webp": "image/webp"}
OTHER_TYPES = {".css": "text/css", ".otf": "font/otf", ".ttf": "font/ttf"}
COVER_NAMES = ("cover.jpg", "cover.jpeg", "cover.png")


@dataclass
class Doc:
    """One XHTML file of the spine, as an lxml tree until it is written."""

    name: str
    title: str
    root: etree._Element
    role: str = ""
    source: str = ""
    lang: str = "en"
    body_type: str = ""
    in_toc: bool = True
    number: int | None = None


# The command ---------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--book", type=Path, default=ROOT / "book",
                        help="the book folder, holding book.yaml (default: book/)")
    where = parser.add_mutually_exclusive_group()
    # `--out` names a folder, as for `pdf`, `proof` and `dist`; `--output` names the file.
    where.add_argument("--out", type=Path, help="output folder (default: build/ beside the book folder)")
    where.add_argument("-o", "--output", type=Path,
                       help="where to write the EPUB (default: build/<slug>.epub beside the book folder)")
    parser.add_argument("--page-map", type=Path,
                        help=f"print page map written by the PDF build (default: {PAGE_MAP}, if present)")
    parser.add_argument("--no-page-list", action="store_true",
                        help="leave out print page numbers (no print layout is run)")
    parser.add_argument("--check", action="store_true",
                        help="then run EPUBCheck and Ace on it (install them with scripts/install-validators.sh)")


def run(args: argparse.Namespace) -> int:
    """read → transform → print's page map → render and package → write → check (with --check)."""
    from ..pipeline import Folders

    folders = Folders.of(args.book, args.out)
    sweep_leftovers(folders.out, folders.cache)
    stamp = Stamp(folders.cache, "epub")
    sources = inputs_key(folders.root, args)
    # The page map is whichever file this build would read; checked before the book
    # is read, since reading it (Pandoc, the index) is most of an unchanged build's time.
    candidate = None if args.no_page_list else Path(args.page_map) if args.page_map else folders.cache / PAGE_MAP.name
    record = stamp.fresh(output_key(sources, read_bytes(candidate)))
    if record is not None:
        return replay(record, args, folders.out)
    book, page_map_path = read_with_page_map(folders, candidate, laid_out=not args.page_map, quiet=args.quiet)
    raw_map = read_bytes(page_map_path)
    page_map = parse_page_map(raw_map) if raw_map is not None else None
    placed: list[pb.Placed] = []
    data = build(book, page_map, folders.cache, placed)
    out = Path(args.output) if args.output else folders.out / f"{book.config.slug}.epub"
    write_atomic(out, data)
    warnings, summary = report(book, out, data, page_map_path if page_map else None, placed, args.quiet)
    used = raw_map if page_map_path == candidate else read_bytes(candidate)
    stamp.save(output_key(sources, used), {out: data}, warnings, summary)
    if args.check:
        from ..validate import check
        return check(out, folders.out)
    return 0


def read_with_page_map(folders, candidate: Path | None, laid_out: bool, quiet: bool) -> tuple[Book, Path | None]:
    """The book read and transformed, and the page map to read: print's own, laid out again
    (its workers getting ready while the book is read) when it is stale and `laid_out`."""
    from ..pipeline import read

    if candidate is None or not laid_out:
        return read(folders.root), candidate
    from ..print import ebook_page_map
    from ..print.pagemap import page_map_current
    from ..print.parts import Pool

    with Pool(folders.cache / "print") as pool:
        if not page_map_current(folders.root, folders.cache):
            pool.warm(str(folders.root))
        book = read(folders.root)
        say = None if quiet else (lambda msg: print(msg, file=sys.stderr))
        return book, ebook_page_map(book, folders.cache, say, pool)


def report(book: Book, out: Path, data: bytes, page_map_path: Path | None, placed: list[pb.Placed],
           quiet: bool) -> tuple[list[str], str]:
    """The warnings (the book's, and what keeps the ebook from a store) and a summary, printed;
    returned for the record of this build."""
    warnings = shown([*book.warnings, *retail_problems(book)])
    for warning in warnings:
        print(warning, file=sys.stderr)
    pages = page_list_summary(page_map_path, placed) if page_map_path else "no page map: no page-list"
    if not quiet:
        for p in placed:
            if p.reason:
                print(f"epub: print page {p.label} is marked at a block's start: {p.reason}", file=sys.stderr)
    summary = f"{out} ({len(data) // 1024} KiB; {pages})"
    if not quiet:
        print(f"epub: wrote {summary}", file=sys.stderr)
    return warnings, summary


def page_list_summary(path: Path, placed: list[pb.Placed]) -> str:
    others = [p.label for p in placed if p.reason]
    return (f"page-list from {path}: {len(placed)} pages, {len(placed) - len(others)} at their first words"
            + (f", {len(others)} at a block's start ({', '.join(others)})" if others else ""))


def inputs_key(root: Path, args: argparse.Namespace) -> str:
    """A digest of everything the EPUB is made from but the page map: the book folder
    (the received manuscript aside), the art, the fonts, the pipeline's code, templates
    and styles (which the page map's own key covers too), the options and the sources'
    modification date that goes into the package."""
    output = Path(args.output).resolve() if args.output else \
        f"folder {Path(args.out).resolve()}" if args.out else "default"
    inputs = Inputs("epub", root, output, args.no_page_list, args.page_map or "")
    inputs.code().tree(root, skip=("received",)).stats(root / "images").stats(FONT_DIR)
    inputs.text(iso_modified(sources_modified(root)), os.environ.get("PYPANDOC_PANDOC", ""))
    return inputs.hexdigest()


def output_key(sources: str, page_map: bytes | None) -> str:
    return Inputs(sources, hashlib.sha256(page_map).hexdigest() if page_map is not None else "none").hexdigest()


def read_bytes(path: Path | None) -> bytes | None:
    try:
        return path.read_bytes() if path is not None else None
    except OSError:
        return None


def replay(record: dict, args: argparse.Namespace, build_dir: Path) -> int:
    """What the last build said, for a build that has nothing to do."""
    for message in record["messages"]:
        print(message, file=sys.stderr)
    if not args.quiet:
        print(f"epub: up to date, nothing changed: {record['summary']}", file=sys.stderr)
    if args.check:
        from ..validate import check
        return check(Path(next(iter(record["outputs"]))), build_dir)
    return 0


# The build -----------------------------------------------------------------

def environment(cache: Path | None = None) -> Environment:
    """The templates' environment; compiled templates are kept in `cache` when given."""
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                       undefined=StrictUndefined, keep_trailing_newline=True,
                       bytecode_cache=FileSystemBytecodeCache(str(mkdirs(cache))) if cache else None)


def mkdirs(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def build(book: Book, page_map: dict | None, cache: Path | None = None,
          placed: list | None = None) -> bytes:
    """The EPUB's bytes; raises BuildError listing every problem. Compiled templates,
    subset fonts and the generated cover are kept in `cache` when given; `placed`, when
    given, receives every page-break marker (pb.Placed: where it went, and why when it
    is not at its print page's first words).

    Written with zipfile from our own XHTML, OPF and nav rather than EbookLib:
    EbookLib regenerates each document from its own template (dropping `<head>`
    content and `<body>` attributes) and invents a page-list from every element
    with `epub:type` and an id; neither can be switched off entirely."""
    env = environment(cache / "epub-templates" if cache else None)
    files: dict[str, bytes] = {}
    docs = unit_docs(book, env, files)
    spine, nav = whole_spine(book, env, docs, files, page_map, cache)
    # The fonts are subset while print's pages are placed: the text is all there but the
    # page-list's labels (print's folios), which are added to it.
    labels = "".join(p.label for p in page_map["pages"]) if page_map else ""
    fonts = SubsetFonts(_used_text(spine) + labels, cache / "epub-fonts" if cache else None)
    pages = print_pages(book, env, docs, spine, nav, page_map)
    if placed is not None:
        placed.extend(pages)
    return pack(book, env, spine, files, cache, paged=bool(pages), fonts=fonts)


def unit_docs(book: Book, env: Environment, files: dict[str, bytes]) -> list[Doc]:
    """A document per entry of the contents (the index's still empty); the checks of their
    markup (E001, E002, E005) stop the build here."""
    problems = Problems()
    docs: list[Doc] = []
    for entry in book.config.contents:
        unit = book.unit_for(entry)
        if unit is not None:
            docs.append(text_doc(unit, book, problems, files))
        elif entry.role in ("glossary", "congresses", "biographies"):
            docs.append(data_doc(entry.role, book, env))
        elif entry.role == "index":
            docs.append(Doc("index", book.data_title("index"), etree.Element(mk.h("section")),
                            "index", entry.file, book.config.language, "backmatter"))
    if problems.errors:
        raise BuildError(problems.items)
    return docs


def whole_spine(book: Book, env: Environment, docs: list[Doc], files: dict[str, bytes],
                page_map: dict | None, cache: Path | None) -> tuple[list[Doc], Doc]:
    """The front documents, the units, the index with print's locators, and the nav after
    the copyright page; links resolved across files."""
    doc_of = link_across_files(docs)
    spine = front_docs(book, env, files, cache) + docs
    for doc in docs:
        if doc.role == "index":
            doc.root = render_index(book, env, doc_of, page_map)
    nav = nav_doc(book, env, spine)
    spine.insert(next(i for i, d in enumerate(spine) if d.name == "copyright") + 1, nav)
    return spine, nav


def print_pages(book: Book, env: Environment, docs: list[Doc], spine: list[Doc], nav: Doc,
                page_map: dict | None) -> list[pb.Placed]:
    """Print's pages in the ebook: figures in print's order, page-break markers, the page-list."""
    if not page_map:
        return []
    # The ebook follows print's order where print set a figure after the text after it.
    for doc in docs:
        pb.follow_print_figures(doc.root, page_map.get("moved", {}))
    pages = pb.place_pagebreaks([(d.name, d.root) for d in spine], page_map["pages"],
                                ebook_anchors(book, page_map["anchors"]))
    add_page_list(nav, env, pages)
    return pages


def pack(book: Book, env: Environment, spine: list[Doc], files: dict[str, bytes], cache: Path | None,
         paged: bool, fonts: SubsetFonts | None = None) -> bytes:
    """The documents written, the stylesheet, the fonts subset to what the text uses (`fonts`,
    begun before, when its characters are still the text's), the package document; zipped."""
    files.update(write_docs(spine, env))
    files["EPUB/styles/epub.css"] = STYLESHEET.read_bytes()
    used = _used_text(spine)
    made = fonts.result() if fonts is not None else None
    if made is None or not fonts.covers(used):  # (begun for other characters: not expected)
        made = subset_fonts(used, cache / "epub-fonts" if cache else None)
    for name, data in made.items():
        files[f"EPUB/fonts/{name}"] = data
    files["META-INF/container.xml"] = CONTAINER.encode()
    files["EPUB/package.opf"] = package(book, env, spine, files, paged=paged).encode()
    return zip_epub(files)


def _used_text(spine: list[Doc]) -> str:
    """Every character the ebook's documents show, for the fonts' subset."""
    return "".join("".join(d.root.itertext()) + d.title for d in spine)


# Print's ids for what the ebook has under ids of its own: the title page, the contents
# (the ebook's is the nav), the index's entries.
PRINT_IDS = {"title-page": "titlepage", "contents": "toc"}


def ebook_anchors(book: Book, anchors: dict[str, int]) -> dict[str, int]:
    """The page map's anchor pages under the ebook's ids."""
    entries = {f"index-{h.id}": f"ixe-{h.id}" for h in book.index}
    return {PRINT_IDS.get(a, entries.get(a, a)): page for a, page in anchors.items()}


CONTAINER = """<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
<rootfiles>
<rootfile full-path="EPUB/package.opf" media-type="application/oebps-package+xml"/>
</rootfiles>
</container>
"""


# Text units ----------------------------------------------------------------

def text_doc(unit: Unit, book: Book, problems: Problems, files: dict[str, bytes]) -> Doc:
    """One Markdown unit: raw HTML checked, notes made endnotes, figures resolved."""
    wrapper = mk.parse_fragment(unit.html)
    check_markup(book.root / unit.file, wrapper, problems)
    section = wrapper.find(mk.h("section"))
    wrapper.remove(section)
    heading = section.find(mk.h("h1"))
    heading.set("id", f"{unit.id}-title")
    epub_type, role = SECTION_TYPES.get(unit.role, (None, None))
    if epub_type:
        section.set(mk.EPUB_TYPE, epub_type)
        section.set("role", role)
    section.set("class", unit.role)
    section.set("aria-labelledby", heading.get("id"))
    if unit.role == "chapter" and unit.number is not None:
        number = etree.Element(mk.h("span"), {"class": "label"})
        number.text = f"Chapter {unit.number}"
        number.tail = " " + (heading.text or "")
        heading.text = None
        heading.insert(0, number)
    # "Notes", as the print edition heads them: they close the chapter, in its own file.
    mk.make_endnotes(section, unit.notes, "Notes")
    place_figures(section, unit, book, files)
    mk.fit_tables(section)
    mk.keep_ranges_whole(section)
    mk.mirror_lang(section)
    if unit.lang != book.config.language:
        section.set("lang", unit.lang)
        section.set(mk.XML_LANG, unit.lang)
    body_type = "frontmatter" if unit.role in FRONT_ROLES else "bodymatter"
    return Doc(Path(unit.file).stem, unit.title, section, unit.role, unit.file,
               book.config.language, body_type, number=unit.number)


def check_markup(source: Path, wrapper: etree._Element, problems: Problems) -> None:
    """The checks of a unit's markup, all of them: raw HTML that is not XML (E001), scripts
    (E002), resources from outside the EPUB (E005)."""
    label = display_path(source)
    check_raw_html(source, label, problems)
    for finding, needle in mk.unsafe_markup(wrapper):
        problems.error(label, find_line(source, needle), 1, "E002",
                       f"raw HTML may not carry scripts: {finding}")
    for finding, needle in mk.remote_resources(wrapper):
        problems.error(label, find_line(source, needle), 1, "E005",
                       f"{finding}: an EPUB carries what it shows (put the file under images/)")


RAW_TAG = re.compile(r"<(/?)([A-Za-z][\w:-]*)((?:\s+[^<>]*?)?)\s*(/?)>")
VOID = {"br", "hr", "img", "wbr", "col", "area", "base", "input", "link", "meta", "source", "track"}


def check_raw_html(path: Path, label: str, problems: Problems) -> None:
    """Raw HTML in Markdown reaches the EPUB as written, and an EPUB is XML: every
    tag must parse on its own and close in order. (The read stage parses HTML
    leniently, so what it hands on no longer shows the mistake.)"""
    open_tags: list[tuple[str, int, int]] = []
    fenced = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        if fenced:
            continue
        code_free = re.sub(r"`[^`]*`", lambda m: " " * len(m.group(0)), line)
        for m in RAW_TAG.finditer(code_free):
            closing, name, attrs, selfclosing = m.groups()
            col = m.start() + 1
            if not closing:
                try:
                    etree.fromstring(f"<{name}{attrs}/>".encode("utf-8"))
                except etree.XMLSyntaxError as exc:
                    problems.error(label, number, col, "E001",
                                   f"raw HTML {m.group(0)} is not well-formed XHTML ({exc.msg})")
                    continue
            if selfclosing:
                continue
            if not closing:
                if name.lower() in VOID:
                    problems.error(label, number, col, "E001",
                                   f"raw HTML {m.group(0)} must be closed in XHTML: <{name}{attrs}/>")
                else:
                    open_tags.append((name, number, col))
            elif open_tags and open_tags[-1][0] == name:
                open_tags.pop()
            elif open_tags:
                problems.error(label, number, col, "E001",
                               f"raw HTML {m.group(0)} where </{open_tags[-1][0]}> (opened on line "
                               f"{open_tags[-1][1]}) must close first")
            else:
                problems.error(label, number, col, "E001",
                               f"raw HTML {m.group(0)} closes an element that is not open")
    for name, number, col in open_tags:
        problems.error(label, number, col, "E001", f"raw HTML <{name}> is never closed")


def place_figures(section, unit: Unit, book: Book, files: dict[str, bytes]) -> None:
    """Art into EPUB/images/. Absent art (the read stage has warned) is, as the ebook
    edition's `missing_art` says, a marked frame (`placeholder`, for drafts) or nothing
    but the caption (`caption`, for release)."""
    edition = ebook_edition(book)
    missing_art = edition.missing_art if edition else "placeholder"
    figures = {f.id: f for f in unit.figures}
    for figure in section.iter(mk.h("figure")):
        info = figures.get(figure.get("id"))
        img = figure.find(mk.h("img"))
        caption = figure.find(mk.h("figcaption"))
        if info is None or img is None:
            continue
        caption_text = mk.text_of(caption) if caption is not None else ""
        if caption is not None:
            # Pandoc hides a caption that repeats the alt text from screen readers,
            # but it is what sighted readers see: it stays, and the image points to it.
            caption.attrib.pop("aria-hidden", None)
            caption.set("id", f"{figure.get('id')}-caption")
        if not info.present and missing_art == "caption":
            caption_alone(figure, img)
            continue
        if not info.present:
            frame = etree.Element(mk.h("div"), {
                "class": "figure-placeholder", "role": "img",
                "aria-label": f"Image not available: {img.get('alt') or caption_text}"})
            frame.text = "Image not available"
            frame.tail = img.tail
            figure.replace(img, frame)
            continue
        name, data = epub_image(info.path)
        files[f"EPUB/images/{name}"] = data
        img.set("src", f"../images/{name}")
        if caption is not None and img.get("alt", "") in ("", caption_text):
            img.set("alt", caption_text)
            img.set("aria-describedby", caption.get("id"))


def caption_alone(figure: etree._Element, img: etree._Element) -> None:
    """A figure without its art set as its caption alone: no frame, no word of the missing
    picture. The figure keeps its id (links, the page-list and the index point at it) but
    not its role, so that a screen reader reads the caption once, as text, rather than
    naming a figure by its caption and then reading the caption."""
    if img.tail:
        previous = img.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + img.tail
        else:
            figure.text = (figure.text or "") + img.tail
    figure.remove(img)
    figure.set("class", " ".join(filter(None, [figure.get("class"), "caption-alone"])))
    figure.set("role", "none")


def ebook_edition(book: Book):
    """The ebook edition of book.yaml (None when it lists none)."""
    return next((e for e in book.config.editions.values() if e.format == "epub"), None)


# Reading systems show art at most a screen high; past this many pixels on the long side an
# image is scaled down for the EPUB (the print edition keeps the file as it is).
EPUB_IMAGE_SIDE = 2560


def epub_image(path: Path) -> tuple[str, bytes]:
    """The art as the EPUB carries it: a core type, no larger than EPUB_IMAGE_SIDE."""
    if path.suffix.lower() == ".svg":
        return path.name, path.read_bytes()
    from PIL import Image

    with Image.open(path) as img:
        if path.suffix.lower() in IMAGE_TYPES and max(img.size) <= EPUB_IMAGE_SIDE:
            return path.name, path.read_bytes()
        img.thumbnail((EPUB_IMAGE_SIDE, EPUB_IMAGE_SIDE), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        if img.format == "JPEG" or path.suffix.lower() in (".jpg", ".jpeg"):
            img.convert("RGB").save(buf, "JPEG", quality=88)
            return f"{path.stem}.jpg", buf.getvalue()
        img.save(buf, "PNG")
    return f"{path.stem}.png", buf.getvalue()


def link_across_files(docs: list[Doc]) -> dict[str, str]:
    """`#id` links become `file.xhtml#id` now that each unit is its own file
    (the read stage has checked that every target exists); returns each id's file."""
    where: dict[str, str] = {}
    for doc in docs:
        for el in doc.root.iter():
            if isinstance(el.tag, str) and el.get("id"):
                where.setdefault(el.get("id"), doc.name)
    for doc in docs:
        for a in doc.root.iter(mk.h("a")):
            target = a.get("href", "")[1:] if a.get("href", "").startswith("#") else None
            if target in where and where[target] != doc.name:
                a.set("href", f"{where[target]}.xhtml#{target}")
    return where


# Index ---------------------------------------------------------------------

def render_index(book: Book, env: Environment, doc_of: dict[str, str],
                 page_map: dict | None) -> etree._Element:
    """EPUB Indexes 1.0 markup, in print's order. With a page map that holds the printed
    index, every entry carries print's locators (pages, ranges and the biography's page in
    italics), each linking the mention it names; with an older page map, one locator per
    print page of the mentions; without one, running numbers and a link to the biography."""
    from ..print.layout import index_order, see_separator

    printed = {e["id"]: e["locators"] for g in (page_map or {}).get("index", []) for e in g["entries"]}
    headings = {h.id: h for h in book.index}
    by_heading: dict[str, list[str]] = {}
    for m in book.mentions:
        by_heading.setdefault(m.heading, []).append(m.anchor)
    groups = []
    for letter, entries in index_order(book):
        rendered = []
        for h in entries:
            if h.id in printed:
                locs = [{"href": f"{doc_of[loc['anchor']]}.xhtml#{loc['anchor']}", "label": loc["text"],
                         "bio": loc["bio"]} for loc in printed[h.id] if loc["anchor"] in doc_of]
            else:
                locs = own_locators(book, h, by_heading.get(h.id, []), doc_of, page_map)
            rendered.append({
                "anchor": f"ixe-{h.id}", "heading": h.heading, "locators": locs,
                "see_sep": see_separator(h.heading, bool(locs)),
                "see": [{"href": f"#ixe-{x}", "label": headings[x].heading} for x in h.see if x in headings],
                "see_also": [{"href": f"#ixe-{x}", "label": headings[x].heading}
                             for x in h.see_also if x in headings]})
        key = letter.lower() if letter.isalpha() and letter.isascii() else "other"
        groups.append({"id": f"index-{key}", "letter": letter, "entries": rendered})
    italic = any(loc["bio"] and loc["label"] != "biography"
                 for g in groups for e in g["entries"] for loc in e["locators"])
    return render_fragment(env, "index.xhtml.j2", title=book.data_title("index"), groups=groups,
                           italic_note=italic)


def own_locators(book: Book, heading, anchors: list[str], doc_of: dict[str, str],
                 page_map: dict | None) -> list[dict]:
    """Locators of a heading the page map's printed index does not hold: one per print page
    (to its first mention there) or, without page labels, a running number; then the
    biography."""
    labels = page_map["labels"] if page_map else {}
    locs, seen = [], set()
    for n, anchor in enumerate(anchors, 1):
        label = labels.get(anchor)
        if label is not None and label in seen:
            continue
        seen.add(label)
        locs.append({"href": f"{doc_of[anchor]}.xhtml#{anchor}", "label": label or str(n), "bio": False})
    person = next((p for p in book.people if p.id == heading.person), None)
    if person is not None:
        locs.append({"href": f"biographies.xhtml#{person.anchor}",
                     "label": labels.get(person.anchor, "biography"), "bio": True})
    return locs


# Front matter and data units ---------------------------------------------------

def render_fragment(env: Environment, template: str, **context) -> etree._Element:
    """A template's one top element, detached from the parsing wrapper."""
    wrapper = mk.parse_fragment(env.get_template(template).render(**context))
    top = wrapper[0]
    wrapper.remove(top)
    mk.keep_ranges_whole(top)
    return top


def front_docs(book: Book, env: Environment, files: dict[str, bytes], cache: Path | None = None) -> list[Doc]:
    config = book.config
    lang = config.language
    art = next((book.root / "images" / n for n in COVER_NAMES
                if (book.root / "images" / n).is_file()), None)
    authors = ", ".join(a.name for a in config.authors)
    if art is not None:
        cover = f"cover{art.suffix.lower()}"
        files[f"EPUB/images/{cover}"] = art.read_bytes()
    else:
        cover = "cover.png"
        series = f"{config.series.title} Volume {config.series.volume}" if config.series else ""
        files["EPUB/images/cover.png"] = text_cover(config.title, config.subtitle, authors, series,
                                                    cache / "epub-cover" if cache else None)
    alt = f"Cover: {config.title}" + (f": {config.subtitle}" if config.subtitle else "") + f", by {authors}"
    inline = {k: Markup(v) for k, v in book.inline_html.items()}
    view = {"config": config, "inline": inline,
            # The copyright page as printed when book.yaml has it line by line,
            # less "Printed in …": an ebook is not printed.
            "lines": [inline.get(f"copyright_page.{i}", line) for i, line in enumerate(config.copyright_page)
                      if line != config.printed_in],
            # The CIP block is catalogue data: its double hyphens are not dashes.
            "cip": config.cip,
            # Credits for the cover photographs only when the ebook's cover shows them: a
            # cover of its own (images/cover.*) or the release's, with the edition's cover art.
            "cover_credits": inline.get("cover_credits") if art is not None or any(
                e.format == "epub" and e.cover_photographs for e in config.editions.values()) else None}
    return [
        Doc("cover", "Cover", render_fragment(env, "cover.xhtml.j2", cover_image=cover, cover_alt=alt),
            lang=lang, in_toc=False),
        Doc("titlepage", "Title Page", render_fragment(env, "titlepage.xhtml.j2", **view),
            lang=lang, body_type="frontmatter"),
        Doc("copyright", "Copyright", render_fragment(env, "copyright.xhtml.j2", **view),
            lang=lang, body_type="frontmatter"),
    ]


def data_doc(role: str, book: Book, env: Environment) -> Doc:
    title = book.data_title(role)
    if role == "glossary":
        terms = [{"term": t, "definition": Markup(t.definition_html),
                  "see_also": [{"label": s, "href": f"#{book.glossary_id(s)}" if book.glossary_id(s) else None}
                               for s in t.see_also_listed]} for t in book.glossary]
        root = render_fragment(env, "glossary.xhtml.j2", title=title, terms=terms)
    elif role == "congresses":
        root = render_fragment(env, "congresses.xhtml.j2", title=title, groups=book.congresses)
    else:
        from ..read import unwrap_paragraph

        # One paragraph per person, name and text together, as in print and the manuscript.
        people = [{"person": p, "text": Markup(unwrap_paragraph(p.text_html))} for p in book.people]
        root = render_fragment(env, "biographies.xhtml.j2", title=title, people=people,
                               note=Markup(book.people_note_html))
    mk.mirror_lang(root)
    return Doc(role, title, root, role, "", book.config.language, "backmatter")


# Navigation and package --------------------------------------------------------

def nav_doc(book: Book, env: Environment, spine: list[Doc]) -> Doc:
    """Contents (each unit, then its sections) and landmarks; the page list comes later
    (add_page_list), once the print pages are marked, in the contents too."""
    toc = []
    for doc in spine:
        if not doc.in_toc:
            continue
        label = doc.title if doc.number is None else f"{doc.number}. {doc.title}"
        children = [{"href": f"{doc.name}.xhtml#{h2.getparent().get('id')}", "label": mk.text_of(h2),
                     "children": []}
                    for h2 in doc.root.iter(mk.h("h2"))
                    if doc.source.endswith(".md") and h2.getparent().get("id")
                    and not mk.inside_class(h2, {"endnotes", "document"})]
        toc.append({"href": f"{doc.name}.xhtml", "label": label, "children": children})
    landmarks = [{"type": "cover", "href": "cover.xhtml", "label": "Cover"},
                 {"type": "titlepage", "href": "titlepage.xhtml", "label": "Title Page"},
                 {"type": "toc", "href": "nav.xhtml", "label": "Contents"}]
    start = next((d for d in spine if d.body_type == "bodymatter"), None)
    if start is not None:
        landmarks.append({"type": "bodymatter", "href": f"{start.name}.xhtml", "label": "Start of Content"})
    landmarks += [{"type": d.role, "href": f"{d.name}.xhtml", "label": d.title}
                  for d in spine if d.role in ("glossary", "index")]
    root = mk.parse_fragment(env.get_template("nav.xhtml.j2").render(
        toc=toc, landmarks=landmarks, pages=[]))
    return Doc("nav", "Contents", root, lang=book.config.language, in_toc=False,
               body_type="frontmatter")


def add_page_list(nav: Doc, env: Environment, pages: list[pb.Placed]) -> None:
    """The page-list nav, after the contents and landmarks."""
    if not pages:
        return
    page_list = [{"href": f"{p.doc}.xhtml#{p.id}", "label": p.label} for p in pages]
    rendered = mk.parse_fragment(env.get_template("nav.xhtml.j2").render(
        toc=[], landmarks=[], pages=page_list))
    nav.root.append(next(el for el in rendered if el.get(mk.EPUB_TYPE) == "page-list"))


def write_docs(spine: list[Doc], env: Environment) -> dict[str, bytes]:
    """Each document into the page template, serialized as one tree so that the
    namespaces are declared once, on `html`."""
    page = env.get_template("page.xhtml.j2")
    out = {}
    for doc in spine:
        html = etree.fromstring(page.render(title=doc.title, lang=doc.lang, body_type=doc.body_type,
                                            body="").encode("utf-8"))
        body = html.find(mk.h("body"))
        # The nav's root is the parsing wrapper around its three navs: they go into body.
        for child in (list(doc.root) if doc.name == "nav" else [doc.root]):
            body.append(child)
        etree.cleanup_namespaces(html, top_nsmap=mk.NSMAP)
        out[f"EPUB/text/{doc.name}.xhtml"] = etree.tostring(
            html, xml_declaration=True, encoding="utf-8", doctype="<!DOCTYPE html>")
    return out


def print_source(config, source: Edition) -> str:
    """The print edition the page-list follows: its ISBN, or (before it has one) its
    description, since a page-list must name its source (Ace: epub-pagesource)."""
    if source.isbn:
        return f"urn:isbn:{source.isbn}"
    year = f", {config.year}" if config.year else ""
    return f"{config.title}, {source.binding or source.name} edition ({config.publisher.name}{year})"


def package(book: Book, env: Environment, spine: list[Doc], files: dict[str, bytes],
            paged: bool) -> str:
    config = book.config
    ebook = ebook_edition(book)
    source = config.editions.get(ebook.page_source) if ebook and ebook.page_source else None
    meta = {
        "identifier": identifier(book),
        "title": config.title, "subtitle": config.subtitle, "language": config.language,
        "authors": config.authors, "translators": config.translators,
        "publisher": config.publisher.name, "date": publication_date(config),
        "year": str(config.year) if config.year else None,
        "rights": config.rights, "subjects": config.subjects,
        "page_source": print_source(config, source) if paged and source else None,
        "series": config.series.title if config.series else None,
        "series_volume": config.series.volume if config.series else None,
        "modified": iso_modified(sources_modified(book.root)),
        **accessibility(holdings(book, spine), paged),
    }
    manifest, itemrefs = [], []
    for doc in spine:
        manifest.append({"id": f"x-{doc.name}", "href": f"text/{doc.name}.xhtml",
                         "media_type": "application/xhtml+xml",
                         "properties": "nav" if doc.name == "nav" else ""})
        itemrefs.append({"id": f"x-{doc.name}", "linear": True})
    for path in sorted(p for p in files if p.startswith("EPUB/") and not p.startswith("EPUB/text/")):
        href = path[len("EPUB/"):]
        suffix = PurePosixPath(href).suffix.lower()
        cover = href.startswith("images/cover.")
        # The cover's id is "cover": calibre renames any other (a Nook Color workaround) and
        # warns on every conversion to EPUB, the AZW3 round trip's way back included.
        manifest.append({"id": "cover" if cover else "r-" + re.sub(r"[^a-z0-9]+", "-", href.lower()),
                         "href": href, "media_type": IMAGE_TYPES.get(suffix) or OTHER_TYPES[suffix],
                         "properties": "cover-image" if cover else ""})
    return env.get_template("package.opf.j2").render(meta=meta, manifest=manifest, spine=itemrefs)


def identifier(book: Book) -> str:
    """The ebook's own ISBN; without one a UUID made from the publisher and the slug, so that
    it stays the same from build to build (never the ISBN of a print edition)."""
    ebook = ebook_edition(book)
    if ebook is not None and ebook.isbn:
        return f"urn:isbn:{ebook.isbn.replace('-', '')}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{book.config.publisher.name}/{book.config.slug}/epub')}"


def publication_date(config) -> str | None:
    """`dc:date` only for a full date (book.yaml's `published`): library software fills in
    what a bare year or month lacks with a day of its own (calibre shows "2019" as
    15 December 2019), so the year alone goes into `dcterms:issued`, which it leaves be."""
    return config.published if re.fullmatch(r"\d{4}-\d\d-\d\d", config.published or "") else None


LANGUAGES = {"ru": "Russian", "de": "German", "fr": "French", "en": "English"}


@dataclass
class Holdings:
    """What the EPUB holds that its accessibility metadata speaks of."""

    images: int = 0                  # pictures in the text (the cover aside)
    images_with_alt: int = 0
    captions_alone: int = 0          # figures whose art is absent, set as their caption
    placeholders: int = 0            # figures whose art is absent, set as a marked frame
    notes: int = 0
    index: bool = False
    languages: tuple[str, ...] = ()  # other languages marked in the text


def holdings(book: Book, spine: list[Doc]) -> Holdings:
    held = Holdings(index=any(d.role == "index" for d in spine))
    languages = set()
    for doc in spine:
        if doc.name == "cover":
            continue
        for el in doc.root.iter():
            if not isinstance(el.tag, str):
                continue
            tag = etree.QName(el).localname
            if tag == "img":
                held.images += 1
                held.images_with_alt += bool((el.get("alt") or "").strip())
            elif tag == "figure" and "caption-alone" in el.get("class", "").split():
                held.captions_alone += 1
            elif "figure-placeholder" in el.get("class", "").split():
                held.placeholders += 1
            elif el.get("role") == "doc-noteref":
                held.notes += 1
            lang = (el.get("lang") or "").split("-")[0]
            if lang and lang != book.config.language.split("-")[0]:
                languages.add(lang)
    held.languages = tuple(sorted(languages))
    return held


def accessibility(held: Holdings, paged: bool) -> dict:
    """schema.org accessibility metadata and summary, each claim backed by what `held` found.
    No conformance claim (`dcterms:conformsTo`) is made: the automated checks the build runs
    (EPUBCheck, Ace) test part of WCAG, and no one has audited the rest."""
    all_alt = held.images == held.images_with_alt
    features = ["readingOrder", "structuralNavigation", "tableOfContents"]
    if held.images and all_alt:
        features.append("alternativeText")
    if held.index:
        features.append("index")
    if paged:
        features += ["pageNavigation", "printPageNumbers"]
    has = ["a table of contents", "landmarks"]
    if paged:
        has.append("the print edition's page numbers, with a page list")
    if held.index:
        has.append("an index linked to the text")
    if held.notes:
        has.append("notes linked to their references and back")
    summary = [f"This publication has {', '.join(has[:-1])} and {has[-1]}."]
    if held.images:
        summary.append("Its images have text alternatives." if all_alt else
                       f"{held.images - held.images_with_alt} of its {held.images} images have no text alternative.")
    else:
        summary.append("It has no images but its cover.")
    if held.captions_alone:
        summary.append(f"{illustrations(held.captions_alone)} of the print edition "
                       f"{'is' if held.captions_alone == 1 else 'are'} not included, only "
                       f"{'its caption' if held.captions_alone == 1 else 'their captions'}.")
    if held.placeholders:
        summary.append(f"{illustrations(held.placeholders)} {'is' if held.placeholders == 1 else 'are'} "
                       "missing, marked as such beside the caption.")
    if held.languages:
        names = [LANGUAGES.get(code, code) for code in held.languages]
        summary.append(f"Passages in {' and '.join(names)} are marked with their language.")
    summary.append("No conformance to a WCAG level is claimed.")
    return {"access_modes": ["textual", "visual"] if held.images else ["textual"],
            "access_mode_sufficient": ["textual"] if all_alt else ["textual,visual"],
            "a11y_features": sorted(features), "a11y_summary": " ".join(summary)}


def illustrations(n: int) -> str:
    return "One illustration" if n == 1 else f"{n} illustrations"


def retail_problems(book: Book) -> list:
    """What keeps the ebook from a store: its own ISBN and a full publication date."""
    from ..errors import Problem

    ebook = ebook_edition(book)
    where = book.config.where
    out = []
    if ebook is not None and not ebook.isbn:
        out.append(Problem(*where.at(f"editions.{ebook.name}.isbn"), "warning", "E003",
                           f"editions.{ebook.name}.isbn: missing: the ebook is not ready for retail (stores, "
                           f"libraries and ONIX identify an ebook by its own ISBN; until it has one it is "
                           f"{identifier(book)}, and its release file is named without an ISBN)"))
    if not publication_date(book.config):
        out.append(Problem(*where.at("published" if "published" in where.marks else "year"), "warning", "E004",
                           "published: no full publication date (YYYY-MM-DD): the ebook carries the year "
                           "alone, and library software makes up a day and month for it"))
    return out


# The page map ------------------------------------------------------------------

def parse_page_map(data: bytes) -> dict:
    """The page map the PDF build writes: `pages` (every print page in order, with its
    `label` and first words as `text`, "" on a blank page), `anchors` (id → index of the
    page it landed on) and `labels` (id → that page's label), `moved` (figures print set
    after the blocks that followed them: id → how many) and `index` (the printed index)."""
    pages = json.loads(data)
    starts = [pb.PageStart(str(p["label"]), p.get("text")) for p in pages["pages"]]
    anchors = {k: int(v) for k, v in pages["anchor_pages"].items()}
    return {"pages": starts, "anchors": anchors,
            "labels": {k: starts[v].label for k, v in anchors.items() if 0 <= v < len(starts)},
            "moved": {k: int(v) for k, v in pages.get("figures_moved", {}).items()},
            "index": pages.get("index", [])}


# Locations in the sources ------------------------------------------------------

def find_line(path: Path, needle: str) -> int:
    """The first line of `path` that contains `needle`, so messages point editors there."""
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return i
    return 0
