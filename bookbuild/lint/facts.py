"""Facts the text states: figures' art, glossary terms, impossible dates, Old/New Style pairs."""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from .report import Finding, at, quoted
from .source import DOCUMENT, RU, Text
from .spelling import WORD

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
MONTH = "|".join(MONTHS)
DAY_MONTH = re.compile(rf"(?<![\w.,/–-])(?:(?P<d0>\d{{1,2}})[–-])?(?P<d>\d{{1,2}})\s+(?P<m>{MONTH})\b"
                       rf"(?:,?\s+(?P<y>\d{{4}})(?!\d))?(?P<os>\s*\[)?")
MONTH_DAY = re.compile(rf"\b(?P<m>{MONTH})\s+(?P<d>\d{{1,2}})(?![\d:–-])(?:,\s+(?P<y>\d{{4}})(?!\d))?")
# "9 [21] March 1883", "22 March [4 April] 1904", "31 December 1904 [13 January 1905]".
OLD_NEW = re.compile(
    rf"(?<![\w.,/–-])(?P<d1>\d{{1,2}})(?:\s+(?P<m1>{MONTH}))?(?:\s+(?P<y1>\d{{4}}))?\s*"
    rf"\[(?P<d2>\d{{1,2}})(?:\s+(?P<m2>{MONTH}))?(?:\s+(?P<y2>\d{{4}}))?\]"
    rf"(?:\s+(?P<m3>{MONTH}))?(?:,?\s+(?P<y3>\d{{4}})(?!\d))?")
DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


# --- figures ----------------------------------------------------------------------------------

def figures(texts: list[Text], repo: Path) -> Iterator[Finding]:
    for t in texts:
        for start, _, path in t.figures:
            if path and "://" not in path and not (repo / path).is_file():
                yield at(t, start, "L017", f"figure art {path} is absent (a placeholder is printed)", path)


# --- dates ------------------------------------------------------------------------------------

def _leap(year: int, julian: bool) -> bool:
    return year % 4 == 0 and (julian or year % 100 != 0 or year % 400 == 0)


def _impossible(day: int, month: int, year: int | None, julian: bool) -> bool:
    if day < 1 or day > DAYS[month - 1]:
        return True
    return month == 2 and day == 29 and year is not None and not _leap(year, julian)


def dates(texts: list[Text]) -> Iterator[Finding]:
    for t in texts:
        view = t.view
        for regex in (DAY_MONTH, MONTH_DAY):
            for m in regex.finditer(view):
                if t.flags[m.start()] & RU:
                    continue
                month = MONTHS.index(m.group("m")) + 1
                year = int(m.group("y")) if m.group("y") else None
                julian = bool(m.groupdict().get("os"))
                days = [m.group("d")] + ([m.group("d0")] if m.groupdict().get("d0") else [])
                for day in days:
                    if _impossible(int(day), month, year, julian):
                        shown = " ".join(m.group().rstrip("[ ").split())
                        yield at(t, m.start(), "L020", f"impossible date {quoted(shown)}: "
                                 f"{m.group('m')} {'of ' + str(year) + ' ' if year else ''}has no day {int(day)}", shown)
                        break
        yield from _old_new(t)


def _jdn(year: int, month: int, day: int) -> int:
    """Day number in the proleptic Gregorian calendar (days past a month's end roll over)."""
    a = (14 - month) // 12
    y, m = year + 4800 - a, month + 12 * a - 3
    return day + (153 * m + 2) // 5 + 365 * y + y // 4 - y // 100 + y // 400 - 32045


def _old_new(t: Text) -> Iterator[Finding]:
    """New Style ran 12 days ahead of Old Style in the 19th century and 13 in the 20th (to 1918)."""
    for m in OLD_NEW.finditer(t.view):
        if t.flags[m.start()] & (RU | DOCUMENT):
            continue
        g = m.groupdict()
        shown = " ".join(m.group().split())
        m_old = g["m1"] or g["m3"]
        years = [int(y) for y in (g["y1"], g["y2"], g["y3"]) if y]
        if not m_old and not g["m2"]:
            if years:
                yield at(t, m.start(), "L021", f"Old/New Style pair {quoted(shown)} has no month", shown)
            continue
        old_month = MONTHS.index(m_old) + 1 if m_old else MONTHS.index(g["m2"]) + 1
        d1, d2 = int(g["d1"]), int(g["d2"])
        new_month = MONTHS.index(g["m2"] or g["m3"]) + 1 if (g["m2"] or g["m3"]) else old_month
        if not g["m2"] and d2 < d1 and new_month == old_month:
            new_month = old_month % 12 + 1
        old_year = int(g["y1"] or g["y3"] or g["y2"] or 1901)
        new_year = int(g["y2"] or g["y3"] or g["y1"] or 1901)
        if not g["y2"] and new_month < old_month:
            new_year = old_year + 1
        if not 1700 <= old_year <= 1918:
            continue
        gap = _jdn(new_year, new_month, d2) - _jdn(old_year, old_month, d1)
        if gap not in (12, 13):
            yield at(t, m.start(), "L021", f"Old/New Style pair {quoted(shown)}: the New Style date is "
                     f"{gap} days after the Old Style one, not 12–13", shown)


# --- glossary ---------------------------------------------------------------------------------

STOP = frozenset("""a an the of and or in on for to by with from as at its it is was be that this
which who whom whose are were has have had also into upon such body""".split())
NOT_A_GLOSS = re.compile(r"^(?:which|who|whom|whose|that|this|these|where|when|how|why|what|see|cf|e\.g|i\.e|"
                         r"also|now|later|then|here|there|from|in|at|on|of|since|until|and|or|but|as|even|"
                         r"only|not|he|she|it|they|we|i|you)\b", re.I)


