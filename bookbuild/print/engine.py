"""WeasyPrint for print, and the only module that imports it: stylesheets, rendering, writing, and the internals the layout reads (page boxes, box tree, pagination)."""
from __future__ import annotations

import io
import logging
import os
import re
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..fonts import FOLDER as FONTS_FOLDER

PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent
STYLES = (PACKAGE_ROOT / "styles" / "base.css", PACKAGE_ROOT / "styles" / "print.css")
# Added to an edition's page CSS when its paragraphs are broken whole (`line_breaking`).
PARAGRAPHS_CSS = PACKAGE_ROOT / "styles" / "print-paragraphs.css"
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


# WeasyPrint names a picture in the PDF by a hash of its URL, so the book's folder is given
# one URL whatever the checkout: the same sources then give the same bytes in any folder, and
# a part cached in one checkout is the part a cold build makes in another.
BOOK_URL = "file:///book/"


def _fetcher(allowed: list[Path], repository: Path):
    """A URL fetcher that serves BOOK_URL from `repository` and files under `allowed` folders,
    and refuses everything else."""
    from weasyprint.urls import URLFetcher

    roots = [p.resolve() for p in allowed]
    book_uri = repository.resolve().as_uri().rstrip("/") + "/"

    class RepositoryFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith(BOOK_URL):
                url = book_uri + url[len(BOOK_URL):]
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
        fetcher = _fetcher([Path(repository), PACKAGE_ROOT / "styles", *FONT_DIRS], Path(repository))
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

    _install_drawing()
    fonts, fetcher, sheets = _engine(page_css, repository)
    return HTML(string=html, base_url=BOOK_URL, url_fetcher=fetcher).render(stylesheets=sheets, font_config=fonts)


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

    _install_drawing()
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

    from ..forking import forked, reaped

    def second_half() -> bytes:
        return document.copy(document.pages[half:]).write_pdf()

    child, reader = forked(second_half)
    first = document.copy(document.pages[:half]).write_pdf()
    # No copy could be made: this process writes the second half too.
    second = reaped(child, reader) if child is not None else second_half()
    if not second:
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
    """While active, every document laid out in this process has each page shown to
    `watcher.page_made(pages, index) -> bool` as soon as it is made (True: make that page
    again), and its page boundaries to `watcher.boundary(root_box, pages, index) -> bool` once
    the page after the boundary is made too (True: a box moved, make the pages again from the
    one before `index`); at most `watcher.limit` times per pagination. What a page's own end
    decides costs that page alone, not the three a boundary costs."""
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
    _install_carried_notes_page()


def _install_carried_notes_page() -> None:
    """A last page whose footnotes do not all fit carries them to one more page, which
    WeasyPrint's `make_all_pages` makes only on a first pagination: remade from a page on (the
    watcher's restarts), it finds that page's `page_maker` entry unmarked, takes the page as
    made before and fails (IndexError). The entry is marked, as for any page still to make."""
    import weasyprint.layout.page as page

    if getattr(page.remake_page, "carries_notes", False):
        return
    original = page.remake_page

    def remake_page(index, context, root_box, html):
        made, resume_at = original(index, context, root_box, html)
        if _PAGINATING and resume_at is None and context.reported_footnotes:
            context.page_maker[index + 1][-1]["content_changed"] = True
        return made, resume_at

    remake_page.carries_notes = True
    page.remake_page = remake_page


def _paginate(original, watcher, context, root_box, html, previous: list) -> list:
    """WeasyPrint's pagination, watched: once the page after a page boundary is made too (to
    measure what follows it), the boundary is shown to the watcher; a box moved makes the pages
    again from the page before the boundary, with the state WeasyPrint had when it first made it."""
    _PAGINATING.append(context)
    try:
        return _paginate_watched(original, watcher, context, root_box, html, previous)
    finally:
        _PAGINATING.pop()


_PAGINATING: list = []  # the layout context of the document being paginated


def _paginate_watched(original, watcher, context, root_box, html, previous: list) -> list:
    # The state between pages that WeasyPrint keeps in `context`, after each page made: the
    # footnotes not yet placed, those carried to the next page, the floats broken across.
    after: dict[int, tuple[list, list, dict]] = {-1: (list(context.footnotes), [], {})}
    made: list = []
    generator = original(context, root_box, html, previous)
    moves = 0
    while True:
        restart = None
        for page in generator:
            index = len(made)
            made.append(page)
            fresh = index >= len(previous) or page is not previous[index]
            if fresh:
                after[index] = (list(context.footnotes), list(context.reported_footnotes),
                                dict(context.broken_out_of_flow))
            if moves >= watcher.limit:
                continue
            if fresh and watcher.page_made(made, index):  # its own end: it alone is made again
                restart = index
                break
            if index >= 2 and watcher.boundary(root_box, made, index - 1):
                restart = index - 2
                break
        else:
            last = len(made) - 1
            if last >= 1 and moves < watcher.limit and watcher.boundary(root_box, made, last):
                restart = last - 1
        if restart is None:
            # The entries after the last page were marked if a page was made again (below, and
            # by the carried notes' page): WeasyPrint would take a mark as a reason to
            # paginate everything again.
            for entry in context.page_maker[len(made):]:
                entry[-1]["content_changed"] = False
            return made
        generator.close()
        moves += 1
        watcher.passes += 1
        for entry in context.page_maker[restart:]:
            entry[-1]["content_changed"] = True
        footnotes, reported, broken = after[restart - 1]
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
                   if isinstance(b, boxes.TextBox) and (generated or "::" not in b.element_tag)
                   ).replace("\u200b", "")  # layout.QUOTE_BREAK, a break hint


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


# --- whole-paragraph line breaking (linebreak.py chooses, WeasyPrint sets) ----------------
# WeasyPrint fills a line greedily: it ends the line at the last break (a space, a dash, or a
# hyphenation point it tries on the next word) whose text fits the width it is given. So each
# line of a justified paragraph is given the natural width of the line linebreak.py chose,
# plus a little (SLACK): the last break that fits is then the chosen one, and WeasyPrint
# justifies the line to the full measure as usual. The words, the text layer and the boxes
# stay WeasyPrint's own. Internals used (each tested in tests/test_engine.py):
# `weasyprint.layout.inline.split_inline_box`, `split_text_box` and `split_first_line` (wrapped:
# `_first_line_to`), `first_line_metrics`, `skip_first_whitespace`, skip stacks
# ({child index: ...}, a text box's {byte offset: None}), `text.line_break.create_layout`,
# `line_size`, the layout's Pango log attributes and `pango_layout_index_to_pos` (declared here).

