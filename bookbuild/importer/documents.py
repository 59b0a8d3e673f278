"""OCR'd Russian facsimile documents → `::: {.document lang=ru}` blocks with their English caption."""
from __future__ import annotations

import re
import textwrap

from .blocks import CYRILLIC, LATIN, Block, Correction
from .typography import mark_russian, normalize_typography

_CYR = "А-Яа-яЁё"
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
# A word broken at a line end of the printed page: Cyrillic letter, hyphen,
# space or line break, lowercase Cyrillic letter.
_BROKEN_WORD = re.compile(rf"([{_CYR}])-([ \t]+|[ \t]*\n[ \t]*)([а-яё])")
# Hyphenated words that a line end may split: the hyphen is the word's own
# (кое-как, что-либо, по-прежнему, в-третьих). "по" alone is not enough: most
# words split after "по-" are one word (по- становлено).
_HYPHEN_PREFIXES = {"кое", "кой"}
_HYPHEN_SUFFIXES = {"то", "либо", "нибудь", "таки"}
_HYPHEN_ADVERB = re.compile(r"по\|[а-яё]*(?:ому|ему|ски|цки|ьи)|во?\|(?:первых|вторых|третьих|четв[её]ртых|пятых)")
_SPACED_DIGITS = re.compile(r"(?<![\w])(\d(?: \d){3,})(?![\w])")
_SPACED_CAPITALS = re.compile(r"(?<![\w])([А-ЯЁ](?: [А-ЯЁ]){3,})(?![\w])")
_SPACED_HYPHEN = re.compile(rf"([{_CYR}]+) - ([{_CYR}]+)")
_TERMINAL = tuple(".!?:;…")
_CELL_WIDTH = 36


def _letters(text: str) -> tuple[int, int]:
    return len(CYRILLIC.findall(text)), len(LATIN.findall(text))


def _is_caption(block: Block) -> bool:
    cyrillic, latin = _letters(block.text)
    return latin > cyrillic


def _split_caption(blocks: list[Block]) -> tuple[list[Block], list[Block]]:
    """The trailing English blocks are the caption; blocks without letters stay in the document."""
    cut = len(blocks)
    while cut > 0 and _is_caption(blocks[cut - 1]):
        cut -= 1
    return blocks[:cut], blocks[cut:]


def _line_of(block_line: int, text: str, pos: int) -> int:
    return block_line + text.count("\n", 0, pos)


def _word_before(text: str, end: int) -> str:
    return re.search(rf"[{_CYR}]*$", text[:end]).group()


def _word_after(text: str, start: int) -> str:
    return re.match(rf"[{_CYR}]*", text[start:]).group()


def _keeps_hyphen(left: str, right: str) -> bool:
    left = left.lower()
    return (left in _HYPHEN_PREFIXES or right in _HYPHEN_SUFFIXES
            or bool(_HYPHEN_ADVERB.fullmatch(f"{left}|{right}")))


def _rejoin_broken_words(text: str, line: int, fixes: list[Correction]) -> tuple[str, bool]:
    """Close words broken by the OCR's line-end hyphen; true when a line break was closed."""
    across_lines = False

    def repl(m: re.Match) -> str:
        nonlocal across_lines
        left = _word_before(text, m.end(1))
        right = _word_after(text, m.start(3))
        keep = _keeps_hyphen(left, right)
        joined = f"{left}-{right}" if keep else left + right
        across_lines |= "\n" in m.group(2)
        fixes.append(Correction(_line_of(line, text, m.start()), "hyphenation",
                                f"{left}- {right}", joined))
        return m.group(1) + ("-" if keep else "") + m.group(3)

    return _BROKEN_WORD.sub(repl, text), across_lines


def _close_letterspacing(text: str, line: int, fixes: list[Correction]) -> str:
    def digits(m: re.Match) -> str:
        closed = m.group(1).replace(" ", "")
        fixes.append(Correction(_line_of(line, text, m.start()), "letterspacing", m.group(1), closed))
        return closed

    def capitals(m: re.Match) -> str:
        # Typewriters and Russian print emphasise by spacing letters out; the
        # class keeps the emphasis for the style sheet to render.
        closed = f"[{m.group(1).replace(' ', '')}]{{.spaced}}"
        fixes.append(Correction(_line_of(line, text, m.start()), "letterspacing", m.group(1), closed))
        return closed

    text = _SPACED_DIGITS.sub(digits, text)
    return _SPACED_CAPITALS.sub(capitals, text)


