"""WeasyPrint for print, and the only module that imports it: stylesheets, rendering, writing, and the internals the layout reads (page boxes, box tree, pagination)."""
from __future__ import annotations

import io
import logging
import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..fonts import FOLDER as FONTS_FOLDER

PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent
STYLES = (PACKAGE_ROOT / "styles" / "base.css", PACKAGE_ROOT / "styles" / "print.css")
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), FONTS_FOLDER)
PX_TO_PT = 0.75
# The WeasyPrint internals used here, each with a test in tests/test_engine.py (so an
# upgrade fails there first): `weasyprint.layout.make_all_pages` (wrapped), the layout
# context's `page_maker` entries and their `content_changed` flag, its footnote state
# (`footnotes`, `reported_footnotes`, `broken_out_of_flow`), a page's `_page_box`, and the
# box tree (`weasyprint.formatting_structure.boxes`: children, element, element_tag).


class _WarningCollector(logging.Handler):
    """WeasyPrint reports unusable CSS and missing resources through `logging`."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def collected_warnings():
    """WeasyPrint's warnings while the block runs, in a list."""
    collector = _WarningCollector()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(collector)
    try:
        yield collector.messages
    finally:
        logger.removeHandler(collector)


def _fetcher(allowed: list[Path]):
    """A URL fetcher that serves files under `allowed` folders and refuses everything else."""
    from weasyprint.urls import URLFetcher

    roots = [p.resolve() for p in allowed]

    class RepositoryFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            parsed = urlparse(url)
            if parsed.scheme == "data":
                return super().fetch(url, headers)
            if parsed.scheme != "file":
                raise ValueError(f"{url}: only files inside the repository are used")
            path = Path(unquote(parsed.path)).resolve()
            if not any(path.is_relative_to(r) for r in roots):
                raise ValueError(f"{url}: outside the repository")
            return super().fetch(url, headers)

    return RepositoryFetcher()


_BASES: dict[str, tuple] = {}
_ENGINES: dict[tuple[str, str], tuple] = {}


def _base(repository: str) -> tuple:
    """WeasyPrint imported, fonts configured and the stylesheets parsed: once per process."""
    if repository not in _BASES:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        fonts = FontConfiguration()
        fetcher = _fetcher([Path(repository), PACKAGE_ROOT / "styles", *FONT_DIRS])
        sheets = [CSS(filename=str(s), font_config=fonts, url_fetcher=fetcher) for s in STYLES]
        _BASES[repository] = (fonts, fetcher, sheets)
    return _BASES[repository]


def _engine(page_css: str, repository: str):
    """The base and the edition's page size: once per process and edition."""
    key = (page_css, repository)
    if key not in _ENGINES:
        from weasyprint import CSS

        fonts, fetcher, sheets = _base(repository)
        _ENGINES[key] = (fonts, fetcher, [*sheets, CSS(string=page_css, font_config=fonts)])
    return _ENGINES[key]


def warm(repository: str) -> int:
    """Run in a worker while the main process reads the book: the first layout then starts
    at once (importing WeasyPrint and parsing the styles take about 0.6 s, and the first
    layout loads the fonts and the hyphenation patterns)."""
    from weasyprint import HTML

    fonts, fetcher, sheets = _base(repository)
    HTML(string=WARM_HTML).render(stylesheets=sheets, font_config=fonts)
    return os.getpid()


# English and Russian in the faces and features the book uses, in a measure so narrow that
# words are hyphenated: the hyphenation patterns load at the first word broken (0.1 s each).
WARM_HTML = ('<html lang="en"><body><section lang="en"><p style="width: 5em">Extraordinary '
             'counterrevolutionary measures <em>in italics</em> <span class="sc">Small Caps</span> '
             '<strong>bold</strong> 1928–1933</p><p lang="ru" style="width: 5em">Чрезвычайная '
             'контрреволюционная комиссия <em>курсив</em></p></section></body></html>')



def render(html: str, page_css: str, repository: str):
    """The laid-out WeasyPrint document of one part (figures deferred when a `Deferral` is active)."""
    from weasyprint import HTML

    fonts, fetcher, sheets = _engine(page_css, repository)
    return HTML(string=html, base_url=repository.rstrip("/") + "/",
                url_fetcher=fetcher).render(stylesheets=sheets, font_config=fonts)


