"""Where each printed block comes from: its source file and lines, found by its text or its YAML entry."""
from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree
from lxml import html as lxml_html

from ..letters import letters
from ..mdsyntax import grid_lines
from ..model import Book

# Blocks that get a marker: the innermost of these around a run of text.
MARKED = {"p", "li", "dt", "dd", "figcaption", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre",
          "blockquote"}
# Text the templates and the read stage add, which is not in the source where the block is:
# labels, note numbers, placeholders for absent art, note references and page-foot notes.
GENERATED = {"part-label", "note-number", "art-absent", "footnote-ref", "footnote-again", "footnote"}
# Markdown syntax that is not printed, removed line by line so that line numbers hold.
FENCE_LINE = re.compile(r"^\s*:::.*$")
SYNTAX = (re.compile(r"\[\^[^\]\s]+\]:?"),          # note references and definition labels
          re.compile(r"\]\([^)]*\)"),                # link and image targets
          re.compile(r"\{[^{}]*\}"),                 # attributes: {#id}, {.ix ref=…}, {lang=ru}
          re.compile(r"<[^>]*>"),                    # raw HTML tags
          re.compile(r"&#?\w+;"))                    # entities
KEY = 48
SHORT_KEY = 12
START_TAG = re.compile(r"<!--.*?-->|<(?P<tag>[a-zA-Z][a-zA-Z0-9]*)(?=[\s/>])", re.S)


@dataclass(frozen=True)
class SourceRef:
    """A block's source: the file (relative to the book folder) and its first and last line."""

    file: str
    line: int
    end: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


# Letters and digits only, case-folded: what survives Markdown, smart quotes and dashes.
normalize = letters


def classes(el: etree._Element) -> set[str]:
    return set((el.get("class") or "").split())


def block_text(el: etree._Element) -> str:
    """The block's own text, without what the pipeline added to it."""
    out: list[str] = []

    def visit(node: etree._Element) -> None:
        if node.text:
            out.append(node.text)
        for child in node:
            if isinstance(child.tag, str) and not (classes(child) & GENERATED):
                visit(child)
            if child.tail:
                out.append(child.tail)
    visit(el)
    return "".join(out)


class SourceText:
    """A Markdown file as one normalized string, each character knowing its line; blocks are
    looked up in reading order, so a phrase that occurs twice is found where it belongs."""

    def __init__(self, text: str, lines: list[tuple[int, str]] | None = None):
        chars: list[str] = []
        self.lines: list[int] = []
        for number, line in lines if lines is not None else enumerate(text.splitlines(), start=1):
            if FENCE_LINE.match(line):
                continue
            for pattern in SYNTAX:
                line = pattern.sub(lambda m: "]" if m.group(0).startswith("](") else " ", line)
            for c in normalize(line):
                chars.append(c)
                self.lines.append(number)
        self.text = "".join(chars)
        self.cursor = 0

    def find(self, text: str) -> tuple[int, int] | None:
        """(first line, last line) of normalized `text`, searched from the last block found on."""
        if not text:
            return None
        key = text[:KEY]
        at = self.text.find(key, self.cursor)
        in_order = at >= 0
        if not in_order:
            at = self.text.find(key)
        if at < 0:
            # A table row whose cells run over several source lines reads column by column
            # there: its first words still say where it starts.
            key = text[:SHORT_KEY]
            at = self.text.find(key, self.cursor)
            in_order = at >= 0
            if at < 0:
                return None
        if self.text.startswith(text, at):
            end = at + len(text)
        else:
            tail = text[-KEY:]
            found = self.text.find(tail, at, at + 2 * len(text) + KEY)
            end = found + len(tail) if found >= 0 else at + len(key)
        if in_order:
            self.cursor = end
        return self.lines[at], self.lines[end - 1]


def grid_cells(text: str) -> list[tuple[int, str]]:
    """Each cell of the file's grid tables as one line of text, with the number of the source
    line its row starts on."""
    return grid_lines(text, cells_only=True)


def marked_blocks(root: etree._Element) -> list[etree._Element]:
    """The innermost MARKED elements outside generated text, in document order."""
    found = []
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag not in MARKED:
            continue
        if any(isinstance(d.tag, str) and d.tag in MARKED for d in el.iterdescendants()):
            continue
        if classes(el) & GENERATED or any(classes(a) & GENERATED for a in el.iterancestors()):
            continue
        if el.tag[0] == "h" and el.getparent() is not None and "endnotes" in classes(el.getparent()):
            continue   # the "Notes" heading of the print template
        found.append(el)
    return found


