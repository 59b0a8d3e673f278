"""The book's texts as lint sees them: prose with Markdown masked, flags per character, positions."""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .. import safeyaml
from ..mdsyntax import NoteMarks, attributes, closing, note_marks

# libyaml's loader is ten times faster; the result is the same.

MASK = "\x00"

# Flags per character of a text; a check asks which parts of the book it looks at.
RU = 1         # Russian: `lang=ru` span or div, Cyrillic letters, a data file's Russian field
DOCUMENT = 2   # inside a `::: {.document}` facsimile (its English caption excepted)
NOTE = 4       # inside a note definition
TABLE = 8      # a grid table
HEADING = 16   # a heading line

FENCE = re.compile(r"^[ \t]*(:{3,})[ \t]*(.*?)[ \t]*$")
NOTE_DEF = re.compile(r"^\[\^([^\]\s]+)\]:[ \t]?")
HEADING_LINE = re.compile(r"^(#{1,6})[ \t]+")
QUOTE_MARK = re.compile(r"^(?:[ \t]*>[ \t]?)+")
# A list item's marker: a bullet, `1.`, `1)`, `(1)`, `#.` or `a)`; the spaces after it align the
# item's text (pandoc writes `1.  `), so they are markup, not a double space.
LIST_MARK = re.compile(r"^[ \t]*(?:[-*+]|\(?(?:\d{1,3}|#)[.)]|\(?[a-z]\))[ \t]+(?=\S)")
# Pandoc's other tables: a simple table's column rule, a pipe table's alignment row, and the
# border of a multiline table (a line of dashes before its header and after its last row).
SIMPLE_RULE = re.compile(r"^[ \t]*-{2,}(?:[ \t]+-{2,})+[ \t]*$")
COLUMN_RULE = re.compile(r"^[ \t]*-{2,}(?:[ \t]+-{2,})*[ \t]*$")
PIPE_RULE = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)+\|?[ \t]*$")
BORDER = re.compile(r"^-{3,}[ \t]*$")


@dataclass
class Text:
    """One stretch of the book's words: a Markdown file, or one field of a YAML file.

    `text` is what the editor wrote; `view` has the same length with markup replaced by MASK,
    so that offsets in either are offsets in both. `where(offset)` is the (line, col) in `path`.
    """

    path: str
    text: str
    view: str
    flags: bytearray
    positions: list[int] | None = None
    line_starts: list[int] = field(default_factory=list)
    spans: list[tuple[int, int, set[str], dict[str, str]]] = field(default_factory=list)
    notes: list[tuple[str, int, int, int]] = field(default_factory=list)
    marks: NoteMarks = field(default_factory=lambda: NoteMarks([], []))
    figures: list[tuple[int, int, str]] = field(default_factory=list)
    paragraphs: list[tuple[int, int]] = field(default_factory=list)
    field_name: str = ""
    order: int = 0

    def where(self, offset: int) -> tuple[int, int]:
        if self.positions is not None:
            offset = self.positions[min(offset, len(self.positions) - 1)] if self.positions else 0
        line = bisect.bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1


def inside_word(view: str, i: int) -> bool:
    """An apostrophe (Trotsky’s) or a hard sign (s”ezd) rather than a closing quote."""
    return 0 < i < len(view) - 1 and view[i - 1].isalpha() and view[i + 1].isalpha()


def single_quotes(t: Text) -> tuple[set[int], list[int]]:
    """The ’ that close a ‘ in their paragraph (quotes, not apostrophes or soft signs), and the
    ‘ that nothing closes."""
    closers: set[int] = set()
    unclosed: list[int] = []
    view = t.view
    for start, end in t.paragraphs:
        opened: list[int] = []
        for i in range(start, end):
            c = view[i]
            if c == "‘":
                opened.append(i)
            elif c == "’" and opened and not inside_word(view, i):
                opened.pop()
                closers.add(i)
        unclosed += opened
    return closers, unclosed


def _line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in re.finditer("\n", text)]


def _mark(flags: bytearray, start: int, end: int, flag: int) -> None:
    flags[start:end] = bytes(v | flag for v in flags[start:end])


def _mask(chars: list[str], start: int, end: int) -> None:
    for i in range(start, end):
        if chars[i] != "\n":
            chars[i] = MASK




