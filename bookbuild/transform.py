"""The transform stage: ordered functions Book -> Book, the same for every format."""
from __future__ import annotations

import bisect
import hashlib
import re
from typing import Callable

from lxml import etree

from . import cachefile
from .mentions import match_mentions
from .model import Book, IndexHeading, Mention
from .outputcache import Inputs
from .read import inner_xhtml, parse_fragment, to_xhtml

# A matcher takes a unit's paragraphs (blank-line separated, as in Markdown) and the index
# headings, and returns (start, end, heading id) spans.
Matcher = Callable[[str, list[IndexHeading]], list[tuple[int, int, str]]]

BLOCKS = {"p", "li", "dd", "dt", "td", "th", "figcaption", "blockquote", "div", "section",
          "h1", "h2", "h3", "h4", "h5", "h6", "figure", "table", "ol", "ul", "dl"}


# Headings, links and notes are not indexed; the index covers the text and captions.
NOT_INDEXED_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6", "a", "code", "pre", "sup"}
NOT_INDEXED_CLASSES = {"noix", "ix", "footnotes"}


def mark_index_mentions(book: Book, match: Matcher = match_mentions, only: set[str] | None = None) -> Book:
    """Wrap each index mention in `span.ix` with an id, the target of its locator.

    `[Name]{.ix ref=ID}` in the source settles a mention by hand; `.noix`,
    headings, links and notes are left alone. A mention that crosses markup
    (`Ivan <em>Smirnov</em>`) is not found."""
    known = {h.id for h in book.index}
    counter: dict[str, int] = {}
    index_key = _index_key(book)
    mentions: list[Mention] = []

    def anchor(heading: str) -> str:
        counter[heading] = counter.get(heading, 0) + 1
        return f"ix-{heading}-{counter[heading]}"

    for unit in book.units:
        if not unit.html or only is not None and unit.id not in only:
            continue
        root = parse_fragment(unit.html)
        for span in root.iter("span"):
            if "ix" in _classes(span) and span.get("data-ref") in known:
                span.set("id", anchor(span.get("data-ref")))
        # One matcher call per unit, paragraphs apart as in Markdown: the matcher may judge
        # a name by its sentence, and building its tables once per unit keeps this fast.
        runs = [run for block in root.iter() if block.tag in BLOCKS and not _excluded(block)
                for run in _text_runs(block) + [None]]
        texts = ["\n\n" if run is None else
                 (run[0].tail if run[1] else run[0].text).replace("\n", " ") for run in runs]
        starts = [0]
        for t in texts:
            starts.append(starts[-1] + len(t))
        hits: dict[int, list[tuple[int, int, str]]] = {}
        for start, end, heading in _matches(book, match, "".join(texts), index_key):
            i = bisect.bisect_right(starts, start) - 1
            if runs[i] is not None and end <= starts[i + 1] and heading in known:
                hits.setdefault(i, []).append((start - starts[i], end - starts[i], heading))
        for i in sorted(hits, reverse=True):
            _wrap(*runs[i], sorted(hits[i]), anchor)
        for span in root.iter("span"):
            if "ix" in _classes(span) and span.get("id"):
                mentions.append(Mention(span.get("data-ref") or span.get("data-heading"),
                                        span.get("id"), unit.id))
        unit.html = "".join(to_xhtml(c) + "\n" for c in root)
    book.mentions = mentions
    return book


def _matches(book: Book, match: Matcher, text: str, index_key: str) -> list[tuple[int, int, str]]:
    """`match(text, book.index)`, kept in the read cache by text, headings and the matcher's
    code: matching all 55 units against the index's 1,300 forms takes a fifth of a second,
    and a build after an edit changes one unit."""
    if match is not match_mentions or book.cache is None:
        return match(text, book.index)
    digest = hashlib.sha256(f"{index_key}\0{text}".encode()).hexdigest()[:32]
    path = book.cache / f"mentions-{digest}.json"
    hits = cachefile.load_json(path, _are_mentions)
    if hits is not None:
        return [tuple(hit) for hit in hits]
    found = match(text, book.index)
    cachefile.store_json(path, found)
    return found


def _are_mentions(hits) -> bool:
    return isinstance(hits, list) and all(
        isinstance(h, list) and len(h) == 3 and isinstance(h[0], int) and isinstance(h[1], int)
        and isinstance(h[2], str) for h in hits)


def _index_key(book: Book) -> str:
    """The headings' forms and the matcher's code (every bookbuild module this one imports,
    `outputcache.Inputs.modules`), as a key for _matches."""
    digest = hashlib.sha256(Inputs("mentions").modules(__name__).hexdigest().encode())
    for h in book.index:
        digest.update(repr((h.id, h.forms)).encode())
    return digest.hexdigest()


def _classes(el: etree._Element) -> set[str]:
    return set((el.get("class") or "").split())


def _excluded(el: etree._Element) -> bool:
    while el is not None:
        if el.tag in NOT_INDEXED_TAGS or NOT_INDEXED_CLASSES & _classes(el):
            return True
        el = el.getparent()
    return False


