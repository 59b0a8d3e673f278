"""WeasyPrint and pikepdf for print: each part to its own PDF (in parallel, cached), then one book PDF."""
from __future__ import annotations

import hashlib
import io
import logging
import multiprocessing
import os
import re
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlparse

from .. import cachefile
from ..fonts import FOLDER as FONTS_FOLDER

PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent
STYLES = (PACKAGE_ROOT / "styles" / "base.css", PACKAGE_ROOT / "styles" / "print.css")
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), FONTS_FOLDER)
# Raised whenever lay_out or defer_figures change what a part's PDF holds; the checks a
# cached part carries follow pdfcheck.py, whose text is part of the key.
CACHE_VERSION = "part-5"
CHECKS = Path(__file__).resolve().parent / "checks.py"
PX_TO_PT = 0.75
# A figure too tall for the rest of its page goes overleaf whole; when that leaves this much
# of the page empty, the text after it is set first (WeasyPrint has no page floats).
DEFER_GAP_PT = 28
# A part this long is worth writing in two halves when asked to (Job.split).
SPLIT_PAGES = 8
# At most this many figures are moved in one part (each makes a few pages again).
DEFER_LIMIT = 24


@dataclass
class Job:
    """A part to lay out: its HTML, the edition's page CSS, and the folder images come from."""

    key: str
    html: str
    page_css: str
    repository: str
    # Written in two halves on two cores (when a core is free: a one-chapter proof).
    split: bool = False
    # Index mentions taken out of the HTML: (anchor, id of its block, offset in letters).
    mentions: tuple[tuple[str, str, int], ...] = ()


