"""`build.py epub`: the EPUB 3 edition, written atomically to build/<slug>.epub."""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import sys
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined
from lxml import etree
from markupsafe import Markup

from . import epubmarkup as mk
from .epubpackage import FONT_DIR, iso_modified, sources_modified, subset_fonts, text_cover, zip_epub
from .config import display_path
from .errors import BuildError, Problems, shown
from .fsutil import sweep_leftovers, write_atomic
from .model import FRONT_ROLES, Book, Unit
from .outputcache import Inputs, Stamp

ROOT = Path(__file__).resolve().parent.parent
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
OTHER_TYPES = {".css": "text/css", ".otf": "font/otf"}
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
    parser.add_argument("-o", "--output", type=Path,
                        help="where to write the EPUB (default: build/<slug>.epub beside the book folder)")
    parser.add_argument("--page-map", type=Path,
                        help=f"print page map written by the PDF build (default: {PAGE_MAP}, if present)")
    parser.add_argument("--no-page-list", action="store_true",
                        help="leave out print page numbers (no print layout is run)")
    parser.add_argument("--check", action="store_true",
                        help="then run EPUBCheck and Ace on it (install them with scripts/install-validators.sh)")


def run(args: argparse.Namespace) -> int:
    root = Path(args.book).resolve()
    cache = root.parent / "build" / "cache"
    sweep_leftovers(cache.parent, cache)
    stamp = Stamp(cache, "epub")
    sources = inputs_key(root, args)
    # The page map is whichever file this build would read; checked before the book
    # is read, since reading it (Pandoc, the index) is most of an unchanged build's time.
    candidate = None if args.no_page_list else Path(args.page_map) if args.page_map else cache / PAGE_MAP.name
    record = stamp.fresh(output_key(sources, read_bytes(candidate)))
    if record is not None:
        return replay(record, args, root.parent / "build")

    from .read import read_book
    from .transform import transform

    page_map_path = candidate
    if candidate is not None and not args.page_map:
        from .pdf import ebook_page_map, page_map_current
        from .printpdf import Pool

        # A print layout is due: its workers get ready while the book is read.
        with Pool(cache / "print") as pool:
            if not page_map_current(root, cache):
                pool.warm(str(root.parent))
            book = transform(read_book(root))
            say = None if args.quiet else (lambda msg: print(msg, file=sys.stderr))
            page_map_path = ebook_page_map(book, cache, say, pool)
    else:
        book = transform(read_book(root))
    raw_map = read_bytes(page_map_path)
    page_map = parse_page_map(raw_map) if raw_map is not None else None
    data = build(book, page_map, cache)
    out = Path(args.output) if args.output else book.repository / "build" / f"{book.config.slug}.epub"
    write_atomic(out, data)
    warnings = shown(book.warnings)
    for warning in warnings:
        print(warning, file=sys.stderr)
    pages = f"page-list from {page_map_path}" if page_map else "no page map: no page-list"
    summary = f"{out} ({len(data) // 1024} KiB; {pages})"
    if not args.quiet:
        print(f"epub: wrote {summary}", file=sys.stderr)
    used = raw_map if page_map_path == candidate else read_bytes(candidate)
    stamp.save(output_key(sources, used), {out: data}, warnings, summary)
    if args.check:
        from .validate import check
        return check(out, book.repository / "build")
    return 0


def inputs_key(root: Path, args: argparse.Namespace) -> str:
    """A digest of everything the EPUB is made from but the page map: the book folder
    (the received manuscript aside), the art, the fonts, the pipeline's code, templates
    and styles (which the page map's own key covers too), the options and the sources'
    modification date that goes into the package."""
    output = Path(args.output).resolve() if args.output else "default"
    inputs = Inputs("epub", root, output, args.no_page_list, args.page_map or "")
    inputs.code().tree(root, skip=("received",)).stats(root.parent / "images").stats(FONT_DIR)
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
        from .validate import check
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


