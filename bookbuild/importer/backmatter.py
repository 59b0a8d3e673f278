"""Back matter of a received manuscript (glossary, congress dates, biographies) as plain data."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from ..errors import Problems
from .blocks import CYRILLIC, Block, Correction

_MONTH = (r"(?:January|February|March|April|May|June|July|August|September|October"
         r"|November|December)")

# A page break of the printed book that falls inside a year range leaves the
# dash at the end of the page ("In 1920–" / "1923, in Narkomzem"): rejoining
# with a space would print "1920– 1923".
_JOIN_WITHOUT_SPACE = ("–", "—", "-")

# The OCR turned some en dashes between two dates into a colon ("2 June 1924:
# 17 November 1929"); a full day-month-year date after the colon makes any
# other reading implausible.
_COLON_FOR_DASH = re.compile(
    rf"(?P<left>\b(?:\d{{1,2}} )?(?:{_MONTH} )?\d{{4}}): (?P<right>\d{{1,2}} {_MONTH} \d{{4}})")

# A page break inside an italic title closes the emphasis on one page and
# opens it again on the next.
_SPLIT_EMPHASIS_END = re.compile(r"(?<![*\s])\*$")
_SPLIT_EMPHASIS_START = re.compile(r"^\*(?![*\s])")

# Markdown list bullets that the conversion put in front of some entries.
_LIST_DASH = re.compile(r"^[-*+]\s+")

# Latin capitals that look like Cyrillic ones; an "original" typed with them
# (`[CHK]` for `[СНК]`) reads right on paper but is wrong for search and speech.
_LOOKALIKES = str.maketrans("ABCEHKMOPTXY", "АВСЕНКМОРТХУ")
_LATIN_TOKEN = re.compile(r"\b[A-Z]{2,}\b")

_SEE = re.compile(
    r"(?:^|(?<=[.;]\s))\*?[Ss]ee\b\*?(?:\s+(?:also|below|above))?\s*\*?:?\*?\s*(?P<names>[^.;()]+)")

_UPPER = "A-ZÀ-ÖØ-Þ"
_SURNAME = rf"[{_UPPER}][{_UPPER}'’\-]*[{_UPPER}]"
_BIO_START = re.compile(rf"^{_SURNAME}\s*(?:\[[^\]]*\]\s*)?,\s*[{_UPPER}][a-zß-ÿ]")
_BIO_HEAD = re.compile(
    rf"^(?P<caps>{_SURNAME})\s*(?:\[(?P<alias0>[^\]]*)\]\s*)?,\s*(?P<names>[^()]*?)\s*"
    r"\((?P<dates>[^()]*)\)\s*\.?\s*(?P<text>.*)$", re.S)
_NAME_PIECE = re.compile(r"\[[^\]]*\]|[^\s\[\]]+")
_PATRONYMIC = re.compile(r"(?:ovich|evich|ich|ovna|evna|ichna)$")
_DATE_SEPARATOR = re.compile(r"\s*[–—:-]\s*")
_PLAIN_DATE = re.compile(rf"^(?:\?|(?:(?:\d{{1,2}} )?{_MONTH} )?\d{{4}})$")
_OLD_STYLE_DATE = re.compile(
    rf"^(?P<d1>\d{{1,2}})(?: (?P<m1>{_MONTH}))?(?: (?P<y1>\d{{4}}))? ?"
    rf"\[(?P<d2>\d{{1,2}})(?: (?P<m2>{_MONTH}))?(?: (?P<y2>\d{{4}}))?\]"
    rf"(?: (?P<m>{_MONTH}))?(?: (?P<y>\d{{4}}))?$")
_QUALIFIED_DATE = re.compile(r"^(?P<date>[^\[\]]+?) \[(?P<note>\D[^\]]*)\]$")
_NOTE_MARKER = re.compile(r"^\s*(?:[-*+]\s+)?(?:<sup>\s*\d+\s*</sup>\s*\.?|\[\d{1,3}\.?\]\(#\)|\d{1,3}\.)\s*")
_RULE = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$")

_CONGRESS_DATES = re.compile(
    rf"^\d{{1,2}}(?: {_MONTH})?(?: \d{{4}})?\s*[–-]\s*\d{{1,2}} {_MONTH} \d{{4}}$"
    rf"|^\d{{1,2}} {_MONTH} \d{{4}}$")
_GROUP_HEADING = re.compile(r"^#{2,}\s+(?P<title>.+?)\s*#*\s*$")


@dataclass
class _Entry:
    """One entry's text, rejoined across lines and page breaks."""

    line: int
    text: str
    starts: list[tuple[int, int]] = field(default_factory=list)

    def line_at(self, offset: int) -> int:
        """The manuscript line that holds the character at `offset` of `text`."""
        found = self.line
        for start, line in self.starts:
            if start > offset:
                break
            found = line
        return found