def _close_compounds(text: str, line: int, closed_forms: str, fixes: list[Correction]) -> str:
    # `БОЛЬШЕВИКОВ - ЛЕНИНЦЕВ` is the compound большевики-ленинцы, which the
    # same page prints closed (`(БОЛЬШЕВИКОВ-ЛЕНИНЦЕВ)`, `большевиков-ленинцев`);
    # a spaced hyphen is closed up only when the document itself spells the
    # pair closed. Otherwise it is the typewriter's dash (`Брандлере -
    # Тальгеймере`, `шевича - за`) and stays as typed.
    def repl(m: re.Match) -> str:
        closed = f"{m.group(1)}-{m.group(2)}"
        if closed.lower() not in closed_forms:
            return m.group()
        fixes.append(Correction(_line_of(line, text, m.start()), "hyphen", m.group(), closed))
        return closed

    return _SPACED_HYPHEN.sub(repl, text)


def _inline(text: str) -> str:
    """The OCR's HTML inline markup → Pandoc Markdown."""
    text = re.sub(r"<u>(.*?)</u>", r"[\1]{.underline}", text, flags=re.S)
    text = re.sub(r"</?(?:b|strong)>", "**", text)
    text = re.sub(r"</?(?:i|em)>", "*", text)
    text = re.sub(r"\s*<sup>\s*(.*?)\s*</sup>", lambda m: "^" + m.group(1).replace(" ", "\\ ") + "^", text)
    return re.sub(r"<br\s*/?>\s*", lambda m: "\\\n", text)


def _paragraphs(text: str) -> list[str]:
    """`<p>` and `</p>` are paragraph breaks."""
    return [p.strip() for p in re.split(r"\s*</?p>\s*", text) if p.strip()]


def _escape_line_start(line: str) -> str:
    """Keep a line of the facsimile from reading as Markdown block syntax (lists, headings, quotes)."""
    line = line.lstrip()
    m = re.match(r"(\d+|[A-Za-z]|[IVXLCDM]+)([.)])(?=\s|$)", line)
    if m:
        return f"{m.group(1)}\\{m.group(2)}{line[m.end():]}"
    if re.match(r"\(\w+\)(?=\s|$)", line):
        return "\\" + line
    if re.fullmatch(r"[-=_*](?:\s*[-=_*]){2,}\s*", line):
        # A rule or setext underline; escaping each mark also keeps smart
        # punctuation from reading "--" as a dash.
        return re.sub(r"([-=_*])", r"\\\1", line)
    if re.match(r"[-+*:~](?=\s|$)|[#>|]", line):
        return "\\" + line
    return line


def _hard_breaks(text: str, reflow: bool) -> str:
    """Lines ending in two spaces keep their break as `\\`; a reflowed newspaper column loses its breaks."""
    lines = [line for line in text.split("\n") if line.strip()]
    if reflow:
        return _escape_line_start(" ".join(line.strip() for line in lines))
    out = []
    for k, raw in enumerate(lines):
        line = _escape_line_start(raw).rstrip()
        out.append(line + "\\" if raw.endswith("  ") and k < len(lines) - 1 else line)
    return "\n".join(out)


def _heading(level: int, text: str) -> str:
    # One heading level per unit: a document's headings are styled paragraphs
    # that keep their level as a class.
    m = re.fullmatch(r"\*\*(.+)\*\*", text)
    inner = m.group(1) if m and "**" not in m.group(1) else text
    return f"::: {{.doc-heading .doc-h{level}}}\n**{_inline(inner)}**\n:::"


def _is_header_row(cells: list[str]) -> bool:
    return all(c and len(c.split()) <= 3 and not re.search(r"[a-zа-яё]", c) and re.search(r"\w", c)
               for c in cells)


def _cell_lines(cell: str) -> list[str]:
    lines: list[str] = []
    for k, para in enumerate(_paragraphs(_inline(cell))):
        if k:
            lines.append("")
        wrapped = textwrap.wrap(para, _CELL_WIDTH, break_long_words=False, break_on_hyphens=False)
        lines.extend(_escape_line_start(w) for w in wrapped)
    return lines


def _grid_table(rows: list[list[str]]) -> str:
    """Tab-separated rows → a Pandoc grid table: the only kind whose cells hold several paragraphs."""
    header = len(rows) > 1 and _is_header_row(rows[0])
    ncols = max(len(r) for r in rows)
    cells = [[_cell_lines(c) for c in r + [""] * (ncols - len(r))] for r in rows]
    widths = [max([3] + [len(line) for row in cells for line in row[c]]) for c in range(ncols)]

    def rule(ch: str) -> str:
        return "+" + "+".join(ch * (w + 2) for w in widths) + "+"

    out = [rule("-")]
    for k, row in enumerate(cells):
        for i in range(max(1, max(len(c) for c in row))):
            out.append("|" + "|".join(f" {(c[i] if i < len(c) else '').ljust(w)} "
                                      for c, w in zip(row, widths)) + "|")
        out.append(rule("=" if header and k == 0 else "-"))
    return "\n".join(out)