def build(book: Book, page_map: dict | None, cache: Path | None = None) -> bytes:
    """The EPUB's bytes; raises BuildError listing every problem. Compiled templates,
    subset fonts and the generated cover are kept in `cache` when given.

    Written with zipfile from our own XHTML, OPF and nav rather than EbookLib:
    EbookLib regenerates each document from its own template (dropping `<head>`
    content and `<body>` attributes) and invents a page-list from every element
    with `epub:type` and an id; neither can be switched off entirely."""
    problems = Problems()
    env = environment(cache / "epub-templates" if cache else None)
    files: dict[str, bytes] = {}
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
    doc_of = link_across_files(docs)
    spine = front_docs(book, env, files, cache) + docs

    index_doc = next((d for d in docs if d.role == "index"), None)
    if index_doc is not None:
        index_doc.root = render_index(book, env, doc_of, labels=None)
    pages: list[mk.Placed] = []
    if page_map:
        pages = mk.place_pagebreaks([(d.name, d.root) for d in spine], page_map["pages"],
                                    page_map["anchors"])
    if index_doc is not None:
        labels = mk.pages_of([(d.name, d.root) for d in spine]) if pages else None
        final = render_index(book, env, doc_of, labels)
        carry_pagebreaks(index_doc.root, final)
        index_doc.root = final
    nav = nav_doc(book, env, spine, pages)
    spine.insert(next(i for i, d in enumerate(spine) if d.name == "copyright") + 1, nav)

    files.update(write_docs(spine, env))
    files["EPUB/styles/epub.css"] = STYLESHEET.read_bytes()
    used = "".join("".join(d.root.itertext()) + d.title for d in spine)
    for name, data in subset_fonts(used, cache / "epub-fonts" if cache else None).items():
        files[f"EPUB/fonts/{name}"] = data
    files["META-INF/container.xml"] = CONTAINER.encode()
    files["EPUB/package.opf"] = package(book, env, spine, files, paged=bool(pages)).encode()
    return zip_epub(files)


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
    source = book.root / unit.file
    label = display_path(source)
    check_raw_html(source, label, problems)
    wrapper = mk.parse_fragment(unit.html)
    for finding, needle in mk.unsafe_markup(wrapper):
        problems.error(label, find_line(source, needle), 1, "E002",
                       f"raw HTML may not carry scripts: {finding}")
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
    mk.make_endnotes(section, unit.notes, f"Notes to {unit.title}" if unit.role == "chapter" else "Notes")
    place_figures(section, unit, book, files)
    mk.mirror_lang(section)
    if unit.lang != book.config.language:
        section.set("lang", unit.lang)
        section.set(mk.XML_LANG, unit.lang)
    body_type = "frontmatter" if unit.role in FRONT_ROLES else "bodymatter"
    return Doc(Path(unit.file).stem, unit.title, section, unit.role, unit.file,
               book.config.language, body_type, number=unit.number)


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
    """Art into EPUB/images/; absent art (the read stage has warned) becomes a marked frame."""
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


def epub_image(path: Path) -> tuple[str, bytes]:
    if path.suffix.lower() in IMAGE_TYPES:
        return path.name, path.read_bytes()
    from PIL import Image

    buf = io.BytesIO()
    with Image.open(path) as img:
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
                 labels: dict[str, str] | None) -> etree._Element:
    """EPUB Indexes 1.0 markup. A locator links the mention (found in its document
    through `doc_of`) and is labeled with its print page (one locator per page, to
    its first mention there) or, without a page map, with a running number."""
    by_heading: dict[str, list[str]] = {}
    for m in book.mentions:
        by_heading.setdefault(m.heading, []).append(m.anchor)
    headings = {h.id: h for h in book.index}
    people = {p.id: p for p in book.people}
    groups: dict[str, dict] = {}
    for h in sorted(book.index, key=lambda h: (fold(h.sort), h.id)):
        locators = []
        pages_seen = set()
        for n, anchor in enumerate(by_heading.get(h.id, []), 1):
            label = labels.get(anchor) if labels is not None else None
            if label in pages_seen:
                continue
            pages_seen.add(label)
            locators.append({"href": f"{doc_of[anchor]}.xhtml#{anchor}", "label": label or str(n)})
        person = people.get(h.person)
        entry = {
            "anchor": f"ixe-{h.id}", "heading": h.heading, "locators": locators,
            "biography": f"biographies.xhtml#{person.anchor}" if person else None,
            "see": [{"href": f"#ixe-{x}", "label": headings[x].heading} for x in h.see],
            "see_also": [{"href": f"#ixe-{x}", "label": headings[x].heading} for x in h.see_also],
        }
        key = fold(h.sort)
        letter = key[:1].upper() if key[:1].isalpha() else "#"
        group = groups.setdefault(letter, {"id": f"index-{letter.lower() if letter != '#' else 'other'}",
                                           "letter": letter, "entries": []})
        group["entries"].append(entry)
    return render_fragment(env, "index.xhtml.j2", title=book.data_title("index"),
                           groups=list(groups.values()))


def fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def carry_pagebreaks(provisional: etree._Element, final: etree._Element) -> None:
    """Page markers placed in the provisional index move to the same entries in the final one."""
    ids = {el.get("id"): el for el in final.iter() if isinstance(el.tag, str) and el.get("id")}
    for marker in [el for el in provisional.iter(mk.h("span")) if el.get(mk.EPUB_TYPE) == "pagebreak"]:
        holder = marker.getparent()
        while holder is not None and not holder.get("id"):
            holder = holder.getparent()
        target = ids.get(holder.get("id")) if holder is not None else None
        clone = mk.pagebreak(marker.get("aria-label"), marker.get("id"))
        if target is None or target is final:
            mk.insert_before_element(final.find(mk.h("h1")), clone)
        else:
            mk.insert_before_element(target, clone)


