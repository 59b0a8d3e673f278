"""Edition completeness: every paragraph, note, caption and back-matter field of book/ is in
the EPUB's text and the PDF's text, and both editions order the glossary and biographies alike."""
from __future__ import annotations

import re
import subprocess
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from lxml import etree

from .config import display_path
from .errors import Problems
from .letters import letters
from .model import Book, Edition
from .read import parse_fragment
from .transform import BLOCKS

PRINT_CSS = Path(__file__).resolve().parent.parent / "styles" / "print.css"
OPF_NS = {"opf": "http://www.idpf.org/2007/opf", "c": "urn:oasis:names:tc:opendocument:xmlns:container"}
# No letter or digit: texts of separate EPUB documents never run into each other.
DOC_BREAK = "|"
# The letters an edition may set between two pieces of one item: a note reference's number
# ("7" or "7,8"), or a "See also" before a listed target.
SMALL_GAP = 12
UNITS = {"in": 72.0, "pt": 1.0, "mm": 72 / 25.4, "cm": 72 / 2.54, "px": 0.75}


@dataclass
class Piece:
    """Letters and digits of one field of an item; `gap` letters of the edition may precede it."""

    field: str
    text: str
    gap: int = 0


@dataclass
class Item:
    """One thing of book/ that every edition must hold: a paragraph, a note, a caption, or a
    glossary or biography entry with its fields in reading order."""

    kind: str
    label: str
    path: str
    line: int
    pieces: list[Piece]
    key: str = ""                       # glossary or biography entry: its id, for the order check

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.pieces)


@dataclass
class Miss:
    item: Item
    field: str                          # where the edition's text stops following the item
    found: str                          # the letters that were found, up to there


@dataclass
class EditionResult:
    name: str
    checked: int = 0
    missing: list[Miss] = field(default_factory=list)
    positions: dict[str, int] = field(default_factory=dict)

    @property
    def found(self) -> int:
        return self.checked - len(self.missing)


# --- what book/ holds ----------------------------------------------------------------------

def items(book: Book) -> list[Item]:
    """Every item of the (transformed) book, in reading order."""
    found: list[Item] = []
    for unit in book.units:
        found += _unit_items(book, unit)
    found += _glossary_items(book)
    found += _biography_items(book)
    found += _congress_items(book)
    return [i for i in found if i.text]


def _unit_items(book: Book, unit) -> list[Item]:
    path = book.root / unit.file
    source = _read(path)
    result = [Item("heading", unit.title, display_path(path), 1, [Piece("title", letters(unit.title))])]
    root = parse_fragment(unit.html)
    title = next(root.iter("h1"), None)
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag not in BLOCKS or el is title:
            continue
        if any("footnotes" in (a.get("class") or "") for a in el.iterancestors()) \
                or "footnotes" in (el.get("class") or ""):
            continue
        pieces = _own_pieces(el)
        if any(p.text for p in pieces):
            kind = "caption" if el.tag == "figcaption" else "heading" if el.tag[0] == "h" else "paragraph"
            words = _plain(el)
            result.append(Item(kind, _clip(words), display_path(path), _line_of(source, words), pieces))
    for note in unit.notes:
        text = _plain(parse_fragment(note.html))
        result.append(Item("note", f"note {note.number}: {_clip(text)}", display_path(path), note.line,
                           [Piece("note", letters(text))]))
    return result


def _own_pieces(block: etree._Element) -> list[Piece]:
    """The block's own text (nested blocks are items of their own), cut at note references,
    where an edition sets the note's number."""
    pieces = [Piece("text", "")]

    def visit(el: etree._Element) -> None:
        pieces[-1].text += letters(el.text or "")
        for child in el:
            if not isinstance(child.tag, str):
                pass
            elif "footnote-ref" in (child.get("class") or "") or child.get("role") == "doc-noteref":
                pieces.append(Piece("text", "", SMALL_GAP))
            elif child.tag not in BLOCKS:
                visit(child)
            pieces[-1].text += letters(child.tail or "")
    visit(block)
    return [p for p in pieces if p.text]


def _glossary_items(book: Book) -> list[Item]:
    path = display_path(book.root / _data_file(book, "glossary"))
    result = []
    for t in book.glossary:
        pieces = []
        for n, h in enumerate(t.headwords):
            name = "term" if n == 0 else f"variant '{h.term}'"
            pieces += [Piece(name, letters(h.term)), Piece(f"{name}: original", letters(h.original)),
                       Piece(f"{name}: abbreviation", letters(h.abbreviation))]
        pieces.append(Piece("definition", letters(_plain(parse_fragment(t.definition_html)))))
        pieces += [Piece(f"see also '{s}'", letters(s), SMALL_GAP) for s in t.see_also_listed]
        result.append(Item("glossary", t.term, path, t.line, [p for p in pieces if p.text], t.id))
    return result


