"""Checks of the print interior: type outside the text block, stranded headings and captions, versos, font coverage."""
from __future__ import annotations

import html
import io
import re
import sys
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from lxml import etree

from ..config import display_path
from ..errors import BuildError, Problems
from ..model import Book, Edition
from .engine import PX_TO_PT, FlowItem, box_text, content_area, glyph_extents, page_boxes
from ..read import parse_fragment

# Justification and kerning land a glyph a hair past the edge; a tenth of a point cannot be seen.
TOLERANCE_PT = 0.1
HEADING_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# Blocks that behave as headings without being h1–h6: a unit's head, the index's letters,
# a facsimile document's bold lines.
HEADING_CLASSES = {"part-head", "letter", "doc-head"}


# --- in the worker: what the laid-out boxes of one part show ------------------------------

def inspect_part(document, items: list[FlowItem]) -> tuple[list[dict], int]:
    """Findings on a laid-out WeasyPrint document (`items`: its flow_items), as plain data for
    the cache, and the page its first line of text is on (where the part opens)."""
    findings = [*_overset(document, items), *_stranded_headings(items), *_split_figures(items)]
    opening = next((i.page for i in items if not i.footnote and box_text(i.box).strip()), 0)
    return findings, opening


def _overset(document, items: list[FlowItem]) -> list[dict]:
    pages = page_boxes(document)
    findings = []
    for item in items:
        left, top, right, bottom = content_area(pages[item.page])
        over = {"left": 0.0, "right": 0.0, "bottom": 0.0}
        for x1, x2 in glyph_extents(item.box):
            over["left"] = max(over["left"], left - x1)
            over["right"] = max(over["right"], x2 - right)
        over["bottom"] = item.box.position_y + item.box.height - bottom
        side, amount = max(over.items(), key=lambda kv: kv[1])
        if amount * PX_TO_PT > TOLERANCE_PT:
            findings.append({"kind": "overset", "page": item.page, "side": side,
                             "amount": round(amount * PX_TO_PT, 1),
                             "text": " ".join(box_text(item.box).split())})
    return findings


def _heading(elements: tuple):
    # The titles of the front pages stand alone on their pages by design.
    if any("front-pages" in (e.get("class") or "").split() for e in elements):
        return None
    return next((e for e in elements if e.tag in HEADING_TAGS
                 or HEADING_CLASSES & set((e.get("class") or "").split())), None)


def _stranded_headings(items: list[FlowItem]) -> list[dict]:
    """A heading whose last line ends a page or a column, with its text after the break."""
    flow = [i for i in items if not i.footnote]
    findings = []
    for item, after in zip(flow, flow[1:]):
        heading = _heading(item.elements)
        if heading is None or _heading(after.elements) is heading:
            continue
        new_column = after.page == item.page and after.box.position_y < item.box.position_y
        if after.page != item.page or new_column:
            findings.append({"kind": "heading", "page": item.page, "next_page": after.page,
                             "column": new_column,
                             "text": " ".join("".join(heading.itertext()).split())})
    return findings


def _split_figures(items: list[FlowItem]) -> list[dict]:
    """A figure whose caption is not on the page where its frame ends."""
    frames: dict[object, list[int]] = {}
    captions: dict[object, list[int]] = {}
    for item in items:
        figure = next((e for e in item.elements if e.tag == "figure"), None)
        if figure is None:
            continue
        in_caption = any(e.tag == "figcaption" for e in item.elements)
        (captions if in_caption else frames).setdefault(figure, []).append(item.page)
    findings = []
    for figure, pages in captions.items():
        frame = frames.get(figure)
        if frame and pages[0] != frame[-1]:
            findings.append({"kind": "caption", "page": pages[0], "frame_page": frame[-1],
                             "id": figure.get("id") or "",
                             "text": " ".join("".join(next(e for e in figure if e.tag == "figcaption")
                                                      .itertext()).split())})
    return findings


# --- in the main process: findings as problems, with their page and source ----------------