def _blocks(text: str, starts: list[int], chars: list[str], flags: bytearray, t: Text) -> None:
    """Fences, headings, note definitions, grid tables: mask their markup, flag their parts."""
    lines = text.split("\n")
    stack: list[tuple[int, set[str], dict[str, str]]] = []
    note: tuple[str, int, int] | None = None
    table_start = None
    para_start = None

    in_list = False

    def close_para(i: int) -> None:
        nonlocal para_start, in_list
        in_list = False
        if para_start is not None:
            t.paragraphs.append((starts[para_start], starts[i] - 1))
            para_start = None

    def close_note(i: int) -> None:
        nonlocal note
        if note:
            label, at, body = note
            end = starts[i] - 1
            while end > body and text[end - 1] in " \n":
                end -= 1
            t.notes.append((label, at, body, end))
            _mark(flags, at, end, NOTE)
            note = None

    for i, line in enumerate(lines):
        at = starts[i]
        fence = FENCE.match(line)
        if fence:
            close_para(i)
            _mask(chars, at, at + len(line))
            opener = fence.group(2)
            if opener.startswith("{"):
                stack.append((at, *attributes(opener.strip("{}"))))
            elif opener:
                # `::: caption` is Pandoc's shorthand for `::: {.caption}`.
                stack.append((at, {opener.split()[0]}, {}))
            elif stack:
                opened, classes, values = stack.pop()
                _div(flags, stack, opened, at + len(line), classes, values)
            continue
        if not line.strip():
            close_para(i)
            if note:
                nxt = next((k for k in range(i + 1, len(lines)) if lines[k].strip()), None)
                if nxt is None or not lines[nxt].startswith(("    ", "\t")):
                    close_note(i)
            continue
        if line.startswith(("+-", "+=")):
            _mask(chars, at, at + len(line))
            if table_start is None:
                table_start = at
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if not nxt.startswith(("|", "+")):
                _mark(flags, table_start, at + len(line), TABLE)
                table_start = None
        if table_start is not None and line.startswith("|"):
            for m in re.finditer(r"\|", line):
                chars[at + m.start()] = MASK
        quote = QUOTE_MARK.match(line)
        if quote:
            # `>` alone parts the paragraphs of a quotation, as a blank line parts the text's.
            _mask(chars, at, at + quote.end())
            if not line[quote.end():].strip():
                close_para(i)
                continue
        item = LIST_MARK.match(line, quote.end() if quote else 0)
        if item and (para_start is None or in_list):
            # Each item is a paragraph of its own; a marker inside a paragraph is text.
            close_para(i)
            _mask(chars, at + (quote.end() if quote else 0), at + item.end())
            in_list = True
        heading = HEADING_LINE.match(line)
        if heading:
            close_para(i)
            _mask(chars, at, at + heading.end())
            _mark(flags, at, at + len(line), HEADING)
            t.paragraphs.append((at, at + len(line)))
            continue
        if re.fullmatch(r"\s*(?:-{3,}|\*(?:\s*\*){2,})\s*", line):
            close_para(i)
            _mask(chars, at, at + len(line))
            continue
        definition = NOTE_DEF.match(line)
        if definition:
            close_para(i)
            close_note(i)
            _mask(chars, at, at + definition.end())
            note = (definition.group(1), at, at + definition.end())
        if para_start is None:
            para_start = i
    close_para(len(lines))
    close_note(len(lines))
    while stack:
        opened, classes, values = stack.pop()
        _div(flags, stack, opened, len(text), classes, values)


def _tables(lines: list[str], starts: list[int], chars: list[str], flags: bytearray) -> None:
    """Simple, pipe and multiline tables: flagged as tables (their cells are aligned with
    spaces), their rules and pipes masked. Grid tables are `_blocks`' own."""
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        end = _multiline_end(lines, i)
        if end is None:
            end = i
            while end + 1 < len(lines) and lines[end + 1].strip():
                end += 1
            block = lines[i:end + 1]
            grid = any(line.startswith(("+-", "+=")) for line in block)
            pipes = any(PIPE_RULE.match(line) for line in block) and all("|" in line for line in block[:2])
            if grid or not (pipes or any(SIMPLE_RULE.match(line) for line in block)):
                i = end + 1
                continue
        for k in range(i, end + 1):
            at, line = starts[k], lines[k]
            _mark(flags, at, at + len(line), TABLE)
            if COLUMN_RULE.match(line) or PIPE_RULE.match(line) or BORDER.match(line):
                _mask(chars, at, at + len(line))
            for m in re.finditer(r"(?<!\\)\|", line):
                chars[at + m.start()] = MASK
        i = end + 1


def _multiline_end(lines: list[str], i: int) -> int | None:
    """The closing border of a multiline table opening at line i, or None."""
    if not BORDER.match(lines[i]) or i + 1 >= len(lines) or not lines[i + 1].strip() \
            or (i and lines[i - 1].strip()):
        return None
    for k in range(i + 1, min(i + 400, len(lines))):
        if BORDER.match(lines[k]) and (k + 1 == len(lines) or not lines[k + 1].strip()
                                       or lines[k + 1].lstrip().startswith(("Table:", ":"))):
            return k if any(COLUMN_RULE.match(x) for x in lines[i + 1:k]) else None
        if HEADING_LINE.match(lines[k]):
            return None
    return None


def _div(flags: bytearray, stack, start: int, end: int, classes: set[str], values: dict[str, str]) -> None:
    if "document" in classes:
        _mark(flags, start, end, DOCUMENT)
    if values.get("lang", "").startswith("ru") or "document" in classes and "lang" not in values:
        _mark(flags, start, end, RU)
    elif values.get("lang", "").startswith("en"):
        # An English caption inside a Russian document is English prose.
        flags[start:end] = bytes(v & ~(RU | DOCUMENT) for v in flags[start:end])


