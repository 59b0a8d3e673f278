"""Names and index mentions in Pandoc Markdown: what a name looks like, what may name people, the matcher every stage uses, and whose a surname alone is."""
from __future__ import annotations

import bisect
import functools
import re
from collections import Counter
from dataclasses import dataclass, field

from .mdsyntax import attributes, closing

# --- what a name looks like ------------------------------------------------------------------

UPPER = "A-ZÀ-ÖØ-Þ"
LOWER = "a-zß-öø-ÿ\u0100-\u017f"
WORD = rf"[{UPPER}][{LOWER}]+(?:-[{UPPER}{LOWER}][{LOWER}]+)*"
# A Russian initial is one letter, or two for one Cyrillic letter (Я, Ю, Ж, Х, …).
INITIAL = rf"(?:Ya|Yu|Ye|Yo|Ia|Iu|Zh|Kh|Ch|Sh|Ts|[{UPPER}])\."
SURNAME_END = re.compile(
    r"(?:ov|ev|in|yn|sky|skii|skiy|ski|vich|ko|enko|uk|chuk|ian|yan|dze|shvili|shits"
    r"|ova|eva|ina|skaya|skaia)$")

MASK = "\x00"

# --- the parts of a text that may name people ------------------------------------------------

@dataclass
class Visible:
    """A text with everything but main text and captions masked, at the same offsets."""

    text: str
    ix: list[tuple[int, int, str]] = field(default_factory=list)
    no_mark: list[tuple[int, int]] = field(default_factory=list)
    links: list[tuple[int, int]] = field(default_factory=list)     # a link's text: a cross-reference


FENCE = re.compile(r"^\s*:{3,}\s*(.*)$")
NOTE_DEF = re.compile(r"^\[\^[^\]]+\]:")
HEADING = re.compile(r"^#{1,6}\s")


def _mask(chars: list[str], start: int, end: int) -> None:
    for i in range(start, end):
        if chars[i] != "\n":
            chars[i] = MASK


def _block_ranges(text: str) -> list[tuple[int, int]]:
    """Character ranges of note definitions, Russian documents, code blocks, headings and div fences."""
    lines = text.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    ranges = []
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if fence and re.match(r"^(?:\{[^}]*\.document\b|document\b)", fence.group(1)):
            depth, j = 1, i + 1
            while j < len(lines) and depth:
                inner = FENCE.match(lines[j])
                if inner:
                    depth += 1 if inner.group(1).strip() else -1
                j += 1
            ranges.append((starts[i], starts[j] - 1))
            i = j
        elif fence or HEADING.match(line):
            # Chapter and section titles are not indexed: the text under them names the people.
            ranges.append((starts[i], starts[i + 1] - 1))
            i += 1
        elif line.lstrip().startswith(("```", "~~~")):
            j = i + 1
            while j < len(lines) and not lines[j].lstrip().startswith(("```", "~~~")):
                j += 1
            j = min(j + 1, len(lines))
            ranges.append((starts[i], starts[j] - 1))
            i = j
        elif NOTE_DEF.match(line):
            # A note runs on over lazy lines and over indented paragraphs after blank lines.
            j = i + 1
            while j < len(lines):
                if lines[j].strip():
                    if NOTE_DEF.match(lines[j]) or FENCE.match(lines[j]):
                        break
                    j += 1
                    continue
                k = j
                while k < len(lines) and not lines[k].strip():
                    k += 1
                if k < len(lines) and lines[k].startswith(("    ", "\t")):
                    j = k
                    continue
                break
            ranges.append((starts[i], starts[j] - 1))
            i = j
        else:
            i += 1
    return ranges


@functools.lru_cache(maxsize=512)
def visible(text: str) -> Visible:
    """Mask notes, documents, markup, link targets and attributes; collect `.ix` spans."""
    chars = list(text)
    for start, end in _block_ranges(text):
        _mask(chars, start, end)
    for m in re.finditer(r"<!--.*?-->|`[^`\n]+`|<[A-Za-z/][^>\n]*>|\[\^[^\]\s]+\]", "".join(chars), re.S):
        _mask(chars, m.start(), m.end())
    view = "".join(chars)
    vis = Visible(view)
    i = view.find("[")
    while i >= 0:
        close = closing(view, i, "]")
        if close > 0:
            after = close + 1
            if view.startswith("(", after):
                end = closing(view, after, ")")
                if end > 0:
                    _mask(chars, after, end + 1)
                    chars[i] = chars[close] = MASK
                    if i and view[i - 1] == "!":
                        chars[i - 1] = MASK
                    else:
                        vis.links.append((i, close))
                    after = end + 1
            if view.startswith("{", after):
                end = view.find("}", after)
                if end > 0 and "\n" not in view[after:end]:
                    classes, values = attributes(view[after + 1:end])
                    if after == close + 1:
                        if "ix" in classes or "noix" in classes:
                            _mask(chars, i, end + 1)
                            if "ix" in classes and "noix" not in classes and values.get("ref"):
                                vis.ix.append((i + 1, close, values["ref"]))
                        else:
                            chars[i] = chars[close] = MASK
                            vis.no_mark.append((i, end + 1))
                    _mask(chars, after, end + 1)
        i = view.find("[", i + 1)
    view = "".join(chars)
    for m in re.finditer(r"\{[^{}\n]*\}", view):
        _mask(chars, m.start(), m.end())
    vis.text = "".join(chars)
    return vis


