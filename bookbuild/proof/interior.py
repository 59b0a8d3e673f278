"""The proof's interior: the print layout with source ids on its blocks, whole or one unit, and where each block landed."""
from __future__ import annotations

import json
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..config import display_path
from ..errors import BuildError, Problems
from ..model import Book, Edition, Unit
from ..print import build_pdf
from ..print.pagemap import layout_key, write_page_map
from ..print.layout import (Part, Slot, book_parts, environment, furniture_html, metadata, outline,
                           page_css, print_book, render_part, roman)
from ..print.assemble import Outline, Sheet, assemble
from ..print.parts import Job, PartPDF, Pool
from .sources import Locator, SourceRef, add_ids, first_words, parse_document

ID_PREFIX = "src"


@dataclass
class Mark:
    """A block on one page: its source, and the top and bottom of its box there (PDF points
    from the trim's lower edge). A block split over pages has a mark on each, `first` on one."""

    id: str
    ref: SourceRef
    page: int
    top: float
    bottom: float
    first: bool


@dataclass
class Interior:
    """Pages as printed, their folios and book page indexes, and the blocks on them."""

    pdf: bytes
    labels: list[str]
    book_pages: list[int]
    marks: list[Mark]
    outline: list[Outline]
    words: dict[str, str] = field(default_factory=dict)             # mark id → its first words
    openings: list[tuple[str, int]] = field(default_factory=list)   # (part key, page index)
    warnings: list[str] = field(default_factory=list)


class Decorator:
    """`print_book`'s decorate hook: an id on every block with a known source, and the table
    id → source. Only attributes are added, so the layout stays the print layout."""

    def __init__(self, book: Book):
        self.locator = Locator(book)
        self.ids: dict[str, SourceRef] = {}
        self.words: dict[str, str] = {}
        self.unaligned: list[str] = []

    def __call__(self, part: Part, html: str) -> str:
        tree = parse_document(html)
        located = self.locator.locate(part.key, part.unit, tree)
        if not located:
            return html
        done = add_ids(html, located, tree, f"{ID_PREFIX}-{part.key}")
        if done is None:
            self.unaligned.append(part.key)
            return html
        html, named = done
        for name, el, ref in named:
            self.ids[name] = ref
            self.words[name] = first_words(el)
        return html


def marks_of(slots: list[Slot], parts: dict[str, PartPDF], ids: dict[str, SourceRef],
             offset: int = 0) -> list[Mark]:
    """Every located block on every page, in page order; `offset` is the index of the first slot's
    first page in the PDF at hand."""
    marks = []
    seen: set[str] = set()
    for slot in slots:
        part = parts[slot.part.key]
        for i in range(part.pages):
            bottoms = dict(part.bottoms[i]) if i < len(part.bottoms) else {}
            for name, _, top in part.anchors[i]:
                if name in ids:
                    marks.append(Mark(name, ids[name], slot.first - offset + i, top,
                                      bottoms.get(name, top), name not in seen))
                    seen.add(name)
    return marks


def whole_book(book: Book, edition: Edition, problems: Problems, cache: Path,
               workers: int | None = None, pool: Pool | None = None) -> Interior:
    """The whole print interior, every part laid out with its ids (from the cache when unchanged)."""
    decorator = Decorator(book)
    result = print_book(book, edition, problems, cache / "print", workers, decorate=decorator, pool=pool)
    _report(book, decorator, problems)
    openings = [(s.part.key, s.first) for s in result.slots if s.part.key not in ("front", "contents")]
    interior = Interior(result.pdf, result.pages.labels, list(range(len(result.pages.labels))),
                        marks_of(result.slots, result.parts, decorator.ids),
                        outline(result.slots, result.parts), decorator.words, openings, result.warnings)
    page_map = _page_map(cache, edition)
    if page_map and page_map.get("key") == layout_key(book):
        _compare(interior, result.pages.first_words, page_map, 0, problems, display_path(book.root))
    return interior


def find_unit(book: Book, which: str) -> Unit:
    """A unit by chapter number, id or file name (`12`, `defeat-of-the-rightists`, `12-defeat…md`)."""
    for unit in book.units:
        if (which.isdigit() and unit.role == "chapter" and unit.number == int(which)) or \
                which in (unit.id, unit.file, Path(unit.file).name, Path(unit.file).stem):
            return unit
    chapters = [str(u.number) for u in book.units if u.role == "chapter" and u.number]
    problems = Problems()
    problems.error(str(book.root / "book.yaml"), 0, 0, "Q001",
                   f"no chapter or unit '{which}' (chapters {chapters[0]}–{chapters[-1]}, or a unit id)"
                   if chapters else f"no chapter or unit '{which}'")
    raise BuildError(problems.items)


