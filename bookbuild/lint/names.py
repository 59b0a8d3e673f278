"""The name index against the text: headings that match nothing, unknown references, unindexed people."""
from __future__ import annotations

import re
from collections.abc import Iterator

from ..mentions import INITIAL, SURNAME_END, WORD, find_mentions
from .report import Finding, at
from .source import DOCUMENT, HEADING, NOTE, RU, Text

# Conservative on purpose: initials before a capitalized word with a Russian surname ending
# ("A. B. Surname") are a person; a bare surname may be a place, a title or a word.
INITIALED = re.compile(rf"(?<![\w.’'])(?:{INITIAL}[^\S\n]*\n?[^\S\n]*){{1,3}}(?P<surname>{WORD})(?![\w’'])")


def check(texts: list[Text], headings: list[dict], index_path: str, index_source: str) -> Iterator[Finding]:
    ids = {h.get("id") for h in headings}
    lines = _entry_lines(index_source)
    mentioned: set[str] = set()
    for t in texts:
        found = find_mentions(t.text, headings)
        mentions = sorted(found.found + found.settled)
        mentioned.update(hid for _, _, hid in mentions)
        for start, _, classes, values in t.spans:
            ref = values.get("ref")
            if "ix" in classes and ref and ref not in ids:
                yield at(t, start - 1, "L015", f"index mark refers to “{ref}”, which is no heading "
                         f"in {index_path}", ref)
        yield from _unindexed(t, mentions)
        for start, end, bearers in found.ambiguous:
            name = t.text[start:end]
            yield at(t, start, "L016", f"“{name}” alone may be any of {', '.join(bearers)}; nothing around it "
                     f"says which: mark it [{name}]{{.ix ref=…}} (the build warns of it as N006)", name)
    for h in headings:
        hid = h.get("id")
        line = lines.get(hid, 0)
        for field in ("see", "see_also"):
            targets = h.get(field) or []
            for target in [targets] if isinstance(targets, str) else targets:
                if target not in ids:
                    yield Finding(index_path, line, 1, "L015",
                                  f"heading “{h.get('heading')}”: {field} “{target}” is no heading", str(target))
        if h.get("forms") and hid not in mentioned:
            yield Finding(index_path, line, 1, "L014", f"heading “{h.get('heading')}” matches nothing "
                          f"in the text (forms: {', '.join(h['forms'][:3])}{', …' if len(h['forms']) > 3 else ''})",
                          str(h.get("heading")))


def _unindexed(t: Text, mentions: list[tuple[int, int, str]]) -> Iterator[Finding]:
    covered = [(s, e) for s, e, _ in mentions]
    for m in INITIALED.finditer(t.view):
        surname = m.group("surname")
        start = m.start("surname")
        if t.flags[start] & (NOTE | DOCUMENT | RU | HEADING):
            continue
        if not SURNAME_END.search(surname) or any(s <= start < e for s, e in covered):
            continue
        name = " ".join(m.group().split())
        yield at(t, m.start(), "L016", f"“{name}” looks like a person but matches no index heading", name)


def _entry_lines(source: str) -> dict[str, int]:
    return {m.group(1): source.count("\n", 0, m.start()) + 1
            for m in re.finditer(r"^- id: *['\"]?([^'\"\n]+?)['\"]?\s*$", source, re.M)}
