"""Covers: a paperback's full wrap, a cloth edition's case wrap and the ebook's cover image, from one design."""
from __future__ import annotations

import base64
import io
import re
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from ..model import Book, Edition
from . import barcode

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates" / "cover"
# Below a quarter inch the spine is left blank: type would have to be too small to
# read, and a spine drifts by up to 1/16 in either way in binding.
MIN_SPINE_TEXT_PT = 0.25 * 72
# 1600 × 2560 px (1 : 1.6) is what Kindle and Apple Books ask for.
EBOOK_PX = (1600, 2560)
BOOK_FONT = "EB Garamond 12"
# Colours of the design: CMYK for the printer (black type and bars on K alone), and
# their sRGB look for the ebook.
# The ground is 235 % total ink: IngramSpark's limit is 240 % (printers/ingramspark.yaml).
PRINT_COLORS = {"ground": "device-cmyk(0.15 1 0.8 0.4)", "type": "device-cmyk(0 0.04 0.15 0)",
                "paper": "device-cmyk(0 0 0 0)", "ink": "device-cmyk(0 0 0 1)"}
SCREEN_COLORS = {"ground": "#7a1c1c", "type": "#f8f0e0", "paper": "#ffffff", "ink": "#000000"}


@dataclass(frozen=True)
class Geometry:
    """Where the panels of a cover lie, in points from the top-left corner of the trimmed
    sheet; a wrap cover's bleed lies outside it, a case's turn-in inside it."""

    kind: str                      # wrap, case or image
    trim: tuple[float, float]      # one panel: the book's trim (width, height)
    spine: float = 0.0             # the spine panel: pages × caliper, plus the boards on a case
    bleed: float = 0.0
    turn_in: float = 0.0
    hinge: float = 0.0

    @property
    def width(self) -> float:
        if self.kind == "image":
            return self.trim[0]
        return 2 * self.turn_in + 2 * self.trim[0] + 2 * self.hinge + self.spine

    @property
    def height(self) -> float:
        return 2 * self.turn_in + self.trim[1]

    @property
    def media(self) -> tuple[float, float]:
        """The PDF's MediaBox: the sheet and its bleed."""
        return self.width + 2 * self.bleed, self.height + 2 * self.bleed

    def panels(self) -> dict[str, tuple[float, float, float, float]]:
        """(x, y, width, height) of the back, the spine and the front."""
        width, height = self.trim
        if self.kind == "image":
            return {"front": (0.0, 0.0, width, height)}
        x = y = self.turn_in
        back = (x, y, width, height)
        x += width + self.hinge
        spine = (x, y, self.spine, height)
        x += self.spine + self.hinge
        return {"back": back, "spine": spine, "front": (x, y, width, height)}

    @property
    def spine_text(self) -> bool:
        return self.kind != "image" and self.spine >= MIN_SPINE_TEXT_PT


def cover_kind(edition: Edition) -> str:
    """wrap, case or image: book.yaml's `cover`, else what the format and binding imply."""
    if edition.cover:
        return edition.cover
    if edition.format == "epub":
        return "image"
    return "case" if edition.binding.lower() in ("cloth", "hardcover", "hardback", "case") else "wrap"


def geometry(edition: Edition, pages: int) -> Geometry:
    """A print edition's cover, from its own trim, paper and page count."""
    bulk = pages * edition.caliper
    if cover_kind(edition) == "case":
        case = edition.case
        return Geometry("case", edition.trim, bulk + 2 * case.board, 0.0, case.wrap, case.hinge)
    return Geometry("wrap", edition.trim, bulk, edition.bleed)


def ebook_geometry(width: float) -> Geometry:
    return Geometry("image", (width, width * EBOOK_PX[1] / EBOOK_PX[0]))


# --- the design ---------------------------------------------------------------------------

def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["pt"] = lambda value: f"{value:.3f}pt"
    return env


