"""Printer profiles (printers/*.yaml): what a printer publishes, and print files checked against it."""
from __future__ import annotations

import os
import re
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from .config import Loader
from . import mupdf
from .forking import in_halves
from .errors import Problems
from .model import Edition
from .settings import Positions, derived, parse_length, parse_trim, setting

PROFILES = Path(__file__).resolve().parent.parent / "printers"
# A trim matches a printer's listed size when both sides agree within this: printers
# list 6.14 × 9.21 in for 156 × 234 mm.
TRIM_TOLERANCE_PT = 0.02 * 72
# Ink is found on a gray rendering of each page; 72 dpi puts an edge within 0.014 in (and
# renders a 528-page interior in about a second), and a pixel darker than this counts
# (anti-aliased type included).
INK_DPI = 72
INK_LEVEL = 245
# What is measured is compared within a pixel, so a design exactly at the limit passes.
MEASURE_TOLERANCE_IN = 1 / INK_DPI


@dataclass
class Gutter:
    pages: int = setting("the lowest page count this minimum applies from", required=True)
    inside: str = setting("the minimum inside margin, e.g. 0.625in", required=True)


@dataclass
class InteriorRules:
    safe: str = setting("the least distance of type and non-bleeding ink from the trim", required=True)
    bleed: str = setting("interior bleed when something bleeds", "0.125in")
    bleed_edges: list[str] = setting("the edges that take bleed (never the gutter)",
                                     factory=lambda: ["top", "bottom", "outside"])
    safe_with_bleed: str = setting("the safe zone when the interior bleeds", "")
    gutter: list[Gutter] = setting("inside margin by page count", factory=list)


@dataclass
class BarcodeArea:
    width: str = setting("width of the barcode area", required=True)
    height: str = setting("height of the barcode area", required=True)


@dataclass
class CoverRules:
    bleed: str = setting("cover bleed on every edge", "0.125in")
    safe: str = setting("the least distance of cover type from the trim", "0.125in")
    max_ink: float = setting("total ink coverage limit in per cent", 300.0)
    barcode: BarcodeArea | None = setting("the barcode area on the back", None)


@dataclass
class Profile:
    """One printer's published rules; lengths are kept as written and read with `length`."""

    name: str = setting("the printer's name", required=True)
    trims: list[str] = setting("trim sizes the printer offers", required=True)
    interior: InteriorRules = setting("rules for interiors", required=True)
    standards: list[str] = setting("PDF standards the printer accepts", required=True)
    cover: CoverRules = setting("rules for covers", factory=CoverRules)
    papers: dict[str, str] = setting(
        "caliper per page of each paper the printer names, for its spine formula (pages × caliper)", factory=dict)
    key: str = derived("the profile's file name without .yaml", "")

    def gutter(self, pages: int) -> float:
        """The minimum inside margin for this page count, in points."""
        rows = [g for g in self.interior.gutter if g.pages <= pages]
        return length(max(rows, key=lambda g: g.pages).inside) if rows else 0.0

    def offers(self, trim: tuple[float, float]) -> bool:
        return any(abs(size[0] - trim[0]) <= TRIM_TOLERANCE_PT and abs(size[1] - trim[1]) <= TRIM_TOLERANCE_PT
                   for size in map(parse_trim, self.trims) if size)


def length(text: str) -> float:
    value = parse_length(text)
    if value is None:
        raise ValueError(f"not a length: {text}")
    return value


def names() -> list[str]:
    return sorted(p.stem for p in PROFILES.glob("*.yaml"))


def load(name: str, problems: Problems) -> Profile | None:
    """The profile printers/<name>.yaml; problems in it are reported at its own lines."""
    path = PROFILES / f"{name}.yaml"
    loader = Loader(path, problems, {"C001": "K001", "C002": "K001", "C003": "K001", "C004": "K001"})
    try:
        root = loader.compose(path.read_text(encoding="utf-8"))
    except OSError as exc:
        problems.error(loader.path, 0, 0, "K001", f"cannot read the printer profile: {exc}")
        return None
    profile = loader.dataclass(root, Profile, "", {"key": name}) if root is not None else None
    if profile is None:
        return None
    lengths = {"interior.safe": profile.interior.safe, "interior.bleed": profile.interior.bleed,
               "cover.bleed": profile.cover.bleed, "cover.safe": profile.cover.safe,
               **{f"interior.gutter[{i}].inside": g.inside for i, g in enumerate(profile.interior.gutter)},
               **{f"papers.{name}": text for name, text in profile.papers.items()}}
    for name, text in lengths.items():
        if parse_length(text) is None:
            problems.error(*loader.positions.at(name), "K001", f'"{text}" is not a length (e.g. 0.5in)')
            return None
    return profile


