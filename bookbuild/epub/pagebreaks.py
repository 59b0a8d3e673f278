"""Print's pages in the EPUB: page-break markers where each print page's first words are, and the figures print moved."""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from lxml import etree

from .markup import EPUB_TYPE, h, text_of


# Blocks take every heading level; what the placement treats as a heading is h1–h4, as it
# did when it shared markup.py's module namespace (where keep_ranges_whole's HEADINGS came later).
HEADINGS = {h(t) for t in ("h1", "h2", "h3", "h4")}
BLOCKS = {h(t) for t in ("h1", "h2", "h3", "h4", "h5", "h6")} | {h(t) for t in ("p", "li", "dd", "dt", "td", "th", "figcaption", "blockquote",
                                    "div", "section", "caption", "body")}
# Elements whose children are structural (list items, rows, a figure's caption):
# a page-break marker goes inside their first descendant that takes text.
STRUCTURAL = {h(t) for t in ("ol", "ul", "dl", "table", "thead", "tbody", "tfoot", "tr", "figure")}
TAKES_TEXT = {h(t) for t in ("li", "dt", "dd", "td", "th", "figcaption", "caption")}
COLUMNS = {h("colgroup"), h("col")}
NAV = h("nav")


@dataclass
class PageStart:
    """A print page: its label and its first words ("" for a blank page, None when unknown)."""

    label: str
    text: str | None = None


@dataclass
class Placed:
    """A page-break marker: its page, document and id; `reason` says why it is not at its
    print page's first words (empty when it is, or when the page is blank)."""

    label: str
    doc: str
    id: str
    reason: str = ""


@dataclass
class TextNode:
    word: int
    doc: str
    el: etree._Element
    is_tail: bool

    @property
    def text(self) -> str:
        return (self.el.tail if self.is_tail else self.el.text) or ""


def _text_order(root: etree._Element):
    """(element, False) for an element's start and own text, (element, True) for its tail,
    in document order: a tail comes after everything inside its element."""
    stack = [(root, False)]
    while stack:
        el, is_tail = stack.pop()
        if not isinstance(el.tag, str):
            continue
        yield el, is_tail
        if not is_tail:
            stack.append((el, True))
            stack.extend((child, False) for child in reversed(el))


class Stream:
    """The reading order as words: every text node with its running word position,
    every id with the position of the first word after it, and every word normalised
    for comparison (`plain[position]`), as the tree was when the stream was made."""

    def __init__(self, docs: list[tuple[str, etree._Element]]):
        self.nodes: list[TextNode] = []
        self.anchors: dict[str, tuple[int, str, etree._Element]] = {}
        self.plain: list[str] = []
        # Parts after a hyphen inside a word ("well-to-do": "todo", "do"), by word position:
        # print may break the word at its own hyphen, and the page then begins with the tail.
        self.tails: dict[int, set[str]] = {}
        # The word positions where blocks begin, in order.
        self.blocks: list[int] = []
        pos = 0
        for name, root in docs:
            elements = [el for el in root.iter() if isinstance(el.tag, str)]
            hidden = {sub for el in elements if not_page_text(el) for sub in el.iter()}
            for el, is_tail in _text_order(root):
                if not is_tail:
                    if el.get("id") and el.get("id") not in self.anchors:
                        self.anchors[el.get("id")] = (pos, name, el)
                    if el.tag in BLOCKS and el not in hidden:
                        self.blocks.append(pos)
                text = el.tail if is_tail else el.text
                owner = el.getparent() if is_tail else el
                if text and text.strip() and owner is not None and owner not in hidden:
                    self.nodes.append(TextNode(pos, name, el, is_tail))
                    words = plain_words(text)
                    for k, raw in enumerate(text.split()):
                        parts = re.split(r"[-\u2010\u2011]", raw)
                        if len(parts) > 1:
                            tails = {_NOT_LETTER.sub("", "".join(parts[j:])).lower() for j in range(1, len(parts))}
                            self.tails[pos + k] = tails - {""}
                    self.plain += words
                    pos += len(words)
        self.words = pos
        self.starts = [n.word for n in self.nodes]

    def node_at(self, word: int) -> TextNode:
        return self.nodes[max(bisect.bisect_right(self.starts, word) - 1, 0)]


def not_page_text(el: etree._Element) -> bool:
    """Navigation other than the contents (the index's letters) and the frame of an absent
    image are no text of a print page (print's own frame is left out of its first words too).
    Note references are: print sets their numbers in the line."""
    return (el.tag == NAV and el.get(EPUB_TYPE) != "toc") or "figure-placeholder" in (el.get("class") or "").split()