def _text_runs(block: etree._Element) -> list[tuple[etree._Element, bool]]:
    """The text nodes of `block` itself (not of nested blocks), as (element, is_tail)."""
    runs = []

    def visit(el: etree._Element) -> None:
        if el.text:
            runs.append((el, False))
        for child in el:
            if isinstance(child.tag, str) and child.tag not in BLOCKS and not _excluded(child):
                visit(child)
            if child.tail:
                runs.append((child, True))
    visit(block)
    return runs


def _wrap(el: etree._Element, is_tail: bool, hits: list[tuple[int, int, str]],
          anchor: Callable[[str], str]) -> None:
    """Cut one text node into text and `span.ix` elements at the hits."""
    text = el.tail if is_tail else el.text
    spans: list[etree._Element] = []
    lead = ""
    pos = 0
    for start, end, heading in hits:
        if start < pos:
            continue
        if spans:
            spans[-1].tail = text[pos:start]
        else:
            lead = text[:start]
        span = etree.Element("span", {"class": "ix", "data-heading": heading, "id": anchor(heading)})
        span.text = text[start:end]
        spans.append(span)
        pos = end
    spans[-1].tail = text[pos:]
    if is_tail:
        el.tail = lead
        for span in reversed(spans):
            el.addnext(span)
    else:
        el.text = lead
        for k, span in enumerate(spans):
            el.insert(k, span)


# An initial ("I.", "Iu.", "N.") and the capitalized word after it, with only tags between:
# "I. N. Smirnov", "Iu. Larin", "St. Petersburg".
INITIAL = re.compile(r"(?<![\w.\u00a0])([A-ZА-ЯЁ][a-zа-яё]?\.) (?=(?:<[^>]+>)*[A-ZА-ЯЁ])")


def keep_initials_together(book: Book, only: set[str] | None = None) -> Book:
    """A no-break space after an initial, so that no line ends with "I." before "N. Smirnov"
    (in the text, notes, captions, glossary and biographies alike; the sources keep plain
    spaces). Index mentions are marked before this, and the matcher takes either space."""
    def keep(html: str) -> str:
        return INITIAL.sub("\\1\u00a0", html)

    for unit in book.units:
        if only is not None and unit.id not in only:
            continue
        unit.html = keep(unit.html)
        for note in unit.notes:
            note.html = keep(note.html)
        for figure in unit.figures:
            figure.caption_html = keep(figure.caption_html)
    if only is not None:
        return book
    for person in book.people:
        person.text_html = keep(person.text_html)
    for term in book.glossary:
        term.definition_html = keep(term.definition_html)
    return book


def link_see_also(book: Book, only: set[str] | None = None) -> Book:
    """A see-also target that the definition names ("*see* revvoensovet") becomes a link there;
    only the others are listed after the definition, so that no entry says it twice."""
    if only is not None:
        return book
    for term in book.glossary:
        term.see_also_listed = []
        if not term.see_also:
            continue
        root = parse_fragment(term.definition_html)
        for target in term.see_also:
            if not _link_first(root, _see_pattern(target), book.glossary_id(target)):
                term.see_also_listed.append(target)
        term.definition_html = inner_xhtml(root)
    return book


def _see_pattern(target: str) -> re.Pattern:
    """A headword as a definition names it: any case, without its parenthesis ("(RVS)")."""
    name = re.sub(r"\s*\([^)]*\)", "", target).strip("“”\"' ")
    return re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.I)


def _link_first(root: etree._Element, pattern: re.Pattern, target: str) -> bool:
    """Wrap the first match of `pattern` outside links in a link to id `target` (none when
    empty); False when nothing matches."""
    for el, is_tail in (run for block in root.iter() for run in _text_runs(block)):
        if el.tag == "a" and not is_tail or any(a.tag == "a" for a in el.iterancestors()):
            continue
        text = el.tail if is_tail else el.text
        m = pattern.search(text or "")
        if not m:
            continue
        if not target:
            return True
        link = etree.Element("a", {"href": f"#{target}", "class": "see"})
        link.text, link.tail = m.group(0), text[m.end():]
        if is_tail:
            el.tail = text[:m.start()]
            el.addnext(link)
        else:
            el.text = text[:m.start()]
            el.insert(0, link)
        return True
    return False


def separate_adjacent_noterefs(book: Book, only: set[str] | None = None) -> Book:
    """A superscript comma between two note references that touch ("[^7][^8]"), which
    would otherwise read as one number ("⁷⁸", note 78) in every edition."""
    for unit in book.units:
        if "footnote-ref" not in unit.html or only is not None and unit.id not in only:
            continue
        root = parse_fragment(unit.html)
        refs = [a for a in root.iter("a") if "footnote-ref" in _classes(a)]
        touching = [a for a in refs if not a.tail and a.getnext() is not None
                    and "footnote-ref" in _classes(a.getnext())]
        for a in touching:
            comma = etree.Element("sup", {"class": "noteref-sep"})
            comma.text = ","
            a.addnext(comma)
        if touching:
            unit.html = "".join(to_xhtml(c) + "\n" for c in root)
    return book


TRANSFORMS: tuple[Callable[..., Book], ...] = (mark_index_mentions, keep_initials_together, link_see_also,
                                               separate_adjacent_noterefs)


def transform(book: Book, only: set[str] | None = None) -> Book:
    """Every transform in order; with `only` (unit ids), on those units alone, for a build of
    one unit (the mention ids then count from that unit's first)."""
    for step in TRANSFORMS:
        book = step(book, only=only)
    return book