@dataclass
class PartPDF:
    """A laid-out part, as plain data a worker process can hand back."""

    key: str
    pdf: bytes
    pages: int
    # Per page: (anchor, x, y) in PDF points; the first words of the page's text.
    anchors: list[list[tuple[str, float, float]]] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    # Per page: (anchor, y of the bottom of its box on that page) in PDF points.
    bottoms: list[list[tuple[str, float]]] = field(default_factory=list)
    # (level, label, page, y) for the outline.
    bookmarks: list[tuple[int, str, int, float]] = field(default_factory=list)
    # Links to anchors in other parts: (page, (x1, y1, x2, y2), anchor).
    links: list[tuple[int, tuple[float, float, float, float], str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # What pdfcheck.inspect_part saw in the boxes, and the page its first line is on.
    findings: list[dict] = field(default_factory=list)
    opening: int = 0
    # Seconds the layout took, and how many times figures were deferred (for progress lines).
    seconds: float = 0.0
    passes: int = 0
    # Figures set after the blocks that followed them: (figure id, blocks moved ahead of it).
    moved: list[tuple[str, int]] = field(default_factory=list)


# --- one part, in whichever process runs it ----------------------------------------------

class _WarningCollector(logging.Handler):
    """WeasyPrint reports unusable CSS and missing resources through `logging`."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


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


def lay_out(job: Job) -> PartPDF:
    """Lay out one part and write its PDF; links into other parts are handed back, not dropped."""
    from weasyprint import HTML

    from .checks import flow_items, inspect_part

    started = time.monotonic()
    fonts, fetcher, sheets = _engine(job.page_css, job.repository)
    collector = _WarningCollector()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(collector)
    try:
        with _Deferral() as deferral:
            document = HTML(string=job.html, base_url=job.repository.rstrip("/") + "/",
                            url_fetcher=fetcher).render(stylesheets=sheets, font_config=fonts)
        result = PartPDF(job.key, b"", len(document.pages), passes=deferral.passes, moved=deferral.moved)
        pages = len(document.pages)
        # The second half goes to a forked copy of this process to be written (see _write).
        half = pages // 2 if job.split and pages >= SPLIT_PAGES else pages
        owners = [{name for page in document.pages[a:b] for name in page.anchors}
                  for a, b in ((0, half), (half, pages))]
        items = flow_items([page._page_box for page in document.pages])
        placed = mention_anchors(items, job.mentions)
        for number, page in enumerate(document.pages):
            own = owners[number >= half]
            height = page.height * PX_TO_PT
            # Index mentions among the page's anchors in reading order (a stable sort by top).
            boxes = dict(sorted({**page.anchors, **placed.get(number, {})}.items(),
                                key=lambda item: item[1][1]))
            result.anchors.append([(name, x * PX_TO_PT, height - y * PX_TO_PT)
                                   for name, (x, y, _, _) in boxes.items()])
            result.bottoms.append([(name, height - y2 * PX_TO_PT)
                                   for name, (_, _, _, y2) in boxes.items()])
            result.words.append(_first_words(page))
            for level, label, (_, y), _ in page.bookmarks:
                result.bookmarks.append((level, label, number, height - y * PX_TO_PT))
            kept = []
            for link in page.links:
                kind, target, (x1, y1, x2, y2), _ = link
                if kind == "internal" and target not in own:
                    result.links.append((number, (x1 * PX_TO_PT, height - y2 * PX_TO_PT,
                                                  x2 * PX_TO_PT, height - y1 * PX_TO_PT), target))
                else:
                    kept.append(link)
            page.links[:] = kept
        result.findings, result.opening = inspect_part(document, items)
        result.pdf = _write(document, half)
    finally:
        logger.removeHandler(collector)
    result.warnings = collector.messages
    result.seconds = time.monotonic() - started
    return result


def mention_anchors(items: list, mentions) -> dict[int, dict[str, tuple]]:
    """Page → {anchor: (x1, y1, x2, y2)} of the line that holds each index mention: the
    line among the flow `items` (pdfcheck.flow_items) where the block's letters reach the
    mention's offset (printlayout.unwrap_mentions)."""
    if not mentions:
        return {}
    from weasyprint.formatting_structure import boxes

    from ..transform import letters

    wanted: dict[str, list[tuple[int, str]]] = {}
    for anchor, block, offset in mentions:
        wanted.setdefault(block, []).append((offset, anchor))
    for offsets in wanted.values():
        offsets.sort(reverse=True)   # popped from the end, smallest offset first
    counted = dict.fromkeys(wanted, 0)
    placed: dict[int, dict[str, tuple]] = {}
    for item in items:
        if item.footnote or not isinstance(item.box, boxes.LineBox):
            continue
        block = next((e.get("id") for e in reversed(item.elements) if e.get("id") in wanted), None)
        if block is None or not wanted[block]:
            continue
        text = "".join(b.text for b in item.box.descendants()
                       if isinstance(b, boxes.TextBox) and "::" not in b.element_tag)
        counted[block] += len(letters(text))
        line = item.box
        while wanted[block] and wanted[block][-1][0] < counted[block]:
            _, anchor = wanted[block].pop()
            placed.setdefault(item.page, {})[anchor] = (
                line.position_x, line.position_y, line.position_x + line.width,
                line.position_y + line.height)
    return placed


def _write(document, half: int) -> bytes:
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


# --- figures that go overleaf -------------------------------------------------------------
# WeasyPrint has no page floats: a figure too tall for the rest of its page goes overleaf
# and leaves a gap. Where the gap is large, the paragraphs after the figure are moved ahead
# of it in WeasyPrint's box tree, and pages are made again from the page with the gap,
# with WeasyPrint's own machinery for remaking pages (`make_all_pages` hands back the pages
# before the first one marked changed as they were). Pages are watched as they are made, so
# a deferral costs the few pages made again, not a second layout of the part. The HTML
# (so every computed style) stays as it was: moving a figure changes no paragraph's style,
# because no style depends on what precedes a figure (base.css). This reaches into
# WeasyPrint's layout internals (`weasyprint.layout.make_all_pages`, `context.page_maker`,
# the footnote and broken-float state kept between pages), which requirements.txt pins;
# tests/test_pdf.py checks the result.

_ACTIVE: list[_Deferral] = []


class _Deferral:
    """While active, every document laid out in this process gets its figures deferred."""

    def __init__(self):
        self.passes = 0
        self.moved: list[tuple[str, int]] = []

    def __enter__(self) -> _Deferral:
        _install_hook()
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _ACTIVE.remove(self)


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


def _paginate(original, deferral: _Deferral, context, root_box, html, previous: list) -> list:
    """WeasyPrint's pagination, watched: once the page after a page boundary is made too (to
    measure what follows a figure), the boundary is checked; a figure moved makes the pages
    again from the page with the gap, with the state WeasyPrint had when it first made it."""
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
            if index >= 2 and moves < DEFER_LIMIT and defer_figures(root_box, made, index - 1, deferral.moved):
                restart = index - 2
                break
        else:
            last = len(made) - 1
            if last >= 1 and moves < DEFER_LIMIT and defer_figures(root_box, made, last, deferral.moved):
                restart = last - 1
        if restart is None:
            # The entry after the last page was marked below if a page was made again:
            # WeasyPrint would take the mark as a reason to paginate everything again.
            context.page_maker[-1][-1]["content_changed"] = False
            return made
        generator.close()
        moves += 1
        deferral.passes += 1
        for entry in context.page_maker[restart:]:
            entry[-1]["content_changed"] = True
        reported, broken = after.get(restart - 1, ([], {}))
        context.footnotes = list(footnotes)
        context.reported_footnotes = list(reported)
        context.broken_out_of_flow.clear()
        context.broken_out_of_flow.update(broken)
        previous, made = made[:restart], []
        generator = original(context, root_box, html, previous)


def defer_figures(root_box, pages: list, boundary: int, moved: list | None = None) -> bool:
    """When the page `boundary` opens with a figure that left a gap at the foot of the page
    before, moves the figure (with the figures right after it), in the box tree `root_box`,
    after the blocks that fill the gap, as far as `pages` show them; True when it moved.
    Each move goes into `moved` as (figure id, blocks moved ahead of it): the EPUB follows."""
    from .checks import HEADING_TAGS, flow_items

    stops = HEADING_TAGS | {"figure", "section", "header"}
    items = [i for i in flow_items(pages[boundary - 1:]) if not i.footnote]
    last = next((i for i in reversed(items) if i.page == 0), None)
    first = next((i for i in items if i.page == 1), None)
    if last is None or first is None:
        return False
    figure = next((e for e in first.elements if e.tag == "figure"), None)
    if figure is None or figure is first.elements[0]:
        return False
    page_box = pages[boundary - 1]
    gap = page_box.content_box_y() + page_box.height - last.box.position_y - last.box.height
    if gap * PX_TO_PT < DEFER_GAP_PT:
        return False
    parent = _parent_box(root_box, figure)
    if parent is None:
        return False
    children = list(parent.children)
    group = _figure_group(children, figure)
    filled = 0
    target = group[-1]
    for box in children[children.index(group[-1]) + 1:]:
        if box.element_tag in stops or filled >= gap:
            break
        heights = [i.box.height for i in items if box.element in i.elements]
        if not heights:
            break  # not made yet: it cannot be measured
        filled += sum(heights)
        target = box
    if target is group[-1]:
        return False
    rest = [b for b in children if b not in group]
    at = rest.index(target) + 1
    if moved is not None:
        moved.append((figure.get("id") or "", at - children.index(group[0])))
    parent.children = tuple(rest[:at] + group + rest[at:])
    return True


def _parent_box(root_box, element):
    """The box in the (not laid out) box tree whose children hold `element`'s box."""
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


def _figure_group(children: list, figure) -> list:
    """The box of `figure` and the figure boxes right after it: they go overleaf together."""
    at = next(i for i, b in enumerate(children) if b.element is figure and b.element_tag == "figure")
    end = at + 1
    while end < len(children) and children[end].element_tag == "figure":
        end += 1
    return children[at:end]


# Print's own words, which no other edition has: an absent photograph's frame, the contents'
# folios. The first words of a page leave them out, so the EPUB finds where the page begins.
PRINT_ONLY = {"art-absent", "folio"}


def _first_words(page, count: int = 8) -> str:
    from weasyprint.formatting_structure import boxes

    words: list[str] = []
    stack = [page._page_box.children[0]]
    while stack and len(words) < count:
        box = stack.pop()
        element = box.element if box.element_tag and ":" not in box.element_tag else None
        if element is not None and PRINT_ONLY & set((element.get("class") or "").split()):
            continue
        if isinstance(box, boxes.TextBox):
            words.extend(box.text.split())
        elif isinstance(box, boxes.ParentBox):
            stack.extend(reversed(box.children))
    return " ".join(words[:count])


# --- many parts: cache and worker processes ------------------------------------------------

def _job_key(job: Job) -> str:
    # The version from the package metadata: importing WeasyPrint costs 0.6 s.
    from importlib.metadata import version

    h = hashlib.sha256()
    for part in (CACHE_VERSION, version("weasyprint"), job.page_css, job.html, repr(job.mentions),
                 *(s.read_text(encoding="utf-8") for s in (*STYLES, CHECKS))):
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    # A replaced photograph changes the page, not the HTML.
    for src in sorted(set(re.findall(r'<img[^>]*\ssrc="([^"]+)"', job.html))):
        path = Path(job.repository) / src
        stat = path.stat() if path.exists() else None
        h.update(f"{src}:{stat.st_size if stat else 0}:{stat.st_mtime_ns if stat else 0}".encode())
    return h.hexdigest()[:32]


def _cached(cache: Path | None, key: str) -> PartPDF | None:
    if cache is None:
        return None
    meta, pdf = cache / f"{key}.json", cache / f"{key}.pdf"
    if not (meta.exists() and pdf.exists()):
        return None
    data = cachefile.load_json(meta, lambda d: isinstance(d, dict) and bool(_part(d, b"%PDF-")))
    body = cachefile.load(pdf) if data is not None else None
    if body is None or not body.startswith(b"%PDF-"):
        # Half an entry is no entry: the layout is made again, and both files rewritten.
        for path in (meta, pdf):
            path.unlink(missing_ok=True)
        return None
    return _part(data, body)


def _part(data: dict, pdf: bytes) -> PartPDF | None:
    """A PartPDF from its cached description; None when it is not one (a damaged entry)."""
    try:
        return PartPDF(**{**data, "pdf": pdf,
                          "anchors": [[tuple(a) for a in page] for page in data["anchors"]],
                          "bottoms": [[tuple(a) for a in page] for page in data.get("bottoms", [])],
                          "bookmarks": [tuple(b) for b in data["bookmarks"]],
                          "links": [(p, tuple(r), t) for p, r, t in data["links"]],
                          "moved": [tuple(m) for m in data.get("moved", [])]})
    except (TypeError, KeyError, ValueError):
        return None


def _store(cache: Path | None, key: str, result: PartPDF) -> None:
    if cache is None:
        return
    cache.mkdir(parents=True, exist_ok=True)
    meta = asdict(result)
    del meta["pdf"]
    cachefile.store(cache / f"{key}.pdf", result.pdf)
    cachefile.store_json(cache / f"{key}.json", meta)


class Pool:
    """Lays out parts in worker processes, reusing cached PDFs of unchanged parts."""

    def __init__(self, cache: Path | None, workers: int | None = None,
                 say: Callable[[str], None] | None = None):
        self.cache = cache
        self.workers = workers or os.cpu_count() or 1
        self.say = say
        self._executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> Pool:
        return self

    def warm(self, repository: str) -> None:
        """Start the worker processes now and get each ready to lay out (see `warm`)."""
        for _ in range(self.workers):
            self._pool().submit(warm, repository)

    def __exit__(self, *exc) -> None:
        if self._executor is not None:
            self._executor.shutdown(cancel_futures=True)

    def submit(self, jobs: list[Job]) -> dict[str, object]:
        """Start every job (longest first, so the workers finish together); returns futures
        or finished results by key, for `collect`."""
        pending: dict[str, object] = {}
        for job in sorted(jobs, key=lambda j: len(j.html), reverse=True):
            key, hit = self._lookup(job)
            pending[job.key] = hit if hit is not None else (key, self._pool().submit(lay_out, job))
        return pending

    def collect(self, pending: dict[str, object]) -> dict[str, PartPDF]:
        """The results by key, in the order of `pending`; each new layout is stored in the cache
        and reported as it finishes."""
        results = {name: item for name, item in pending.items() if isinstance(item, PartPDF)}
        running = {item[1]: (name, item[0]) for name, item in pending.items() if name not in results}
        for future in as_completed(running):
            name, key = running[future]
            results[name] = self._done(name, key, future.result())
        return {name: results[name] for name in pending}

    def run(self, jobs: list[Job]) -> dict[str, PartPDF]:
        return self.collect(self.submit(jobs))

    def run_here(self, job: Job) -> PartPDF:
        """One job in this process (while the workers are busy with others), cached alike."""
        key, hit = self._lookup(job)
        return hit if hit is not None else self._done(job.key, key, lay_out(job))

    def _lookup(self, job: Job) -> tuple[str, PartPDF | None]:
        """The job's cache key, and its layout when the cache has it."""
        key = _job_key(job)
        hit = _cached(self.cache, key)
        if hit is not None:
            hit.key = job.key
        return key, hit

    def _done(self, name: str, key: str, result: PartPDF) -> PartPDF:
        _store(self.cache, key, result)
        if self.say:
            again = f", figures deferred in {result.passes} more layout(s)" if result.passes else ""
            self.say(f"laid out {name}: {result.pages} page(s) in {result.seconds:.1f} s{again}")
        return result

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # fork: the workers start with WeasyPrint already imported.
            self._executor = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"))
        return self._executor


# --- the book PDF -------------------------------------------------------------------------

@dataclass
class Sheet:
    """One page of the book: a page of a part PDF (or a blank), under its furniture page."""

    part: str | None
    page: int


@dataclass
class Outline:
    label: str
    page: int
    y: float
    children: list[Outline] = field(default_factory=list)


@dataclass
class Metadata:
    title: str
    authors: list[str]
    subject: str
    keywords: list[str]
    language: str
    date: str                      # D:YYYYMMDDHHmmSSZ
    page_labels: list[tuple[int, str, int]]   # (first page, "r" or "D", first number)


def assemble(sheets: list[Sheet], parts: dict[str, PartPDF], furniture: list[bytes],
             outline: list[Outline], meta: Metadata) -> bytes:
    """One PDF: the parts' pages in order, blanks where a recto needs one, every page under
    its furniture (running head and folio, one page per book page across the `furniture`
    PDFs), one name tree for links across parts."""
    import pikepdf

    out = pikepdf.new()
    stamps = [pikepdf.open(io.BytesIO(data)) for data in furniture]
    stamp_pages = [page for stamp in stamps for page in stamp.pages]
    if len(stamp_pages) != len(sheets):
        raise ValueError(f"{len(stamp_pages)} furniture pages for {len(sheets)} pages")
    sources = {key: pikepdf.open(io.BytesIO(part.pdf)) for key, part in parts.items()}
    for sheet in sheets:
        out.pages.append(stamp_pages[len(out.pages)] if sheet.part is None
                         else sources[sheet.part].pages[sheet.page])
    for number, sheet in enumerate(sheets):
        if sheet.part is not None:
            _overlay(out.pages[number], stamp_pages[number], number)
    where = {(s.part, s.page): n for n, s in enumerate(sheets) if s.part is not None}
    names = pikepdf.NameTree.new(out)
    for key, part in parts.items():
        for page, anchors in enumerate(part.anchors):
            target = out.pages[where[(key, page)]].obj
            for name, x, y in anchors:
                if name not in names:
                    names[name] = pikepdf.Array([target, pikepdf.Name.XYZ, x, y, 0])
    for key, part in parts.items():
        for page, rect, name in part.links:
            if name in names:
                page_obj = out.pages[where[(key, page)]]
                annot = out.make_indirect(pikepdf.Dictionary(
                    Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=pikepdf.Array(rect),
                    BS=pikepdf.Dictionary(W=0), Dest=pikepdf.String(name)))
                if "/Annots" not in page_obj.obj:
                    page_obj.obj.Annots = pikepdf.Array()
                page_obj.obj.Annots.append(annot)
    out.Root.Names = pikepdf.Dictionary(Dests=names.obj)
    with out.open_outline() as tree:
        tree.root.extend(_outline_items(outline, out))
    nums = pikepdf.Array()
    for first, style, start in meta.page_labels:
        nums.extend([first, pikepdf.Dictionary(S=pikepdf.Name("/" + style), St=start)])
    out.Root.PageLabels = pikepdf.Dictionary(Nums=nums)
    out.Root.Lang = pikepdf.String(meta.language)
    out.docinfo.update({
        "/Title": pikepdf.String(meta.title), "/Author": pikepdf.String(", ".join(meta.authors)),
        "/Subject": pikepdf.String(meta.subject), "/Keywords": pikepdf.String(", ".join(meta.keywords)),
        "/Creator": pikepdf.String("bookbuild"), "/Producer": pikepdf.String("WeasyPrint, pikepdf"),
        "/CreationDate": pikepdf.String(meta.date), "/ModDate": pikepdf.String(meta.date)})
    with out.open_metadata(set_pikepdf_as_editor=False) as xmp:
        xmp.load_from_docinfo(out.docinfo)
    buffer = io.BytesIO()
    out.save(buffer, deterministic_id=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    for source in [*sources.values(), *stamps]:
        source.close()
    return buffer.getvalue()


def _overlay(page, stamp, number: int) -> None:
    """`stamp` drawn over `page`, like pikepdf's add_overlay, but under a name made from the
    page number: add_overlay picks a random one, and the same sources must give the same PDF.
    The pages of a part share one resource dictionary, so the name differs from page to page."""
    import pikepdf

    form = stamp.as_form_xobject()
    name = page.add_resource(form, pikepdf.Name.XObject, pikepdf.Name(f"/Furniture{number}"))
    placement = page.calc_form_xobject_placement(form, name, pikepdf.Rectangle(page.trimbox))
    page.contents_add(b"q\n", prepend=True)
    page.contents_add(b"Q\n" + placement, prepend=False)
    page.contents_coalesce()


def _outline_items(items: list[Outline], pdf) -> list:
    import pikepdf

    result = []
    for item in items:
        entry = pikepdf.OutlineItem(item.label, item.page, pikepdf.PageLocation.XYZ, top=item.y)
        entry.children.extend(_outline_items(item.children, pdf))
        result.append(entry)
    return result