def check_layout(book: Book, printed, problems: Problems) -> None:
    """Every part's findings as problems, and every part that opens on a verso.

    Type outside the text block is an error: it is cut at the trim or runs into the gutter,
    and a printer's preflight rejects it. A stranded heading or a caption parted from its
    frame is a warning: nothing is lost, the page is still right to read, and the cure (a
    cut, a smaller picture, a moved figure) is an editor's choice; `--strict` makes them
    errors for a release. A unit opening on a verso is an error: the book's order and its
    contents rest on rectos, and only a fault in the styles or the pipeline can cause it."""
    labels = printed.pages.labels
    for slot in printed.slots:
        part = slot.part
        result = printed.parts[part.key]
        path = _part_source(book, part)
        overset: dict[int, list[dict]] = {}
        for finding in result.findings:
            page = labels[slot.first + finding["page"]]
            if finding["kind"] == "overset":
                overset.setdefault(finding["page"], []).append(finding)
            elif finding["kind"] == "heading":
                line, col = _locate(path, finding["text"], heading=True)
                after = ("the next column" if finding["column"]
                         else f"page {labels[slot.first + finding['next_page']]}")
                problems.warning(display_path(path), line, col, "P008",
                                 f"page {page}: the heading “{finding['text']}” ends "
                                 f"{'a column' if finding['column'] else 'the page'}; the text under "
                                 f"it starts on {after}")
            elif finding["kind"] == "caption":
                figure = next((f for f in (part.unit.figures if part.unit else []) if f.id == finding["id"]),
                              None)
                line = figure.line if figure else _locate(path, finding["text"])[0]
                problems.warning(display_path(path), line, 1 if line else 0, "P009",
                                 f"page {page}: the caption of figure #{finding['id']} is on page {page}, "
                                 f"its frame on page {labels[slot.first + finding['frame_page']]}; "
                                 "make the art smaller or move the figure")
        for page, lines in overset.items():
            worst = max(lines, key=lambda f: f["amount"])
            line, col = _locate(path, worst["text"])
            side = "below it" if worst["side"] == "bottom" else f"on the {worst['side']}"
            many = f"{len(lines)} lines stick" if len(lines) > 1 else "a line sticks"
            problems.error(display_path(path), line, col, "P007",
                           f"page {labels[slot.first + page]}: {many} out of the text block by up to "
                           f"{worst['amount']} pt {side}: “{_clip(worst['text'])}”; let it break "
                           "(a long word, a URL, a no-break span, a wide table) or shorten it")
        opening = slot.first + result.opening
        if part.key != "front" and opening % 2 == 1:
            title = part.unit.title if part.unit else part.title
            problems.error(display_path(path), 0, 0, "P010",
                           f"“{title}” opens on page {labels[opening]}, a verso: every unit opens on "
                           "a recto; look for a forced break or a style that pushes its title down")


def _part_source(book: Book, part) -> Path:
    if part.unit is not None:
        return book.root / part.unit.file
    entry = next((e for e in book.config.contents if e.role == part.key), None)
    return book.root / (entry.file if entry else "book.yaml")


def _clip(text: str, length: int = 60) -> str:
    return text if len(text) <= length else text[:length - 1] + "…"


def _locate(path: Path, text: str, heading: bool = False) -> tuple[int, int]:
    """Line and column in `path` where `text` (as printed: no markup, maybe hyphenated at its
    ends) is written; (0, 0) when the words cannot be found."""
    try:
        source = path.read_text(encoding="utf-8")
    except OSError:
        return 0, 0
    words = re.findall(r"\w+", text.replace("\u2010", ""))
    # The first word of a line may be the end of a word hyphenated on the line before.
    for window in (words[:5], words[1:6]):
        if len(window) < (1 if heading else 2):
            continue
        pattern = r"\W+".join(map(re.escape, window))
        m = (heading and re.search(r"^#+\s.*?" + pattern, source, re.M)) or re.search(pattern, source)
        if m:
            return source.count("\n", 0, m.start()) + 1, m.start() - source.rfind("\n", 0, m.start())
    return 0, 0


# --- before layout: does EB Garamond have every character the book uses? -----------------

FAMILY = "EB Garamond 12"
FONT_DIR = Path("/usr/share/fonts/opentype/ebgaramond")
FACE_FILES = {"regular": "EBGaramond12-Regular.otf", "italic": "EBGaramond12-Italic.otf"}
ITALIC_TAGS = {"em", "i", "cite", "figcaption"}
BOLD_TAGS = {"strong", "b"}
# Control and format characters (soft hyphen, zero-width spaces, line breaks) and variation
# selectors draw no glyph.
NO_GLYPH = {"Cc", "Cf", "Zl", "Zp"}
VARIATION_SELECTORS = (range(0xFE00, 0xFE10), range(0xE0100, 0xE01F0))


