"""Parts of a print edition laid out to PDFs: in worker processes, cached by a key of their inputs."""
from __future__ import annotations

import functools
import multiprocessing
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import nullcontext
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Callable

from .. import cachefile
from . import engine
from .checks import inspect_part
from ..outputcache import Inputs
from .deferral import Deferral
from .pagemap import layout_inputs

PX_TO_PT = engine.PX_TO_PT
# A part this long is worth writing in two halves when asked to (Job.split): so many pages,
# or so many lines on fewer (the index's 1,200 lines of links on six pages took 1.1 s to write).
SPLIT_PAGES = 8
SPLIT_LINES = 300


@dataclass
class Job:
    """A part to lay out: its HTML, the edition's page CSS, and the folder images come from
    (`repository`: the book folder, which holds images/)."""

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
    # What checks.inspect_part saw in the boxes, and the page its first line is on.
    findings: list[dict] = field(default_factory=list)
    opening: int = 0
    # Seconds the layout took, and how many times figures were deferred (for progress lines).
    seconds: float = 0.0
    passes: int = 0
    # Figures set after the blocks that followed them: (figure id, blocks moved ahead of it).
    moved: list[tuple[str, int]] = field(default_factory=list)
    # Whole-paragraph line breaking: paragraphs set so, their lines, lines WeasyPrint set
    # otherwise, paragraphs left to WeasyPrint.
    breaking: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    # Aligned page bottoms: pages filled to the grid, pages left short (engine.fill_page),
    # spreads set a line short on both pages (engine.balance_spread).
    filled: list[int] = field(default_factory=lambda: [0, 0, 0])


# --- one part, in whichever process runs it ----------------------------------------------

def lay_out(job: Job) -> PartPDF:
    """Lay out one part and write its PDF; links into other parts are handed back, not dropped."""
    started = time.monotonic()
    names = _unbreakable(job.html)
    with engine.collected_warnings() as messages:
        before = replace(engine.STATS)
        filled_before = replace(engine.FILLING)
        with Deferral() as deferral, \
                engine.paragraph_breaking(names) if names is not None else nullcontext(), \
                engine.filling_pages() if _ALIGNED.search(job.html, 0, 20000) else nullcontext():
            document = engine.render(job.html, job.page_css, job.repository)
        result = PartPDF(job.key, b"", len(document.pages), passes=deferral.passes, moved=deferral.moved)
        result.breaking = [getattr(engine.STATS, f) - getattr(before, f)
                           for f in ("paragraphs", "lines", "mismatched", "greedy")]
        result.filled = [engine.FILLING.filled - filled_before.filled, engine.FILLING.left - filled_before.left,
                         engine.FILLING.balanced - filled_before.balanced]
        pages = len(document.pages)
        items = engine.flow_items(engine.page_boxes(document))
        # The second half goes to a forked copy of this process to be written (see engine.write).
        lines = sum(1 for item in items if engine.is_line(item.box)) if job.split else 0
        half = pages // 2 if job.split and pages >= 2 and (pages >= SPLIT_PAGES or lines >= SPLIT_LINES) else pages
        owners = [{name for page in document.pages[a:b] for name in page.anchors}
                  for a, b in ((0, half), (half, pages))]
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
            result.words.append(engine.first_words(page, PRINT_ONLY))
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
        result.pdf = engine.write(document, half)
    result.warnings = messages
    result.seconds = time.monotonic() - started
    return result


_LINE_BREAKING = re.compile(r'<meta name="bookbuild-line-breaking" content="paragraph">\s*'
                            r'<meta name="bookbuild-unbreakable" content="([^"]*)">')


_ALIGNED = re.compile(r'<meta name="bookbuild-page-bottoms" content="aligned">')


def _unbreakable(html: str) -> frozenset | None:
    """The words never hyphenated when the part asks for whole-paragraph line breaking
    (templates/print/base.html.j2), else None."""
    found = _LINE_BREAKING.search(html, 0, 20000)
    return frozenset(found.group(1).split()) if found else None


# Print's own words, which no other edition has: an absent photograph's frame, the contents'
# folios. The first words of a page leave them out, so the EPUB finds where the page begins.
PRINT_ONLY = {"art-absent", "folio"}


def mention_anchors(items: list, mentions) -> dict[int, dict[str, tuple]]:
    """Page → {anchor: (x1, y1, x2, y2)} of the line that holds each index mention: the
    line among the flow `items` (engine.flow_items) where the block's letters reach the
    mention's offset (layout.unwrap_mentions)."""
    if not mentions:
        return {}
    from ..letters import letters

    wanted: dict[str, list[tuple[int, str]]] = {}
    for anchor, block, offset in mentions:
        wanted.setdefault(block, []).append((offset, anchor))
    for offsets in wanted.values():
        offsets.sort(reverse=True)   # popped from the end, smallest offset first
    counted = dict.fromkeys(wanted, 0)
    placed: dict[int, dict[str, tuple]] = {}
    for item in items:
        if item.footnote or not engine.is_line(item.box):
            continue
        block = next((e.get("id") for e in reversed(item.elements) if e.get("id") in wanted), None)
        if block is None or not wanted[block]:
            continue
        counted[block] += len(letters(engine.box_text(item.box, generated=False)))
        while wanted[block] and wanted[block][-1][0] < counted[block]:
            _, anchor = wanted[block].pop()
            placed.setdefault(item.page, {})[anchor] = engine.box_rect(item.box)
    return placed