SLACK = 0.5  # px (3/8 pt): far less than the narrowest letter, more than rounding


@dataclass
class BreakingStats:
    """Paragraphs set by linebreak.py in this process, and lines WeasyPrint set otherwise."""

    paragraphs: int = 0
    lines: int = 0
    mismatched: int = 0
    greedy: int = 0


STATS = BreakingStats()
_BREAKING: list = []


@contextmanager
def paragraph_breaking(unbreakable: frozenset = frozenset()):
    """While active, justified paragraphs laid out in this process get the breaks of least
    demerits; words in `unbreakable` (personal names) are never hyphenated."""
    _install_breaking()
    _BREAKING.append(unbreakable)
    try:
        yield STATS
    finally:
        _BREAKING.remove(unbreakable)


def _install_breaking() -> None:
    import weasyprint.layout.inline as inline
    from weasyprint.formatting_structure import boxes
    from weasyprint.text.ffi import ffi

    if getattr(inline.split_inline_box, "chosen_breaks", False):
        return
    ffi.cdef("void pango_layout_index_to_pos (PangoLayout *layout, int index_, PangoRectangle *pos);")
    original = inline.split_inline_box

    def split_inline_box(context, box, position_x, max_x, bottom_space, skip_stack, *rest):
        if not _BREAKING or not isinstance(box, boxes.LineBox) or box.style["text_align_all"] != "justify":
            return original(context, box, position_x, max_x, bottom_space, skip_stack, *rest)
        plan, start = _plan_for(context, box, position_x, max_x, skip_stack)
        width = plan.widths.get(start) if plan is not None else None
        if width is None:
            return original(context, box, position_x, max_x, bottom_space, skip_stack, *rest)
        # The lists WeasyPrint collects the line's boxes in, as they were (for a second try).
        collected = [(a, len(a)) for a in rest if isinstance(a, list)]
        # A line that ends at a space may hold that space too: when the space ends a text box
        # (an <em> follows), a text box too wide by its own trailing space is cut by WeasyPrint
        # at its first word instead ("Quite" | "a few letters … board of"). One more word never
        # fits in a space's width, so the break stays the chosen one.
        slack = SLACK + (plan.remake[5] if start in plan.at_space else 0.0)
        outer = _LINE[0]
        _LINE[0] = _Line(_run_starts(plan), plan.ends[start], start in plan.hyphenated)
        try:
            result = original(context, box, position_x, position_x + width + slack,
                              bottom_space, skip_stack, *rest)
        finally:
            _LINE[0] = outer
        # A line chosen wider than the measure has its spaces narrowed (see text_align below);
        # the line's start finds it in the plan again (avoid_hyphen_at_page_end).
        result[0].chosen_width = max_x - position_x
        result[0].chosen_start = start
        result[0].chosen_tracking = plan.tracking.get(start, 0.0)
        resume = result[1]
        got = _offset(box, inline.skip_first_whitespace(box, resume)) if resume is not None else None
        if got != plan.ends[start]:
            # This line and the rest of the paragraph as WeasyPrint would set them: a run Pango
            # cannot wrap may have ended the line far before the chosen break.
            STATS.mismatched += 1
            box.chosen_plan = False
            for items, size in collected:
                del items[size:]
            return original(context, box, position_x, max_x, bottom_space, skip_stack, *rest)
        return result

    original_align = inline.text_align

    def text_align(context, line, available_width, last):
        if not last and getattr(line, "chosen_width", None):
            if line.chosen_tracking:
                _letter_space(context, line, line.chosen_tracking)
            if line.width > available_width:
                inline.justify_line(context, line, available_width - line.width)
                return 0
        return original_align(context, line, available_width, last)

    original_split_text = inline.split_text_box
    original_first_line = inline.split_first_line

    def split_text_box(context, box, available_width, skip, *rest, **named):
        line = _LINE[0]
        begin = line.starts.get(id(box)) if line is not None else None
        if begin is not None and box.style["white_space"] == "normal" and "\xad" not in box.text:
            begin += skip or 0
            if begin < line.end:
                _CUT[0] = (line.end - begin, line.hyphen)
        try:
            return original_split_text(context, box, available_width, skip, *rest, **named)
        finally:
            _CUT[0] = None

    def split_first_line(text, style, context, max_width, justification_spacing, *rest, **named):
        cut, _CUT[0] = _CUT[0], None
        if cut is not None and max_width is not None:
            found = _first_line_to(cut, text, style, context, max_width, justification_spacing)
            if found is not None:
                return found
        return original_first_line(text, style, context, max_width, justification_spacing, *rest, **named)

    split_inline_box.chosen_breaks = True
    inline.split_inline_box = split_inline_box
    inline.split_text_box = split_text_box
    inline.split_first_line = split_first_line
    inline.text_align = text_align
    _install_drawing()


def _install_drawing() -> None:
    """How this engine draws glyphs, in every document it lays out (`render`, `standalone_pdf`),
    whatever the process laid out before: installed with the line breaking alone, the running
    heads of a one-chapter proof, laid out in the main process, were drawn otherwise than the
    same heads laid out in a worker that had set a chapter first (pdftotext then read
    "B olsheviks" on one and "B o l s h e v i k s" on the other).

    WeasyPrint writes each glyph's offset from the face's own advance in whole thousandths of
    an em, cut toward zero (`int(kerning)` in `draw_first_line`): harmless while the offsets
    are a fraction either way, but a letter-spaced line's offsets are all of one sign, and a
    line of 64 letters drew 0.7 pt longer or shorter than it was laid out (its right edge
    ragged). Rounded to the nearest, the error is a fraction of a thousandth, either way."""
    import weasyprint.draw.text as drawn

    drawn.int = _nearest
    _install_tracked_drawing()
    _install_own_word_spacing()
    _install_page_styles()