@dataclass
class Place:
    """Where an edition's printer rules are reported: book.yaml's line of the setting."""

    where: Positions
    edition: str

    def of(self, setting: str) -> tuple[str, int, int]:
        return self.where.at(f"editions.{self.edition}.{setting}")


def edition_profile(edition: Edition, problems: Problems, place: Place) -> Profile | None:
    if not edition.printer:
        return None
    if edition.printer not in names():
        problems.error(*place.of("printer"), "K001",
                       f'printer "{edition.printer}": no printers/{edition.printer}.yaml '
                       f'(profiles: {", ".join(names())})')
        return None
    return load(edition.printer, problems)


# --- interiors ------------------------------------------------------------------------------

def check_interior(data: bytes, edition: Edition, profile: Profile, labels: list[str],
                   problems: Problems, place: Place, ink_cache: Path | None = None) -> None:
    """The interior PDF as the printer's preflight reads it: trim offered, page boxes
    (trim size, or bleed on the outside edges only when something bleeds), no ink
    within the safe zone, the inside margin the page count needs."""
    pymupdf = mupdf.load()

    rule = f"(printer {profile.key}: {profile.name})"
    if not profile.offers(edition.trim):
        w, h = (v / 72 for v in edition.trim)
        problems.error(*place.of("trim"), "K002",
                       f"trim {w:g} × {h:g} in is not one {profile.name} offers {rule}")
    safe = length(profile.interior.safe) / 72
    gutter = profile.gutter(len(labels)) / 72
    breaches: dict[str, list[str]] = {}
    inks = InkCache(ink_cache)
    with pymupdf.open(stream=data, filetype="pdf") as doc:
        inks.measure(doc, data)
        for index, page in enumerate(doc):
            label = labels[index] if index < len(labels) else str(index + 1)
            for kind, text in _page_breaches(page, index, safe, gutter, inks):
                breaches.setdefault(kind, []).append(f"page {label}: {text}")
    inks.save()
    for kind, found in breaches.items():
        code, what = {"boxes": ("K003", "page boxes"), "safe": ("K004", f"ink within {safe:g} in of the trim"),
                      "gutter": ("K005", f"inside margin under {gutter:g} in for {len(labels)} pages")}[kind]
        shown = "; ".join(found[:3]) + (f"; and {len(found) - 3} more page(s)" if len(found) > 3 else "")
        problems.error(*place.of("printer"), code, f"{what} on {len(found)} page(s) {rule}: {shown}")


def _page_breaches(page, index: int, safe: float, gutter: float, inks: InkCache | None = None):
    media, trim = page.mediabox, page.trimbox
    if abs(media.width - trim.width) > 0.5 or abs(media.height - trim.height) > 0.5:
        yield "boxes", (f"MediaBox {media.width / 72:.3f} × {media.height / 72:.3f} in, trim "
                        f"{trim.width / 72:.3f} × {trim.height / 72:.3f} in, though nothing bleeds")
    ink = inks.ink_box(page) if inks is not None else ink_box(page)
    if ink is None:
        return
    x0, y0, x1, y1 = ink
    width, height = page.rect.width / 72, page.rect.height / 72
    recto = index % 2 == 0
    inside, outside = (x0, width - x1) if recto else (width - x1, x0)
    edges = {"top": y0, "bottom": height - y1, "outside": outside, "inside": inside}
    for edge, distance in edges.items():
        if distance + MEASURE_TOLERANCE_IN < safe:
            yield "safe", f"{edge} {distance:.3f} in ({_text_near(page, edge, recto, safe)})"
    if inside + MEASURE_TOLERANCE_IN < gutter:
        yield "gutter", f"{inside:.3f} in"


# Grey levels darker than INK_LEVEL are ink (a table: a function is called 256 times a page).
_INKED = [255 if v < INK_LEVEL else 0 for v in range(256)]