def pagebreak(label: str, id_: str) -> etree._Element:
    return etree.Element(h("span"), {
        "id": id_, "class": "pagebreak", EPUB_TYPE: "pagebreak",
        "role": "doc-pagebreak", "aria-label": label})


_NOT_LETTER = re.compile(r"[\W_]+")


def plain_words(text: str) -> list[str]:
    """The words of `text` as compared with print's (as many as `text.split()` gives): letters
    and digits only, lower case. Print hyphenates and the sources do not; markup splits
    "Smirnov," into "Smirnov" and ","; the ebook's contents write "15." where print has "15"."""
    return [_NOT_LETTER.sub("", w).lower() for w in text.split()]


def find_words(stream: Stream, lo: int, hi: int, text: str) -> int | None:
    """Where a page's first words occur between word positions `lo` and `hi`: all of the
    first six or, where the ebook has a heading of more words ("Notes to …" for print's
    "Notes"), at least three of them up to that heading, or its first word and the rest
    after it."""
    wanted = [w for w in plain_words(text) if w][:6]
    # One or two words ("Index") are found in too many places to mean anything.
    if len(wanted) < 3:
        return None
    starts = [i for i in range(lo, min(hi, stream.words - 1) + 1) if stream.plain[i]
              and (stream.plain[i] == wanted[0] or wanted[0].startswith(stream.plain[i])
                   # A page may begin in the middle of a hyphenated word ("tion of the"),
                   # which markup may have cut in two ("Lomi-nadze’s": a name, then "s").
                   or (len(wanted[0]) > 2 and stream.plain[i].endswith(wanted[0]))
                   or wanted[0] in stream.tails.get(i, ())
                   or _split_start(stream, i, wanted[0]))]
    for i in starts:
        if match_end(stream, i, wanted, whole=False) is not None:
            # A page that begins inside a word markup cut in two begins at its second part
            # (after a name, where the index counts the name on the page before).
            whole_word = stream.plain[i] == wanted[0] or wanted[0].startswith(stream.plain[i]) \
                or stream.plain[i].endswith(wanted[0])
            return i if whole_word else i + 1
    for i in starts:
        for k in range(len(wanted) - 1, 2, -1):
            end = match_end(stream, i, wanted[:k])
            if end is not None and end < stream.words and opens_heading(stream, end):
                return i
        # Print's heading is the first word of the ebook's ("Notes", "Notes to …").
        if opens_heading(stream, i) and stream.plain[i] == wanted[0] and \
                match_end(stream, heading_end(stream, i), wanted[1:], whole=False) is not None:
            return i
    return None


def _split_start(stream: Stream, i: int, word: str) -> bool:
    """Whether print's first `word` is the end of the word at `i` run on into the next,
    which markup cut off ("nadzes" in "Lominadze" + "s"): at least three letters of it
    end the word at `i`, and the next word is the rest."""
    rest = stream.plain[i + 1] if i + 1 < stream.words else ""
    head = word[:len(word) - len(rest)]
    return bool(rest) and word.endswith(rest) and len(head) >= 3 and stream.plain[i].endswith(head)


def heading_end(stream: Stream, word: int) -> int:
    """The position of the first word after the heading that begins at `word`."""
    at = bisect.bisect_right(stream.starts, word) - 1
    heading = enclosing(stream.nodes[at].el, HEADINGS)
    while at < len(stream.nodes) and is_ancestor(heading, stream.nodes[at].el) and \
            not (stream.nodes[at].is_tail and stream.nodes[at].el is heading):
        at += 1
    return stream.nodes[at].word if at < len(stream.nodes) else stream.words


def match_end(stream: Stream, i: int, wanted: list[str], whole: bool = True) -> int | None:
    """The position after `wanted` read from position `i` (letters compared across word
    boundaries, since markup splits words; the first word may be the tail of the stream's,
    and unless `whole`, the last one the head of a word hyphenated across pages)."""
    first = stream.plain[i]
    if first.endswith(wanted[0]) and first != wanted[0]:
        goal, i = "".join(wanted[1:]), i + 1
    elif _split_start(stream, i, wanted[0]):
        goal, i = "".join(wanted[1:]), i + 2
    else:
        goal = "".join(wanted)
    got = ""
    while len(got) < len(goal) and i < stream.words:
        got += stream.plain[i]
        i += 1
    return i if got == goal or (not whole and got.startswith(goal)) else None