def _install_page_styles() -> None:
    """Each page's style and its margin boxes' computed once per set of @page rules it
    matches, not once per page. WeasyPrint's page type holds the page's number, so every page
    is a type of its own: it merged the matching rules' declarations and computed every style
    again, and its look-up of a page's margin boxes walked the styles of all the pages before
    (a running head cost 10 ms, half of it styles). A computed style depends only on the
    declarations that reach it and on the root's style, so pages that match the same selectors
    (`:nth()` among them: the first page of a chapter matches one more) share the first such
    page's styles; the two values WeasyPrint writes into a page's style (`overflow` from the
    root; the page counter, set once) come out the same however often they are written. The same PDF, byte for byte
    (tests/test_engine.py)."""
    import weasyprint.layout.page as paged

    original = paged.set_page_type_computed_styles
    if getattr(original, "shares", False):
        return

    def set_page_type_computed_styles(page_type, html, style_for):
        matched = tuple(
            (s, r, k)
            for s, (sheet, _origin, _specificity) in enumerate(style_for._sheets)
            for r, (_rule, selectors, _declarations) in enumerate(sheet.page_rules)
            for k, selector in enumerate(selectors)
            if style_for._page_type_match(selector[2], page_type))
        shared = style_for.__dict__.setdefault("_bookbuild_page_styles", {})
        computed = style_for.get_computed_styles()
        if matched in shared:
            first, pseudo_types = shared[matched]
            for pseudo_type in pseudo_types:
                computed[page_type, pseudo_type] = computed[first, pseudo_type]
            return
        original(page_type, html, style_for)
        shared[matched] = (page_type, [None] + [pseudo for element, pseudo in style_for.get_cascaded_styles()
                                                if pseudo and element == page_type])

    set_page_type_computed_styles.shares = True
    set_page_type_computed_styles.original = original
    paged.set_page_type_computed_styles = set_page_type_computed_styles


# int(round(value)), as a builtin: the drawing calls it once a glyph (a million times a book).
_nearest = round


def _letter_space(context, box, spacing: float, x_advance: float = 0.0, last=None) -> float:
    """Set the line's glyphs `spacing` px further apart (linebreak.TRACK), as WeasyPrint's
    `add_word_spacing` widens its spaces: each text box is wider by `spacing` for each of its
    glyphs (but the line's last), and boxes after it move; the wrapped `draw_first_line`
    (`_install_tracked_drawing`) adds the spacing to the glyphs' advances when the box is
    drawn. Not Pango's letter spacing, which turns the face's ligatures off ("office" set
    o-f-f-i-c-e on a spaced line, "oﬃce" beside it). Returns how far."""
    from weasyprint.formatting_structure import boxes

    if isinstance(box, boxes.LineBox):  # no spacing after the line's last glyph
        last = next((b for b in reversed(list(box.descendants()))
                     if isinstance(b, boxes.TextBox) and b.text), None)
    if isinstance(box, boxes.TextBox):
        box.position_x += x_advance
        if box.text:
            box.tracking = spacing
            box.tracking_last = box is not last
            # Counted when the line was set, if its text is still that (WeasyPrint takes a
            # space off the end of a line).
            text, glyphs = getattr(box.pango_layout, "glyphs", (None, 0))
            if text != box.text:
                glyphs = _glyph_count(box.text, box.style)
            grown = spacing * (glyphs - (box is last))
            x_advance += grown
            box.width += grown
    elif isinstance(box, (boxes.LineBox, boxes.InlineBox)):
        box.position_x += x_advance
        before = x_advance
        for child in box.children:
            if child.is_in_normal_flow():
                x_advance = _letter_space(context, child, spacing, x_advance, last)
        box.width += x_advance - before
    else:
        box.translate(x_advance, 0)
    return x_advance


_GLYPHS: dict = {}


def _glyph_items(line):
    """The runs of a laid-out Pango line, in order (PangoGlyphItem: `item.offset`, `glyphs`)."""
    from weasyprint.text.ffi import ffi

    run = line.runs
    while run != ffi.NULL:
        yield run.data
        run = run.next


def _glyphs_of(line) -> int:
    """How many glyphs a laid-out Pango line is set in."""
    return sum(item.glyphs.num_glyphs for item in _glyph_items(line))


def _glyph_count(text: str, style) -> int:
    """How many glyphs `text` is set in: a space is one, a word as many as its shaping gives
    (a ligature is one glyph for its letters), counted once per word and face."""
    from weasyprint.text.line_break import create_layout

    face = _face(style)
    total = 0
    for word in text.split(" "):
        total += 1
        if not word:
            continue
        key = (word, face)
        count = _GLYPHS.get(key)
        if count is None:
            layout = create_layout(word, style, None, None, 0)  # the context is not read
            count = _glyphs_of(layout.get_first_line()[0])
            layout.deactivate()
            _GLYPHS[key] = count
        total += count
    return total - 1  # the spaces between the words, and the words' glyphs


def _install_tracked_drawing() -> None:
    """WeasyPrint's `draw_first_line`, wrapped: before it writes a line's glyphs, each glyph's
    advance is widened by the line's letter spacing (`tracking`, `_letter_space`; not the
    last glyph unless `tracking_last`), and each space's by the justification's word spacing
    when the layout was made without it (`_install_own_word_spacing`)."""
    import weasyprint.draw.text as drawn
    from weasyprint.text.ffi import TO_UNITS, pango

    if getattr(drawn.draw_first_line, "tracks", False):
        return
    original = drawn.draw_first_line

    def draw_first_line(stream, textbox, *args):
        spacing = getattr(textbox, "tracking", 0)
        spaced = getattr(textbox.pango_layout, "spaced", 0)
        if (spacing or spaced) and textbox.text.strip():
            layout = textbox.pango_layout.layout
            # As the original does first: set now, it does not make the lines again later.
            pango.pango_layout_set_single_paragraph_mode(layout, True)
            items = list(_glyph_items(textbox.pango_layout.get_first_line()[0]))
            if spaced and any(item.item.analysis.level % 2 for item in items):
                # A right-to-left run is left to Pango: the line is set again with its spacing.
                textbox.pango_layout.set_text(textbox.pango_layout.text, justify=True)
                items, spaced = list(_glyph_items(textbox.pango_layout.get_first_line()[0])), 0
            if spacing:
                units = round(spacing * TO_UNITS)
                glyphs = [item.glyphs.glyphs + i for item in items for i in range(item.glyphs.num_glyphs)]
                if not textbox.tracking_last:
                    glyphs = glyphs[:-1]
                for glyph in glyphs:
                    glyph.geometry.width += units
            if spaced:
                _space_out(textbox, items, spaced)
        return original(stream, textbox, *args)

    draw_first_line.tracks = True
    drawn.draw_first_line = draw_first_line


# The characters WeasyPrint justifies a line by widening (`count_expandable_spaces`), in UTF-8.
_SPACES = re.compile(" |\u00a0".encode())