def ink_box(page) -> tuple[float, float, float, float] | None:
    """The bounding box of everything the page prints, in inches from its top left."""
    pymupdf = mupdf.load()
    from PIL import Image

    pix = page.get_pixmap(dpi=INK_DPI, colorspace=pymupdf.csGRAY, alpha=False)
    image = Image.frombytes("L", (pix.width, pix.height), pix.samples)
    box = image.point(_INKED).getbbox()
    if box is None:
        return None
    return tuple(v / INK_DPI for v in box)


# Fewer pages than this are rendered in this process: a fork costs more than it saves.
FORK_PAGES = 40


def ink_boxes(data: bytes, pages: list[int], doc=None, key=None) -> dict[int, tuple | None]:
    """`ink_box` of each of `pages` of the PDF `data` (`doc`: the same, opened): half of them
    in a forked copy of this process, which hands its boxes back through a pipe, half here
    (the printer's check renders every page of a new interior, 2 s of the book's build on one
    core). A copy that fails or is not possible leaves its half to this process. With `key`
    (a function of a page), each page's value is `(box, key(page))`, worked out on the side
    that renders it."""
    pymupdf = mupdf.load()
    with (nullcontext(doc) if doc is not None else pymupdf.open(stream=data, filetype="pdf")) as opened:
        half = len(pages) // 2 if len(pages) >= FORK_PAGES and (os.cpu_count() or 1) > 1 else 0
        theirs, mine = pages[:half], pages[half:]

        def taken(found: dict) -> dict:
            handed = {int(i): _box_of(value, key) for i, value in found.items()}
            if set(handed) != set(theirs):
                raise ValueError("not the pages asked for")
            return handed

        handed, boxes = in_halves(theirs, mine, lambda p: _measured(opened, p, key),
                                  lambda p: _render(data, p, key), taken)
    return {**boxes, **handed}


def _measured(doc, pages: list[int], key=None) -> dict:
    if key is None:
        return {i: ink_box(doc[i]) for i in pages}
    return {i: (ink_box(page), key(page)) for i in pages for page in (doc[i],)}


def _box_of(value, key):
    if key is None:
        return tuple(value) if value is not None else None
    box, digest = value
    if not isinstance(digest, str):
        raise TypeError(digest)
    return (tuple(box) if box is not None else None), digest


def _render(data: bytes, pages: list[int], key=None) -> dict:
    pymupdf = mupdf.load()
    with pymupdf.open(stream=data, filetype="pdf") as doc:
        return _measured(doc, pages, key)


_REFERENCE = re.compile(r"\b(\d+) \d+ R\b")
_PARENT = re.compile(r"/(?:Parent|P)\s+\d+ \d+ R")  # back to the page tree: not what the page shows


