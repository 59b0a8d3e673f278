"""Print layout: the Book's parts as HTML, their place in the page sequence, folios, contents and index."""
from __future__ import annotations

import functools
import html
import os
import re
import time
from contextlib import nullcontext
from datetime import datetime, timezone
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from lxml import etree
from lxml import html as lxml_html
from markupsafe import Markup

from ..config import display_path
from ..errors import Problems
from ..model import BODY_ROLES, DATA_ROLES, FRONT_ROLES, Book, Edition, Unit
from .assemble import Metadata, Outline, Sheet, assemble
from .engine import PACKAGE_ROOT, PARAGRAPHS_CSS
from .parts import Job, PartPDF, Pool
from ..letters import letters
from ..transform import BLOCKS

TEMPLATES = PACKAGE_ROOT / "templates" / "print"

ROMAN = [(1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
         (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")]


def roman(n: int) -> str:
    out = ""
    for value, numeral in ROMAN:
        while n >= value:
            out += numeral
            n -= value
    return out


# --- parts --------------------------------------------------------------------------------

@dataclass
class Part:
    """One piece laid out as its own document: the front pages, the contents, a unit, …"""

    key: str
    template: str
    numbering: str                     # "roman", "arabic" or "" (no folios shown)
    title: str = ""
    unit: Unit | None = None
    context: dict = field(default_factory=dict)


def book_parts(book: Book) -> list[Part]:
    """The print sequence: front pages, contents, front units, body units, back matter."""
    parts = [Part("front", "front.html.j2", ""), Part("contents", "contents.html.j2", "roman",
                                                      "Contents")]
    roman_done = False
    for entry in book.config.contents:
        unit = book.unit_for(entry)
        # Arabic folios from the first unit that is not front matter to the end.
        roman_done = roman_done or entry.role not in FRONT_ROLES
        numbering = "arabic" if roman_done else "roman"
        if unit is not None:
            parts.append(Part(unit.id, "unit.html.j2", numbering, unit.title, unit))
        elif entry.role in DATA_ROLES:  # (a text's unit is absent only from a book not read yet)
            parts.append(Part(entry.role, f"{entry.role}.html.j2", numbering,
                              book.data_title(entry.role)))
    return parts


# --- HTML for print -----------------------------------------------------------------------

def _inline(fragment: str) -> Markup:
    """Block HTML (Pandoc's paragraphs) as inline HTML: later paragraphs become block spans."""
    paras = re.findall(r"<p>(.*?)</p>", fragment, re.S)
    if not paras or re.sub(r"<p>.*?</p>", "", fragment, flags=re.S).strip():
        return Markup(fragment)
    rest = "".join(f'<span class="fn-para">{p}</span>' for p in paras[1:])
    return Markup(paras[0] + rest)


def _keep_ranges(fragment: str) -> Markup:
    """`1928–1933` never breaks at its dash (in display titles)."""
    return Markup(re.sub(r"(\d+–\d+)", r'<span class="nowrap">\1</span>', str(fragment)))


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["inline"] = _inline
    env.filters["keep_ranges"] = _keep_ranges
    return env


# A facsimile table with this many columns is set smaller, or its words break letter by letter.
DENSE_COLUMNS = 8


def _mark_document_blocks(root: etree._Element) -> None:
    """A document's paragraph that is all bold is one of its headings (set flush left and kept
    with what follows); a table of many columns is set dense."""
    for doc in root.iter("div"):
        if "document" not in (doc.get("class") or "").split():
            continue
        for p in doc.iter("p"):
            children = list(p)
            if len(children) == 1 and children[0].tag in ("strong", "b") and not (p.text or "").strip() \
                    and not (children[0].tail or "").strip():
                p.set("class", " ".join([*(p.get("class") or "").split(), "doc-head"]))
        for table in doc.iter("table"):
            if max((len(tr.findall("td")) + len(tr.findall("th")) for tr in table.iter("tr")),
                   default=0) >= DENSE_COLUMNS:
                table.set("class", " ".join([*(table.get("class") or "").split(), "dense"]))
                # Pandoc's widths come from the dashes of a grid table; a facsimile's
                # columns share the whole measure.
                table.attrib.pop("style", None)
                for colgroup in table.findall("colgroup"):
                    table.remove(colgroup)


def unit_body(book: Book, unit: Unit, notes: str, mentions: list | None = None,
              missing_art: str = "placeholder") -> str:
    """The unit's text as print wants it: absent art as `missing_art` says (a marked frame for
    drafts, or the caption alone), English captions of Russian documents, their headings and
    dense tables marked, and page-foot notes in place of references when `notes` says so."""
    root = lxml_html.fragment_fromstring(unit.body_html or "<p></p>", create_parent="div")
    _mark_document_blocks(root)
    for figure in root.iter("figure"):
        if "absent" in (figure.get("class") or "").split():
            _without_art(figure, missing_art)
    for div in root.iter("div"):
        if "caption" in (div.get("class") or "").split() and div.getparent() is not None \
                and "document" in (div.getparent().get("class") or "").split():
            div.set("lang", book.config.language)
    if notes == "footnotes":
        by_ref = {ref: (note, i) for note in unit.notes for i, ref in enumerate(note.ref_ids)}
        for a in list(root.iter("a")):
            if "footnote-ref" not in (a.get("class") or "").split():
                continue
            note, i = by_ref.get(a.get("id"), (None, 0))
            if note is None:
                continue
            if i == 0:
                span = lxml_html.fragment_fromstring(
                    f'<span class="footnote" id="{note.id}">{_inline(note.html)}</span>')
            else:
                span = etree.Element("sup", {"class": "footnote-again"})
                span.text = str(note.number)
            span.tail = a.tail
            a.getparent().replace(a, span)
    if mentions is not None:
        mentions.extend(unwrap_mentions(root))
    return "".join(lxml_html.tostring(c, encoding="unicode") for c in root)


# --- index mentions -----------------------------------------------------------------------
# An index mention is a `span.ix` with an id (transform.py). A span splits the text run it sits
# in, and WeasyPrint shapes each run apart: the book's 4,000 spans made the layout a fifth
# slower. In print the span goes and the mention is kept as (anchor, id of its block, offset):
# the offset counts the letters and digits of the block's text before it, which survive any
# line breaking, hyphenation or justification. The layout workers find the line that holds
# that letter (parts.mention_anchors) and name the anchor there, as if the span were there.

def _classes(el) -> list[str]:
    return (el.get("class") or "").split()


def unwrap_mentions(root: etree._Element) -> list[tuple[str, str, int]]:
    """Every `span.ix` with an id under `root` replaced by its content; (anchor, block id,
    offset) of each, the block given an id where it had none. Text of a page-foot note
    (`span.footnote`) is not counted: it is set at the foot of the page, not in the line."""
    spans = [s for s in root.iter("span") if "ix" in _classes(s) and s.get("id")]
    blocks: dict = {}
    for span in spans:
        block = next((a for a in span.iterancestors() if a.tag in BLOCKS), None)
        if block is not None:
            blocks.setdefault(block, []).append(span)
    found = []
    for block, inside in blocks.items():
        if not block.get("id"):
            block.set("id", f"{inside[0].get('id')}-in")
        starts = {}
        count = 0
        nested = {b for b in blocks if b is not block}

        def walk(el) -> None:
            nonlocal count
            if el is not block and (el in nested or "footnote" in _classes(el)):
                return
            if el in inside:
                starts[el] = count
            count += len(letters(el.text or ""))
            for child in el:
                if isinstance(child.tag, str):
                    walk(child)
                count += len(letters(child.tail or ""))

        walk(block)
        found.extend((span.get("id"), block.get("id"), starts[span]) for span in inside)
    for span in spans:
        if span.getparent() is not None:
            span.drop_tag()
    return found


def _without_art(figure, missing_art: str) -> None:
    """A figure whose art is absent: its caption alone (`caption`), or a frame that says so
    and names the file (`placeholder`, for drafts: a release refuses it)."""
    img = figure.find("img")
    if img is None:
        return
    if missing_art == "caption":
        figure.remove(img)
        figure.set("class", " ".join([*_classes(figure), "caption-only"]))
        return
    frame = etree.Element("div", {"class": "art-absent"})
    what = etree.SubElement(frame, "span", {"class": "what"})
    what.text = "Art absent"
    path = etree.SubElement(frame, "span", {"class": "path"})
    path.text = img.get("src")
    img.getparent().replace(img, frame)


def render_part(env: Environment, book: Book, edition: Edition, part: Part,
                mentions: list | None = None) -> str:
    """A part's HTML for print; with `mentions`, the index mentions of a unit are taken out of
    the text into that list (see unwrap_mentions)."""
    context = {"book": book, "edition": edition, "numbering": part.numbering, "title": part.title,
               "inline": {k: Markup(v) for k, v in book.inline_html.items()},
               "typesetting": {"line_breaking": edition.line_breaking, "page_bottoms": edition.page_bottoms,
                               "unbreakable": " ".join(personal_names(book))}, **part.context}
    if part.template == "front.html.j2":
        c = book.config
        context["copyright_lines"] = [Markup(book.inline_html.get(f"copyright_page.{i}", html.escape(s)))
                                      for i, s in enumerate(c.copyright_page)]
        context["cip_lines"] = [Markup(book.inline_html.get(f"cip.{i}", html.escape(s)))
                                for i, s in enumerate(c.cip)]
    if part.unit is not None:
        unit = part.unit
        context.update(unit=unit, title_html=balanced_title(unit.title_html),
                       body=Markup(unit_body(book, unit, edition.notes, mentions, edition.missing_art)),
                       endnotes=[] if edition.notes == "footnotes" else
                       [{"id": n.id, "number": n.number, "ref_ids": n.ref_ids, "html": Markup(n.html)}
                        for n in unit.notes])
    return numero_apart(env.get_template(part.template).render(**context))


# Pango (as WeasyPrint 70 uses it) finds no place to wrap a run of text holding "№" that is too
# long for its line: WeasyPrint then ends the line before the run, and a note opening
# "Biulleten’ oppozitsii, 1929, № 1–2, …" set its title alone across the measure. In a span of
# its own the sign is a run of its own, and the text around it wraps. Print only; "№" is no
# letter or digit, so index offsets do not move.
_NUMERO = re.compile(r"№(?![^<]*>)")


# Pango also keeps a closing quotation mark with a bracket after it, space or not (UAX #14's
# rule "QU SP* × OP"): "Comrade Bukharin” (published" was one unbreakable run, and the line
# before it was set at 3.9 times its spaces. A zero-width space after the mark lets the line
# end at the space (rule LB8: a break after ZW SP*); engine.box_text leaves it out again.
QUOTE_BREAK = "\u200b"
_QUOTE_BEFORE_BRACKET = re.compile(r"([”’])(?= [(\[])(?![^<]*>)")


def numero_apart(html_text: str) -> str:
    html_text = _QUOTE_BEFORE_BRACKET.sub(r"\1" + QUOTE_BREAK, html_text)
    return _NUMERO.sub('<span class="numero">№</span>', html_text)


def balanced_title(fragment: str) -> Markup:
    """A title's HTML with its last two words joined by a no-break space, so that a title that
    needs two lines never leaves one word alone on the last (in the text and the contents)."""
    pieces = re.split(r"(<[^>]*>)", fragment.strip())
    for i in range(len(pieces) - 1, -1, -1):
        text = pieces[i]
        at = text.rfind(" ")
        if not text.startswith("<") and at >= 0:
            pieces[i] = text[:at] + "\u00a0" + text[at + 1:]
            break
    return Markup("".join(pieces))


def personal_names(book: Book) -> list[str]:
    """The words of the people's names (the name index and the biographies): words no line
    break may hyphenate."""
    texts = [t for h in book.index for t in (h.heading, *h.forms)]
    texts += [t for p in book.people for t in (p.surname, p.given_names, p.patronymic, p.alias)]
    return list(_name_words(tuple(texts)))


@functools.lru_cache(maxsize=4)
def _name_words(texts: tuple) -> tuple[str, ...]:
    # Once per set of names, not once per part: splitting the book's 3,000 names took 2.6 ms,
    # 0.16 s of the 62 parts' HTML, made on one core before the workers have their jobs.
    return tuple(sorted({w for t in texts for w in re.split(r"[\s,.()\[\]]+", t or "")
                         if len(w) > 2 and w[0].isupper()}))


def breaking_summary(results) -> str:
    """How the parts' paragraphs were broken: whole (linebreak.py), and the lines WeasyPrint
    set otherwise than chosen (0 when every chosen break held)."""
    results = list(results)
    paragraphs, lines, mismatched, greedy = (sum(r.breaking[i] for r in results) for i in range(4))
    filled, left, balanced = (sum(r.filled[i] for r in results) for i in range(3))
    return (f"line breaking: {paragraphs} paragraphs broken whole ({lines} lines, {mismatched} "
            f"set otherwise than chosen), {greedy} left to WeasyPrint; page bottoms: {filled} pages "
            f"filled to the grid, {left} too short to fill, {balanced} spreads set a line short")


def page_css(edition: Edition) -> str:
    """The edition's page size and the book's bold faces (the rest of the page is in
    print.css). No interior bleed: nothing in the interior runs to the page edge, and
    printers want the page at trim size then (KDP, IngramSpark); the edition's `bleed` is
    its cover's."""
    from ..fonts import bold_faces, font_face_css

    width, height = edition.trim
    paragraphs = PARAGRAPHS_CSS.read_text(encoding="utf-8") if edition.line_breaking == "paragraph" else ""
    return f"@page {{ size: {width:.3f}pt {height:.3f}pt; }}\n" + font_face_css(bold_faces()) + paragraphs


# --- the page sequence --------------------------------------------------------------------

@dataclass
class Slot:
    """Where a laid-out part sits in the book."""

    part: Part
    first: int                         # index of its first page in the book
    pages: int
    blank_before: bool


def place(parts: list[Part], counts: dict[str, int]) -> list[Slot]:
    """Every part opens on a recto: a blank verso goes before a part that would not."""
    slots = []
    index = 0
    for part in parts:
        if part.key not in counts:
            continue
        blank = index % 2 == 1
        index += blank
        slots.append(Slot(part, index, counts[part.key], blank))
        index += counts[part.key]
    return slots


def folio_labels(slots: list[Slot]) -> list[str]:
    """Roman folios from the half-title on, arabic ones from the first body part's opening page;
    blank pages count."""
    total = slots[-1].first + slots[-1].pages
    body = next((s.first for s in slots if s.part.numbering == "arabic"), total)
    return [roman(i + 1) if i < body else str(i - body + 1) for i in range(total)]


@dataclass
class PageMap:
    """Every page's label and first words, the page index of every anchor, the figures set
    after blocks that followed them (figure id → blocks moved ahead), and the index as
    printed (once laid out): the EPUB follows all of it."""

    labels: list[str]
    anchors: dict[str, int]
    first_words: list[str]
    moved: dict[str, int] = field(default_factory=dict)
    index: list[tuple[str, list[IndexEntry]]] = field(default_factory=list)


def page_map(slots: list[Slot], results: dict[str, PartPDF]) -> PageMap:
    labels = folio_labels(slots)
    anchors: dict[str, int] = {}
    words = [""] * len(labels)
    moved: dict[str, int] = {}
    for slot in slots:
        result = results[slot.part.key]
        moved.update(dict(result.moved))
        for i in range(result.pages):
            words[slot.first + i] = result.words[i]
            for name, _, _ in result.anchors[i]:
                anchors.setdefault(name, slot.first + i)
    return PageMap(labels, anchors, words, moved)


def locators(pages: list[int], labels: list[str], anchors: list[str]) -> list[tuple[str, str]]:
    """Page indexes → (text, anchor) locators: each page once, consecutive pages as ranges."""
    first_anchor: dict[int, str] = {}
    for page, anchor in sorted(zip(pages, anchors)):
        first_anchor.setdefault(page, anchor)
    ordered = sorted(first_anchor)
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1 and \
                labels[ordered[j + 1]].isdigit() == labels[ordered[i]].isdigit():
            j += 1
        text = labels[ordered[i]] if j == i else f"{labels[ordered[i]]}–{labels[ordered[j]]}"
        out.append((text, first_anchor[ordered[i]]))
        i = j + 1
    return out


def contents_entries(book: Book, parts: list[Part], slots: list[Slot] | None,
                     labels: list[str] | None) -> list[dict]:
    """The contents' lines: every part after the contents, with its folio ("000" before layout)."""
    at = {s.part.key: s for s in slots or []}
    entries = []
    previous = None
    for part in parts[2:]:
        unit = part.unit
        folio = labels[at[part.key].first] if labels and part.key in at else "000"
        group = "front" if part.numbering == "roman" else ("body" if unit and unit.role in BODY_ROLES
                                                           else "back")
        entries.append({
            "kind": unit.role if unit else part.key, "gap": previous is not None and group != previous,
            "number": unit.number if unit and unit.role == "chapter" and unit.number else "",
            "title": balanced_title(unit.title_html) if unit else part.title,
            "target": part.key, "folio": folio})
        previous = group
    return entries


@dataclass
class IndexEntry:
    id: str
    heading: str
    locators: list[dict]
    see: list[str]
    see_also: list[str]
    see_sep: str


def index_groups(book: Book, pages: PageMap) -> list[tuple[str, list[IndexEntry]]]:
    """Index entries grouped by initial: mention pages deduplicated and joined into ranges,
    the biography's page in italics."""
    by_heading: dict[str, list[str]] = {}
    for mention in book.mentions:
        by_heading.setdefault(mention.heading, []).append(mention.anchor)
    headings = {h.id: h for h in book.index}
    people = {p.id: p for p in book.people}

    def entry(h) -> IndexEntry:
        anchors = [a for a in by_heading.get(h.id, []) if a in pages.anchors]
        locs = [{"text": text, "anchor": anchor, "bio": False}
                for text, anchor in locators([pages.anchors[a] for a in anchors], pages.labels, anchors)]
        person = people.get(h.person)
        if person is not None and person.anchor in pages.anchors:
            bio_page = pages.anchors[person.anchor]
            locs = [loc for loc in locs if loc["text"] != pages.labels[bio_page]]
            locs.append({"text": pages.labels[bio_page], "anchor": person.anchor, "bio": True})
        see = [headings[s].heading for s in h.see if s in headings]
        see_also = [headings[s].heading for s in h.see_also if s in headings]
        return IndexEntry(h.id, h.heading, locs, see, see_also, see_separator(h.heading, bool(locs)))

    return [(letter, [entry(h) for h in entries]) for letter, entries in index_order(book)]


def index_order(book: Book) -> list[tuple[str, list]]:
    """The index headings in print's order, grouped by initial (the EPUB's index follows)."""
    groups: dict[str, list] = {}
    for h in sorted(book.index, key=lambda h: (h.sort or h.heading).casefold()):
        groups.setdefault((h.sort or h.heading)[:1].upper(), []).append(h)
    return list(groups.items())


def see_separator(heading: str, located: bool) -> str:
    """What comes before "See": a full stop, unless the bare heading ends with one."""
    return ". " if located or not heading.endswith(".") else " "


def furniture_html(env: Environment, book: Book, slots: list[Slot], labels: list[str],
                   blank_after: bool) -> str:
    """One page per book page of `slots`, carrying only its running heads and folio. A blank
    verso goes with the part before it, so that every run of slots starts on a recto."""
    sections = []
    for k, slot in enumerate(slots):
        sections.append({"plain": not slot.part.numbering, "running": slot.part.title,
                         "folios": labels[slot.first:slot.first + slot.pages],
                         "blank_after": slots[k + 1].blank_before if k + 1 < len(slots) else blank_after})
    return env.get_template("furniture.html.j2").render(book=book, sections=sections)


def _blank_after(run: list[Slot], slots: list[Slot]) -> bool:
    following = slots.index(run[-1]) + 1
    return following < len(slots) and slots[following].blank_before


def furniture_runs(slots: list[Slot], runs: int) -> list[list[Slot]]:
    """Consecutive slots cut into about `runs` runs of similar page counts, laid out in parallel."""
    total = slots[-1].first + slots[-1].pages
    out: list[list[Slot]] = [[]]
    for slot in slots:
        if out[-1] and slot.first >= total * len(out) / runs:
            out.append([])
        out[-1].append(slot)
    return out


# --- the whole book -----------------------------------------------------------------------

@dataclass
class PrintedBook:
    pdf: bytes
    pages: PageMap
    slots: list[Slot]
    warnings: list[str]
    # Every placed part's layout by key: anchor positions on its pages (the proof's markers).
    parts: dict[str, PartPDF] = field(default_factory=dict)


def print_book(book: Book, edition: Edition, problems: Problems, cache: Path | None,
               workers: int | None = None,
               decorate: Callable[[Part, str], str] | None = None,
               say: Callable[[str], None] | None = None, pool: Pool | None = None,
               pages_only: bool = False, meanwhile: Callable[[], None] | None = None) -> PrintedBook:
    """Lay out every part on its own (in parallel, reusing unchanged ones from the cache),
    then the contents and the index from the page map, then the running heads and folios
    of every page, and put it all in one PDF.

    Parts do not depend on their folios: heads and folios are a separate layer laid over
    each page, so a part is laid out once whatever page it lands on. `decorate(part, html)`
    may rewrite a part's HTML before layout (the proof adds ids that must not move a line);
    `say` gets a progress line for every part laid out and every stage, with the time taken;
    `pool` is one the caller started early (`Pool.warm`), else one is made here.
    `pages_only` stops at the page map (the EPUB's page-list): no heads, folios or PDF.
    `meanwhile()` runs while the workers lay out the parts (the print stage's check of the
    characters against the fonts); what it raises ends the build."""
    started = time.monotonic()

    def note(message: str) -> None:
        if say:
            say(f"[{time.monotonic() - started:5.1f} s] {message}")

    env = environment()
    parts = book_parts(book)
    css = page_css(edition)
    repository = str(book.root)

    def job(part: Part) -> Job:
        return part_job(env, book, edition, part, css, decorate)

    contents = parts[1]
    index = next((p for p in parts if p.key == "index"), None)
    with nullcontext(pool) if pool is not None else Pool(cache, workers) as pool:
        if say:
            pool.say = note
        contents.context = {"entries": contents_entries(book, parts, None, None)}
        note(f"laying out {len(parts) - (index is not None)} parts on {pool.workers} worker(s)")
        pending = submit_as_rendered(pool, [p for p in parts if p is not index], job, book.converted)
        if meanwhile is not None:
            meanwhile()
        results = pool.collect(pending)
        if edition.line_breaking == "paragraph":
            note(breaking_summary(results.values()))
        for round_ in range(1, 4):
            note(f"contents, index and running heads from the page map (round {round_})")
            counts = {key: r.pages for key, r in results.items()}
            if index is not None:
                groups = index_groups(book, page_map(place(parts, counts), results))
                index.context = {"groups": groups}
                # Written in two halves (Job.split): the index is the longest job of this
                # round, and the other worker is done with the running heads before it.
                pending_index = pool.submit([replace(job(index), split=True)])
                # The index opens on the recto after everything else, whatever its length.
                counts[index.key] = 1
            slots = place(parts, counts)
            labels = folio_labels(slots)
            contents.context = {"entries": contents_entries(book, parts, slots, labels)}
            pending = pool.submit([job(contents)])
            # Heads and folios of the pages before the index are known already.
            before = [s for s in slots if s.part is not index]
            # Two runs a worker: with the index (the longest job) on one worker, the other
            # takes the runs it can meanwhile, and the workers finish together.
            runs = [] if pages_only else furniture_runs(before, 2 * pool.workers)
            pending.update(pool.submit([
                Job(f"furniture-{n}", furniture_html(env, book, run, labels, _blank_after(run, slots)),
                    css, repository) for n, run in enumerate(runs)]))
            if index is not None:
                results.update(pool.collect(pending_index))
                counts[index.key] = results[index.key].pages
                slots = place(parts, counts)
                labels = folio_labels(slots)
                if not pages_only:
                    pending.update(pool.submit([Job("furniture-index", furniture_html(
                        env, book, slots[-1:], labels, False), css, repository)]))
            done = pool.collect(pending)
            settled = done[contents.key].pages == results[contents.key].pages
            results[contents.key] = done[contents.key]
            if settled:
                break
            # The real folios took more lines than the stand-ins: place everything again.
        else:
            problems.error(display_path(book.root), 0, 0, "P002", "the contents do not settle on a page count")
    furniture = [done[f"furniture-{n}"] for n in range(len(runs))]
    if index is not None and not pages_only:
        furniture.append(done["furniture-index"])
    pages = page_map(slots, results)
    if index is not None:
        pages.index = groups
    for mention in book.mentions:
        if mention.anchor not in pages.anchors:
            unit = next((u for u in book.units if u.id == mention.unit), None)
            where = display_path(book.root / unit.file) if unit else display_path(book.root)
            problems.warning(where, 0, 0, "P003", f"index mention #{mention.anchor} is not in the layout")
    sheets = []
    for slot in slots:
        if slot.blank_before:
            sheets.append(Sheet(None, 0))
        sheets.extend(Sheet(slot.part.key, i) for i in range(slot.pages))
    placed = {s.part.key: results[s.part.key] for s in slots}
    if pages_only:
        return PrintedBook(b"", pages, slots, [], placed)
    note(f"assembling {len(sheets)} pages")
    pdf = assemble(sheets, placed, [f.pdf for f in furniture], outline(slots, results), metadata(book, slots))
    warnings = [w for r in [*results.values(), *furniture] for w in r.warnings]
    note("assembled")
    return PrintedBook(pdf, pages, slots, warnings, placed)


# Parts that are not units and take long to lay out (the biographies: 31 pages, the longest
# job of the book), begun while the units are still being read (`submit_early`).
EARLY_PARTS = ("biographies",)


def submit_early(book: Book, edition: Edition, pool: Pool) -> None:
    """The EARLY_PARTS handed to the workers while the read stage converts the units
    (`read.read_book`'s `early`): `book` has its data files and no units yet. A worker lays
    the biographies out while Pandoc converts the units and this process builds them, when
    one core was idle for most of a second. `print_book` renders every part again: when the
    HTML is the same, `Pool.submit` finds the layout begun (by its cache key) and waits for
    it; when it is not, the part is laid out again, so nothing read later can be missed."""
    import copy

    from ..transform import transform

    # The transform stage as it will run, on copies of the data it changes (initials kept
    # with the names after them, see-also links): the book itself is transformed once read.
    book = transform(replace(book, units=[], people=copy.deepcopy(book.people),
                             glossary=copy.deepcopy(book.glossary)))
    env = environment()
    css = page_css(edition)
    for part in book_parts(book):
        if part.key in EARLY_PARTS and part.unit is None:
            pool.submit([part_job(env, book, edition, part, css)])


def part_job(env: Environment, book: Book, edition: Edition, part: Part, css: str,
             decorate: Callable[[Part, str], str] | None = None) -> Job:
    """A part's job: its HTML for print (`decorate`d, for the proof), with its index mentions
    taken out. `print_book` and `submit_early` make it alike, so that one finds the other's
    layout by its key."""
    mentions: list = []
    html = render_part(env, book, edition, part, mentions)
    return Job(part.key, decorate(part, html) if decorate else html, css, str(book.root),
               mentions=tuple(mentions))


def submit_as_rendered(pool: Pool, parts: list[Part], job: Callable[[Part], Job],
                       edited: set[str] | frozenset = frozenset()) -> dict[str, object]:
    """Each part's job handed to the workers as soon as its HTML is made, not once all are (the
    book's 60 parts take 1.5 s to render, which the workers spent idle), longest first so that
    the workers finish together: the parts that are not units (the biographies are the longest)
    are rendered first and measured, each unit is taken to be as long as its Pandoc HTML.
    After an edit, the units `edited` (ids: those Pandoc converted in this run) go first, when
    they are fewer than half the units: they are the layouts to wait for, the others are in
    the cache (the edited chapter of a one-chapter rebuild was made 0.3 s later by length)."""
    units = [p for p in parts if p.unit is not None]
    first = [p for p in units if p.unit.id in edited] if len(edited) < len(units) / 2 else []
    pending: dict[str, object] = {}
    for part in first:
        pending.update(pool.submit([job(part)]))
    rest = [p for p in parts if p.key not in pending]
    jobs = {p.key: job(p) for p in rest if p.unit is None}
    size = {p.key: len(jobs[p.key].html) if p.key in jobs else len(p.unit.html) for p in rest}
    for part in sorted(rest, key=lambda p: -size[p.key]):
        pending.update(pool.submit([jobs.get(part.key) or job(part)]))
    return {p.key: pending[p.key] for p in parts}


def outline(slots: list[Slot], results: dict[str, PartPDF]) -> list[Outline]:
    """The PDF's bookmarks: every unit (level 1) and its sections (level 2)."""
    items: list[Outline] = []
    for slot in slots:
        for level, label, page, y in results[slot.part.key].bookmarks:
            item = Outline(label, slot.first + page, y)
            if level > 1 and items:
                items[-1].children.append(item)
            else:
                items.append(item)
    return items


def metadata(book: Book, slots: list[Slot]) -> Metadata:
    c = book.config
    body = next((s.first for s in slots if s.part.numbering == "arabic"), None)
    page_labels = [(0, "r", 1)] + ([(body, "D", 1)] if body is not None else [])
    return Metadata(
        title=f"{c.title}: {c.subtitle}" if c.subtitle else c.title,
        authors=[a.name for a in c.authors], subject=c.subtitle or c.title,
        keywords=list(c.subjects), language=c.language,
        date=source_date(book).strftime("D:%Y%m%d%H%M%SZ"), page_labels=page_labels)


def source_date(book: Book) -> datetime:
    """SOURCE_DATE_EPOCH when set, else the newest source file: the same sources give the same PDF."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), timezone.utc)
    newest = max((p.stat().st_mtime for p in book.root.rglob("*") if p.is_file()), default=0)
    return datetime.fromtimestamp(int(newest), timezone.utc)