def opens_heading(stream: Stream, word: int) -> bool:
    node = stream.node_at(word)
    heading = enclosing(node.el, HEADINGS)
    return node.word == word and not node.is_tail and heading is not None and node.el is first_text(heading)


def _in_figure(el) -> bool:
    return any(e.tag.rsplit("}", 1)[-1] == "figure" for e in (el, *el.iterancestors()))


def estimate_starts(stream: Stream, pages: list[PageStart],
                    anchors: dict[str, int]) -> tuple[list[int], list[str]]:
    """The word where each page begins, and how it was found: "words" (its first words),
    "anchor" (its first anchor), "blank", or "estimated".

    Print tells which page every anchor landed on, and each page's first words.
    Those words, searched between the last anchor of an earlier page and the
    first anchor of this or a later one, give the exact place. Failing that
    (print adds words of its own, such as a chapter number), a page begins at its
    first anchor when that is a block (a heading starts a page), else halfway
    between the previous page's last anchor and its own first. Pages with neither
    are interpolated by words; a blank page sits just before the page after it.
    Anchors out of reading order (matter that print places elsewhere) are set aside."""
    # Print may set a figure after the text that follows it (a figure too tall
    # for the rest of its page is deferred), so figures do not bound the search.
    points = sorted((stream.anchors[a][0], page, a) for a, page in anchors.items()
                    if a in stream.anchors and 0 <= page < len(pages)
                    and not _in_figure(stream.anchors[a][2]))
    points = nondecreasing(points)
    first_on: dict[int, tuple[int, str]] = {}
    last_on: dict[int, int] = {}
    for pos, page, anchor in points:
        first_on.setdefault(page, (pos, anchor))
        last_on[page] = pos
    starts: list[float | None] = [None] * len(pages)
    how = ["estimated"] * len(pages)
    # hi_from[i]: the first anchor on page i or later (anchors never lie past the end).
    hi_from = [stream.words] * (len(pages) + 1)
    for i in reversed(range(len(pages))):
        hi_from[i] = min(hi_from[i + 1], first_on[i][0]) if i in first_on else hi_from[i + 1]
    lo = 0
    for i, page in enumerate(pages):
        if i - 1 in last_on:
            lo = max(lo, last_on[i - 1])
        hi = hi_from[i]
        found = find_words(stream, lo, hi, page.text) if page.text else None
        if found is not None:
            starts[i], how[i] = found, "words"
        elif i in first_on:
            pos, anchor = first_on[i]
            el = stream.anchors[anchor][2]
            block = el.tag in BLOCKS or not last_on or lo == 0
            starts[i] = pos if block else (lo + pos + 1) / 2
            how[i] = "anchor" if block else "estimated"
    blank = [i for i, page in enumerate(pages) if page.text == "" and starts[i] is None]
    blanks = set(blank)
    known = [i for i, s in enumerate(starts) if s is not None]
    for i, s in enumerate(starts):
        if s is not None or i in blanks:
            continue
        at = bisect.bisect_left(known, i)
        lower = known[at - 1] if at else None
        upper = known[at] if at < len(known) else None
        # Pages lower+1 … upper-1 fill the words after the last anchor of page
        # `lower` up to where page `upper` begins, along with the rest of page
        # `lower` (counted as half a page).
        lo_word = (last_on.get(lower, starts[lower]) + 1) if lower is not None else 0
        hi_word = starts[upper] if upper is not None else stream.words
        lo_page = lower if lower is not None else -1
        hi_page = upper if upper is not None else len(pages)
        gap = hi_page - lo_page - 1
        # (Never past where the page after begins: a page of words the ebook lacks, such
        # as print's series page, sits with the page after it.)
        starts[i] = min(lo_word + (hi_word - lo_word) * (i - lo_page - 0.5) / (gap + 0.5), hi_word)
    for i in reversed(blank):
        starts[i] = starts[i + 1] if i + 1 < len(starts) else stream.words
        how[i] = "blank"
    out = []
    previous = 0
    for s in starts:
        previous = max(previous, int(round(s)))
        out.append(previous)
    for i in range(len(out)):
        if how[i] == "estimated":
            out[i] = nearest_block(stream, out[i], out[i - 1] if i else 0,
                                   out[i + 1] if i + 1 < len(out) else stream.words)
    return out, how