def _gather(blocks: list[Block], starts_entry) -> tuple[list[_Entry], list[Correction],
                                                        list[tuple[int, str]]]:
    """Group lines into entries; a line that does not start an entry continues the last one.

    Returns the entries, the corrections (list bullets dropped, page breaks
    rejoined) and the lines found before the first entry.
    """
    entries: list[_Entry] = []
    corrections: list[Correction] = []
    orphans: list[tuple[int, str]] = []
    for number, text, index in _lines(blocks):
        unbulleted = _LIST_DASH.sub("", text, count=1)
        if starts_entry(unbulleted):
            if unbulleted != text:
                corrections.append(Correction(number, "list-marker", text[:40], unbulleted[:40]))
            entries.append(_Entry(number, unbulleted, [(0, number)]))
        elif not entries:
            orphans.append((number, text))
        else:
            entry = entries[-1]
            before = f"{entry.text[-40:]}\n\n{text[:40]}"
            separator = "" if entry.text.endswith(_JOIN_WITHOUT_SPACE) else " "
            if _SPLIT_EMPHASIS_END.search(entry.text) and _SPLIT_EMPHASIS_START.match(text):
                # `*Nashe*` / `*Slovo*`: one title in italics, cut by the page break.
                entry.text, text = entry.text[:-1], text[1:]
            head = len(entry.text) + len(separator)
            entry.starts.append((head, number))
            entry.text += separator + text
            # Lines inside one block are one paragraph already; only a
            # blank line (a page break in print) is a change to report.
            if index == 0:
                after = entry.text[max(0, head - len(separator) - 40):head + 40]
                corrections.append(Correction(number, "rejoined", before, after))
    return entries, sorted(corrections, key=lambda c: c.line), orphans


def _fix_colon_dashes(entry: _Entry, offset: int, text: str) -> tuple[str, list[Correction]]:
    """En dashes for the colons the OCR put between two dates; `offset` locates `text` in the entry."""
    corrections = [
        Correction(entry.line_at(offset + m.start()), "dash", m.group(0),
                   f"{m.group('left')}–{m.group('right')}")
        for m in _COLON_FOR_DASH.finditer(text)
    ]
    return _COLON_FOR_DASH.sub(r"\g<left>–\g<right>", text), corrections


# ---------------------------------------------------------------- glossary

def _split_names(inner: str) -> list[tuple[str, str | None]] | None:
    """`RKI [Рабоче-…]; Rabkrin [Рабкрин]` → [(name, bracket), …]; None if malformed."""
    parts: list[tuple[str, str | None]] = []
    i, n = 0, len(inner)
    while i < n:
        j = i
        while j < n and inner[j] not in "[];":
            j += 1
        name = inner[i:j].strip()
        if not name or (j < n and inner[j] == "]"):
            return None
        bracket = None
        if j < n and inner[j] == "[":
            depth, k = 0, j
            while k < n:
                depth += {"[": 1, "]": -1}.get(inner[k], 0)
                if depth == 0:
                    break
                k += 1
            if k == n:
                return None
            bracket = inner[j + 1:k]
            j = k + 1
            while j < n and inner[j] == " ":
                j += 1
        if j < n:
            if inner[j] != ";":
                return None
            j += 1
        parts.append((name, bracket))
        i = j
    return parts


