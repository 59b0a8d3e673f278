"""English typography of imported paragraphs: quotes, apostrophes, dashes, ellipses, ranges, Russian spans."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .blocks import Correction

# Markdown and HTML syntax whose characters are not prose: never retyped,
# never wrapped in a Russian span.
_PROTECTED = re.compile("|".join([
    r"(?P<ticks>`+)[\s\S]*?(?<!`)(?P=ticks)(?!`)",               # inline code
    r"<!--[\s\S]*?-->",                                          # HTML comment
    r"<(?:https?|ftp|mailto):[^<>\s]+>",                         # autolink
    r"(?P<tag></?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>)",        # raw HTML tag
    r"(?:https?://|www\.)[^\s<>\[\]]*[^\s<>\[\].,;:!?\"'“”‘’)*]",  # bare URL
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",                              # e-mail address
    r"\[\^[^\]\s]+\]:?",                                         # note reference
    r"(?<=\])\((?:[^()\s]|\([^()\s]*\))*(?:\s+(?:\"[^\"]*\"|'[^']*'))?\)",  # link target
    r"(?<=[\])`])\{[^{}\n]*\}",                                  # attributes
    r"\{[#.][^{}\n]*\}",                                         # heading/block attributes
    r"\\[\s\S]",                                                 # backslash escape, hard break
]))

# A span that already says which language it is in.
_LANG_SPAN = re.compile(r"\[[^\[\]]*\]\{[^{}\n]*\blang=[^{}\n]*\}")

_OPENING_CONTEXT = set(" \t\n\u00a0([{<—–-/“‘")
_CLOSING_PUNCT = set(".,;:!?)]}")
_EMPHASIS = set("*_")

# Transliterated Russian (Library of Congress, no diacritics) is recognised by
# letter groups that English words almost never have.
_TRANSLIT = re.compile(r"iu|ia|zh|kh|ts|shch|ii|yi|aia|skii|ykh|ikh|ei$|oi$", re.I)

# The Russian hard sign after a prefix (съезд, объединение, подъём) and in
# конъюнктура; the manuscript sometimes typed it with the soft sign's ’.
_HARD_SIGN_STEM = re.compile(
    r"(?i)\b(?:s|ot|pod|raz|ob|iz|vz|nad|pred)['’](?=(?:e|ia|iu)[a-z])|\bkon['’](?=iunktur)")

# Elisions whose apostrophe stands at the start of a word ('30s, 'em).
_ELISION = re.compile(r"(?:\d\d(?:s\b|\b)|em\b|tis\b|twas\b|n\b)", re.I)

_MONTHS = (r"(?:January|February|March|April|May|June|July|August|September|October"
           r"|November|December)")


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    new: str
    kind: str


def _protected_mask(text: str) -> tuple[bytearray, set[int]]:
    """1 for every protected character; the ends of opening HTML tags, which open a context."""
    mask = bytearray(len(text))
    opening_tags: set[int] = set()
    for m in _PROTECTED.finditer(text):
        mask[m.start():m.end()] = b"\x01" * (m.end() - m.start())
        if m.group("tag") and not m.group("tag").startswith("</"):
            opening_tags.add(m.end() - 1)
    return mask, opening_tags


class _Retyper:
    """Collects non-overlapping edits of one paragraph, outside protected syntax."""

    def __init__(self, text: str):
        self.text = text
        self.mask, self.opening_tags = _protected_mask(text)
        self.taken = bytearray(len(text))
        self.edits: dict[int, _Edit] = {}

    def free(self, start: int, end: int) -> bool:
        return not any(self.mask[start:end]) and not any(self.taken[start:end])

    def add(self, start: int, end: int, new: str, kind: str) -> bool:
        if not self.free(start, end) or self.text[start:end] == new:
            return False
        self.taken[start:end] = b"\x01" * (end - start)
        self.edits[start] = _Edit(start, end, new, kind)
        return True

    def sub(self, pattern: re.Pattern, new, kind: str) -> None:
        for m in pattern.finditer(self.text):
            self.add(m.start(), m.end(), new(m) if callable(new) else m.expand(new), kind)

    def effective(self, i: int) -> str:
        """The character at i once the edits so far are applied ("x" for protected syntax)."""
        if self.mask[i]:
            return "(" if i in self.opening_tags else "x"
        if self.taken[i]:
            for start in range(i, -1, -1):
                edit = self.edits.get(start)
                if edit and edit.end > i:
                    return edit.new[-1] if edit.new else self.text[i]
        return self.text[i]

    def before(self, i: int) -> str | None:
        """The character before i, looking through emphasis markers."""
        j = i - 1
        while j >= 0 and self.text[j] in _EMPHASIS and not self.mask[j]:
            j -= 1
        return self.effective(j) if j >= 0 else None

    def after(self, i: int) -> str | None:
        j = i + 1
        while j < len(self.text) and self.text[j] in _EMPHASIS and not self.mask[j]:
            j += 1
        return self.effective(j) if j < len(self.text) else None

    def apply(self) -> tuple[str, list[_Edit], list[int]]:
        """New text, edits in order, and the new position of every old position."""
        out: list[str] = []
        position = [0] * (len(self.text) + 1)
        i = 0
        edits = sorted(self.edits.values(), key=lambda e: e.start)
        k = 0
        length = 0
        while i < len(self.text):
            if k < len(edits) and edits[k].start == i:
                edit = edits[k]
                for j in range(edit.start, edit.end):
                    position[j] = length
                out.append(edit.new)
                length += len(edit.new)
                i = edit.end
                k += 1
                continue
            position[i] = length
            out.append(self.text[i])
            length += 1
            i += 1
        position[len(self.text)] = length
        return "".join(out), edits, position


def _misplaced_apostrophes(r: _Retyper) -> None:
    """`Biulleten 'oppozitsii` → `Biulleten’ oppozitsii`: the soft sign belongs to the word before."""
    pattern = re.compile(r"(?<=[A-Za-z]) ['’](?=[a-z])")
    for m in pattern.finditer(r.text):
        before = re.search(r"[A-Za-z]+$", r.text[:m.start()]).group()
        after = re.match(r"[A-Za-z]+", r.text[m.end():]).group()
        closes_later = re.match(r"[A-Za-z]+['’](?![A-Za-z])", r.text[m.end():])
        if (before[-1].lower() not in "aeiouy" and _TRANSLIT.search(before)
                and _TRANSLIT.search(after) and not closes_later):
            r.add(m.start(), m.end(), "’ ", "misplaced-apostrophe")


def _hard_signs(r: _Retyper) -> None:
    # The printed book writes the transliterated hard sign as ” and the soft
    # sign as ’ (s”ezd, bol’shevikov). The manuscript mixes s"ezd, s''ezd and
    # s’ezd; every form becomes ”, so the letters stay and the sign is one
    # character that no quote pairing or smart-quote pass can take for a quote.
    r.sub(re.compile(r"(?<=[A-Za-z])(?:''|\")(?=[A-Za-z])"), "”", "hard-sign")
    for m in _HARD_SIGN_STEM.finditer(r.text):
        sign = m.end() - 1
        r.add(sign, sign + 1, "”", "hard-sign")


def _dashes(r: _Retyper) -> None:
    # The book sets a spaced em dash; a spaced hyphen, double hyphen or en dash
    # inside a line is that dash typed otherwise. Unspaced "--" is left alone:
    # it is Library of Congress heading syntax (Soviet Union--Politics).
    for m in re.finditer(r"(?<=\S) (?:--?|–) (?=\S)", r.text):
        # A spaced en dash between two numbers is a range set loosely, not a dash.
        if not (m.group() == " – " and r.text[m.start() - 1].isdigit() and r.text[m.end()].isdigit()):
            r.add(m.start(), m.end(), " — ", "dash")
    r.sub(re.compile(r"(?<=[A-Za-z])—(?=[A-Za-z])"), " — ", "dash")
    r.sub(re.compile(r"(?<= )—(?=[A-Za-z])"), "— ", "dash")
    r.sub(re.compile(r"(?<=[A-Za-z])—(?= )"), " —", "dash")


def _ellipses(r: _Retyper) -> None:
    r.sub(re.compile(r"(?<!\.)(?:\.\.\.|\. \. \.)(?!\.)"), "…", "ellipsis")


def _ranges(r: _Retyper) -> None:
    # At most four digits a side and nothing hyphenated or dotted around:
    # ISBNs, LCCNs and compound identifiers keep their hyphens.
    r.sub(re.compile(r"(?<![\w.\-/–])(\d{1,4}s?)-(\d{1,4}s?)(?![\w\-/–]|\.\d)"), r"\1–\2", "range")
    r.sub(re.compile(rf"\b({_MONTHS})-({_MONTHS})\b"), r"\1–\2", "range")


def _spaces(r: _Retyper) -> None:
    # Two spaces at a line end are a hard line break, not a double space.
    r.sub(re.compile(r"(?<=\S) {2,}(?=\S)"), " ", "spaces")


def _quotes(r: _Retyper) -> None:
    text = r.text
    double = single = 0
    for i, ch in enumerate(text):
        if ch not in "\"'" or not r.free(i, i + 1):
            continue
        prev, nxt = r.before(i), r.after(i)
        opening_context = prev is None or prev in _OPENING_CONTEXT or prev.isspace()
        isolated = nxt is None or nxt.isspace() or nxt in _CLOSING_PUNCT
        if ch == '"':
            opens = opening_context and (not isolated or double == 0)
            double = double + 1 if opens else max(0, double - 1)
            r.add(i, i + 1, "“" if opens else "”", "quotes")
            continue
        inside_word = (i > 0 and text[i - 1].isalnum() and i + 1 < len(text) and text[i + 1].isalnum())
        if inside_word:
            r.add(i, i + 1, "’", "apostrophe")
        elif opening_context and _ELISION.match(text, i + 1) and not isolated:
            r.add(i, i + 1, "’", "apostrophe")
        elif opening_context and (not isolated or single == 0):
            single += 1
            r.add(i, i + 1, "‘", "quotes")
        elif single:
            single -= 1
            r.add(i, i + 1, "’", "quotes")
        else:
            r.add(i, i + 1, "’", "apostrophe")


def _excerpt_bounds(text: str, start: int, end: int, width: int = 24) -> tuple[int, int]:
    a = max(0, start - width)
    if a > 0:
        space = text.find(" ", a, start)
        a = space + 1 if space != -1 else a
    b = min(len(text), end + width)
    if b < len(text):
        space = text.rfind(" ", end, b)
        b = space if space != -1 else b
    return a, b


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _corrections(old: str, new: str, edits: list[_Edit], position: list[int],
                 line: int) -> list[Correction]:
    """One correction per kind for edits close together, with excerpts an editor can search for."""
    out: list[Correction] = []
    groups: list[list[_Edit]] = []
    latest: dict[str, list[_Edit]] = {}
    for edit in edits:
        group = latest.get(edit.kind)
        if group is not None and edit.start - group[-1].end <= 30:
            group.append(edit)
        else:
            latest[edit.kind] = [edit]
            groups.append(latest[edit.kind])
    for group in groups:
        a, b = _excerpt_bounds(old, group[0].start, group[-1].end)
        out.append(Correction(line + old.count("\n", 0, group[0].start), group[0].kind,
                              _one_line(old[a:b]), _one_line(new[position[a]:position[b]])))
    return out


def normalize_typography(text: str, line: int) -> tuple[str, list[Correction]]:
    """Curly quotes and apostrophes, em dashes, en-dash ranges, ellipses, single spaces.

    `text` is one paragraph of Pandoc Markdown starting at manuscript `line`;
    code, URLs, HTML tags, note references, link targets and attributes are
    left as they are.
    """
    r = _Retyper(text)
    for step in (_misplaced_apostrophes, _hard_signs, _dashes, _ellipses, _ranges, _spaces, _quotes):
        step(r)
    new, edits, position = r.apply()
    return new, _corrections(text, new, edits, position, line)


# ---------------------------------------------------------------- Russian spans

_CYR = re.compile(r"[\u0400-\u04FF]")
# What may stand between two Cyrillic words of one run. Brackets, emphasis
# markers, backslashes and English quotation marks end a run: a span must not
# cross Markdown syntax, and “…” around a Russian word belongs to the English.
_RUN_INNER = re.compile(r"[\u0400-\u04FF0-9\s.,;:!?\-–—/№%«»„()]")
_OPENERS = {"(": ")", "«": "»", "„": "“"}
_CLOSERS = {v: k for k, v in _OPENERS.items()}


def _run_end(text: str, start: int, stop: int) -> int:
    """End of the run of Russian words that starts at `start` (a Cyrillic letter)."""
    j = start
    low_quotes = 0
    while j < stop:
        ch = text[j]
        if _RUN_INNER.match(ch):
            low_quotes += ch == "„"
        elif ch == "“" and low_quotes:
            low_quotes -= 1
        else:
            break
        j += 1
    # Trim to the last Cyrillic letter or a closing bracket whose opener is in the run.
    end = j
    while end > start:
        ch = text[end - 1]
        if _CYR.match(ch):
            break
        if ch in _CLOSERS and text.count(_CLOSERS[ch], start, end - 1) > text.count(ch, start, end - 1):
            break
        end -= 1
    return end


def _run_start(text: str, start: int, end: int, floor: int) -> int:
    """Take in an opening bracket right before the run when the run closes it."""
    while start > floor and text[start - 1] in _OPENERS:
        opener = text[start - 1]
        if text.count(_OPENERS[opener], start, end) <= text.count(opener, start, end):
            break
        start -= 1
    return start


def mark_russian(text: str) -> str:
    """Wrap each run of Russian words in English text in `[…]{lang=ru}`."""
    mask, _ = _protected_mask(text)
    for m in _LANG_SPAN.finditer(text):
        mask[m.start():m.end()] = b"\x01" * (m.end() - m.start())
    runs: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        if mask[i] or not _CYR.match(text[i]):
            i += 1
            continue
        stop = i
        while stop < n and not mask[stop]:
            stop += 1
        end = _run_end(text, i, stop)
        floor = runs[-1][1] if runs else 0
        start = _run_start(text, i, end, max(floor, _unmasked_from(mask, i)))
        runs.append((start, end))
        i = end
    out, last = [], 0
    for start, end in runs:
        before = text[last:start]
        if start and text[start - 1] == "]" and not mask[start - 1]:
            # `[x][…]{lang=ru}` would read as a reference link and lose the
            # attributes: such a run stays unmarked rather than become wrong.
            out.append(before + text[start:end])
            last = end
            continue
        if before and before[-1] in "!^" and not mask[start - 1]:
            # `![…]` is an image and `^[…]` an inline note: escape the mark.
            before = before[:-1] + "\\" + before[-1]
        out.append(before)
        out.append(f"[{text[start:end]}]{{lang=ru}}")
        last = end
    out.append(text[last:])
    return "".join(out)


def _unmasked_from(mask: bytearray, i: int) -> int:
    """First position of the unprotected stretch that contains i."""
    while i > 0 and not mask[i - 1]:
        i -= 1
    return i