def _table_rows(text: str) -> list[list[str]]:
    rows: list[list[str]] = []
    for line in text.split("\n"):
        if "\t" in line or not rows:
            rows.append([c.strip() for c in line.split("\t")])
        else:
            rows[-1][-1] = (rows[-1][-1] + " " + line.strip()).strip()
    return rows


def _caption(blocks: list[Block]) -> tuple[str, list[Correction]]:
    """The English caption as one paragraph; the printed caption's line breaks are layout."""
    parts: list[str] = []
    fixes: list[Correction] = []
    for block in blocks:
        lines = [line.strip() for line in block.lines]
        # The manuscript sets some captions in italics as a whole; the caption
        # style decides how a caption looks.
        whole = "\n".join(lines)
        if re.fullmatch(r"\*[^*]+\*", whole):
            whole = whole[1:-1]
        text, block_fixes = normalize_typography(whole, block.line)
        parts.append(" ".join(text.split()))
        fixes.extend(block_fixes)
    return mark_russian(" ".join(parts)), fixes


def convert_document(blocks: list[Block]) -> tuple[str, list[Correction]]:
    """One facsimile document (its blocks, then its English caption) → a Pandoc Markdown div."""
    fixes: list[Correction] = []
    body, caption = _split_caption(blocks)
    closed_forms = " ".join(b.text for b in body).lower()
    items: list[list] = []  # [kind, payload, reflow]
    for block in body:
        # Line numbers of the fixes count the block's line breaks: the fixes
        # that keep them run before the one that may close them.
        text = _close_letterspacing(block.text, block.line, fixes)
        text = _close_compounds(text, block.line, closed_forms, fixes)
        text, across = _rejoin_broken_words(text, block.line, fixes)
        lines = text.split("\n")
        first = _HEADING.match(lines[0])
        if first:
            items.append(["heading", (len(first.group(1)), first.group(2)), False])
            lines = lines[1:]
            if not lines:
                continue
        text = "\n".join(lines)
        kind = "table" if "\t" in lines[0] else "para"
        previous = items[-1] if items else None
        if kind == "para" and previous and previous[0] == "para" and _continues(previous[1], text):
            previous[1] = _join_page_break(previous[1], text, block.line, fixes)
            previous[2] = previous[2] or across
            continue
        items.append([kind, text, across])
    parts = []
    for kind, payload, reflow in items:
        if kind == "heading":
            parts.append(_heading(*payload))
        elif kind == "table":
            parts.append(_grid_table(_table_rows(payload)))
        else:
            parts.extend(_hard_breaks(_inline(p), reflow) for p in _paragraphs(payload))
    out = ["::: {.document lang=ru}", *parts]
    if not caption:
        return "\n\n".join(out + [":::"]) + "\n", fixes
    text, caption_fixes = _caption(caption)
    fixes.extend(caption_fixes)
    out.append("::: {.caption lang=en}\n" + text + "\n:::\n:::")
    return "\n\n".join(out) + "\n", fixes


def _continues(before: str, after: str) -> bool:
    """A page break of the facsimile split this paragraph: no sentence end, next starts in lowercase."""
    end = before.rstrip()
    return bool(re.match(r"[а-яё]", after.lstrip())) and (end.endswith("-") or not end.endswith(_TERMINAL))


def _join_page_break(before: str, after: str, line: int, fixes: list[Correction]) -> str:
    end, after = before.rstrip(), after.lstrip()
    if re.search(rf"[{_CYR}]-$", end):
        left = _word_before(end, len(end) - 1)
        right = _word_after(after, 0)
        keep = _keeps_hyphen(left, right)
        pivot = len(end) - (0 if keep else 1)
        joined = end[:pivot] + after
        fixes.append(Correction(line, "hyphenation", f"{left}- {right}", f"{left}{'-' if keep else ''}{right}"))
    else:
        pivot = len(end) + 1
        joined = end + " " + after
    fixes.append(Correction(line, "rejoined-paragraph",
                            " ".join(end.split()[-2:]) + " ¶ " + " ".join(after.split()[:2]),
                            " ".join(joined[:pivot].split()[-2:]) + (" " if joined[pivot - 1] == " " else "")
                            + " ".join(joined[pivot:].split()[:2])))
    return joined