def blurb_html(text: str) -> Markup:
    import pypandoc

    if not text.strip():
        return Markup("")
    return Markup(pypandoc.convert_text(text, "html5", format="markdown", extra_args=["--wrap=none"]))


def photo_uri(book: Book, edition: Edition, gray: bool) -> str | None:
    """The edition's cover art as a data URI, gray for print (the finished PDF/X-1a takes
    no RGB, and the cover photographs are black-and-white archive photographs)."""
    if not edition.cover_image:
        return None
    from PIL import Image

    path = book.root / edition.cover_image
    with Image.open(path) as picture:
        if not gray and picture.format in ("JPEG", "PNG"):
            return f"data:image/{picture.format.lower()};base64," + base64.b64encode(path.read_bytes()).decode()
        buffer = io.BytesIO()
        picture.convert("L" if gray else "RGB").save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def isbn_hyphenated(isbn: str) -> str:
    """978-1-893638-81-5: the ISBN as the barcode's human-readable line prints it, split by the
    ISBN agency's ranges (isbnlib ships them)."""
    import isbnlib

    return isbnlib.mask(isbn) or isbn


def _title_lines(title: str) -> list[str]:
    """`Bolsheviks Against Stalinism 1928–1933` → the words, then the years on a line of their own."""
    m = re.fullmatch(r"(.*?)\s+(\d{4}\s*[–-]\s*\d{4})", title)
    return [m.group(1), m.group(2)] if m else [title]


def render_html(book: Book, edition: Edition, g: Geometry, blurb: Markup, moment: datetime) -> str:
    """The cover as one HTML page of exactly the sheet's size."""
    c = book.config
    screen = g.kind == "image"
    colors = SCREEN_COLORS if screen else PRINT_COLORS
    author = c.authors[0]
    surname = author.file_as.split(",")[0] if author.file_as else author.name.split()[-1]
    mark = barcode.symbol(edition.isbn, barcode.price_addon(edition.price)) if edition.isbn and not screen else None
    context = {
        "g": g, "panels": g.panels(), "colors": colors, "font": BOOK_FONT, "lang": c.language,
        "date": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        # Type is set for a 6 in wide panel and scaled with the trim.
        "scale": g.trim[0] / 432,
        "title_lines": _title_lines(c.title), "title": c.title, "subtitle": c.subtitle,
        "series": c.series, "authors": [a.name for a in c.authors],
        "translators": [t.name for t in c.translators], "surname": surname,
        "publisher": c.publisher, "blurb": blurb, "type_only": edition.cover_art == "type",
        "photo": photo_uri(book, edition, gray=not screen),
        "isbn": isbn_hyphenated(edition.isbn) if edition.isbn else "", "symbol": mark,
        "bars": Markup(barcode.svg(mark, colors["ink"])) if mark else "",
        # Spine type takes about 40 % of the spine's width, from a still legible 6.5 pt up to 15 pt.
        "spine_size": min(max(g.spine * 0.38, 6.5), 15.0),
    }
    return environment().get_template("cover.html.j2").render(**context)


# --- to PDF and PNG -----------------------------------------------------------------------

def render_pdf(html: str, variant: str | None) -> tuple[bytes, list[str]]:
    """WeasyPrint's PDF of the cover and its warnings; the design fetches nothing (the
    photograph comes as a data URI), so every URL is refused."""
    from ..print.engine import standalone_pdf

    return standalone_pdf(html, base_url=str(TEMPLATES) + "/", data_only=True, variant=variant)


def to_png(pdf: bytes, size: tuple[int, int]) -> bytes:
    """The PDF's first page as a PNG of exactly `size` pixels (poppler's pdftoppm)."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "cover.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-png", "-singlefile", "-scale-to-x", str(size[0]), "-scale-to-y",
                        str(size[1]), str(source), str(Path(tmp) / "cover")], check=True, capture_output=True)
        return (Path(tmp) / "cover.png").read_bytes()
