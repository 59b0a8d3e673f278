"""XHTML surgery for the EPUB: fragments, unsafe markup, endnotes, tables, year ranges."""
from __future__ import annotations

import re

from lxml import etree

XHTML = "http://www.w3.org/1999/xhtml"
EPUB = "http://www.idpf.org/2007/ops"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
EPUB_TYPE = f"{{{EPUB}}}type"
NSMAP = {None: XHTML, "epub": EPUB}


def h(tag: str) -> str:
    return f"{{{XHTML}}}{tag}"


def parse_fragment(html: str) -> etree._Element:
    """XHTML (the read stage's, or a template's) inside an XHTML `div`."""
    wrapped = f'<div xmlns="{XHTML}" xmlns:epub="{EPUB}">\n{html}\n</div>'
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    return etree.fromstring(wrapped.encode("utf-8"), parser)


UNSAFE_URL = re.compile(r"^\s*(javascript|vbscript|data:text/html)", re.I)


REMOTE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:|//|/|\.\./)", re.I)
LOADING = {"src", "srcset", "poster", "data", "background"}


def remote_resources(root: etree._Element) -> list[tuple[str, str]]:
    """What raw HTML would load from outside the book (links that lead out are no loads):
    a style's url(), or a source that is remote, a file: URL, absolute or above the book."""
    found = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", el.get("style") or ""):
            if not url.strip().lower().startswith("data:"):
                found.append((f"a style loads {url}", url))
        for name, value in el.attrib.items():
            if name in LOADING and REMOTE.match(value) and not value.strip().lower().startswith("data:"):
                found.append((f"<{etree.QName(el).localname} {name}={value}>", value))
    return found


def unsafe_markup(root: etree._Element) -> list[tuple[str, str]]:
    """Scripts, event handlers and script URLs, which reading systems may run; each
    with the text to look for in the source."""
    found = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        name = etree.QName(el).localname
        if name in ("script", "iframe", "object", "embed"):
            found.append((f"<{name}> element", f"<{name}"))
        for attr, value in el.attrib.items():
            attr_name = etree.QName(attr).localname
            if attr_name.lower().startswith("on"):
                found.append((f'event handler {attr_name}="{value}" on <{name}>', f"{attr_name}="))
            elif attr_name in ("href", "src") and UNSAFE_URL.match(value):
                found.append((f'script URL {attr_name}="{value}" on <{name}>', value))
    return found


def mirror_lang(root: etree._Element) -> None:
    """XHTML reading systems read `xml:lang`, HTML ones `lang`: give every element both."""
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        lang = el.get("lang") or el.get(XML_LANG)
        if lang:
            el.set("lang", lang)
            el.set(XML_LANG, lang)


def text_of(el: etree._Element) -> str:
    return re.sub(r"\s+", " ", "".join(el.itertext())).strip()


def inside_class(el: etree._Element, classes: set[str]) -> bool:
    while el is not None:
        if classes & set(el.get("class", "").split()):
            return True
        el = el.getparent()
    return False


# Endnotes ------------------------------------------------------------------

def make_endnotes(section: etree._Element, notes, heading: str) -> None:
    """Pandoc's note list → the unit's notes at its end, numbered as printed:
    `section[role=doc-endnotes] > ol > li > div#note[epub:type=footnote][role=doc-footnote]`.

    The markup is what every receiver accepts. EPUBCheck 4.0.1 (Kobo's ingestion) knows
    neither `endnote`, `endnotes` nor `backlink`, and EPUBCheck 5 deprecates `endnote`;
    `noteref` and `footnote` are known to all three. Apple Books and Kobo pop up the
    element a `noteref` link targets when it is typed `footnote`; on a `div` (not an
    `aside`, which Apple Books hides) the note also stays in the text. The type sits on
    a `div` inside the list item because `doc-footnote` is not a role an `li` may take.
    The section has no `epub:type` (`footnotes` would contradict `doc-endnotes`, and
    reading systems look at the note, not its container). Each note opens with its
    number as the link back (`doc-backlink`, no `epub:type`): Kindle pops up only notes
    whose first link leads back to the reference."""
    for old in [s for s in section.iter(h("section")) if "footnotes" in s.get("class", "").split()]:
        old.getparent().remove(old)
    if not notes:
        return
    _make_noterefs(section, notes)
    endnotes = etree.SubElement(section, h("section"), {
        "id": f"{section.get('id')}-notes", "class": "endnotes",
        "role": "doc-endnotes", "aria-labelledby": f"{section.get('id')}-notes-title"})
    title = etree.SubElement(endnotes, h("h2"), {"id": f"{section.get('id')}-notes-title"})
    title.text = heading
    ol = etree.SubElement(endnotes, h("ol"))
    for note in notes:
        li = etree.SubElement(ol, h("li"))
        etree.SubElement(li, h("div"), {"id": note.id, "class": "endnote", EPUB_TYPE: "footnote",
                                        "role": "doc-footnote"}).extend(_note_body(note))