def _classify_bracket(bracket: str | None) -> tuple[str | None, str | None, str | None]:
    """(original, abbreviation, lookalike warning) for the bracket after a term."""
    if bracket is None:
        return None, None, None
    lookalikes = [t for t in _LATIN_TOKEN.findall(bracket)
                  if t.translate(_LOOKALIKES) != t and not re.search(r"[A-Z]", t.translate(_LOOKALIKES))]
    warning = None
    if lookalikes:
        shown = ", ".join(f"'{t}' (for '{t.translate(_LOOKALIKES)}'?)" for t in lookalikes)
        warning = f"Latin letters that look like Cyrillic in [{bracket}]: {shown}"
    if CYRILLIC.search(bracket) or lookalikes:
        return bracket, None, warning
    return None, bracket, None


def _see_also_names(definition: str) -> list[str]:
    names: list[str] = []
    for m in _SEE.finditer(definition):
        for name in re.split(r",\s*|\s+and\s+", m.group("names")):
            name = name.strip(" *")
            if name and name not in names:
                names.append(name)
    return names


def _term_key(term: str) -> str:
    """How a see-also reference matches a headword: case, quotes and `(RVS)` do not count."""
    term = re.sub(r"\s*\([^)]*\)", "", term)
    return term.strip("“”\"' ").casefold()


def _lines(blocks: list[Block]):
    """(manuscript line number, stripped text, index in its block) of every non-empty line."""
    for block in blocks:
        for index, raw in enumerate(block.lines):
            text = raw.replace("\u00a0", " ").strip()
            if text:
                yield block.line + index, text, index


def parse_glossary(blocks: list[Block], path: str, problems: Problems
                   ) -> tuple[list[dict], list[Correction]]:
    """Glossary blocks (after the `#` heading) → entries, in manuscript order."""
    entries, corrections, orphans = _gather(blocks, lambda s: s.startswith("**"))
    for line, text in orphans:
        problems.error(path, line, 1, "I009", f"text before the first glossary term: {text[:60]!r}")
    result: list[dict] = []
    for entry in entries:
        m = re.match(r"\*\*(?P<inner>.+?)\*\*(?P<rest>.*)$", entry.text, re.S)
        if not m:
            problems.error(path, entry.line, 1, "I009", f"term not closed with '**': {entry.text[:60]!r}")
            continue
        inner = m.group("inner").strip()
        rest = m.group("rest")
        colon = inner.endswith(":")
        inner = inner.rstrip(":").rstrip()
        stripped_rest = rest.lstrip()
        if stripped_rest.startswith(":"):
            colon = True
            stripped_rest = stripped_rest[1:]
        if not colon:
            problems.warning(path, entry.line, 1, "I009", f"no colon after the term '{inner}'")
        definition = stripped_rest.strip()
        names = _split_names(inner)
        if names is None:
            problems.error(path, entry.line, 1, "I009", f"term and original not understood: '{inner}'")
            names = [(inner, None)]
        if not definition:
            problems.error(path, entry.line, 1, "I009", f"term '{inner}' has no definition")
        definition, fixes = _fix_colon_dashes(entry, len(entry.text) - len(definition), definition)
        corrections.extend(fixes)
        named = []
        for name, bracket in names:
            original, abbreviation, warning = _classify_bracket(bracket)
            if warning:
                problems.warning(path, entry.line, 1, "I009", warning)
            if CYRILLIC.search(name):
                problems.warning(path, entry.line, 3, "I009",
                                 f"term '{name}' is written in Cyrillic; the other headwords are "
                                 "transliterated (check the spelling)")
            named.append({"term": name, "original": original, "abbreviation": abbreviation})
        result.append({**named[0], "variants": named[1:], "definition": definition,
                       "see_also": _see_also_names(definition), "line": entry.line})
    _resolve_see_also(result, path, problems)
    return result, sorted(corrections, key=lambda c: c.line)


def _resolve_see_also(entries: list[dict], path: str, problems: Problems) -> None:
    """Point each see-also reference at the headword as it is spelled in the glossary."""
    headwords: dict[str, str] = {}
    for entry in entries:
        for named in [entry, *entry["variants"]]:
            headwords.setdefault(_term_key(named["term"]), entry["term"])
            headwords.setdefault(named["term"].casefold(), entry["term"])
    for entry in entries:
        resolved = []
        for name in entry["see_also"]:
            target = headwords.get(name.casefold()) or headwords.get(_term_key(name))
            if target is None:
                problems.warning(path, entry["line"], 1, "I009",
                                 f"'{entry['term']}' refers to '{name}', which is not a glossary term")
                target = name
            resolved.append(target)
        entry["see_also"] = resolved