def _space_out(textbox, items: list, spacing: int) -> None:
    """Each space of a text box's laid-out line (`items`, its runs) widened as WeasyPrint's
    justification has Pango widen it: a letter-spacing attribute of `spacing` units on each
    space, twice that on a space at the text's first or last byte; Pango adds the attribute's
    amount to the glyph's advance and half of it (cut) to its offset, and takes those halves
    off again at the line's two ends. The same advances and offsets, so the same PDF text
    operators, as when Pango spaced them (tests/test_engine.py). Left-to-right runs only."""
    from weasyprint.text.ffi import ffi

    text = textbox.pango_layout.text.encode()
    ends = (0, len(text) - 1)
    spaces = {m.start() for m in _SPACES.finditer(text)}
    last = len(items) - 1
    for n, item in enumerate(items):
        count, offset = item.glyphs.num_glyphs, item.item.offset
        clusters = memoryview(ffi.buffer(item.glyphs.log_clusters, 4 * count)).cast("i").tolist()
        for i, cluster in enumerate(clusters):
            at = offset + cluster
            if at not in spaces:
                continue
            amount = spacing * (2 if at in ends else 1)
            left = int(amount / 2)  # as C divides: toward zero (a line set tighter spaces less)
            geometry = item.glyphs.glyphs[i].geometry
            geometry.width += amount
            geometry.x_offset += left
            if n == 0 and i == 0:
                geometry.x_offset -= left
                geometry.width -= left
            if n == last and i == count - 1:
                geometry.width -= amount - left


def _install_own_word_spacing() -> None:
    """A justified line's text made again to be drawn without Pango's spacing of its spaces,
    which the wrapped `draw_first_line` adds to the spaces' advances instead. WeasyPrint widens
    each space of a justified line with a Pango letter-spacing attribute, and Pango starts a
    run at every change of spacing: the line was shaped a word at a time, and drawn a run at a
    time (in a book of justified lines, shaping and drawing took 40 % longer than for the same
    lines unspaced). Shaped whole, the line is also the one that was measured when it was
    broken (unspaced): a contextual alternate that a space selects (EB Garamond's italic `f`
    before one) is drawn as it was measured. Each space is widened by the same whole Pango
    units WeasyPrint gave it (the justification's spacing, cut to units). Lines with letter or word spacing of their own
    (small capitals, headings) are left to WeasyPrint."""
    import weasyprint.text.line_break as lb
    from weasyprint.text.ffi import TO_UNITS

    if getattr(lb.Layout.reactivate, "spaces", False):
        return
    original = lb.Layout.reactivate

    def reactivate(self, style):
        spacing = self.justification_spacing
        if not spacing or style["word_spacing"] or style["letter_spacing"] not in ("normal", 0):
            self.spaced = 0
            return original(self, style)
        self.setup(style)
        self.set_text(self.text)
        self.spaced = int(spacing * TO_UNITS)

    reactivate.spaces = True
    reactivate.original = original
    lb.Layout.reactivate = reactivate


# The line being set to a chosen break, while WeasyPrint splits its boxes: where each text box
# of the paragraph starts (by id: the plan keeps the boxes), where the next line starts (byte
# offsets in the paragraph's text), whether the break adds a hyphen. WeasyPrint's own search
# for a line's end (split_first_line: a draft layout, one more word, every hyphenation point
# of the next word, each a Pango layout) is not needed when the end is known: the text box the
# break falls in is set to it in one layout (_first_line_to), 4.5 layouts a line before.
@dataclass
class _Line:
    starts: dict[int, int]
    end: int
    hyphen: bool


_LINE: list = [None]
_CUT: list = [None]  # (bytes of the box's text on this line, hyphen added) for the next split


def _run_starts(plan) -> dict[int, int]:
    starts = getattr(plan, "run_starts", None)
    if starts is None:
        starts, offset = {}, 0
        for run in plan.remake[2]:
            starts[id(run)] = offset
            offset += len(run.text.encode())
        plan.run_starts = starts
    return starts


def _first_line_to(cut, text: str, style, context, max_width: float, justification_spacing):
    """What WeasyPrint's split_first_line returns for `text` when its first line is to end
    `cut[0]` bytes in (with a hyphen added when `cut[1]`), or at its end when that is further;
    None (WeasyPrint searches as usual) when that line would not fit `max_width`."""
    from weasyprint.text.ffi import pango
    from weasyprint.text.line_break import create_layout, first_line_metrics, line_size

    length, hyphen = cut
    encoded = text.encode()
    whole = length >= len(encoded)
    if whole:
        shown = text
    else:
        shown = encoded[:length].decode()
        shown = shown + style["hyphenate_character"] if hyphen else shown.rstrip(" ")
    layout = create_layout(shown, style, context, max_width, justification_spacing)
    if not (whole or hyphen):  # as WeasyPrint sets a line it broke: no width, nothing to wrap
        pango.pango_layout_set_width(layout.layout, -1)
    line, resume = layout.get_first_line()
    if resume is not None or line_size(line, style)[0] > max_width:
        return None
    # The glyphs the line is set in, for its letter spacing (_letter_space), while the layout
    # has them: first_line_metrics lets them go.
    layout.glyphs = (shown, _glyphs_of(line))
    if hyphen and not whole:
        return first_line_metrics(line, text, layout, length, True, style, True, style["hyphenate_character"])
    found = first_line_metrics(line, text, layout, None, True, style)
    return found if whole else found[:2] + (length,) + found[3:]


def _plan_for(context, box, position_x, max_x, skip_stack):
    """The paragraph's plan (made at its first line) and the offset the line starts at."""
    import weasyprint.layout.inline as inline

    start = _offset(box, inline.skip_first_whitespace(box, skip_stack))
    plan = getattr(box, "chosen_plan", None)
    if plan is None and skip_stack is None:
        indent = box.text_indent or 0
        plan = _paragraph_plan(context, box, max_x - position_x, max_x - position_x + indent, start)
        box.chosen_plan = plan or False
        STATS.paragraphs += bool(plan)
        STATS.greedy += not plan
        STATS.lines += plan.lines if plan else 0
    return plan or None, start


def _offset(box, skip_stack) -> int:
    """The byte offset in the paragraph's text (its in-flow text boxes, in order) where a
    skip stack points."""
    from weasyprint.formatting_structure import boxes

    if skip_stack is None or skip_stack == "continue":
        return 0
    (index, deeper), = skip_stack.items()
    if isinstance(box, boxes.TextBox):
        return index
    before = sum(_text_bytes(child) for child in box.children[:index])
    return before + (_offset(box.children[index], deeper) if index < len(box.children) else 0)


def _text_bytes(box) -> int:
    from weasyprint.formatting_structure import boxes

    if isinstance(box, boxes.TextBox):
        return len(box.text.encode())
    if isinstance(box, (boxes.InlineBox, boxes.LineBox)):
        return sum(_text_bytes(child) for child in box.children if child.is_in_normal_flow())
    return 0