def font_files() -> dict[str, Path]:
    """The files the book's faces come from: regular and italic as fontconfig finds the family
    (Debian's paths as a fallback), bold and bold italic from bookbuild/fonts.py."""
    from ..fonts import bold_faces

    found: dict[str, Path] = dict(bold_faces())
    fc_list = shutil.which("fc-list")
    if fc_list:
        listing = subprocess.run([fc_list, "-f", "%{file}\t%{style}\n", FAMILY],
                                 capture_output=True, text=True).stdout
        for row in listing.splitlines():
            file, _, styles = row.partition("\t")
            if "Bold" not in styles:
                found.setdefault("italic" if "Italic" in styles else "regular", Path(file))
    for face, name in FACE_FILES.items():
        if face not in found and (FONT_DIR / name).exists():
            found[face] = FONT_DIR / name
    return found


def _cmap(path: Path) -> set[int]:
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True) as font:
        return set(font.getBestCmap())


@dataclass
class _Use:
    """Where a character is first set in a face: the source file and the text just before it."""

    path: Path
    context: str
    count: int = 0


def _fragments(book: Book):
    """(source file, HTML, face of the whole fragment) for every text the book prints."""
    data = {e.role: book.root / e.file for e in book.config.contents}
    yaml = book.root / "book.yaml"
    for text in book.inline_html.values():
        yield yaml, text, None
    for unit in book.units:
        # What print sets: Pandoc's note list with its back links (↩) is not.
        yield book.root / unit.file, unit.title_html, None
        yield book.root / unit.file, unit.body_html, None
        for note in unit.notes:
            yield book.root / unit.file, note.html, None
    for term in book.glossary:
        # The headword is set in italic (styles/base.css: dl.glossary dt dfn).
        yield data.get("glossary", yaml), _escape(term.term), "italic"
        yield data.get("glossary", yaml), _escape(f"{term.original} {term.abbreviation}"), None
        yield data.get("glossary", yaml), term.definition_html, None
    for group in book.congresses:
        yield data.get("congresses", yaml), _escape(" ".join(
            [group.group, *(f"{i.name} {i.dates}" for i in group.items)])), None
    yield data.get("biographies", yaml), book.people_note_html, "italic"
    for p in book.people:
        yield data.get("biographies", yaml), _escape(" ".join(
            [p.surname, p.given_names, p.patronymic, p.alias, p.dates])), None
        yield data.get("biographies", yaml), p.text_html, None
    for h in book.index:
        yield data.get("index", yaml), _escape(h.heading), None


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;")


def _faces_of_text(root: etree._Element, face: str | None):
    """(text, faces) for every text node: regular always, and the italic, bold or bold
    italic face where the markup sets it."""
    def visit(el, italic: bool, bold: bool):
        if isinstance(el.tag, str):
            italic = italic or el.tag in ITALIC_TAGS
            bold = bold or el.tag in BOLD_TAGS
            styled = ("bold-italic" if italic else "bold") if bold else "italic" if italic else None
            faces = ("regular",) + ((styled,) if styled else ())
            if el.text:
                yield el.text, faces
            for child in el:
                yield from visit(child, italic, bold)
                if child.tail:
                    yield child.tail, faces
    yield from visit(root, face == "italic", face == "bold")


def check_coverage(book: Book, problems: Problems) -> None:
    """Every character the book prints, against the cmap of the face it is set in; each one a
    face lacks is an error at its first place in the sources (Pango would quietly take the
    glyph from another font)."""
    files = font_files()
    cmaps = {face: _cmap(path) for face, path in files.items()}
    if not cmaps:
        return  # P005 has said that the family is not installed
    uses: dict[tuple[str, str], _Use] = {}
    # A fragment whose every character (its markup's too) every face has cannot lack a glyph
    # in the face it is set in, and is not parsed: that is nearly every fragment of the book,
    # whose 2,000 parsed took 0.25 s of every build (a one-chapter rebuild waits for it).
    everywhere = frozenset.intersection(*map(frozenset, cmaps.values())) | {ord(c) for c in "\t\n\r"}
    for path, fragment, face in _fragments(book):
        if not fragment or everywhere.issuperset(map(ord, set(html.unescape(fragment)))):
            continue
        for text, faces in _faces_of_text(parse_fragment(fragment), face):
            chars = set(text)  # each character once: the book's text is 1.1 million of them
            for f in faces:
                cmap = cmaps.get(f)
                for ch in (c for c in chars if cmap is not None and ord(c) not in cmap):
                    i = text.index(ch)
                    use = uses.setdefault((ch, f), _Use(path, text[max(0, i - 12):i + 1]))
                    use.count += text.count(ch)
    for (ch, face), use in uses.items():
        if unicodedata.category(ch) in NO_GLYPH or any(ord(ch) in r for r in VARIATION_SELECTORS):
            continue
        line, col = _first_place(use.path, use.context, ch)
        name = unicodedata.name(ch, "(unnamed)")
        shown = f" ({ch})" if unicodedata.category(ch)[0] not in "CZM" else ""
        others = f" (and {use.count - 1} more place(s))" if use.count > 1 else ""
        cure = ("replace the character or spell it out; if the book needs it, a font that has it "
                "must be added to the print styles")
        problems.error(display_path(use.path), line, col, "P011",
                       f"U+{ord(ch):04X} {name}{shown}{others} is not in {FAMILY} {face.replace('-', ' ').title()} "
                       f"({files[face].name}): the PDF would set it in another font; {cure}")