def _make_noterefs(section: etree._Element, notes) -> None:
    """Every reference becomes a `noteref` link with the note's printed number."""
    by_id: dict[str, etree._Element] = {}
    for el in section.iter():
        if isinstance(el.tag, str) and el.get("id"):
            by_id.setdefault(el.get("id"), el)
    for note in notes:
        for ref_id in note.ref_ids:
            ref = by_id[ref_id]
            for child in list(ref):
                ref.remove(child)
            ref.attrib.clear()
            ref.text = str(note.number)
            ref.set("href", f"#{note.id}")
            ref.set("id", ref_id)
            ref.set("class", "noteref")
            ref.set(EPUB_TYPE, "noteref")
            ref.set("role", "doc-noteref")
            ref.set("aria-label", f"note {note.number}")


def _note_body(note) -> list[etree._Element]:
    """The note's paragraphs, the first opening with the number that links back."""
    body = parse_fragment(note.html)
    if (body.text or "").strip() or not len(body) or body[0].tag != h("p"):
        first = etree.Element(h("p"))
        first.text = body.text
        first.extend(list(body))
        blocks = [first]
    else:
        blocks = list(body)
        first = blocks[0]
    back = etree.Element(h("a"), {
        "href": f"#{note.ref_ids[0]}", "role": "doc-backlink",
        "aria-label": f"back to the reference to note {note.number}"})
    back.text = f"{note.number}."
    back.tail = " " + (first.text or "").lstrip()
    first.text = None
    first.insert(0, back)
    return blocks


# Tables for screens --------------------------------------------------------------------------

# A table of more columns than this cannot be read at a phone's width (320 px holds about
# five short cells); such a table is marked `wide`, and epub.css lets its cells flow and wrap
# row by row on narrow screens instead of cutting them off (paginated readers cannot scroll).
NARROW_COLUMNS = 5


def fit_tables(section: etree._Element) -> None:
    """Pandoc's fixed widths (a table's `style`, its `colgroup`) go: a reader's screen is not
    the page they were computed for. Wide tables are marked for epub.css."""
    for table in section.iter(h("table")):
        table.attrib.pop("style", None)
        for colgroup in table.findall(h("colgroup")):
            table.remove(colgroup)
        columns = max((len([c for c in row if c.tag in (h("td"), h("th"))]) for row in table.iter(h("tr"))),
                      default=0)
        if columns > NARROW_COLUMNS:
            table.set("class", " ".join([*(table.get("class") or "").split(), "wide"]))
        _no_empty_headers(table)


def _no_empty_headers(table: etree._Element) -> None:
    """A header cell with no text (pandoc writes one for a table's blank corner, or for every
    column of a header row left empty) heads nothing: Ace fails it (empty-table-header), so it
    becomes a plain cell, and a header row of such cells goes."""
    for th in list(table.iter(h("th"))):
        if not text_of(th).strip() and not len(th):
            th.tag = h("td")
    for thead in table.findall(h("thead")):
        if not any(c.tag == h("th") for c in thead.iter()) and not text_of(thead).strip():
            table.remove(thead)


# Headings on small screens -------------------------------------------------------------------

# "1928–1933" broken after its dash reads as two dates; a heading keeps such a range whole.
YEAR_RANGE = re.compile(r"\b\d{3,4}\s*[–-]\s*\d{2,4}\b")
HEADINGS = {h(t) for t in ("h1", "h2", "h3", "h4")}


def keep_ranges_whole(root: etree._Element) -> None:
    """Each year range in a heading in a `span.nobreak` (epub.css: white-space: nowrap)."""
    for heading in [el for el in root.iter() if el.tag in HEADINGS]:
        for el in list(heading.iter()):
            if not isinstance(el.tag, str) or el.get("class") == "nobreak":
                continue
            _wrap_ranges(el, "text")
            if el is not heading:
                _wrap_ranges(el, "tail")


def _wrap_ranges(el: etree._Element, where: str) -> None:
    text = getattr(el, where)
    m = YEAR_RANGE.search(text or "")
    if m is None:
        return
    span = etree.Element(h("span"), {"class": "nobreak"})
    span.text = m.group(0)
    span.tail = text[m.end():]
    setattr(el, where, text[:m.start()])
    if where == "text":
        el.insert(0, span)
    else:
        el.addnext(span)
    _wrap_ranges(span, "tail")