# ---------------------------------------------------------------- congresses

def parse_congresses(blocks: list[Block], path: str, problems: Problems) -> list[dict]:
    """`## Group` headings and `Name: dates` lines → groups of dated items."""
    groups: list[dict] = []
    for number, text, _ in _lines(blocks):
        heading = _GROUP_HEADING.match(text)
        if heading:
            groups.append({"group": heading.group("title"), "items": []})
            continue
        if not groups:
            problems.warning(path, number, 1, "I010", "dates before the first group heading")
            groups.append({"group": None, "items": []})
        name, colon, dates = text.rpartition(": ")
        if not colon or not name.strip():
            problems.error(path, number, 1, "I010", f"no 'name: dates' in {text[:60]!r}")
            name, dates = text, None
        elif not _CONGRESS_DATES.match(dates.strip()):
            problems.error(path, number, len(name) + 3, "I010", f"dates not understood: {dates!r}")
        elif "-" in dates:
            problems.warning(path, number, len(name) + 3, "I010",
                             f"hyphen where an en dash belongs in {dates!r}")
        groups[-1]["items"].append({"name": name.strip(), "dates": dates.strip() if dates else None,
                                    "line": number})
    return groups


# ---------------------------------------------------------------- biographies

def _normal_case(caps: str) -> str:
    """`ANTONOV-OVSEENKO` → `Antonov-Ovseenko`."""
    return re.sub(r"[^\W\d_]+", lambda m: m.group(0).capitalize(), caps.lower())


def _slug(*parts: str | None) -> str:
    text = " ".join(p for p in parts if p)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _split_life_dates(side: str) -> tuple[str, str | None, str | None]:
    """One side of `(born–died)` → (New Style as printed, Old Style or None, doubt or None)."""
    if _PLAIN_DATE.match(side):
        return side, None, None
    m = _OLD_STYLE_DATE.match(side)
    if m:
        g = m.groupdict()
        os_month, ns_month = g["m1"] or g["m"], g["m2"] or g["m"] or g["m1"]
        os_year, ns_year = g["y1"] or g["y"], g["y2"] or g["y"]
        old = " ".join(p for p in (g["d1"], os_month, os_year) if p)
        new = " ".join(p for p in (g["d2"], ns_month, ns_year) if p)
        doubt = None
        if not (os_month and ns_month and os_year and ns_year):
            doubt = f"date '{side}' lacks a month or year"
        return new, old, doubt
    m = _QUALIFIED_DATE.match(side)
    if m and _PLAIN_DATE.match(m.group("date")):
        # `? [no sooner than 1956]`: the bracket qualifies the date, it is no Old Style date.
        return side, None, None
    return side, None, f"date '{side}' not understood"


def _parse_names(alias0: str | None, names: str) -> tuple[dict, str | None]:
    """`Given [alias] Patronymic` → name fields, or a doubt."""
    words: list[str] = []
    aliases: list[tuple[str, int]] = []
    if alias0 is not None:
        aliases.append((alias0, -1))
    for piece in _NAME_PIECE.findall(names):
        if piece.startswith("["):
            aliases.append((piece[1:-1], len(words)))
        else:
            words.append(piece)
    if not words:
        return {}, "no given names"
    patronymic = words[-1] if len(words) > 1 and _PATRONYMIC.search(words[-1]) else None
    given = words[:-1] if patronymic else words
    fields = {"given_names": " ".join(given), "patronymic": patronymic, "alias": None,
              "alias_after": None}
    if len(aliases) > 1:
        return fields, "more than one bracketed alias"
    if aliases:
        alias, position = aliases[0]
        if position == -1:
            after = "surname"
        elif position == len(given):
            after = "given_names"
        elif position == len(words) and patronymic:
            after = "patronymic"
        else:
            return fields, f"alias [{alias}] inside the given names"
        fields.update(alias=alias, alias_after=after)
    return fields, None