def standalone_pdf(html: str, base_url: str | None = None, data_only: bool = False,
                   variant: str | None = None) -> tuple[bytes, list[str]]:
    """The PDF of a document outside the book's layout (a cover, a proof's list of changes),
    and WeasyPrint's warnings; with `data_only`, every URL but a data URI is refused."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    class NoFetching(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            raise ValueError(f"{url}: a cover fetches nothing")

    options = {"url_fetcher": NoFetching()} if data_only else {}
    with collected_warnings() as messages:
        data = HTML(string=html, base_url=base_url, **options).write_pdf(pdf_variant=variant)
    return data, messages


def write(document, half: int) -> bytes:
    """The document's PDF. Writing takes a quarter of a part's time; when the part is split at
    `half`, a forked copy of this process writes the pages from `half` on while this one writes
    the others, and pikepdf joins them (with a font subset from each half). Links between the
    halves went to PartPDF.links, as links into other parts do."""
    if half >= len(document.pages):
        return document.write_pdf()
    import pikepdf

    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        code = 1
        try:
            os.close(read_end)
            data = document.copy(document.pages[half:]).write_pdf()
            with os.fdopen(write_end, "wb") as out:
                out.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    first = document.copy(document.pages[:half]).write_pdf()
    with os.fdopen(read_end, "rb") as source:
        second = source.read()
    _, status = os.waitpid(child, 0)
    if status != 0 or not second:
        raise RuntimeError("writing the second half of the part failed")
    with pikepdf.open(io.BytesIO(first)) as joined, pikepdf.open(io.BytesIO(second)) as rest, \
            warnings.catch_warnings():
        # The halves' named destinations do not matter: `assemble` names every anchor anew.
        warnings.simplefilter("ignore", pikepdf.PageCopyWarning)
        joined.pages.extend(rest.pages)
        buffer = io.BytesIO()
        joined.save(buffer, deterministic_id=True)
    return buffer.getvalue()



# --- pagination, watched (for figures that go overleaf: deferral.py) ----------------------
# WeasyPrint remakes pages from the first one marked changed (`make_all_pages` hands back
# the pages before it as they were); a watcher asked at each page boundary can move boxes
# in the tree and have the pages made again from there, with the state between pages
# (footnotes, floats broken across pages) WeasyPrint had when it first made them.

_ACTIVE: list = []


@contextmanager
def watching(watcher):
    """While active, every document laid out in this process has its page boundaries shown to
    `watcher.boundary(root_box, pages, index) -> bool` (True: a box moved, make the pages
    again from the one before `index`); at most `watcher.limit` times per pagination."""
    _install_hook()
    _ACTIVE.append(watcher)
    try:
        yield watcher
    finally:
        _ACTIVE.remove(watcher)


def _install_hook() -> None:
    import weasyprint.layout as layout

    if getattr(layout.make_all_pages, "defers_figures", False):
        return
    original = layout.make_all_pages

    def make_all_pages(context, root_box, html, pages):
        if not _ACTIVE:
            return list(original(context, root_box, html, pages))
        return _paginate(original, _ACTIVE[-1], context, root_box, html, list(pages))

    make_all_pages.defers_figures = True
    layout.make_all_pages = make_all_pages


def _paginate(original, watcher, context, root_box, html, previous: list) -> list:
    """WeasyPrint's pagination, watched: once the page after a page boundary is made too (to
    measure what follows it), the boundary is shown to the watcher; a box moved makes the pages
    again from the page before the boundary, with the state WeasyPrint had when it first made it."""
    footnotes = list(context.footnotes)
    # The state between pages that WeasyPrint keeps in `context`, after each page made.
    after: dict[int, tuple[list, dict]] = {}
    made: list = []
    generator = original(context, root_box, html, previous)
    moves = 0
    while True:
        restart = None
        for page in generator:
            index = len(made)
            made.append(page)
            if index >= len(previous) or page is not previous[index]:
                after[index] = (list(context.reported_footnotes), dict(context.broken_out_of_flow))
            if index >= 2 and moves < watcher.limit and watcher.boundary(root_box, made, index - 1):
                restart = index - 2
                break
        else:
            last = len(made) - 1
            if last >= 1 and moves < watcher.limit and watcher.boundary(root_box, made, last):
                restart = last - 1
        if restart is None:
            # The entry after the last page was marked below if a page was made again:
            # WeasyPrint would take the mark as a reason to paginate everything again.
            context.page_maker[-1][-1]["content_changed"] = False
            return made
        generator.close()
        moves += 1
        watcher.passes += 1
        for entry in context.page_maker[restart:]:
            entry[-1]["content_changed"] = True
        reported, broken = after.get(restart - 1, ([], {}))
        context.footnotes = list(footnotes)
        context.reported_footnotes = list(reported)
        context.broken_out_of_flow.clear()
        context.broken_out_of_flow.update(broken)
        previous, made = made[:restart], []
        generator = original(context, root_box, html, previous)


# --- the box tree -------------------------------------------------------------------------

@dataclass
class FlowItem:
    """A line of text or an image on a page: in the main flow or in the footnote area."""

    page: int
    box: object
    elements: tuple
    footnote: bool


def page_boxes(document) -> list:
    """The laid-out page boxes of a rendered document (`Page._page_box`)."""
    return [page._page_box for page in document.pages]


def content_area(page_box) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of a page box's type area, in px."""
    left, top = page_box.content_box_x(), page_box.content_box_y()
    return left, top, left + page_box.width, top + page_box.height