def _biography_items(book: Book) -> list[Item]:
    path = display_path(book.root / _data_file(book, "biographies"))
    result = []
    if book.people_note_html:
        note = _plain(parse_fragment(book.people_note_html))
        result.append(Item("paragraph", _clip(note), path, 1, [Piece("source note", letters(note))]))
    for p in book.people:
        head, rest = p.name_groups
        pieces = [Piece(kind, letters(text)) for kind, text in head + rest]
        pieces += [Piece("dates", letters(p.dates)),
                   Piece("text", letters(_plain(parse_fragment(p.text_html))))]
        result.append(Item("biography", f"{p.surname}, {p.forenames}", path, p.line,
                           [x for x in pieces if x.text], p.anchor))
    return result


def _congress_items(book: Book) -> list[Item]:
    path = display_path(book.root / _data_file(book, "congresses"))
    result = []
    for group in book.congresses:
        if group.group:
            result.append(Item("heading", group.group, path, group.line, [Piece("group", letters(group.group))]))
        # Name and dates are table cells: the PDF's text may not keep them side by side.
        for c in group.items:
            result.append(Item("congress", c.name, path, c.line, [Piece("name", letters(c.name))]))
            result.append(Item("congress", f"{c.name}: {c.dates}", path, c.line, [Piece("dates", letters(c.dates))]))
    return result


def _data_file(book: Book, role: str) -> str:
    return next((e.file for e in book.config.contents if e.role == role), f"{role}.yaml")


def _plain(el: etree._Element) -> str:
    return re.sub(r"\s+", " ", "".join(el.itertext())).strip()


def _clip(text: str, length: int = 50) -> str:
    return text if len(text) <= length else text[:length - 1] + "…"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def _line_of(source: str, text: str) -> int:
    """The source line where the first words of `text` are written; 0 when not found."""
    words = re.findall(r"\w+", text)[:5]
    if not words:
        return 0
    m = re.search(r"\W+(?:\[\^\w+\]\W*)?".join(map(re.escape, words)), source)
    return source.count("\n", 0, m.start()) + 1 if m else 0


# --- what the editions hold ----------------------------------------------------------------

def epub_text(path: Path) -> str:
    """The letters and digits of the EPUB's spine documents, in reading order."""
    with zipfile.ZipFile(path) as z:
        container = etree.fromstring(z.read("META-INF/container.xml"))
        opf_name = container.find(".//c:rootfile", OPF_NS).get("full-path")
        opf = etree.fromstring(z.read(opf_name))
        hrefs = {i.get("id"): i.get("href") for i in opf.iterfind(".//opf:manifest/opf:item", OPF_NS)}
        base = PurePosixPath(opf_name).parent
        texts = []
        for ref in opf.iterfind(".//opf:spine/opf:itemref", OPF_NS):
            doc = etree.fromstring(z.read(str(base / hrefs[ref.get("idref")])))
            body = doc.find("{http://www.w3.org/1999/xhtml}body")
            texts.append(letters("".join(body.itertext())) if body is not None else "")
    return DOC_BREAK.join(texts)


def pdf_text(path: Path, edition: Edition, css: Path = PRINT_CSS) -> str:
    """The letters and digits of the PDF's type area, page after page: running heads and
    folios lie outside it. Hyphenated line ends join by themselves, since hyphens are no letters.
    In an edition with notes at the foot of the page, words set smaller than the text (the
    notes) are read after all the text, so that a paragraph running on over a page is whole."""
    top, bottom = page_margins(css)
    xml = subprocess.run(["pdftotext", "-bbox-layout", str(path), "-"], capture_output=True,
                         check=True).stdout
    root = etree.fromstring(xml, etree.XMLParser(huge_tree=True, recover=True))
    ns = {"x": "http://www.w3.org/1999/xhtml"}
    trim_height = edition.trim[1] if edition.trim else None
    pages = []
    for page in root.iterfind(".//x:page", ns):
        height = float(page.get("height"))
        offset = (height - trim_height) / 2 if trim_height else 0.0
        low, high = offset + top - 1, height - offset - bottom + 1
        pages.append([(w.text or "", float(w.get("yMax")) - float(w.get("yMin")))
                      for w in page.iterfind(".//x:word", ns)
                      if float(w.get("yMin")) >= low and float(w.get("yMax")) <= high])
    if edition.notes != "footnotes":
        return "".join(letters("".join(text for text, _ in words)) for words in pages)
    sizes = Counter(round(size, 1) for words in pages for _, size in words)
    text_size = sizes.most_common(1)[0][0] if sizes else 0.0
    main = "".join(text for words in pages for text, size in words if size >= 0.93 * text_size)
    notes = "".join(text for words in pages for text, size in words if size < 0.93 * text_size)
    return letters(main) + letters(notes)