def _first_place(path: Path, context: str, ch: str) -> tuple[int, int]:
    try:
        source = path.read_text(encoding="utf-8")
    except OSError:
        return 0, 0
    at = source.find(context)
    at = at + len(context) - 1 if at >= 0 else source.find(ch)
    if at < 0:
        return 0, 0
    return source.count("\n", 0, at) + 1, at - source.rfind("\n", 0, at)


# --- the checks of the print stage, in the order the stage runs them ------------------------

def before_layout(book: Book, problems: Problems) -> None:
    """The faces installed (P005): stops the build on an error, since a layout without them
    is wasted."""
    check_font_installed(problems)
    if problems.errors:
        raise BuildError(problems.items)


def while_laying_out(book: Book, problems: Problems) -> None:
    """Every character in the face it is set in (P011), while the workers lay the parts out
    (it reads the whole book's HTML: 0.75 s of a one-chapter rebuild the parent spent idle
    after it); stops the build on an error, and the layouts are not used."""
    check_coverage(book, problems)
    if problems.errors:
        raise BuildError(problems.items)
    # What the assembly and the checks after the layout import, imported now: this process
    # waits for the workers here, and after the layout it alone works (0.4 s).
    import pikepdf  # noqa: F401

    from .. import mupdf

    mupdf.load()


def after_layout(book: Book, edition: Edition, result, problems: Problems, cache: Path | None = None) -> None:
    """WeasyPrint's warnings (P002), the PDF's fonts (P004, P006), what its pages show
    (P007–P010) and its printer's rules (K codes; with `cache`, pages measured before are
    not rendered again: printers.InkCache)."""
    _weasyprint_warnings(book, result, problems)
    check_fonts(result.pdf, problems, display_path(book.root))
    check_layout(book, result, problems)
    check_printer(book, edition, result.pdf, result.pages.labels, problems,
                  cache / f"ink-{edition.name}.json" if cache else None)


def _weasyprint_warnings(book: Book, result, problems: Problems) -> None:
    """WeasyPrint's warnings, each where it comes from: in the source of the unit whose part
    gave it, at the text it quotes (an unknown property of a style attribute, an image's
    name) when the source has it; else at the book, naming the part."""
    said = set()
    for slot in result.slots:
        part = result.parts.get(slot.part.key)
        for message in part.warnings if part else []:
            path, line, col = _warning_place(book, slot.part, message)
            if (path, message) not in said:
                said.add((path, message))
                problems.warning(path, line, col, "P002", f"WeasyPrint: {message}")
    told = {message for _, message in said}
    for message in dict.fromkeys(result.warnings):  # running heads, folios: the templates
        if message not in told:
            problems.warning(display_path(book.root), 0, 0, "P002", f"WeasyPrint: {message}")


def _warning_place(book: Book, part, message: str) -> tuple[str, int, int]:
    if part.unit is None:
        return display_path(book.root), 0, 0
    path = book.root / part.unit.file
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return display_path(path), 0, 0
    for quoted in re.findall(r"`([^`]+)`|'([^']+)'|\"([^\"]+)\"", message):
        fragment = next(q for q in quoted if q)
        for needle in (fragment, Path(urlparse(fragment).path).name):
            at = text.find(needle) if needle else -1
            if at >= 0:
                return display_path(path), text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)
    return display_path(path), 0, 0


# --- the PDF: its fonts, its printer's rules ----------------------------------------------

FONT_FAMILY = "EB Garamond 12"


def check_printer(book: Book, edition: Edition, data: bytes, labels: list[str], problems: Problems,
                  ink_cache: Path | None = None) -> None:
    """The interior against the rules of the edition's printer (printers/*.yaml), if it names one."""
    from .. import printers

    place = printers.Place(book.config.where, edition.name)
    profile = printers.edition_profile(edition, problems, place)
    if profile is not None:
        printers.check_interior(data, edition, profile, labels, problems, place, ink_cache)


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