def flow_items(pages: list) -> list[FlowItem]:
    """Every line and image of laid-out WeasyPrint page boxes, page by page, in order."""
    from weasyprint.formatting_structure import boxes

    items: list[FlowItem] = []
    for number, page in enumerate(pages):
        root, *others = page.children
        _collect(root, number, [], items, footnote=False)
        for child in others:
            if isinstance(child, boxes.FootnoteAreaBox):
                _collect(child, number, [], items, footnote=True)
    return items


def _collect(box, page: int, elements: list, out: list[FlowItem], footnote: bool) -> None:
    from weasyprint.formatting_structure import boxes

    pushed = box.element is not None and (not elements or elements[-1] is not box.element)
    if pushed:
        elements.append(box.element)
    if isinstance(box, (boxes.LineBox, boxes.ReplacedBox)):
        out.append(FlowItem(page, box, tuple(elements), footnote))
    else:
        for child in box.children:
            if isinstance(child, boxes.Box):
                _collect(child, page, elements, out, footnote)
    if pushed:
        elements.pop()


def is_line(box) -> bool:
    from weasyprint.formatting_structure import boxes

    return isinstance(box, boxes.LineBox)


def box_text(box, generated: bool = True) -> str:
    """The text of a box's text runs; without `generated`, leaving out pseudo-elements' (::marker…)."""
    from weasyprint.formatting_structure import boxes

    return "".join(b.text for b in box.descendants()
                   if isinstance(b, boxes.TextBox) and (generated or "::" not in b.element_tag))


def box_rect(box) -> tuple[float, float, float, float]:
    """(x1, y1, x2, y2) of a laid-out box's margin-less position, in px."""
    return box.position_x, box.position_y, box.position_x + box.width, box.position_y + box.height


def glyph_extents(box):
    """(left, right) of every glyph run and image of a line, in px."""
    from weasyprint.formatting_structure import boxes

    for b in box.descendants():
        if isinstance(b, boxes.TextBox) and b.text.strip() or isinstance(b, boxes.ReplacedBox):
            yield b.position_x, b.position_x + b.width


def first_words(page, skip: set[str], count: int = 8) -> str:
    """The first `count` words of a rendered page's text, leaving out elements of a class in `skip`."""
    from weasyprint.formatting_structure import boxes

    words: list[str] = []
    stack = [page._page_box.children[0]]
    while stack and len(words) < count:
        box = stack.pop()
        element = box.element if box.element_tag and ":" not in box.element_tag else None
        if element is not None and skip & set((element.get("class") or "").split()):
            continue
        if isinstance(box, boxes.TextBox):
            words.extend(box.text.split())
        elif isinstance(box, boxes.ParentBox):
            stack.extend(reversed(box.children))
    return " ".join(words[:count])


def figure_parent(root_box, element):
    """The box in the (not laid out) box tree whose children hold `element`'s figure box."""
    from weasyprint.formatting_structure import boxes

    stack = [root_box]
    while stack:
        box = stack.pop()
        if not isinstance(box, boxes.ParentBox):
            continue
        if any(child.element is element and child.element_tag == "figure" for child in box.children):
            return box
        stack.extend(box.children)
    return None


def children(box) -> list:
    return list(box.children)


def set_children(box, boxes_in_order: list) -> None:
    """Reorders a box's children in the box tree (before it is laid out again)."""
    box.children = tuple(boxes_in_order)


def figure_group(boxes_in_order: list, figure) -> list:
    """The box of `figure` among `boxes_in_order` and the figure boxes right after it."""
    at = next(i for i, b in enumerate(boxes_in_order) if b.element is figure and b.element_tag == "figure")
    end = at + 1
    while end < len(boxes_in_order) and boxes_in_order[end].element_tag == "figure":
        end += 1
    return boxes_in_order[at:end]


def element_tag(box) -> str:
    return box.element_tag


def element_of(box):
    return box.element