# --- a roomy stack for the layout -----------------------------------------------------------
# CPython (3.11 on) keeps the frames of Python calls on a stack of 16 KiB chunks, each mapped
# from the system when a call goes past the end of the last and unmapped when that call
# returns (`_PyThreadState_PopFrame`). WeasyPrint's layout recurses deep, and where a hot
# call sits at a chunk's end every call maps and unmaps one: measured in a layout worker,
# 36,000 mmap/munmap pairs for one 16-page chapter, a third of the workers' minor page faults,
# 5 s of system time and more of user time over the book. A frame too big for the chunk gets
# a chunk of its own, sized to a power of two above it; this function's frame asks for
# ROOMY_SLOTS stack slots (never used: the function only calls), so its chunk (1 MiB) leaves
# half a MiB, thousands of frames, for the layout it runs, and no chunk is mapped in between.
ROOMY_SLOTS = 70_000


def on_a_roomy_stack(function: Callable, *args):
    """`function(*args)`, called with half a MiB of frame stack free before it (see above)."""
    return function(*args)


if sys.implementation.name == "cpython" and hasattr(on_a_roomy_stack.__code__, "replace"):
    on_a_roomy_stack.__code__ = on_a_roomy_stack.__code__.replace(co_stacksize=ROOMY_SLOTS)


# --- many parts: cache and worker processes ------------------------------------------------

def _job_key(job: Job) -> str:
    """The part's HTML, page CSS and index mentions, its pictures as files, and every other
    input of the layout (pagemap.layout_inputs): no version number to raise by hand."""
    inputs = Inputs("part", _layout_code(), job.page_css, job.html, repr(job.mentions))
    # A replaced photograph changes the page, not the HTML.
    for src in sorted(set(re.findall(r'<img[^>]*\ssrc="([^"]+)"', job.html))):
        path = Path(job.repository) / src
        stat = path.stat() if path.exists() else None
        inputs.text(f"{src}:{stat.st_size if stat else 0}:{stat.st_mtime_ns if stat else 0}")
    return inputs.hexdigest()[:32]


@functools.lru_cache(maxsize=1)
def _layout_code() -> str:
    # Once per process: a build's code does not change under it (the page map's key is
    # taken afresh, since `make epub` compares it with a stored one).
    return layout_inputs("part code").hexdigest()


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
    # The fields as they are (JSON writes tuples as lists): asdict copies every list and
    # tuple of the anchors, deeply, 0.7 s of the book's build in the parent.
    meta = {f.name: getattr(result, f.name) for f in fields(result) if f.name != "pdf"}
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
        # Layouts handed to the workers, by cache key: a job handed over again while its
        # layout is being made waits for that one (a part submitted early, `submit_early`).
        self._running: dict[str, object] = {}

    def __enter__(self) -> Pool:
        return self

    def warm(self, repository: str) -> None:
        """Start the worker processes now and get each ready to lay out (see `engine.warm`)."""
        for _ in range(self.workers):
            self._pool().submit(engine.warm, repository)

    def __exit__(self, kind, *exc) -> None:
        if self._executor is None:
            return
        if kind is not None:
            # A failed build does not wait for a layout it will not use (a part begun early
            # takes seconds): the workers are stopped.
            for process in list(getattr(self._executor, "_processes", {}).values()):
                process.terminate()
        self._executor.shutdown(cancel_futures=True)

    def submit(self, jobs: list[Job]) -> dict[str, object]:
        """Start every job (longest first, so the workers finish together); returns futures
        or finished results by key, for `collect`."""
        pending: dict[str, object] = {}
        for job in sorted(jobs, key=lambda j: len(j.html), reverse=True):
            key, hit = self._lookup(job)
            if hit is None and key not in self._running:
                self._running[key] = self._pool().submit(on_a_roomy_stack, lay_out, job)
            pending[job.key] = hit if hit is not None else (key, self._running[key])
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
        return hit if hit is not None else self._done(job.key, key, on_a_roomy_stack(lay_out, job))

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
            self._executor = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"),
                                                 initializer=_worker_starts)
        return self._executor


# A layout makes a box tree of hundreds of thousands of objects, which Python's cyclic garbage
# collector scanned again and again (26 full collections over the book in a worker). In a
# worker, what the fork inherited is set aside from collection (`gc.freeze`: nor does the
# collector then write to, and so copy, the pages shared with the parent), and collections
# come at 50,000 allocations, not 700: measured over the book's 60 parts in one process,
# 3–9 % less CPU, for 264 MiB of peak memory instead of 150.
GC_THRESHOLDS = (50_000, 20, 20)


def _worker_starts() -> None:
    import gc

    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