def glossary_names(entry: dict) -> list[str]:
    """The words a glossary entry is known by in English text: term, abbreviation, variants."""
    names = [entry.get("term") or "", entry.get("abbreviation") or ""]
    names += [v.get("term") or "" for v in entry.get("variants") or [] if isinstance(v, dict)]
    out = []
    for name in names:
        # "Revvoensovet (RVS)" is two names; "VKP(b)" is one.
        both = re.fullmatch(r"(.+?)\s+\((.+)\)", name)
        for part in both.groups() if both else [name]:
            part = part.strip(" “”\"")
            if len(part) > 1 and "," not in part and not re.search(r"[\u0400-\u04ff]", part):
                out.append(part)
    return out


def _content(text: str) -> set[str]:
    words = re.findall(r"[A-Za-z]+", text.lower())
    return {w[:5] for w in words if w not in STOP and len(w) > 2}


def _names_regex(names: list[str], flags: int) -> re.Pattern | None:
    if not names:
        return None
    alternatives = "|".join(re.escape(n) for n in sorted(set(names), key=lambda n: (-len(n), n)))
    return re.compile(rf"(?<![\w-])(?P<name>{alternatives})(?:e?s|’s)?(?![\w-])", flags)


def glossary(texts: list[Text], entries: list[tuple[dict, int]], path: str) -> Iterator[Finding]:
    prose = [t for t in texts if not t.field_name]
    owners: dict[str, list[tuple[dict, int, str]]] = {}
    for entry, line in entries:
        for name in glossary_names(entry):
            # Acronyms (OGPU, TsIK) match as written, words (kulak, Politburo) in any case.
            key = name if any(c.isupper() for c in name[1:]) else name.lower()
            owners.setdefault(key, []).append((entry, line, name))
    exact = _names_regex([k for k in owners if k != k.lower()], 0)
    folded = _names_regex([k for k in owners if k == k.lower()], re.I)
    used: set[str] = set()
    vocabulary: Counter = Counter()
    first: dict[str, tuple[Text, int]] = {}
    for t in prose:
        for m in WORD.finditer(t.view):
            if not t.flags[m.start()] & (RU | DOCUMENT):
                vocabulary[m.group()] += 1
                first.setdefault(m.group(), (t, m.start()))
        for regex, fold in ((exact, False), (folded, True)):
            for m in regex.finditer(t.view) if regex else ():
                if t.flags[m.start()] & (RU | DOCUMENT):
                    continue
                key = m.group("name").lower() if fold else m.group("name")
                if key not in owners:
                    continue
                used.add(key)
                gloss = _gloss(t.view, m)
                for entry, _, name in owners[key] if gloss else ():
                    definition = " ".join(str(entry.get(k) or "") for k in ("definition", "term", "original"))
                    said = _content(gloss)
                    if len(said & _content(definition)) * 2 < len(said):
                        yield at(t, m.start(), "L018", f"the text glosses {name} as {quoted(gloss, 50)}; "
                                 f"the glossary: {quoted(str(entry.get('definition')), 50)}", name)
    by_shape: dict[tuple[str, int], list[str]] = {}
    for w in vocabulary:
        by_shape.setdefault((w[0].lower(), len(w)), []).append(w)
    for key, owned in owners.items():
        if key in used:
            continue
        for entry, line, name in owned:
            if len(name) < 4 or " " in name:
                continue
            # A variant keeps the first letter: Artiel/artel, VSNTKh/VSNKh.
            near = [w for n in (len(name) - 1, len(name), len(name) + 1)
                    for w in by_shape.get((name[0].lower(), n), ()) if _one_edit(w.lower(), name.lower())]
            if near:
                w = max(near, key=lambda w: (vocabulary[w], w))
                t, offset = first[w]
                line_at, _ = t.where(offset)
                yield Finding(path, line, 1, "L019", f"glossary term “{name}” is not in the text, "
                              f"“{w}” is ({vocabulary[w]}×, first at {t.path}:{line_at})", name)


def _gloss(view: str, m: re.Match) -> str | None:
    """What the text says a term means: a short phrase in brackets right after it ("Revvoensovet
    [Revolutionary Military Council]"), or the capitalized name an abbreviation follows in
    brackets ("Institute of Red Professors [IKP]"). Asides, lists and questions are no glosses."""
    name = m.group()
    after = re.match(r"\s*[\[(]([^\[\]()\n]{3,80})[\])]", view[m.end():m.end() + 90])
    if after:
        gloss = after.group(1).strip()
        words = gloss.split()
        if (2 <= len(words) <= 8 and not NOT_A_GLOSS.match(gloss) and not re.search(r"[,;:?!\d]", gloss)
                and not words[0].endswith("ly")):
            capitalized = sum(w[0].isupper() for w in words if w.lower() not in STOP)
            if name[0].islower() or capitalized == len([w for w in words if w.lower() not in STOP]):
                return gloss
    before = view[max(0, m.start() - 90):m.start()]
    if m.end() < len(view) and view[m.end()] in ")]" and before.endswith(("(", "[")):
        expansion = re.search(r"((?:[A-Z][\w-]*|of|the|and|for|on)(?:\s+(?:[A-Z][\w-]*|of|the|and|for|on))*)\s*[\[(]$",
                              before)
        if expansion and re.match(r"[A-Z]", expansion.group(1)) and len(expansion.group(1).split()) > 1:
            return expansion.group(1)
    return None


def _one_edit(a: str, b: str) -> bool:
    """One letter added, dropped or changed (VSNKh for VSNTKh, artel for Artiel)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) == 1
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))