def _runs(box, out: list) -> bool:
    """The paragraph's text boxes in order; False if it holds anything else in its lines
    (an image, an inline block), which linebreak.py does not measure."""
    from weasyprint.formatting_structure import boxes

    for child in box.children:
        if isinstance(child, boxes.TextBox):
            out.append(child)
        elif isinstance(child, boxes.InlineBox):
            if not _runs(child, out):
                return False
        elif child.is_in_normal_flow():
            return False
    return True


def _paragraph_plan(context, box, first_width: float, width: float, start: int):
    """The paragraph's plan. Its hyphenation points are found only when the first pass, which
    sets no hyphen, finds no plan (for about one paragraph in five of the book), and when a
    page ending on a word's own hyphen has the breaks chosen again (`_all_breaks`)."""
    from .linebreak import PASSES, choose

    runs: list = []
    if not _runs(box, runs) or not runs or any(r.style["white_space"] not in ("normal", "nowrap") for r in runs):
        return None
    unbreakable = _BREAKING[-1]
    breaks = _measured_breaks(context, runs, start, unbreakable, hyphenate=False)
    if breaks is None or len(breaks) < 2:
        return None
    # The face most of the paragraph is set in (a glossary entry opens with its headword in
    # bold, whose space is not the text's: lines planned on it shrank to 0.69 of a space).
    style = max(runs, key=lambda run: len(run.text)).style
    space = _measure(context, "x x", style) - _measure(context, "xx", style)
    em = style["font_size"]
    assert not PASSES[0][0]  # the first pass sets no hyphen
    plan = choose(breaks, first_width, width, space, em, PASSES[:1])
    complete = False
    if plan is None:
        breaks, complete = _measured_breaks(context, runs, start, unbreakable), True
        plan = choose(breaks, first_width, width, space, em, PASSES[1:])
    if plan is not None:
        _refine(context, plan, breaks, runs)
        plan.remake = (context, breaks, runs, first_width, width, space, em, complete, unbreakable)
    return plan


def _all_breaks(plan) -> list:
    """Every break of the plan's paragraph, its hyphenation points included."""
    context, breaks, runs, *_, complete, unbreakable = plan.remake
    if not complete:
        breaks = _measured_breaks(context, runs, breaks[0].offset, unbreakable)
        plan.remake = (*plan.remake[:1], breaks, *plan.remake[2:7], True, unbreakable)
    return breaks


def avoid_hyphen_at_page_end(pages: list, boundary: int) -> bool:
    """When the page before `boundary` ends on a line its paragraph's plan hyphenated, the
    paragraph's breaks from its first line on that page are chosen again without that one
    (the plan is shared with the box tree's line box, which keeps it); True when they were,
    and the page is to be made again."""
    from dataclasses import replace as copied

    from .linebreak import choose

    lines = [i.box for i in flow_items([pages[boundary - 1]]) if not i.footnote and is_line(i.box)]
    # A hyphen the plan added, or a compound's own ("behind-|the-scenes"): neither ends a page.
    if not lines or not box_text(lines[-1]).rstrip().endswith(("\u2010", "-")):
        return False
    plan = getattr(lines[-1], "chosen_plan", None)
    start = getattr(lines[-1], "chosen_start", None)
    if not plan or start is None or plan.ends.get(start) in plan.forbidden:
        return False
    first = next(getattr(l, "chosen_start") for l in lines if getattr(l, "chosen_plan", None) is plan)
    breaks = _all_breaks(plan)
    context, _, runs, first_width, width, space, em, *_ = plan.remake
    plan.forbidden.add(plan.ends[start])
    at = next(i for i, b in enumerate(breaks) if b.offset == first)
    rest = [copied(breaks[at], kind="first")] + \
        [b for b in breaks[at + 1:] if b.offset not in plan.forbidden]
    again = choose(rest, first_width if at == 0 else width, width, space, em)
    if again is None:
        return False
    _refine(context, again, rest, runs)
    for table in (plan.widths, plan.ends):
        for offset in [o for o in table if o >= first]:
            del table[offset]
    for kept in (plan.at_space, plan.hyphenated):
        kept.difference_update(o for o in list(kept) if o >= first)
    plan.widths.update(again.widths)
    plan.ends.update(again.ends)
    plan.at_space.update(again.at_space)
    plan.hyphenated.update(again.hyphenated)
    plan.tracking = {o: t for o, t in plan.tracking.items() if o < first} | again.tracking
    return True


_WORD = None


def _cluster_positions(line) -> dict[int, float]:
    """x (px) where each glyph cluster of a laid-out Pango line starts, by byte offset: one walk
    over the glyphs, where asking Pango index by index costs 20 µs a time."""
    from weasyprint.text.ffi import FROM_UNITS

    positions: dict[int, float] = {}
    x = 0
    for item in _glyph_items(line):
        glyphs = item.glyphs
        offset, clusters, infos = item.item.offset, glyphs.log_clusters, glyphs.glyphs
        for i in range(glyphs.num_glyphs):
            positions.setdefault(offset + clusters[i], x * FROM_UNITS)
            x += infos[i].geometry.width
    return positions