def norm_form(s: str) -> str:
    return re.sub(r"\.\s*(?=\S)", ". ", " ".join(s.split()))


# --- finding mentions ------------------------------------------------------------------------

WORD_SEP = r"(?:[^\S\n]+\n?|\n)[^\S\n]*"
INITIAL_SEP = r"[^\S\n]*\n?[^\S\n]*"


class _Matcher:
    """One regex for all forms: a trie over their words, so that the longest form wins."""

    def __init__(self, table: tuple[tuple[str, tuple[str, ...]], ...]):
        self.ids = {norm_form(f): ids for f, ids in table}
        trie: dict = {}
        for form in sorted(self.ids):
            node = trie
            for word in form.split(" "):
                node = node.setdefault(word, {})
            node[""] = {}
        # The lookahead on the first letters lets the engine skip most positions at once.
        first = "".join(sorted({re.escape(w[0]) for w in trie}))
        self.regex = re.compile(rf"(?=[{first}])(?<!\w)(?:{self._alternatives(trie)})") if trie else None

    def _alternatives(self, node: dict) -> str:
        out = []
        for word in sorted((w for w in node if w), key=lambda w: (-len(w), w)):
            child = node[word]
            more = [w for w in child if w]
            if not more:
                out.append(re.escape(word) + r"(?!\w)")
                continue
            sep = INITIAL_SEP if word.endswith(".") else WORD_SEP
            longer = f"{sep}(?:{self._alternatives(child)})"
            out.append(re.escape(word) + (f"(?:{longer}|(?!\\w))" if "" in child else longer))
        return "|".join(out)

    def find(self, view: str) -> list[tuple[int, int, tuple[str, ...]]]:
        if self.regex is None:
            return []
        return [(m.start(), m.end(), self.ids[norm_form(m.group())]) for m in self.regex.finditer(view)]


@functools.lru_cache(maxsize=8)
def form_matcher(table: tuple[tuple[str, tuple[str, ...]], ...]) -> _Matcher:
    return _Matcher(table)


def match_mentions(text: str, headings: list) -> list[tuple[int, int, str]]:
    """Every mention of every heading in a text: (start, end, heading id), in text order.

    A mention is one of a heading's forms between word boundaries (a possessive 's after it
    still counts; the span covers the name only), in the main text or a figure caption, not in
    note definitions, Russian documents, headings, link targets or attributes. `[…]{.ix ref=ID}`
    is a mention of ID whatever it says; `[…]{.noix}` is none. A form two headings share is no
    one's (a surname alone that several people bear is settled by `find_mentions`, which the
    read stage writes into the text as marks). `headings` are index.yaml entries (dicts) or
    objects with `id`, `heading` and `forms`.
    """
    return _found(visible(text), _tables(_heading_key(headings)))


def _found(vis: Visible, tables: _Tables) -> list[tuple[int, int, str]]:
    found = [(s, e, ids[0]) for s, e, ids in form_matcher(tables.unique).find(vis.text)]
    return sorted(found + list(vis.ix))


@dataclass
class Mentions:
    """A text's mentions: `found` (start, end, heading id) by a form or a mark, `settled` the
    surnames alone that several headings bear and the context settles, `ambiguous` those it
    does not (start, end, the ids of every heading with that surname); each in text order."""

    found: list[tuple[int, int, str]]
    settled: list[tuple[int, int, str]]
    ambiguous: list[tuple[int, int, tuple[str, ...]]]


def find_mentions(text: str, headings: list) -> Mentions:
    """`match_mentions`, and the surnames alone that several headings bear (Smirnov, Kosior),
    each settled by its context, nearest first: "Smirnov, A. P." is A. P. Smirnov; the nearest
    full mention (a form, or a mark) of one of them in the same paragraph, before it or else
    after it; the unit's subject, which is the one its title (`# Title`) names, else the one its
    figure captions name, else the one with three times as many full mentions in the text (the
    unit) as the others together. What none of these settles is `ambiguous`."""
    tables = _tables(_heading_key(headings))
    vis = visible(text)
    found = _found(vis, tables)
    taken = sorted([(s, e) for s, e, _ in found] + vis.links)
    title = TITLE.search(text)
    in_title = {ids[0] for _, _, ids in form_matcher(tables.unique).find(title.group(1))} if title else set()
    context = _Context(vis.text, found, in_title, caption_ranges(text))
    settled, ambiguous = [], []
    for s, e, ids in form_matcher(tables.alone).find(vis.text):
        if _overlaps(taken, s, e):
            continue
        ref = _inverted(vis.text, s, e, ids, tables) or context.settle(s, e, ids)
        if ref:
            settled.append((s, e, ref))
        else:
            ambiguous.append((s, e, ids))
    return Mentions(found, settled, ambiguous)