def one_unit(book: Book, edition: Edition, unit: Unit, problems: Problems, cache: Path,
             workers: int | None = None, say=None, pool: Pool | None = None) -> Interior:
    """One unit laid out as in the book, with its folios and running heads from the page map of
    the last print build (made now if there is none)."""
    page_map = _page_map(cache, edition)
    if page_map is None:
        if say:
            say(f"proof: no page map of the {edition.name} edition yet; laying out the book once")
        _, printed = build_pdf(book, edition, problems, cache, workers, pool=pool, pages_only=True)
        write_page_map(book, edition, printed.pages, cache)
        page_map = _page_map(cache, edition)
    current = page_map.get("key") == layout_key(book)
    if not current:
        problems.warning(display_path(cache / f"pagemap-{edition.name}.json"), 0, 0, "Q003",
                         "the page map is older than the sources: folios are those of the last "
                         "`make pdf` (run it to bring them up to date)")
    first = page_map["anchor_pages"].get(unit.id)
    if first is None:
        problems.error(display_path(book.root / unit.file), 0, 0, "Q001",
                       f"unit '{unit.id}' is not in the page map; run `make pdf`")
        raise BuildError(problems.items)
    labels = [p["label"] for p in page_map["pages"]]
    env = environment()
    part = next(p for p in book_parts(book) if p.unit is unit)
    decorator = Decorator(book)
    css, repository = page_css(edition), str(book.root)

    def furniture_job(pages: int) -> Job:
        # A unit grown since the page map was made runs on with arabic folios.
        while len(labels) < first + pages:
            labels.append(str(int(labels[-1]) + 1) if labels[-1].isdigit() else roman(len(labels) + 1))
        slot = Slot(part, first, pages, False)
        return Job("furniture-proof", furniture_html(env, book, [slot], labels, False), css, repository)

    # The heads and folios are laid out here, beside the unit in the worker, for as many pages
    # as it had in the page map and a few more (an edit may have lengthened it); the pages
    # it does not fill are dropped. A page's head and folio do not depend on the pages after it.
    printed = _printed_pages(page_map, first, [p.key for p in book_parts(book)])
    spare = printed + SPARE_PAGES
    with nullcontext(pool) if pool is not None else Pool(cache / "print", workers) as pool:
        mentions: list = []
        html = decorator(part, render_part(env, book, edition, part, mentions))
        pending = pool.submit([Job(part.key, html, css, repository, split=True,
                                   mentions=tuple(mentions))])
        furniture = pool.run_here(furniture_job(spare)).pdf
        laid = pool.collect(pending)[part.key]
        if laid.pages > spare:
            furniture = pool.run_here(furniture_job(laid.pages)).pdf
        furniture = _first_pages(furniture, laid.pages)
    _report(book, decorator, problems)
    here = Slot(part, 0, laid.pages, False)
    own = labels[first:first + laid.pages]
    style = ("D", int(own[0])) if own[0].isdigit() else ("r", first + 1)
    meta = replace(metadata(book, [here]), page_labels=[(0, *style)])
    pdf = assemble([Sheet(part.key, i) for i in range(laid.pages)], {part.key: laid}, [furniture],
                   outline([here], {part.key: laid}), meta)
    interior = Interior(pdf, own, list(range(first, first + laid.pages)),
                        marks_of([here], {part.key: laid}, decorator.ids),
                        outline([here], {part.key: laid}), decorator.words, [(part.key, 0)], laid.warnings)
    if current:
        _compare(interior, laid.words, page_map, first, problems, display_path(book.root / unit.file))
    return interior


# Running heads and folios laid out beyond a unit's length in the page map, for its growth.
SPARE_PAGES = 4


def _first_pages(pdf: bytes, count: int) -> bytes:
    """The PDF cut to its first `count` pages."""
    import io

    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        if len(doc.pages) == count:
            return pdf
        del doc.pages[count:]
        buffer = io.BytesIO()
        doc.save(buffer, deterministic_id=True)
        return buffer.getvalue()


def _printed_pages(page_map: dict, first: int, keys: list[str]) -> int:
    """How many pages the unit opening on page `first` had in the page map: up to the
    opening of the next part (`keys` are the parts' ids), less a blank verso before it."""
    anchors, pages = page_map["anchor_pages"], page_map["pages"]
    end = min((anchors[k] for k in keys if anchors.get(k, -1) > first), default=len(pages))
    if end - 1 > first and not pages[end - 1].get("text"):
        end -= 1
    return end - first


def _report(book: Book, decorator: Decorator, problems: Problems) -> None:
    for file, words in decorator.locator.missed:
        problems.warning(display_path(book.root / file), 0, 0, "Q004", f"printed block not found in the source, so it has no "
                                             f"marker: “{words}”")
    for key in decorator.unaligned:
        problems.warning(display_path(book.root), 0, 0, "Q004", f"part {key}: its HTML could not be given ids; no markers")


def _page_map(cache: Path, edition: Edition) -> dict | None:
    path = cache / f"pagemap-{edition.name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _compare(interior: Interior, words: list[str], page_map: dict, first: int, problems: Problems,
             where: str) -> None:
    """The proof's pages must begin with the words the print build's pages begin with."""
    printed = [p.get("text", "") for p in page_map["pages"]]
    for i, text in enumerate(words):
        book_page = first + i
        if book_page < len(printed) and text and printed[book_page] != text:
            problems.warning(where, 0, 0, "Q005", f"page {interior.labels[i]} begins “{text}” in the proof "
                                               f"but “{printed[book_page]}” in print")
            return