def _measured_breaks(context, runs: list, start: int, unbreakable: frozenset, hyphenate: bool = True):
    """Every place a line of the paragraph may end, measured with the paragraph's own Pango
    layouts (one per text box, so as WeasyPrint measures): spaces and Pango's other break
    opportunities (after a hyphen or a dash), and the hyphenation points WeasyPrint would try
    (Pyphen with the box's `hyphenate-limit-chars`), less those in `unbreakable` words."""
    from weasyprint.text.ffi import FROM_UNITS, ffi, pango
    from weasyprint.text.line_break import create_layout, line_size

    from .linebreak import EXPLICIT_PENALTY, Break

    breaks = [Break(start, 0.0, 0.0, 0, 0, "first")]
    origin, offset, spaces, chars = 0.0, 0, 0, 0
    rect = ffi.new("PangoRectangle *")
    for run in runs:
        text, style = run.text, run.style
        if not text:
            continue
        layout = create_layout(text, style, context, None, 0)
        line = layout.get_first_line()[0]
        run_width, _ = line_size(line, style)
        at_cluster = _cluster_positions(line)
        byte_at = _byte_offsets(text)
        counted = list(accumulate((ch in " \u00a0" for ch in text), initial=spaces))
        # letters before character k (for the letter spacing): characters less spaces
        letters = [chars + k - counted[k] for k in range(len(text) + 1)]

        def x(k, origin=origin, layout=layout, byte_at=byte_at, at_cluster=at_cluster):
            if k >= len(text):
                return origin + run_width
            found = at_cluster.get(byte_at[k])
            if found is None:  # inside a ligature: Pango shares its width out
                pango.pango_layout_index_to_pos(layout.layout, byte_at[k], rect)
                return origin + rect.x * FROM_UNITS
            return origin + found

        if offset <= start < offset + byte_at[-1]:
            k = byte_at.index(start - offset)
            breaks[0] = Break(start, x(k), x(k), counted[k], counted[k], "first",
                              letters_end=letters[k], letters_start=letters[k])
        if style["white_space"] == "normal":
            # Pango's break opportunities, read once (each read of a log attribute through
            # cffi costs about as much as the rest of the character's work).
            attrs = pango.pango_layout_get_log_attrs_readonly(layout.layout, ffi.NULL)
            wrap = [k for k in range(1, len(text) + 1) if attrs[k].is_line_break]
            if text[-1] == " " and (not wrap or wrap[-1] != len(text)):
                wrap.append(len(text))
            opportunities = [0] + [k for k in wrap if k < len(text)]
            held = _held_hyphens(text, unbreakable)
            for k in wrap:
                at = offset + byte_at[k]
                if at <= start:
                    continue
                if text[k - 1] == " ":
                    breaks.append(Break(at, x(k - 1), x(k), counted[k - 1], counted[k], "space",
                                        letters_end=letters[k - 1], letters_start=letters[k]))
                elif k < len(text) and k not in held:
                    breaks.append(Break(at, x(k), x(k), counted[k], counted[k], "explicit",
                                        EXPLICIT_PENALTY, hyphenated=text[k - 1] in "-\u2010",
                                        letters_end=letters[k], letters_start=letters[k]))
            if hyphenate:
                breaks.extend(_hyphenation(context, run, x, byte_at, counted, letters, offset, start,
                                           unbreakable, opportunities))
        origin += run_width
        offset += byte_at[-1]
        spaces = counted[-1]
        chars += len(text)
    breaks.sort(key=_by_offset)
    last = breaks[-1] if breaks[-1].offset == offset else None
    if last is not None and last.kind == "space":
        breaks.pop()
    end_x = max(b.end for b in breaks) if last is None else last.end
    breaks.append(Break(offset, origin if last is None else end_x, origin, spaces, spaces, "last",
                        letters_end=chars - spaces, letters_start=chars - spaces))
    return breaks


_COMPOUND = re.compile(r"[^\W\d_]+(?:[’'][^\W\d_]+)*(?:[-\u2010][^\W\d_]+(?:[’'][^\W\d_]+)*)+")


def _held_hyphens(text: str, unbreakable) -> set[int]:
    """Where a line may not end after a name's own hyphen ("Ter-|Vaganian"): the character
    indices after the hyphens of compounds in `unbreakable`."""
    if "-" not in text and "\u2010" not in text:
        return set()
    held = set()
    for match in _COMPOUND.finditer(text):
        word = match.group()
        if word in unbreakable or _POSSESSIVE.sub("", word) in unbreakable:
            held.update(match.start() + i + 1 for i, c in enumerate(word) if c in "-\u2010")
    return held


def _by_offset(b) -> int:
    return b.offset


def _byte_offsets(text: str) -> list[int]:
    """The UTF-8 byte offset of each character of `text`, and of its end."""
    if text.isascii():
        return list(range(len(text) + 1))
    return list(accumulate((len(ch.encode()) for ch in text), initial=0))


def _hyphenation(context, run, x, byte_at, counted, letters, offset: int, start: int,
                 unbreakable, opportunities: list[int]):
    """The hyphenation points of a text box's words, as WeasyPrint's Pyphen would find them:
    only in the first word after a break opportunity (`opportunities`, character indices),
    which is the one WeasyPrint tries ("School” (evidently" has no break before the
    parenthesis, so "evidently" is never tried there)."""
    from bisect import bisect_right

    import pyphen

    from .linebreak import HYPHEN_PENALTY, Break

    global _WORD
    style, text = run.style, run.text
    if style["hyphens"] != "auto" or not style["lang"]:
        return []
    lang = pyphen.language_fallback(style["lang"])
    if not lang:
        return []
    total, left, right = style["hyphenate_limit_chars"]
    key = (lang, left, right, total)
    if key not in context.dictionaries:
        context.dictionaries[key] = pyphen.Pyphen(lang=lang, left=left, right=right)
    dictionary = context.dictionaries[key]
    _WORD = _WORD or re.compile(r"[^\W\d_](?:[^\W\d_]|[’'](?=[^\W\d_]))*")
    hyphen = _measure(context, style["hyphenate_character"], style)
    found = []
    for match in _WORD.finditer(text):
        word = match.group()
        if len(word) < total or word in unbreakable or _POSSESSIVE.sub("", word) in unbreakable:
            continue
        opening = opportunities[bisect_right(opportunities, match.start()) - 1]
        if any(c.isalnum() for c in text[opening:match.start()]):
            continue
        token_end = text.find(" ", match.end())
        token_end = len(text) if token_end < 0 else token_end
        # The same words come back paragraph after paragraph: Pyphen's points, once each.
        points = _POINTS.get((key, word))
        if points is None:
            points = _POINTS[key, word] = tuple(int(p) for p in dictionary.positions(word))
        for position in points:
            k = match.start() + position
            if offset + byte_at[k] <= start:
                continue
            detail = (style, text[match.start():k], text[k:token_end], x(match.start()), x(token_end))
            found.append(Break(offset + byte_at[k], x(k) + hyphen, x(k), counted[k], counted[k],
                               "hyphen", HYPHEN_PENALTY, detail, hyphenated=True,
                               letters_end=letters[k] + 1, letters_start=letters[k]))
    return found


_MEASURED: dict = {}
_POINTS: dict = {}
_POSSESSIVE = re.compile(r"[’']s$")


def _measure(context, text: str, style) -> float:
    """The natural width of `text` set alone in `style`, in px (cached per face and size)."""
    from weasyprint.text.line_break import create_layout, line_size

    key = (text, _face(style))
    if key not in _MEASURED:
        layout = create_layout(text, style, context, None, 0)
        _MEASURED[key] = line_size(layout.get_first_line()[0], style)[0]
    return _MEASURED[key]