def yaml_key_lines(text: str) -> list[tuple[int, str]]:
    """(line, key) of every `key:` in a YAML file, list dashes allowed before it."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        m = re.match(r"^\s*(?:-\s+)*([A-Za-z_][\w-]*)\s*:", line)
        if m:
            out.append((number, m.group(1)))
    return out


class Locator:
    """Finds the source of the blocks of the book's parts (as rendered for print or proof)."""

    def __init__(self, book: Book):
        self.book = book
        self.missed: list[tuple[str, str]] = []
        self._texts: dict[str, str] = {}

    def text(self, file: str) -> str:
        if file not in self._texts:
            try:
                self._texts[file] = (self.book.root / file).read_text(encoding="utf-8")
            except OSError:
                self._texts[file] = ""
        return self._texts[file]

    def file_of(self, role: str) -> str:
        return next((e.file for e in self.book.config.contents if e.role == role), "")

    def locate(self, key: str, unit, root: etree._Element) -> list[tuple[etree._Element, SourceRef]]:
        """(element, source) for every block of a rendered part with a known source."""
        if unit is not None:
            return self._unit(unit, root)
        data = {"glossary": self._glossary, "biographies": self._biographies,
                "congresses": self._congresses, "index": self._index}
        return data[key](root) if key in data else []

    def _unit(self, unit, root: etree._Element) -> list[tuple[etree._Element, SourceRef]]:
        source = SourceText(self.text(unit.file))
        cells = None
        notes = {n.id: n for n in unit.notes}
        out = []
        for el in marked_blocks(root):
            words = normalize(block_text(el))
            if not words:
                continue
            lines = source.find(words)
            if lines is None and any(e.tag in ("td", "th") for e in (el, *el.iterancestors())):
                # A grid table's cell beside another reads line by line across both.
                cells = cells or SourceText("", grid_cells(self.text(unit.file)))
                lines = cells.find(words)
            if lines is None:
                self.missed.append((unit.file, " ".join(block_text(el).split())[:60]))
                continue
            out.append((el, SourceRef(unit.file, *lines)))
        # Page-foot notes are not blocks; their definitions' lines come from the read stage.
        for el in root.iter("span"):
            note = notes.get(el.get("id") or "")
            if note is not None and "footnote" in classes(el) and note.line:
                out.append((el, SourceRef(unit.file, note.line, note.line)))
        return out

    def _entries(self, role: str, starts: list[int]) -> tuple[str, list[tuple[int, int]]]:
        """Each YAML entry's line range: from its start to the line before the next one."""
        file = self.file_of(role)
        last = len(self.text(file).splitlines())
        bounds = sorted(starts)
        ends = {s: (bounds[i + 1] - 1 if i + 1 < len(bounds) else last) for i, s in enumerate(bounds)}
        return file, [(s, max(s, ends[s])) for s in starts]

    def _glossary(self, root: etree._Element) -> list[tuple[etree._Element, SourceRef]]:
        file, ranges = self._entries("glossary", [t.line for t in self.book.glossary])
        keys = yaml_key_lines(self.text(file))
        ids = _ids(root)
        out = []
        for term, (start, end) in zip(self.book.glossary, ranges):
            entry = ids.get(term.id)
            if entry is None:
                continue
            # The term and its original above the definition, the definition to the entry's end.
            definition = next((n for n, k in keys if start < n <= end and k == "definition"), start)
            for el in entry.iter("dt", "dd"):
                if el.tag == "dt":
                    out.append((el, SourceRef(file, start, max(start, definition - 1))))
                else:
                    out.append((el, SourceRef(file, definition, end)))
        return out

    def _biographies(self, root: etree._Element) -> list[tuple[etree._Element, SourceRef]]:
        file, ranges = self._entries("biographies", [p.line for p in self.book.people])
        out = []
        note = next((n for n, k in yaml_key_lines(self.text(file)) if k == "source_note"), 0)
        for el in root.iter("div"):
            if "source-note" in classes(el) and note:
                out.append((el, SourceRef(file, note, note)))
        ids = _ids(root)
        for person, (start, end) in zip(self.book.people, ranges):
            el = ids.get(person.anchor)
            if el is not None:
                out.append((el, SourceRef(file, start, end)))
        return out

    def _congresses(self, root: etree._Element) -> list[tuple[etree._Element, SourceRef]]:
        items = [i for g in self.book.congresses for i in g.items]
        file, ranges = self._entries("congresses", [i.line for i in items])
        out = list(zip(root.iter("tr"), (SourceRef(file, s, e) for s, e in ranges)))
        groups = [g for g in self.book.congresses if g.group]
        heads = [h for h in root.iter("h2")]
        out += [(h, SourceRef(file, g.line, g.line)) for h, g in zip(heads, groups)]
        return out

    def _index(self, root: etree._Element) -> list[tuple[etree._Element, SourceRef]]:
        file, ranges = self._entries("index", [h.line for h in self.book.index])
        out = []
        ids = _ids(root)
        for heading, (start, end) in zip(self.book.index, ranges):
            el = ids.get(f"index-{heading.id}")
            if el is not None:
                out.append((el, SourceRef(file, start, end)))
        return out


def _ids(root: etree._Element) -> dict[str, etree._Element]:
    return {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}


def parse_document(html: str) -> etree._Element:
    return lxml_html.document_fromstring(html)


def add_ids(html: str, located: list[tuple[etree._Element, SourceRef]], root: etree._Element,
            prefix: str) -> tuple[str, list[tuple[str, etree._Element, SourceRef]]] | None:
    """`html` with an id on every located block that has none (an attribute only: the text and
    the markup around it stay byte for byte), and (id, element, source) of every located block.
    None when the parsed tree and the start tags of the text do not line up, so no id could be
    placed safely."""
    elements = [el for el in root.iter() if isinstance(el.tag, str)]
    tags = [m for m in START_TAG.finditer(html) if m.group("tag")]
    if len(tags) != len(elements) or any(m.group("tag").lower() != el.tag for m, el in zip(tags, elements)):
        return None
    position = {el: m.end("tag") for el, m in zip(elements, tags)}
    named: list[tuple[str, etree._Element, SourceRef]] = []
    inserts: list[tuple[int, str]] = []
    used: dict[str, int] = {}
    for el, ref in located:
        name = el.get("id")
        if not name:
            base = f"{prefix}-L{ref.line}"
            used[base] = used.get(base, 0) + 1
            name = base if used[base] == 1 else f"{base}-{used[base]}"
            inserts.append((position[el], f' id="{name}"'))
        named.append((name, el, ref))
    out = html
    for at, text in sorted(inserts, reverse=True):
        out = out[:at] + text + out[at:]
    return out, named


def first_words(el: etree._Element, count: int = 9) -> str:
    words = block_text(el).split()
    return " ".join(words[:count]) + (" …" if len(words) > count else "")