def _inline(t: Text, chars: list[str], flags: bytearray) -> None:
    """Mask inline markup: note marks, links, images, spans, attributes, emphasis, escapes."""
    view = "".join(chars)
    for m in re.finditer(r"<!--.*?-->|`[^`\n]+`|<[A-Za-z/][^>\n]*>", view, re.S):
        _mask(chars, m.start(), m.end())
    for ref in t.marks.refs:
        _mask(chars, ref.start, ref.end)
    view = "".join(chars)
    i = view.find("[")
    while i >= 0:
        close = closing(view, i, "]")
        after = close + 1
        if close > 0 and (view.startswith("(", after) or view.startswith("{", after)):
            image = i > 0 and view[i - 1] == "!"
            chars[i] = chars[close] = MASK
            if image:
                chars[i - 1] = MASK
            if view.startswith("(", after):
                end = closing(view, after, ")")
                if end > 0:
                    if image:
                        target = view[after + 1:end].split()
                        t.figures.append((i - 1, end + 1, target[0] if target else ""))
                    _mask(chars, after, end + 1)
                    after = end + 1
            if view.startswith("{", after):
                end = view.find("}", after)
                if end > 0 and "\n" not in view[after:end]:
                    classes, values = attributes(view[after + 1:end])
                    t.spans.append((i + 1, close, classes, values))
                    if values.get("lang", "").startswith("ru"):
                        _mark(flags, i + 1, close, RU)
                    _mask(chars, after, end + 1)
        i = view.find("[", i + 1)
    view = "".join(chars)
    for m in re.finditer(r"\{[^{}\n]*\}", view):
        _mask(chars, m.start(), m.end())
    for m in re.finditer(r"\\(?=[^\w\s])|\\$|\^(?=\S)|(?<=\S)\^|~", view, re.M):
        chars[m.start()] = MASK
    for m in re.finditer(r"(?<![\w*])(\*{1,3})(?=\S)(.+?)(?<=\S)\1(?![\w*])", view, re.S):
        if "\n\n" in m.group(2):
            continue
        n = len(m.group(1))
        _mask(chars, m.start(), m.start() + n)
        _mask(chars, m.end() - n, m.end())
    for m in re.finditer(r"(?<!\w)_+(?=\S)|(?<=\S)_+(?!\w)", view):
        _mask(chars, m.start(), m.end())


def markdown_text(path: str, text: str) -> Text:
    """A Markdown source as a lint Text."""
    flags = bytearray(len(text))
    chars = list(text)
    t = Text(path, text, "", flags, line_starts=_line_starts(text), marks=note_marks(text))
    _blocks(text, t.line_starts + [len(text) + 1], chars, flags, t)
    _tables(text.split("\n"), t.line_starts, chars, flags)
    for m in re.finditer(r"[\u0400-\u04ff]+", text):
        _mark(flags, m.start(), m.end(), RU)
    _inline(t, chars, flags)
    t.view = "".join(chars)
    t.paragraphs.sort()
    return t


# --- YAML fields ----------------------------------------------------------------------------

def _align(value: str, src: str, start: int, style: str | None) -> list[int]:
    """Where each character of a YAML scalar's value stands in the file (folding, quoting, escapes)."""
    out = []
    j = start + (1 if style in ("'", '"') else 0)
    n = len(src)
    for c in value:
        while j < n and src[j] != c and src[j] in " \t\n" and c not in " \t\n":
            j += 1
        if j >= n:
            out.append(n - 1)
            continue
        out.append(j)
        if c == " " and src[j] == "\n":
            while j < n and src[j] in " \t\n":
                j += 1
        elif style == "'" and c == "'" and src.startswith("''", j):
            j += 2
        elif style == '"' and src[j] == "\\":
            j += 2
        else:
            j += 1
    return out


def yaml_texts(path: str, source: str, skip_keys: frozenset[str], ru_keys: frozenset[str]) -> list[Text]:
    """Every string field of a YAML file as a lint Text, positioned in the file."""
    root = safeyaml.compose(source)
    starts = _line_starts(source)
    out: list[Text] = []

    def visit(node, key: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                visit(v, k.value)
        elif isinstance(node, yaml.SequenceNode):
            for v in node.value:
                visit(v, key)
        elif isinstance(node, yaml.ScalarNode) and node.tag.endswith(":str") and key not in skip_keys:
            value = node.value
            if not value.strip():
                return
            t = markdown_text(path, value)
            t.positions = _align(value, source, node.start_mark.index, node.style)
            t.line_starts = starts
            t.field_name = key
            if key in ru_keys:
                _mark(t.flags, 0, len(value), RU)
            out.append(t)

    if root is not None:
        visit(root, "")
    return out


def read_texts(book: Path, files: list[str]) -> list[Text]:
    """The unit files, in the order given, as lint Texts; paths shown relative to book's parent."""
    return [markdown_text(display(book, f), (book / f).read_text(encoding="utf-8")) for f in files]


def display(book: Path, name: str) -> str:
    return f"{book.name}/{name}" if book.name else name