def nearest_block(stream: Stream, word: int, lo: int, hi: int) -> int:
    """The block start between `lo` and `hi` nearest to `word` (`word` when there is none):
    a page found neither by its words nor by a block of its own is marked between blocks."""
    at = bisect.bisect_left(stream.blocks, word)
    near = [b for b in stream.blocks[max(at - 1, 0):at + 1] if lo <= b <= hi]
    return min(near, key=lambda b: abs(b - word)) if near else word


def nondecreasing(points: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """The longest subsequence of (position, page, id) whose pages never go down."""
    tails: list[int] = []
    tail_at: list[int] = []
    parent = [-1] * len(points)
    for i, (_pos, page, _id) in enumerate(points):
        k = bisect.bisect_right(tails, page)
        if k == len(tails):
            tails.append(page)
            tail_at.append(i)
        else:
            tails[k] = page
            tail_at[k] = i
        parent[i] = tail_at[k - 1] if k else -1
    out = []
    i = tail_at[-1] if tail_at else -1
    while i != -1:
        out.append(points[i])
        i = parent[i]
    return out[::-1]


def insert_before_element(target: etree._Element, marker: etree._Element) -> None:
    """The marker where `target` begins, at a place whose content model takes a span:
    before it in flowing content, else inside the first item, cell or caption."""
    inner = target
    while inner.tag in STRUCTURAL:
        children = [c for c in inner if isinstance(c.tag, str) and c.tag not in COLUMNS]
        if not children:
            break
        inner = children[0]
    parent = inner.getparent()
    if inner is target and parent is not None and parent.tag not in STRUCTURAL \
            and target.tag not in HEADINGS | STRUCTURAL:
        target.addprevious(marker)
    elif target.tag in HEADINGS and parent is not None and parent.tag in BLOCKS - HEADINGS:
        target.addprevious(marker)
    elif inner is target or inner.tag in TAKES_TEXT | HEADINGS:
        marker.tail = inner.text
        inner.text = None
        inner.insert(0, marker)
    else:
        inner.addprevious(marker)


def insert_at_word(node: TextNode, word: int, marker: etree._Element) -> str:
    """The marker before `word` of the text node; before the inline elements that begin
    there (a name, a link), but never inside a name: a page that begins within one is
    marked after it, as the index counts a name on the page where it begins. Returns the
    reason when the marker is not before `word`."""
    text = node.text
    cut, first = len(text), False
    for k, m in enumerate(re.finditer(r"\S+", text)):
        if node.word + k == word:
            cut, first = m.start(), k == 0
            break
    hoist = None
    if first and not node.is_tail:
        el = node.el
        while is_inline(el) and not in_toc_entry(el) and el.getparent() is not None:
            hoist, parent = el, el.getparent()
            if not is_inline(parent) or (parent.text or "").strip() or parent[0] is not el:
                break
            el = parent
    holder = hoist.getparent() if hoist is not None else node.el.getparent() if node.is_tail else node.el
    name = next((el for el in reversed([holder, *holder.iterancestors()]) if is_name(el)), None)
    if name is not None:
        marker.tail, name.tail = name.tail, None
        name.addnext(marker)
        return f"the page begins inside the name “{text_of(name)}”: marked after it"
    if hoist is not None:
        hoist.addprevious(marker)
        return ""
    marker.tail = text[cut:]
    if node.is_tail:
        node.el.tail = text[:cut]
        node.el.addnext(marker)
    else:
        node.el.text = text[:cut]
        node.el.insert(0, marker)
    return ""


def is_inline(el: etree._Element) -> bool:
    return el.tag not in BLOCKS | STRUCTURAL | {NAV, h("ol"), h("ul")}


def is_name(el: etree._Element) -> bool:
    """An index mention (`span.ix`): no page-break marker goes inside one."""
    return el.tag == h("span") and "ix" in (el.get("class") or "").split()


def in_toc_entry(el: etree._Element) -> bool:
    """A link of the contents: a navigation list item must begin with it, so a marker
    goes inside it."""
    parent = el.getparent()
    return el.tag == h("a") and parent is not None and parent.tag == h("li") and \
        any(a.tag == NAV for a in parent.iterancestors())


def follow_print_figures(root: etree._Element, moved: dict[str, int]) -> None:
    """Each figure print set after the blocks that followed it (a figure too tall for the rest
    of its page goes overleaf and text fills the gap: print.deferral.defer_figures), with the
    figures right after it, moves after as many blocks here, so that the ebook's reading
    order is print's and every print page's text lies between its markers."""
    if not moved:
        return
    for figure in [el for el in root.iter(h("figure")) if el.get("id") in moved]:
        parent = figure.getparent()
        siblings = [el for el in parent if isinstance(el.tag, str)]
        at = siblings.index(figure)
        end = at + 1
        while end < len(siblings) and siblings[end].tag == h("figure"):
            end += 1
        group, after = siblings[at:end], siblings[end:end + moved[figure.get("id")]]
        if not after:
            continue
        # The group's whitespace stays where it was; the blocks keep theirs.
        for el in group:
            el.tail = None
        anchor = after[-1]
        for el in reversed(group):
            anchor.addnext(el)


REASONS = {
    "anchor": "its first words are not the ebook's (print's contents, or a heading of other words): "
              "marked where the first block print set on it begins",
    "estimated": "neither its first words nor a block of it are found in the ebook: marked at the "
                 "start of the block nearest to where the pages around it put it",
}


def place_pagebreaks(docs: list[tuple[str, etree._Element]], pages: list[PageStart],
                     anchors: dict[str, int]) -> list[Placed]:
    """Puts a page-break marker where each print page begins; returns them in page order."""
    stream = Stream(docs)
    if not stream.nodes or not pages:
        return []
    starts, how = estimate_starts(stream, pages, anchors)
    at_word: dict[int, list[etree._Element]] = {}
    for pos, _doc, el in stream.anchors.values():
        at_word.setdefault(pos, []).append(el)
    ids = page_ids(pages)
    placed: list[Placed] = []
    # From the last page back, so that cutting a text node never moves a word
    # position still to be used; pages that begin at the same word (a blank
    # verso, then a chapter) get their markers side by side, in page order.
    groups: dict[int, list[int]] = {}
    for i, word in enumerate(starts):
        groups.setdefault(word, []).append(i)
    for word in sorted(groups, reverse=True):
        markers = [pagebreak(pages[i].label, ids[i]) for i in groups[word]]
        first = markers[0]
        if word >= stream.words:
            doc, root = docs[-1]
            root.append(first)
        else:
            node = stream.node_at(word)
            doc = node.doc
            starts_here = node.word == word and not node.is_tail
            # The outermost element that begins with this word takes the marker
            # before it: a page that opens with a chapter opens before its section.
            block = next((el for el in at_word.get(word, []) if starts_here
                          and el.tag in BLOCKS | STRUCTURAL and is_ancestor(el, node.el)
                          and el.getparent() is not None), None)
            heading = enclosing(node.el, HEADINGS)
            reason = ""
            if block is not None:
                insert_before_element(block, first)
            elif heading is not None and starts_here and node.el is first_text(heading):
                insert_before_element(heading, first)
            elif heading is not None:
                # Not inside a heading: a page that begins within one is marked
                # after it, which keeps the markers in page order.
                first.tail, heading.tail = heading.tail, None
                heading.addnext(first)
            else:
                reason = insert_at_word(node, word, first)
        for previous, marker in zip(markers, markers[1:]):
            marker.tail, previous.tail = previous.tail, None
            previous.addnext(marker)
        placed += [Placed(pages[i].label, doc, ids[i], reason or REASONS.get(how[i], ""))
                   for i in groups[word]]
    order = {pid: n for n, pid in enumerate(ids)}
    return sorted(placed, key=lambda p: order[p.id])


def page_ids(pages: list[PageStart]) -> list[str]:
    """`page-LABEL`, made unique should print repeat a label."""
    seen: dict[str, int] = {}
    out = []
    for page in pages:
        seen[page.label] = seen.get(page.label, 0) + 1
        out.append(f"page-{page.label}" + (f"-{seen[page.label]}" if seen[page.label] > 1 else ""))
    return out


def first_text(el: etree._Element) -> etree._Element | None:
    """The element whose own text is the first text inside `el`."""
    for sub in el.iter():
        if isinstance(sub.tag, str) and sub.text and sub.text.strip():
            return sub
    return None


def enclosing(el: etree._Element, tags: set[str]) -> etree._Element | None:
    while el is not None:
        if el.tag in tags:
            return el
        el = el.getparent()
    return None


def is_ancestor(ancestor: etree._Element, el: etree._Element) -> bool:
    while el is not None:
        if el is ancestor:
            return True
        el = el.getparent()
    return False

