"""One received unit (chapter, foreword, …) → clean Pandoc Markdown."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from ..errors import Problems
from ..mdsyntax import note_marks, undefined_references
from .blocks import Block, Correction
from .settings import ImportSettings

# Note definitions come as `[12.](#) …`, `- [12.](#) …`, `<sup>1</sup>. …`,
# `<sup>1.</sup> …` or a plain `12. …` list item.
NOTE_DEF_MARKED = re.compile(
    r"^\s*(?:-\s+)?(?:\[(\d+)\.?\]\(#\)|<sup>\[?(\d+)\.?(?:\]\(#\))?</sup>\.?)\s*(.*)$")
NOTE_DEF_PLAIN = re.compile(r"^\s*(?:-\s+)?(\d+)\.\s+(.*)$")
NOTE_REF = re.compile(r"<sup>\s*(?:\[(\d+)\]\(#\)|(\d+(?:\s*,\s*\d+)*)\.?)\s*</sup>")
# A paragraph that ends in one of these ends a sentence (note refs, closing
# quotes and emphasis markers are looked through).
TERMINAL = tuple(".!?:;…")
CAPTION_PART = re.compile(r"^\*(?:Standing|Seated|Bottom|Below|Center|Condition \d+)\b")
# Blocks kept as the author set them: lists, tables, block quotations (never joined to a paragraph).
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)]|\(?[a-z]\))\s+\S")
VERBATIM = {"list": LIST_ITEM, "table": re.compile(r"^\s*(?:\||\+[-=])"), "quote": re.compile(r"^\s*>")}
CAPTION_DATES = re.compile(r"^\(?[\d?]{0,4}[–-][\d?]{0,4}\)?\.?\*?$|^\d{4}[–-]\d{4}\.?$")


def slugify(text: str) -> str:
    """ASCII slug of a title or name: lowercase words joined by hyphens."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"['’‘]", "", text)
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass
class Note:
    number: int
    text: str
    line: int


@dataclass
class Item:
    """A piece of the unit's body in reading order."""

    kind: str  # para, figure, document, heading, list, table, quote, break
    text: str
    line: int
    blocks: list[Block] = field(default_factory=list)
    level: int = 0  # a heading's level in the manuscript


@dataclass
class ParsedUnit:
    items: list[Item]
    notes: list[Note]
    figures: list[dict]
    corrections: list[Correction]


def _is_caption(block: Block) -> bool:
    text = block.text.strip()
    if not text.startswith("*") or text.startswith("**"):
        return False
    first = block.lines[0].rstrip()
    if text.endswith("*") and not re.search(r"\*\s+\S", text[1:-1].replace("*  \n", "\n")):
        return len(text) < 700
    rest = [line.strip() for line in block.lines[1:]]
    return first.endswith("*") and bool(rest) and all(CAPTION_DATES.match(r) for r in rest)


def _is_document(block: Block) -> bool:
    return block.cyrillic_share() > 0.5


def _note_def(line: str, expected: int, in_notes: bool, next_number: bool = True) -> tuple[int, str] | None:
    """A note definition: marked as one, or a plain numbered item inside the note list (or,
    when the settings allow `next-number`, one numbered as the next note)."""
    m = NOTE_DEF_MARKED.match(line)
    if m:
        return int(m.group(1) or m.group(2)), m.group(3)
    m = NOTE_DEF_PLAIN.match(line)
    if m and (in_notes or next_number and int(m.group(1)) == expected):
        return int(m.group(1)), m.group(2)
    return None


def _bare(text: str) -> str:
    """Text with trailing note refs, emphasis and closing quotes removed."""
    text = re.sub(r"(?:\s*,?\s*(?:<sup>[^<]*</sup>|\[\^\d+\]))+\s*$", "", text.rstrip())
    return text.rstrip("*”\"’')]")


def _starts_lower(text: str) -> bool:
    m = re.match(r"[\s*“\"‘'(\[]*(\w)", text)
    return bool(m) and m.group(1).islower()


def caption_markdown(block: Block) -> str:
    """The caption's words on one line, without the manuscript's italics."""
    parts = [line.strip().strip("*").strip() for line in block.lines]
    return " ".join(p for p in parts if p)


def convert_refs(text: str) -> str:
    """`<sup>12</sup>` and its variants → Pandoc note references `[^12]`."""
    def repl(m: re.Match) -> str:
        numbers = re.findall(r"\d+", m.group(1) or m.group(2))
        return "".join(f"[^{n}]" for n in numbers)
    return NOTE_REF.sub(repl, text)


def parse_unit(blocks: list[Block], path: str, problems: Problems,
               used_figure_ids: set[str], settings: ImportSettings | None = None) -> ParsedUnit:
    """Split a unit's blocks into body items and notes (rejoining split paragraphs when the
    settings say the manuscript splits them); what the settings do not name stays text."""
    settings = settings or ImportSettings()
    next_number = "next-number" in settings.note_list
    items: list[Item] = []
    notes: list[Note] = []
    figures: list[dict] = []
    corrections: list[Correction] = []
    in_notes = False
    in_document = doc_caption = False
    previous: Block | None = None
    for block in blocks:
        text = block.text.strip()
        if text in ("---", "***", "* * *"):
            # Inside a facsimile a rule is part of the document's own layout.
            if not in_document and "rule" in settings.note_list:
                in_notes = True
            elif not in_document:
                items.append(Item("break", text, block.line, [block]))
            continue
        if "heading" in settings.note_list and re.fullmatch(
                rf"#+\s*{re.escape(settings.note_heading)}\s*", text, re.I):
            # The note list's own heading: the book sets its notes under a heading of its own.
            in_notes = True
            corrections.append(Correction(block.line, "notes-heading", text, ""))
            continue
        if in_document and not doc_caption and (
                block.cyrillic_share() > 0.2 or not re.search(r"[A-Za-z]", text)):
            items[-1].blocks.append(block)
            continue
        if settings.documents and _is_document(block):
            in_document = True
            doc_caption = False
            items.append(Item("document", "", block.line, [block]))
            continue
        if in_document:
            is_note = _note_def(block.lines[0], len(notes) + 1, in_notes, next_number) is not None
            if not is_note and (_is_caption(block) or (
                    (not doc_caption or in_notes) and _is_document_caption(block))):
                items[-1].blocks.append(block)
                doc_caption = True
                continue
            in_document = False
        caption_block = settings.italic_captions and _is_caption(block)
        if caption_block and items and items[-1].kind == "figure" and CAPTION_PART.match(block.text):
            # "Sitting: …" then "Standing: …": two lines of one photograph's caption.
            items[-1].text += " " + caption_markdown(block)
            items[-1].blocks.append(block)
            figures[-1]["caption"] = items[-1].text
            continue
        if caption_block:
            caption = caption_markdown(block)
            figures.append(_figure(caption, block.line, used_figure_ids))
            items.append(Item("figure", caption, block.line, [block]))
            continue
        first = _note_def(block.lines[0], len(notes) + 1, in_notes, next_number)
        if first:
            in_notes = True
            for offset, line in enumerate(block.lines):
                found = _note_def(line, len(notes) + 1, True, next_number)
                if found:
                    notes.append(Note(found[0], found[1].strip(), block.line + offset))
                elif notes:
                    notes[-1].text += " " + line.strip()
            continue
        if in_notes and notes and not text.startswith("#") and not settings.figures_after_notes:
            problems.warning(path, block.line, 1, "I021", f"“{text[:40]}” follows the note list: kept as a "
                             "paragraph (figures_after_notes in the import settings makes such blocks captions)")
            items.append(Item("para", text, block.line, [block]))
            continue
        if in_notes and notes and not text.startswith("#"):
            # After the note list only the captions of the chapter's closing
            # pictures follow; a plain caption may run over several blocks.
            caption = caption_markdown(block)
            if items and items[-1].kind == "figure" and items[-1].blocks[-1] is previous:
                items[-1].text += " " + caption
                items[-1].blocks.append(block)
                figures[-1]["caption"] = items[-1].text
            else:
                figures.append(_figure(caption, block.line, used_figure_ids))
                items.append(Item("figure", caption, block.line, [block]))
            previous = block
            continue
        if text.startswith("#"):
            level = len(text) - len(text.lstrip("#"))
            items.append(Item("heading", text.lstrip("#").strip(), block.line, [block], level))
            continue
        kind = next((k for k, pattern in VERBATIM.items() if pattern.match(block.lines[0])), "para")
        items.append(Item(kind, block.text if kind != "para" else text, block.line, [block]))
    items = _rejoin(items, path, problems, corrections, settings.rejoin_paragraphs)
    return ParsedUnit(items, notes, figures, corrections)


def _is_document_caption(block: Block) -> bool:
    """The English caption under a facsimile: short or broken into lines, not the next paragraph."""
    text = block.text.strip()
    return not _starts_lower(text) and (len(block.lines) > 1 or len(text) < 500)


def _figure(caption: str, line: int, used: set[str]) -> dict:
    # Cut at the first comma, colon, bracket or full stop, but not at an initial.
    plain = re.sub(r"\([^)\d]*\)", "", caption)  # "Vissarion (Beso) Lominadze"
    name = re.split(r"[,:(\[]|(?<![A-Z])\.(?:\s|$)", plain)[0].strip()
    if len(name.split()) < 2:
        name = plain
    base = slugify(" ".join(name.split()[:8])) or "figure"
    fig_id, n = f"fig-{base}", 2
    while fig_id in used:
        fig_id, n = f"fig-{base}-{n}", n + 1
    used.add(fig_id)
    return {"id": fig_id, "image": f"images/{fig_id[4:]}.jpg", "caption": caption, "line": line}


def _rejoin(items: list[Item], path: str, problems: Problems,
            corrections: list[Correction], join: bool = True) -> list[Item]:
    """Rejoin paragraphs that a page break of the printed book split in two (when `join`;
    otherwise each such place is only reported)."""
    out: list[Item] = []
    last_para: Item | None = None
    for item in items:
        if item.kind in ("heading", "table", "quote", "break"):
            last_para = None
        if item.kind == "list":
            # A list item split by a page break goes on in the next paragraph.
            last_para = item if len(item.blocks[0].lines) == 1 else None
        if item.kind != "para":
            out.append(item)
            continue
        if last_para is not None:
            before = _bare(last_para.text)
            ends_sentence = before.endswith(TERMINAL)
            lower = _starts_lower(item.text)
            if join and not ends_sentence and (lower or re.search(r"[\w,—–-]$", before)):
                joiner = "" if before.endswith("-") and before[-2:-1].isalpha() and lower else " "
                corrections.append(Correction(
                    item.line, "rejoined",
                    f"…{last_para.text[-30:]} ¶ {item.text[:30]}…",
                    f"…{last_para.text[-30:]}{joiner}{item.text[:30]}…"))
                last_para.text = last_para.text.rstrip() + joiner + item.text.lstrip()
                last_para.blocks.extend(item.blocks)
                continue
            if not ends_sentence or lower:
                problems.warning(
                    path, item.line, 1, "I006",
                    f"paragraph may continue the one at line {last_para.line} "
                    f"(“…{last_para.text[-25:]}” ¶ “{item.text[:25]}…”): join them in book/ if so")
        out.append(item)
        last_para = item
    return out


def drop_duplicate_paragraphs(parsed: ParsedUnit) -> None:
    """A paragraph printed twice in a row by the conversion keeps its first copy."""
    seen: dict[str, int] = {}
    kept: list[Item] = []
    for item in parsed.items:
        if item.kind == "para" and len(item.text) > 80 and item.text in seen:
            parsed.corrections.append(Correction(
                item.line, "duplicate-removed", item.text[:60] + "…",
                f"(same paragraph as line {seen[item.text]})"))
            continue
        if item.kind == "para":
            seen[item.text] = item.line
        kept.append(item)
    parsed.items = kept


def _ref_line(item: Item, number: int) -> int:
    """The manuscript line of the last reference to note `number` in a (rejoined) paragraph."""
    return next((b.line + i for b in reversed(item.blocks)
                 for i, raw in reversed(list(enumerate(b.lines)))
                 if re.search(rf"<sup>\D*\b{number}\b\D*</sup>", raw)), item.line)


def resolve_notes(parsed: ParsedUnit, label: str, path: str, problems: Problems) -> None:
    """Make references and definitions agree, fixing what the text makes certain."""
    notes = parsed.notes
    for i, note in enumerate(notes):
        wanted = i + 1
        neighbours_agree = (i == 0 or notes[i - 1].number == i) and (
            i + 1 == len(notes) or notes[i + 1].number == i + 2)
        if note.number != wanted and neighbours_agree:
            parsed.corrections.append(Correction(
                note.line, "note-number", f"{note.number}. {note.text[:30]}", f"{wanted}. (between {i} and {i + 2})"))
            note.number = wanted
    defined = {n.number for n in notes}
    seen: set[int] = set()
    for item in parsed.items:
        if item.kind not in ("para", "heading", "list", "quote", "table"):
            continue

        def keep_first(m: re.Match) -> str:
            number = int(m.group(1))
            if number in seen:
                problems.warning(path, _ref_line(item, number), 1, "I005",
                                 f"{label}: note {number} is referenced twice; the second reference "
                                 "was dropped (one definition only): check against the printed book")
                parsed.corrections.append(Correction(_ref_line(item, number), "duplicate-note-ref", m.group(0), ""))
                return ""
            seen.add(number)
            return m.group(0)
        item.text = re.sub(r"\[\^(\d+)\]", keep_first, convert_refs(item.text))
    missing: dict[int, int] = {}
    for item in parsed.items:
        if item.kind in ("para", "heading"):
            for ref in undefined_references(note_marks(item.text).refs, map(str, defined)):
                if ref.label.isdigit():  # the manuscript's references are numbers (convert_refs)
                    missing.setdefault(int(ref.label), item.line)
    for number, line in sorted(missing.items()):
        problems.warning(path, line, 1, "I003",
                         f"{label}: note {number} is referenced but the manuscript has no text for it; "
                         "a marked placeholder was written: supply the note")
        notes.append(Note(number, "[The text of this note is missing from the received manuscript.]{.missing}", line))
    for note in notes:
        if note.number not in seen:
            problems.warning(path, note.line, 1, "I004",
                             f"{label}: note {note.number} has no reference in the text: place its reference")
    notes.sort(key=lambda n: n.number)
    numbers = [n.number for n in notes]
    if numbers != list(range(1, len(numbers) + 1)):
        problems.warning(path, notes[0].line if notes else 1, 1, "I012",
                         f"{label}: notes are numbered {numbers}: check the order")


def _document_blocks(blocks: list[Block], corrections: list[Correction]) -> list[Block]:
    """A facsimile's own footnote marks are superscripts, not the chapter's notes."""
    out = []
    for block in blocks:
        lines = []
        for offset, line in enumerate(block.lines):
            new = re.sub(r"\s?<sup>\s*(\d+)\.?\s*</sup>", r"^\1^", line)
            if new != line:
                corrections.append(Correction(block.line + offset, "facsimile-mark", "<sup>…</sup>", "^…^"))
            lines.append(new)
        out.append(Block(block.line, lines))
    return out


def unit_markdown(parsed: ParsedUnit, title: str, unit_id: str, settings: ImportSettings | None = None) -> str:
    """The unit as a Pandoc Markdown file: title, body in reading order, notes."""
    from .documents import convert_document
    from .typography import mark_russian, normalize_typography

    restyle = (settings or ImportSettings()).restyle

    def english(text: str, line: int) -> str:
        if restyle:
            text, fixes = normalize_typography(text, line)
            parsed.corrections.extend(fixes)
        return mark_russian(text)

    parts = [f"# {english(title, parsed.items[0].line if parsed.items else 0)} {{#{unit_id}}}"]
    figures = iter(parsed.figures)
    for item in parsed.items:
        if item.kind == "para":
            parts.append(english(item.text, item.line))
        elif item.kind == "figure":
            fig = next(figures)
            caption = english(fig["caption"], item.line)
            fig["caption"] = caption
            parts.append(f"![{caption}]({fig['image']}){{#{fig['id']}}}")
        elif item.kind == "document":
            markdown, fixes = convert_document(_document_blocks(item.blocks, parsed.corrections))
            parsed.corrections.extend(fixes)
            parts.append(markdown.strip())
        elif item.kind == "heading":
            # A sub-heading stays one: under the unit's own `#`, at least `##`.
            parts.append("#" * max(item.level, 2) + " " + english(item.text, item.line))
        elif item.kind in ("list", "table", "quote", "break"):
            parts.append(english(item.text, item.line) if item.kind != "table" else item.text)
    for note in parsed.notes:
        body = english(note.text, note.line).replace("\n\n", "\n\n    ")
        parts.append(f"[^{note.number}]: {body}")
    return "\n\n".join(parts) + "\n"