class InkCache:
    """ink_box of pages seen before, by a digest of everything their rendering reads (the
    content stream, the page's boxes and rotation, and the bytes of every font, image and form
    it uses), so that an entry can only be used for a page that renders the same; each entry
    carries a digest of itself too, and one that does not match (an edited or damaged file) is
    measured again. Rendering the 528 pages of the book took 2.4 s of a one-chapter rebuild."""

    VERSION = f"ink-1 {INK_DPI} {INK_LEVEL}"

    def __init__(self, path: Path | None):
        # entries: as read from the file; measured: rendered by `measure` for this document;
        # keys: the key of each page `measure` saw, by (document, page number).
        self.path, self.entries, self.measured, self.used, self.digests = path, {}, {}, {}, {}
        self.keys: dict[tuple[int, int], str] = {}
        if path is None or not path.is_file():
            return
        import json

        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        for key, entry in (data.items() if isinstance(data, dict) else ()):
            if isinstance(entry, list) and len(entry) == 2 and entry[1] == self._seal(key, entry[0]):
                self.entries[key] = entry[0]

    def measure(self, doc, data: bytes) -> None:
        """Render, on two cores, every page of `doc` (opened from `data`) that no entry has;
        `ink_box` then finds them here."""
        if not self.entries:
            # Nothing to look up (a first build): each page is keyed where it is rendered, on
            # two cores (keying the book's pages here first took 0.7 s on one).
            for i, (box, key) in ink_boxes(data, list(range(len(doc))), doc, key=self._key).items():
                self.keys[id(doc), i] = key
                self.measured[key] = list(box) if box is not None else None
            return
        keys = self._keys(doc, data)
        self.keys.update(((id(doc), i), key) for i, key in enumerate(keys))
        missing = [i for i, key in enumerate(keys) if key not in self.entries]
        for i, box in ink_boxes(data, missing, doc).items():
            self.measured[keys[i]] = list(box) if box is not None else None

    def _keys(self, doc, data: bytes) -> list[str]:
        """The key of every page of `doc`: the first half worked out in a forked copy, which
        opens `data` itself, the rest here (keying the book's 530 pages took 0.3 s of a
        one-chapter rebuild on one core). A copy that fails leaves its half to this process."""
        half = len(doc) // 2 if len(doc) >= FORK_PAGES and (os.cpu_count() or 1) > 1 else 0

        def taken(found: list) -> list[str]:
            if not (isinstance(found, list) and len(found) == half and all(isinstance(k, str) for k in found)):
                raise ValueError("not the keys asked for")
            return found

        theirs, mine = in_halves(list(range(half)), list(range(half, len(doc))),
                                 lambda pages: [self._key(doc[i]) for i in pages],
                                 lambda pages: self._keys_of(data, pages), taken)
        return theirs + mine

    def _keys_of(self, data: bytes, pages: list[int]) -> list[str]:
        pymupdf = mupdf.load()
        self.digests = {}  # this copy's own document: object digests by its xrefs
        with pymupdf.open(stream=data, filetype="pdf") as doc:
            return [self._key(doc[i]) for i in pages]

    def ink_box(self, page):
        if self.path is None and not self.measured:
            return ink_box(page)
        key = self.keys.get((id(page.parent), page.number)) or self._key(page)
        if key in self.entries:
            box = self.entries[key]
        elif key in self.measured:
            box = self.measured[key]
        else:
            found = ink_box(page)
            box = list(found) if found is not None else None
        self.used[key] = box
        return tuple(box) if box is not None else None

    def save(self) -> None:
        """The entries of this document's pages (what other builds left is dropped)."""
        if self.path is None or self.used == self.entries:
            return
        import json

        from .fsutil import write_atomic

        data = {key: [box, self._seal(key, box)] for key, box in self.used.items()}
        try:
            write_atomic(self.path, json.dumps(data, sort_keys=True).encode())
        except OSError:
            pass  # a cache not written only costs time next run

    def _key(self, page) -> str:
        """A digest of the page object and of everything it refers to (content streams,
        resources, fonts, images, forms, annotations), each object's digest made once per
        document from its text, its stream's bytes and the digests of what it refers to."""
        import hashlib

        digest = hashlib.sha256(self.VERSION.encode())
        digest.update(repr((tuple(page.mediabox), tuple(page.trimbox), page.rotation)).encode())
        digest.update(self._object(page.parent, page.xref, set()).encode())
        return digest.hexdigest()

    def _object(self, doc, xref: int, visiting: set) -> str:
        import hashlib

        if xref in self.digests:
            return self.digests[xref]
        if xref in visiting:
            return "(cycle)"
        visiting.add(xref)
        text = _PARENT.sub("", doc.xref_object(xref, compressed=True))
        text = _REFERENCE.sub(lambda m: self._object(doc, int(m.group(1)), visiting), text)
        raw = doc.xref_stream_raw(xref) if doc.xref_is_stream(xref) else b""
        visiting.discard(xref)
        self.digests[xref] = hashlib.sha256(text.encode() + b"\0" + (raw or b"")).hexdigest()
        return self.digests[xref]

    @staticmethod
    def _seal(key: str, box) -> str:
        import hashlib
        import json

        return hashlib.sha256(f"{key} {json.dumps(box)}".encode()).hexdigest()[:16]


def _text_near(page, edge: str, recto: bool, safe: float) -> str:
    pymupdf = mupdf.load()

    r = page.rect
    band = safe * 72
    left_is_inside = recto
    rects = {"top": pymupdf.Rect(r.x0, r.y0, r.x1, r.y0 + band),
             "bottom": pymupdf.Rect(r.x0, r.y1 - band, r.x1, r.y1)}
    outer_left = not left_is_inside
    side = {"outside": outer_left, "inside": left_is_inside}.get(edge)
    if side is not None:
        rects[edge] = (pymupdf.Rect(r.x0, r.y0, r.x0 + band, r.y1) if side
                       else pymupdf.Rect(r.x1 - band, r.y0, r.x1, r.y1))
    text = " ".join(page.get_textbox(rects[edge]).split())
    return f'"{text[:40]}"' if text else "art or rule"


