"""ONIX 3.0 product records (reference tags) from book.yaml, checked against EDItEUR's XSD."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from lxml import etree
from markupsafe import Markup

from ..model import Book, Edition

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates" / "dist"
# ONIX names languages by ISO 639-2/B; book.yaml by the two-letter codes of EPUB and HTML.
ISO_639_2 = {"en": "eng", "ru": "rus", "de": "ger", "fr": "fre", "es": "spa", "it": "ita",
             "pl": "pol", "uk": "ukr", "zh": "chi", "ja": "jpn", "pt": "por", "nl": "dut"}
# List 150 (product form) by binding; the ebook is an EPUB download (list 175: E101).
PRINT_FORMS = {"cloth": "BB", "hardcover": "BB", "hardback": "BB", "case": "BB"}
# List 55 (date format) by the length of book.yaml's YYYY, YYYY-MM or YYYY-MM-DD.
DATE_FORMATS = {4: "05", 7: "01", 10: "00"}


@dataclass
class Extent:
    """Page counts as ONIX list 23 defines them."""

    main: int      # 00: highest arabic page before the back matter
    front: int     # 03: roman pages
    back: int      # 04: numbered pages of the back matter
    numbered: int  # 05: every numbered page


def language_code(code: str) -> str:
    return ISO_639_2[code.split("-")[0].lower()]


def _contributor(person, role: str, from_language: str = "") -> dict:
    key, _, before = person.file_as.partition(", ")
    return {"role": role, "name": person.name, "inverted": person.file_as, "key": key if before else "",
            "before_key": before, "from_language": from_language}


def record(book: Book, edition: Edition, extent: Extent | None, thickness_in: float | None,
           description_html: str, sent: datetime) -> str:
    """The ONIX message for one edition (one ISBN)."""
    c = book.config
    original = language_code(c.original.language) if c.original and c.original.language else ""
    contributors = [_contributor(a, "A01") for a in c.authors]
    contributors += [_contributor(t, "B06", original) for t in c.translators]
    published = c.published or str(c.year)
    measures = []
    if edition.format == "print":
        width, height = edition.trim
        measures = [("01", f"{height / 72:.2f}"), ("02", f"{width / 72:.2f}")]
        if thickness_in:
            measures.append(("03", f"{thickness_in:.2f}"))
        form, details = PRINT_FORMS.get(edition.binding.lower(), "BC"), []
    else:
        form, details = "ED", ["E101"]
    extents = [("00", extent.main), ("03", extent.front), ("04", extent.back), ("05", extent.numbered)] \
        if extent else []
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template("onix.xml.j2").render(
        c=c, edition=edition, sent=sent.strftime("%Y%m%dT%H%M%SZ"), language=language_code(c.language),
        original_language=original, record=f"{c.slug}.{edition.name}.{edition.isbn}",
        barcoded=edition.format == "print", form=form, form_details=details, measures=measures,
        contributors=contributors, extents=[(t, v) for t, v in extents if v],
        description=Markup(description_html.strip()),
        date_format=DATE_FORMATS[len(published)], date=published.replace("-", ""),
        related=[e.isbn for e in c.editions.values() if e.isbn and e.isbn != edition.isbn])


@lru_cache(maxsize=1)
def schema() -> etree.XMLSchema:
    """EDItEUR's ONIX 3.0 XSD (reference tags), as the onixcheck package ships it."""
    path = files("onixcheck.schema") / "xsd3.0" / "ONIX_BookProduct_3.0_reference.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


def validate(xml: str) -> list[str]:
    """Why the record is not a valid ONIX 3.0 message; empty when it is."""
    try:
        document = etree.fromstring(xml.encode("utf-8"))
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    xsd = schema()
    if xsd.validate(document):
        return []
    return [f"line {e.line}: {e.message}" for e in xsd.error_log]