def _face(style) -> str:
    """What a text's shaping depends on in `style`: the key of the measures kept per face."""
    return repr(tuple(style[k] for k in (
        "font_family", "font_size", "font_style", "font_weight", "font_variant_caps",
        "font_variant_numeric", "font_variant_ligatures", "font_feature_settings", "font_kerning",
        "letter_spacing", "word_spacing", "lang")))


def _refine(context, plan, breaks, runs) -> None:
    """The chosen lines that end or start inside a word measured exactly: the part before the
    hyphen set with the hyphen, the part after it set alone, as WeasyPrint will set them."""
    for a, b in plan.chain:
        begin, end = a.start, b.end
        if a.kind == "hyphen":
            style, _, after, _, token_end = a.detail
            begin = token_end - _measure(context, after, style)
        if b.kind == "hyphen":
            style, before, _, word_start, _ = b.detail
            end = word_start + _measure(context, before + style["hyphenate_character"], style)
        plan.widths[a.offset] = end - begin


def _runs_of(box) -> list:
    """A paragraph's text boxes, in order."""
    out: list = []
    _runs(box, out)
    return out


# --- filled pages: every page of a unit ends on the same line ------------------------------
# The body is set on a grid of its line height, but a quotation, a heading, a figure or a note
# takes heights of its own, so a page's last line falls between grid lines, and pages short
# by a line (widow and orphan control) face full ones. A page that ends in mid-flow (not at a
# forced break, not the last of its part) and whose last line is short of the type area's
# lowest grid line by up to FILL_MOST lines has the difference shared out among the gaps
# between its blocks, as TeX's \flushbottom stretches vertical glue: up to a line at a gap
# that touches anything but running text, up to PARAGRAPH_GAP of a line between two
# paragraphs of text, and then up to LINE_GAP between two lines of running text (a page of
# long paragraphs left a line short by widow and orphan control). A page that cannot take it
# so is left as it is. The boxes move after
# pagination and before WeasyPrint makes its pages (anchors, links, bookmarks follow them).
# Internals used (tested in tests/test_engine.py): `weasyprint.document.layout_document`
# (wrapped), `context.page_maker[i][1]["break"]` ("any" for a page that ended where its text
# ran out of room), a page box's children (the root box first, then its margin boxes),
# `Box.translate`, and `FootnoteAreaBox`.

FILL_MOST = 2
PARAGRAPH_GAP = 1 / 6
LINE_GAP = 1 / 36
_FILLING: list = []


@dataclass
class FillingStats:
    """Pages filled to the grid in this process, and pages left short."""

    filled: int = 0
    left: int = 0
    balanced: int = 0  # spreads set a line short on both pages


FILLING = FillingStats()


@contextmanager
def filling_pages():
    """While active, pages laid out in this process are filled to the grid of their root's line
    height (html's `line-height`), and a spread whose pages cannot both be is set a line short
    on both (`balance_spread`, from a watcher)."""
    _install_filling()
    _install_shortening()
    _FILLING.append(True)
    try:
        yield FILLING
    finally:
        _FILLING.pop()


def _install_filling() -> None:
    import weasyprint.document as document

    if getattr(document.layout_document, "fills_pages", False):
        return
    original = document.layout_document

    def layout_document(html, root_box, context, *args, **kwargs):
        pages = list(original(html, root_box, context, *args, **kwargs))
        if _FILLING:
            for index, page in enumerate(pages[:-1]):
                carry_lone_floats(page, pages[index + 1])
            for index, page in enumerate(pages[:-1]):
                if context.page_maker[index + 1][1].get("break") == "any":
                    fill_page(page)
        return pages

    layout_document.fills_pages = True
    document.layout_document = layout_document


def carry_lone_floats(page_box, next_page) -> None:
    """A block at the foot of a page that holds only floats, its lines overleaf (an endnote's
    number, floated beside a note whose first line went to the next page: WeasyPrint places the
    float before it knows the line will not fit), gives them to its continuation on the next
    page, level with that part's first line."""
    from weasyprint.formatting_structure import boxes

    for box in page_box.children[0].descendants():
        if not isinstance(box, boxes.BlockBox) or not box.children or box.element is None or \
                not all(c.is_floated() for c in box.children):
            continue
        after = next((b for b in next_page.children[0].descendants()
                      if isinstance(b, boxes.BlockBox) and b.element is box.element and b is not box), None)
        first = next((b for b in after.descendants() if isinstance(b, boxes.LineBox)), None) if after else None
        if first is None:
            continue
        dx = after.content_box_x() - box.content_box_x()  # a verso's margins are not a recto's
        for child in box.children:
            child.translate(dx, first.position_y - child.position_y)
        after.children = (*box.children, *after.children)
        box.children = ()


@dataclass
class _Filling:
    """What a page is short of its lowest grid line, and the gaps that could take it."""

    pitch: float
    short: float
    leaves: list
    room: list
    lines: list
    spare: float

    @property
    def fillable(self) -> bool:
        return self.short <= FILL_MOST * self.pitch + 0.25 and sum(self.room) + self.spare >= self.short


def _filling(page_box) -> _Filling | None:
    """How the page would be filled; None for a page that is not filled (no grid, notes at
    its foot, columns, nothing in it)."""
    from weasyprint.formatting_structure import boxes

    if not page_box.children:
        return None
    root = page_box.children[0]
    height = root.style["line_height"]
    if getattr(height, "unit", None) != "px":
        return None  # a line height relative to each block's type: no grid to fill to
    pitch = height.value
    _, top, _, bottom = content_area(page_box)
    if any(isinstance(b, boxes.FootnoteAreaBox) and b.children for b in page_box.descendants()):
        return None  # the notes at the foot end the page, not the text
    leaves: list = []
    if not _fill_leaves(root, leaves) or not leaves:
        return None
    ends = list(map(_content_end, leaves))
    while ends and ends[-1] is None:  # empty fragments at the foot: nothing to bring down to it
        ends.pop()
        leaves.pop()
    if not ends:
        return None
    end = max(e for e in ends if e is not None)
    target = top + int((bottom - top) / pitch + 1e-6) * pitch
    size = root.style["font_size"]
    room = [pitch * (PARAGRAPH_GAP if _text(a, size) and _text(b, size) else 1.0)
            for a, b in zip(leaves, leaves[1:])]
    # What the gaps between blocks cannot take, the lines of running text take (feathering),
    # LINE_GAP of a line at most between two lines.
    lines = [_own_lines(leaf) if _text(leaf, size) else [] for leaf in leaves]
    spare = sum(max(len(own) - 1, 0) for own in lines) * pitch * LINE_GAP
    return _Filling(pitch, target - end, leaves, room, lines, spare)