# --- covers and PDF standards ------------------------------------------------------------------

def check_edition(edition: Edition, profile: Profile, problems: Problems, place: Place) -> None:
    """Settings the printer's cover formula depends on: the cover's bleed and, where the
    printer publishes it for the edition's paper, the caliper (the spine is pages × caliper)."""
    rule = f"(printer {profile.key}: {profile.name})"
    bleed = length(profile.cover.bleed)
    if abs(edition.bleed - bleed) > 0.01:
        problems.error(*place.of("bleed"), "K003", f"bleed {edition.bleed / 72:g} in: {profile.name} covers "
                                                   f"take {bleed / 72:g} in on every edge {rule}")
    paper = next((p for p in profile.papers if p in edition.paper.lower()), None)
    if paper and abs(edition.caliper - length(profile.papers[paper])) > 0.0001 * 72:
        problems.error(*place.of("caliper"), "K003",
                       f"caliper {edition.caliper / 72:g} in: {profile.name}'s {paper} paper is "
                       f"{length(profile.papers[paper]) / 72:g} in a page, and its spine formula uses it {rule}")


def check_standard(standard: str, profile: Profile, problems: Problems, place: Place) -> None:
    if standard not in profile.standards:
        problems.error(*place.of("printer"), "K006",
                       f"{standard} is not among the standards {profile.name} accepts "
                       f'({", ".join(profile.standards)}) (printer {profile.key})')


def max_ink(data: bytes, dpi: int = 36) -> tuple[float, tuple[float, float]]:
    """The highest total coverage (C+M+Y+K, per cent) anywhere on the first page, and where
    (inches from the top left), rendered in CMYK as the press would separate it."""
    pymupdf = mupdf.load()

    with pymupdf.open(stream=data, filetype="pdf") as doc:
        pix = doc[0].get_pixmap(dpi=dpi, colorspace=pymupdf.csCMYK, alpha=False)
    samples = memoryview(pix.samples)
    best, at = 0, 0
    for i in range(0, len(samples), 4):
        total = samples[i] + samples[i + 1] + samples[i + 2] + samples[i + 3]
        if total > best:
            best, at = total, i // 4
    return best * 100 / 255, ((at % pix.width) / dpi, (at // pix.width) / dpi)


def white_box(data: bytes, dpi: int = 36) -> tuple[float, float]:
    """Width and height (points) of the unprinted paper on a cover's first page: the clear
    area around the barcode, the only place a cover leaves the paper white."""
    pymupdf = mupdf.load()

    with pymupdf.open(stream=data, filetype="pdf") as doc:
        pix = doc[0].get_pixmap(dpi=dpi, colorspace=pymupdf.csCMYK, alpha=False)
    samples = memoryview(pix.samples)
    xs, ys = [], []
    for i in range(0, len(samples), 4):
        if samples[i] + samples[i + 1] + samples[i + 2] + samples[i + 3] <= 8:
            xs.append((i // 4) % pix.width)
            ys.append((i // 4) // pix.width)
    if not xs:
        return 0.0, 0.0
    return (max(xs) - min(xs) + 1) * 72 / dpi, (max(ys) - min(ys) + 1) * 72 / dpi


def check_cover_ink(data: bytes, profile: Profile, problems: Problems, place: Place, what: str) -> float:
    total, (x, y) = max_ink(data)
    if total > profile.cover.max_ink + 1:
        problems.error(*place.of("printer"), "K007",
                       f"{what}: total ink {total:.0f} % at {x:.2f} in, {y:.2f} in is over the "
                       f"{profile.cover.max_ink:g} % {profile.name} allows (printer {profile.key})")
    return total


def check_barcode_area(size: tuple[float, float], profile: Profile, problems: Problems, place: Place,
                       what: str) -> None:
    area = profile.cover.barcode
    if area is None:
        return
    need = (length(area.width), length(area.height))
    if size[0] + 0.5 < need[0] or size[1] + 0.5 < need[1]:
        problems.error(*place.of("printer"), "K008",
                       f"{what}: barcode area {size[0] / 72:.2f} × {size[1] / 72:.2f} in, {profile.name} "
                       f"asks {need[0] / 72:g} × {need[1] / 72:g} in (printer {profile.key})")