def _parse_person(entry: _Entry, path: str, problems: Problems
                  ) -> tuple[dict | None, list[Correction]]:
    m = _BIO_HEAD.match(entry.text)
    if not m:
        problems.error(path, entry.line, 1, "I008",
                       f"no 'SURNAME, Given Patronymic (dates).' in {entry.text[:60]!r}")
        return None, []
    corrections: list[Correction] = []
    names, doubt = _parse_names(m.group("alias0"), m.group("names"))
    if doubt:
        problems.error(path, entry.line, 1, "I008", f"{m.group('caps')}: {doubt}")
        if not names:
            return None, []

    printed = m.group("dates").strip()
    separators = [s for s in _DATE_SEPARATOR.finditer(printed)
                  if printed.count("[", 0, s.start()) == printed.count("]", 0, s.start())]
    if len(separators) != 1:
        problems.error(path, entry.line, m.start("dates") + 1, "I008",
                       f"{m.group('caps')}: dates not understood: ({printed})")
        dates, born, born_os, died, died_os = printed, printed, None, None, None
    else:
        sep = separators[0]
        dates = f"{printed[:sep.start()]}–{printed[sep.end():]}"
        if dates != printed:
            corrections.append(Correction(entry.line, "dash", f"({printed})", f"({dates})"))
        born, born_os, doubt_born = _split_life_dates(printed[:sep.start()])
        died, died_os, doubt_died = _split_life_dates(printed[sep.end():])
        for doubt in (doubt_born, doubt_died):
            if doubt:
                problems.warning(path, entry.line, m.start("dates") + 1, "I008",
                                 f"{m.group('caps')}: {doubt}")

    text, fixes = _fix_colon_dashes(entry, m.start("text"), m.group("text").strip())
    corrections.extend(fixes)
    if not text:
        problems.warning(path, entry.line, 1, "I008", f"{m.group('caps')}: no text after the dates")
    caps = m.group("caps")
    surname = _normal_case(caps)
    person = {
        "id": _slug(surname, names["given_names"], names["patronymic"]),
        "surname": surname, "surname_caps": caps, **names,
        "dates": dates, "born": born, "born_os": born_os, "died": died, "died_os": died_os,
        "text": text, "line": entry.line,
    }
    return person, corrections


def parse_biographies(blocks: list[Block], source_note: str, path: str, problems: Problems
                      ) -> tuple[dict, list[Correction]]:
    """Biography blocks (after the `#` heading) → `{source_note, people}`.

    `source_note` is the note the heading's superscript refers to; a leading
    note marker (`<sup>1</sup>.`, `1.`) is dropped. Blocks after a `---` rule
    are taken as that note: they must be the same text, or stand for it when
    `source_note` is empty.
    """
    entry_blocks, note_blocks = blocks, []
    for index, block in enumerate(blocks):
        if _RULE.match(block.lines[0]) and len(block.lines) == 1:
            entry_blocks, note_blocks = blocks[:index], blocks[index + 1:]
            break
    note = _NOTE_MARKER.sub("", source_note or "").strip()
    trailing = _NOTE_MARKER.sub("", " ".join(" ".join(b.lines) for b in note_blocks)).strip()
    if trailing and not note:
        note = trailing
    elif trailing and " ".join(trailing.split()) != " ".join(note.split()):
        problems.error(path, note_blocks[0].line, 1, "I008",
                       "text after the rule that ends the biographies is not the source note")
    if not note:
        problems.warning(path, blocks[0].line if blocks else 0, 1, "I008",
                         "the biographies have no source note")

    entries, corrections, orphans = _gather(entry_blocks, lambda s: bool(_BIO_START.match(s)))
    for line, text in orphans:
        problems.error(path, line, 1, "I008", f"text before the first biography: {text[:60]!r}")
    people: list[dict] = []
    seen: dict[str, int] = {}
    for entry in entries:
        person, fixes = _parse_person(entry, path, problems)
        corrections.extend(fixes)
        if person is None:
            continue
        if person["id"] in seen:
            seen[person["id"]] += 1
            problems.warning(path, entry.line, 1, "I008",
                             f"id '{person['id']}' already used on line "
                             f"{next(p['line'] for p in people if p['id'] == person['id'])}")
            person["id"] += f"-{seen[person['id']]}"
        else:
            seen[person["id"]] = 1
        people.append(person)
    return {"source_note": note, "people": people}, sorted(corrections, key=lambda c: c.line)