def page_margins(css: Path) -> tuple[float, float]:
    """Top and bottom page margins in points, from the first `@page` rule's `margin`."""
    m = re.search(r"@page\s*\{[^}]*?\bmargin:\s*([^;}]+)", css.read_text(encoding="utf-8"))
    values = [_points(v) for v in m.group(1).split()] if m else [0.0]
    top = values[0]
    bottom = values[2] if len(values) > 2 else top
    return top, bottom


def _points(value: str) -> float:
    m = re.fullmatch(r"([\d.]+)([a-z]*)", value)
    return float(m.group(1)) * UNITS.get(m.group(2) or "pt", 1.0) if m else 0.0


# --- finding items -------------------------------------------------------------------------

def locate(item: Item, text: str) -> int | Miss:
    """Where `item` starts in `text`: its pieces in order, each right after the one before
    (or within its `gap`); a Miss naming the field where the text stops following it."""
    chunks = _chunks(item.pieces)
    first, start = chunks[0][0], 0
    while True:
        at = text.find(first, start)
        if at < 0:
            return _miss(item, text)
        end = at + len(first)
        for chunk, gap in chunks[1:]:
            nxt = text.find(chunk, end, end + gap + len(chunk))
            if nxt < 0:
                break
            end = nxt + len(chunk)
        else:
            return at
        start = at + 1


def _chunks(pieces: list[Piece]) -> list[tuple[str, int]]:
    """Pieces that must follow each other directly, joined; each chunk with its gap."""
    chunks: list[list] = []
    for p in pieces:
        if chunks and p.gap == 0:
            chunks[-1][0] += p.text
        else:
            chunks.append([p.text, p.gap])
    return [(c, g) for c, g in chunks]


def _miss(item: Item, text: str) -> Miss:
    """The longest start of the item found anywhere, and the field that comes after it."""
    whole = item.text
    low, high = 0, len(whole)
    while low < high:
        mid = (low + high + 1) // 2
        if whole[:mid] in text:
            low = mid
        else:
            high = mid - 1
    offset = 0
    for p in item.pieces:
        if offset + len(p.text) > low:
            return Miss(item, p.field, whole[:low])
        offset += len(p.text)
    return Miss(item, item.pieces[-1].field, whole[:low])


def check_text(name: str, book_items: list[Item], text: str) -> EditionResult:
    result = EditionResult(name)
    for item in book_items:
        result.checked += 1
        where = locate(item, text)
        if isinstance(where, Miss):
            result.missing.append(where)
        elif item.key:
            result.positions[item.key] = where
    return result


def order_problems(book_items: list[Item], results: list[EditionResult]) -> list[str]:
    """Glossary and biography entries in each edition in the book's order (so both alike)."""
    found = []
    for kind in ("glossary", "biography"):
        expected = [i.key for i in book_items if i.kind == kind]
        for r in results:
            placed = sorted((k for k in expected if k in r.positions), key=r.positions.get)
            wanted = [k for k in expected if k in r.positions]
            if placed != wanted:
                first = next(n for n, (a, b) in enumerate(zip(placed, wanted)) if a != b)
                found.append(f"{r.name}: {kind} entry '{placed[first]}' stands where the book has "
                             f"'{wanted[first]}' (entry {first + 1} of {len(wanted)})")
    return found


def check_editions(book: Book, texts: dict[str, str], problems: Problems) -> list[EditionResult]:
    """Every item of `book` in each edition's text (name → letters): V001 for each item an
    edition lacks, V002 when an edition orders the glossary or biographies otherwise."""
    book_items = items(book)
    results = [check_text(name, book_items, text) for name, text in texts.items()]
    for r in results:
        for m in r.missing:
            problems.error(m.item.path, m.item.line, 1, "V001",
                           f"{m.item.kind} '{m.item.label}': {m.field} not found in the {r.name}"
                           + (f" (found up to '…{m.found[-30:]}')" if m.found else ""))
    for message in order_problems(book_items, results):
        problems.error(display_path(book.root / "book.yaml"), 0, 0, "V002", message)
    return results