def _inverted(view: str, s: int, e: int, ids: tuple[str, ...], tables: _Tables) -> str | None:
    """"Smirnov, A. P.": the surname first, then the initials of one of `ids`."""
    m = INVERTED.match(view, e)
    if not m:
        return None
    wanted = norm_form(f"{m.group(1)} {view[s:e]}")
    owners = [i for i in ids if wanted in tables.forms[i]]
    return owners[0] if len(owners) == 1 else None


@dataclass
class _Context:
    """Where a text names whom: its full mentions, its title's and its captions' spans."""

    view: str
    found: list[tuple[int, int, str]]
    in_title: set[str]
    captions: list[tuple[int, int]]

    def settle(self, s: int, e: int, ids: tuple[str, ...]) -> str | None:
        named = [(a, i) for a, _, i in self.found if i in ids]
        start = self.view.rfind("\n\n", 0, s) + 2 if "\n\n" in self.view[:s] else 0
        end = self.view.find("\n\n", e) if "\n\n" in self.view[e:] else len(self.view)
        earlier = [i for a, i in named if start <= a < s]
        later = [i for a, i in named if e <= a < end]
        if earlier or later:
            return (earlier or later[:1])[-1]
        return self.subject(ids, named)

    def subject(self, ids: tuple[str, ...], named: list[tuple[int, str]]) -> str | None:
        """The one of `ids` the unit is about: its title's, its captions', or its most named."""
        for who in (self.in_title & set(ids),
                    {i for a, i in named if any(c <= a < d for c, d in self.captions)}):
            if len(who) == 1:
                return next(iter(who))
        counts = Counter(i for _, i in named).most_common()
        if counts and counts[0][1] >= 3 * sum(n for _, n in counts[1:]):
            return counts[0][0]
        return None


def caption_ranges(text: str) -> list[tuple[int, int]]:
    """The captions of the figures in a Markdown text (`![caption](…)`)."""
    out = []
    for m in re.finditer(r"!\[", text):
        end = closing(text, m.start() + 1, "]")
        if end > 0:
            out.append((m.start() + 2, end))
    return out


def _overlaps(spans: list[tuple[int, int]], s: int, e: int) -> bool:
    k = bisect.bisect_right(spans, (s, float("inf")))
    return (k > 0 and spans[k - 1][1] > s) or (k < len(spans) and spans[k][0] < e)


# A unit's title: its first `# ` heading, without its attributes.
TITLE = re.compile(r"^#(?!#)[^\S\n]+(.*?)[^\S\n]*(?:\{[^}\n]*\})?[^\S\n]*$", re.M)
# "Smirnov, A. P.": the surname first, then initials, as in a list of the accused.
INVERTED = re.compile(rf",[^\S\n]+((?:{INITIAL}[^\S\n]*)+)")


def _heading_key(headings: list) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    # index.yaml entries as dicts, or the read stage's IndexHeading objects.
    return tuple((h["id"], h.get("heading") or "", tuple(h.get("forms") or ())) if isinstance(h, dict)
                 else (h.id, h.heading or "", tuple(h.forms or ())) for h in headings)


@dataclass(frozen=True)
class _Tables:
    """What the matchers match: `unique` (normalized form, (heading id,)) for every form only
    one heading has; `alone` (surname, ids) for every surname that several headings bear and
    none has as a form of its own; `forms` each heading's normalized forms."""

    unique: tuple[tuple[str, tuple[str, ...]], ...]
    alone: tuple[tuple[str, tuple[str, ...]], ...]
    forms: dict[str, frozenset[str]]


@functools.lru_cache(maxsize=4)
def _tables(headings: tuple[tuple[str, str, tuple[str, ...]], ...]) -> _Tables:
    """Made once for the many texts a build matches against the same headings."""
    owner: dict[str, str] = {}
    shared: set[str] = set()
    bearers: dict[str, list[str]] = {}
    for hid, heading, forms in headings:
        for form in forms:
            f = norm_form(form)
            if owner.setdefault(f, hid) != hid:
                shared.add(f)
        surname = heading.split(",")[0].strip()
        if "," in heading and forms and re.fullmatch(WORD, surname):
            bearers.setdefault(surname, []).append(hid)
    unique = tuple(sorted((f, (i,)) for f, i in owner.items() if f not in shared))
    alone = tuple(sorted((s, tuple(ids)) for s, ids in bearers.items()
                         if len(ids) > 1 and (s, (ids[0],)) not in unique and s not in owner.keys() - shared))
    return _Tables(unique, alone, {hid: frozenset(norm_form(f) for f in forms) for hid, _, forms in headings})
