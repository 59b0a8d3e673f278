"""Names and index mentions in Pandoc Markdown: what a name looks like, which parts of a text may
name people, and the one matcher every stage uses (transform, lint, the importer's indexer)."""
from __future__ import annotations

import functools
import re
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


def match_mentions(text: str, headings: list[dict]) -> list[tuple[int, int, str]]:
    """Every mention of every heading in a text: (start, end, heading id), in text order.

    A mention is one of a heading's forms between word boundaries (a possessive 's after it
    still counts; the span covers the name only), in the main text or a figure caption, not in
    note definitions, Russian documents, headings, link targets or attributes. `[…]{.ix ref=ID}`
    is a mention of ID whatever it says; `[…]{.noix}` is none. A form two headings share is no
    one's. `headings` are index.yaml entries (dicts) or objects with `id` and `forms`.
    """
    # index.yaml entries as dicts, or the read stage's IndexHeading objects.
    table = _form_table(tuple((h["id"], tuple(h.get("forms") or ())) if isinstance(h, dict)
                              else (h.id, tuple(h.forms or ())) for h in headings))
    vis = visible(text)
    found = [(s, e, ids[0]) for s, e, ids in form_matcher(table).find(vis.text)]
    return sorted(found + list(vis.ix))


@functools.lru_cache(maxsize=4)
def _form_table(headings: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple:
    """(normalized form, (heading id,)) for every form only one heading has: made once for
    the many texts a build matches against the same headings."""
    owner: dict[str, str] = {}
    shared: set[str] = set()
    for hid, forms in headings:
        for form in forms:
            f = norm_form(form)
            if owner.setdefault(f, hid) != hid:
                shared.add(f)
    return tuple(sorted((f, (i,)) for f, i in owner.items() if f not in shared))