# Front matter and data units ---------------------------------------------------

def render_fragment(env: Environment, template: str, **context) -> etree._Element:
    """A template's one top element, detached from the parsing wrapper."""
    wrapper = mk.parse_fragment(env.get_template(template).render(**context))
    top = wrapper[0]
    wrapper.remove(top)
    return top


def front_docs(book: Book, env: Environment, files: dict[str, bytes], cache: Path | None = None) -> list[Doc]:
    config = book.config
    lang = config.language
    art = next((book.repository / "images" / n for n in COVER_NAMES
                if (book.repository / "images" / n).is_file()), None)
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
            # Cover credits only where the ebook's cover has the photographs they name.
            "cover_photographs": any(e.format == "epub" and e.cover_photographs
                                     for e in config.editions.values())}
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
        ids = {t.term: t.id for t in book.glossary}
        terms = [{"term": t, "definition": Markup(t.definition_html),
                  "see_also": [{"label": s, "href": f"#{ids[s]}" if s in ids else None}
                               for s in t.see_also]} for t in book.glossary]
        root = render_fragment(env, "glossary.xhtml.j2", title=title, terms=terms)
    elif role == "congresses":
        root = render_fragment(env, "congresses.xhtml.j2", title=title, groups=book.congresses)
    else:
        people = [{"person": p, "text": Markup(p.text_html)} for p in book.people]
        root = render_fragment(env, "biographies.xhtml.j2", title=title, people=people,
                               note=Markup(book.people_note_html))
    mk.mirror_lang(root)
    return Doc(role, title, root, role, "", book.config.language, "backmatter")


# Navigation and package --------------------------------------------------------

def nav_doc(book: Book, env: Environment, spine: list[Doc], pages: list[mk.Placed]) -> Doc:
    """Contents (each unit, then its sections), landmarks, and the page list."""
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
    page_list = [{"href": f"{p.doc}.xhtml#{p.id}", "label": p.label} for p in pages]
    root = mk.parse_fragment(env.get_template("nav.xhtml.j2").render(
        toc=toc, landmarks=landmarks, pages=page_list))
    return Doc("nav", "Contents", root, lang=book.config.language, in_toc=False,
               body_type="frontmatter")


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


def package(book: Book, env: Environment, spine: list[Doc], files: dict[str, bytes],
            paged: bool) -> str:
    config = book.config
    features = ["alternativeText", "readingOrder", "structuralNavigation", "tableOfContents"]
    if any(d.role == "index" for d in spine):
        features.append("index")
    ebook = next((e for e in config.editions.values() if e.format == "epub"), None)
    source = config.editions.get(ebook.page_source) if ebook and ebook.page_source else None
    if paged:
        features += ["pageNavigation", "printPageNumbers"]
    meta = {
        "identifier": f"urn:isbn:{ebook.isbn}" if ebook and ebook.isbn else
        f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{config.publisher.name}/{config.slug}/epub')}",
        "title": config.title, "subtitle": config.subtitle, "language": config.language,
        "authors": config.authors, "translators": config.translators,
        "publisher": config.publisher.name, "date": str(config.year) if config.year else None,
        "rights": config.rights, "subjects": config.subjects,
        "page_source": f"urn:isbn:{source.isbn}" if paged and source and source.isbn else None,
        "series": config.series.title if config.series else None,
        "series_volume": config.series.volume if config.series else None,
        "modified": iso_modified(sources_modified(book.root)),
        "a11y_features": sorted(features),
        "a11y_summary": (
            "This publication meets WCAG 2.1 Level AA. It has a table of contents, landmarks, "
            + ("the print edition's page numbers with a page list, " if paged else "")
            + "an index linked to the text, and notes linked both ways. Images have text "
            "alternatives and captions; passages in Russian are marked as such."),
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
        manifest.append({"id": "cover-image" if cover else "r-" + re.sub(r"[^a-z0-9]+", "-", href.lower()),
                         "href": href, "media_type": IMAGE_TYPES.get(suffix) or OTHER_TYPES[suffix],
                         "properties": "cover-image" if cover else ""})
    return env.get_template("package.opf.j2").render(meta=meta, manifest=manifest, spine=itemrefs)


# The page map ------------------------------------------------------------------

def parse_page_map(data: bytes) -> dict:
    """The page map the PDF build writes: `pages` (every print page in order, with its
    `label` and first words as `text`, "" on a blank page) and `anchor_pages`
    (id → index of the page it landed on)."""
    pages = json.loads(data)
    return {"pages": [mk.PageStart(str(p["label"]), p.get("text")) for p in pages["pages"]],
            "anchors": {k: int(v) for k, v in pages["anchor_pages"].items()}}


# Locations in the sources ------------------------------------------------------

def find_line(path: Path, needle: str) -> int:
    """The first line of `path` that contains `needle`, so messages point editors there."""
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return i
    return 0