def fill_page(page_box) -> bool:
    """Moves the blocks of a page down so that its last line ends on the type area's lowest
    grid line; True when it did."""
    plan = _filling(page_box)
    if plan is None or plan.short < 0.25 or plan.short > FILL_MOST * plan.pitch + 0.25:
        return False
    if not plan.fillable:
        FILLING.left += 1
        return False
    pitch, short, leaves, room, lines, spare = \
        plan.pitch, plan.short, plan.leaves, plan.room, plan.lines, plan.spare
    share = min(short / sum(room), 1.0) if sum(room) else 0.0
    step = (short - share * sum(room)) / spare * pitch * LINE_GAP if spare else 0.0
    moved = 0.0
    for n, leaf in enumerate(leaves):
        if n:
            moved += room[n - 1] * share
        leaf.translate(0, moved)
        if step and len(lines[n]) > 1:
            for k, line in enumerate(lines[n][1:], 1):
                line.translate(0, k * step)
            grown = (len(lines[n]) - 1) * step
            leaf.height += grown
            moved += grown
    FILLING.filled += 1
    return True


# --- spreads a line short on both pages ----------------------------------------------------
# A page that ends two or three lines short (widow and orphan control, a heading kept with
# its text, a figure that went overleaf) faces a full one, and filling cannot take that
# much. As TeX's \enlargethispage{-\baselineskip} by hand: both pages of the spread are
# made again a line shorter, so that the line the full page gives up goes overleaf and both
# end on the same grid line, one above the foot ("short pages only at unit ends, or by a
# line at most on both pages of a spread", issue 14). A spread is tried once; if its pages
# still do not end together, they are made again as they were. Internals used (tested in
# tests/test_engine.py): `weasyprint.layout.page.make_page(context, root_box, page_type,
# resume_at, page_number, ...)` and `page_height(box, ...)`, both looked up on the module,
# and a page box's `page_type.side`.

_SHORTENING = [0.0]  # px the page being made is shorter by


def _install_shortening() -> None:
    import weasyprint.layout.page as page

    if getattr(page.make_page, "shortens", False):
        return
    make, height = page.make_page, page.page_height

    def make_page(context, root_box, page_type, resume_at, page_number, *rest):
        _SHORTENING[0] = getattr(context, "shorter_pages", {}).get(page_number, 0.0)
        try:
            return make(context, root_box, page_type, resume_at, page_number, *rest)
        finally:
            _SHORTENING[0] = 0.0

    def page_height(box, *args):
        result = height(box, *args)
        if _SHORTENING[0]:  # the type area ends higher; the page keeps its size
            box.height -= _SHORTENING[0]
            box.margin_bottom += _SHORTENING[0]
        return result

    make_page.shortens = True
    page.make_page = make_page
    page.page_height = page_height


def balance_spread(pages: list, boundary: int) -> bool:
    """When the verso before `boundary` and the recto after it cannot both be filled to the
    grid (one ends two or three lines short, the other is full), both are to be made a line
    shorter; when a spread so made still does not end together, as they were. True when the
    pages are to be made again."""
    if not _FILLING or not _PAGINATING or boundary < 2 or boundary >= len(pages) - 1:
        return False  # the part's first page opens a unit; its last may end short
    context = _PAGINATING[-1]
    verso, recto = boundary - 1, boundary
    maker = context.page_maker
    if pages[verso].page_type.side != "left" or len(maker) <= recto + 1 or \
            any(maker[i + 1][1].get("break") != "any" for i in (verso, recto)):
        return False  # not a spread in mid-flow: a unit's last page may end short
    shorter = context.__dict__.setdefault("shorter_pages", {})
    tried = context.__dict__.setdefault("balanced_spreads", set())
    plans = [_filling(pages[i]) for i in (verso, recto)]
    if None in plans:
        return False
    left = [0.0 if p.short < 0.25 or p.fillable else p.short / p.pitch for p in plans]
    if verso + 1 in shorter:  # made a line short: kept if the spread now ends together
        if max(left) > 0:
            del shorter[verso + 1], shorter[recto + 1]
            return True
        kept = context.__dict__.setdefault("balanced_kept", set())
        FILLING.balanced += verso not in kept
        kept.add(verso)
        return False
    if verso in tried or max(left) == 0 or min(left) > 0 or max(left) > FILL_MOST + 1.25:
        return False
    tried.add(verso)
    shorter[verso + 1] = shorter[recto + 1] = plans[0].pitch
    return True


def _own_lines(box) -> list:
    return [c for c in box.children if is_line(c)]


def _fill_leaves(box, out: list) -> bool:
    """The blocks of a page that move as wholes, in order: paragraphs, figures, tables, framed
    blocks, blocks holding a float; False when the page holds columns, which cannot be moved so."""
    from weasyprint.formatting_structure import boxes

    for child in box.children:
        if not isinstance(child, boxes.BlockLevelBox) or not child.is_in_normal_flow():
            continue
        if child.style["column_count"] != "auto" or child.style["column_width"] != "auto":
            return False
        framed = child.border_top_width or child.border_bottom_width or child.element_tag == "figure"
        # A block holding a float (a note's number beside its text) moves whole, float and all.
        whole = getattr(child, "is_table_wrapper", False) or isinstance(child, (boxes.TableBox, boxes.FlexBox)) \
            or any(c.is_floated() for c in getattr(child, "children", ()))
        if framed or whole or not isinstance(child, boxes.ParentBox) or \
                not any(isinstance(c, boxes.BlockLevelBox) for c in child.children):
            out.append(child)
        elif not _fill_leaves(child, out):
            return False
    return True


def _content_end(box) -> float | None:
    """Where a block's content ends on its page: the foot of its lowest line or picture (a block
    that goes on overleaf has its box drawn down to the foot of the page); its border box's
    for a block drawn by its borders alone (a rule); None for an empty fragment (a note whose
    first line went overleaf leaves an empty box at the foot of the page)."""
    from weasyprint.formatting_structure import boxes

    ends = [b.position_y + b.height if isinstance(b, boxes.LineBox) else b.border_box_y() + b.border_height()
            for b in box.descendants() if isinstance(b, (boxes.LineBox, boxes.ReplacedBox))]
    if ends:
        return max(ends)
    return box.border_box_y() + box.border_height() if box.border_top_width or box.border_bottom_width else None


def _text(box, size: float) -> bool:
    """A paragraph of running text (set in the root's size), not a heading, quotation or note."""
    return box.element_tag == "p" and box.style["font_size"] == size
