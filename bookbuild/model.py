"""The book in memory: the dataclasses that every stage after `read` works on."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree
from lxml import html as lxml_html

from .errors import Problem

# Roles decide layout and epub:type. Front matter is numbered in roman folios in
# print, body and back matter in arabic ones.
FRONT_ROLES = ("about-the-author", "dedication", "epigraph", "foreword", "preface",
               "acknowledgments")
BODY_ROLES = ("introduction", "prologue", "part", "chapter", "conclusion", "epilogue",
              "afterword")
BACK_ROLES = ("appendix", "bibliography", "glossary", "congresses", "biographies", "index")
TEXT_ROLES = FRONT_ROLES + BODY_ROLES + ("appendix", "bibliography")
DATA_ROLES = ("glossary", "congresses", "biographies", "index")
ROLES = FRONT_ROLES + BODY_ROLES + BACK_ROLES


def meta(doc: str, **kw) -> dict:
    """Field metadata: one line of documentation, plus `check` and `required` for the loader."""
    return {"doc": doc, **kw}


# --- book.yaml ---------------------------------------------------------------------------

@dataclass
class Series:
    title: str = field(metadata=meta("the series title", required=True))
    volume: int | None = field(default=None, metadata=meta("this book's volume in the series"))


@dataclass
class Contributor:
    name: str = field(metadata=meta("the name as printed", required=True))
    file_as: str = field(default="", metadata=meta("sort form, 'Surname, Given'"))
    full_name: str = field(default="", metadata=meta("the name in full, with patronymic"))


@dataclass
class Publisher:
    name: str = field(metadata=meta("the publisher's name", required=True))
    city: str = field(default="", metadata=meta("city as on the title page"))
    address: str = field(default="", metadata=meta("postal address for the copyright page"))
    country: str = field(default="", metadata=meta("ISO 3166-1 code of the publisher's country, for ONIX"))


@dataclass
class Original:
    title: str = field(metadata=meta("the original's title, transliterated", required=True))
    edition: str = field(default="", metadata=meta("place and year of the original edition"))
    language: str = field(default="", metadata=meta("the original's language code"))
    title_native: str = field(default="", metadata=meta("the original's title in its own script"))


@dataclass
class Lccn:
    print: str = field(default="", metadata=meta("LC control number of the print edition"))
    ebook: str = field(default="", metadata=meta("LC control number of the ebook"))


@dataclass
class Classification:
    lcc_print: str = field(default="", metadata=meta("LC class number, print"))
    lcc_ebook: str = field(default="", metadata=meta("LC class number, ebook"))
    ddc: str = field(default="", metadata=meta("Dewey class number"))


@dataclass
class Case:
    """A case (hardcover) binding's allowances around the trimmed panels of its cover."""

    wrap: float = field(default=54.0, metadata=meta(
        "cover material turned in over the boards on every edge, bleed included; kept in points"))
    hinge: float = field(default=28.8, metadata=meta("the joint between the spine and each board; kept in points"))
    board: float = field(default=0.0, metadata=meta(
        "board thickness: the case spine is pages × caliper + 2 × board; kept in points"))


@dataclass
class Edition:
    name: str = field(metadata=meta("the edition's key in book.yaml"))
    format: str = field(metadata=meta("epub or print", required=True))
    isbn: str = field(default="", metadata=meta("ISBN-13 of this edition"))
    binding: str = field(default="", metadata=meta("paperback, cloth, …"))
    trim: tuple[float, float] | None = field(
        default=None, metadata=meta("trim size WIDTHxHEIGHT with in, mm, cm or pt; kept in points"))
    bleed: float = field(default=0.0, metadata=meta("bleed on each side, kept in points"))
    notes: str = field(default="endnotes", metadata=meta("endnotes (after each chapter) or footnotes"))
    page_source: str = field(default="", metadata=meta("print edition whose pages the ebook's page-list follows"))
    paper: str = field(default="", metadata=meta("the interior paper as the printer names it, e.g. 55 lb cream"))
    caliper: float = field(default=0.0, metadata=meta(
        "paper thickness per page (half a leaf), e.g. 0.0025in: the spine is pages × caliper; kept in points"))
    cover: str = field(default="", metadata=meta(
        "cover kind: wrap (paperback), case (cloth) or image (ebook); from format and binding when empty"))
    cover_image: str = field(default="", metadata=meta(
        "art for the cover's photo area, a path under images/; empty: a marked placeholder"))
    case: Case = field(default_factory=Case, metadata=meta("case binding allowances (cover: case)"))
    price: str = field(default="", metadata=meta(
        "suggested retail price, e.g. 24.95 USD: the barcode's EAN-5 add-on (90000 when empty)"))
    cover_art: str = field(default="photo", metadata=meta(
        "photo (the cover_image in the photo area; a marked placeholder in drafts without one) "
        "or type (a type-only cover, no photographs and no photo credits)"))
    printer: str = field(default="", metadata=meta(
        "the printer whose published rules the files must meet: a profile in printers/ (ingramspark, kdp)"))
    missing_art: str = field(default="placeholder", metadata=meta(
        "a figure whose art is absent: placeholder (a marked frame, drafts only: dist refuses it) "
        "or caption (the caption alone where the photograph would be, listed in the release notes)"))
    line_breaking: str = field(default="paragraph", metadata=meta(
        "paragraph (each justified paragraph's breaks chosen together, least demerits, no personal "
        "name hyphenated, at most two hyphens running) or greedy (WeasyPrint's, line by line)"))

    @property
    def cover_photographs(self) -> bool:
        """Whether this edition's cover carries the photographs that `cover_credits` names."""
        return self.cover_art == "photo" and bool(self.cover_image)


@dataclass
class ContentsEntry:
    file: str = field(metadata=meta("path relative to the book folder", required=True))
    role: str = field(metadata=meta("what the unit is: chapter, foreword, glossary, …", required=True))
    number: int | None = field(default=None, metadata=meta("chapter number as printed"))
    title: str = field(default="", metadata=meta("title of a data unit (glossary, index, …)"))
    line: int = field(default=0, metadata=meta("line in book.yaml"))


@dataclass
class Config:
    """Everything `book.yaml` says, typed."""

    slug: str = field(metadata=meta("output file names", required=True))
    title: str = field(metadata=meta("the full title", required=True))
    language: str = field(metadata=meta("the book's language code", required=True))
    authors: list[Contributor] = field(metadata=meta("authors in order", required=True))
    publisher: Publisher = field(metadata=meta("the publisher", required=True))
    editions: dict[str, Edition] = field(metadata=meta("editions by name", required=True))
    contents: list[ContentsEntry] = field(metadata=meta("reading order", required=True))
    subtitle: str = field(default="", metadata=meta("the subtitle"))
    short_title: str = field(default="", metadata=meta("verso running head; the title when empty"))
    series: Series | None = field(default=None, metadata=meta("the series this book belongs to"))
    translators: list[Contributor] = field(default_factory=list, metadata=meta("translators"))
    year: int = field(default=0, metadata=meta("year of publication"))
    rights: str = field(default="", metadata=meta("copyright line"))
    printed_in: str = field(default="", metadata=meta("'Printed in …' line"))
    original: Original | None = field(default=None, metadata=meta("the work this is translated from"))
    cover_credits: str = field(default="", metadata=meta("credits for the cover photographs"))
    lccn: Lccn = field(default_factory=Lccn, metadata=meta("LC control numbers"))
    subjects: list[str] = field(default_factory=list, metadata=meta("LC subject headings"))
    classification: Classification = field(default_factory=Classification,
                                           metadata=meta("LC and Dewey classification"))
    cip_heading: str = field(default="Library of Congress Cataloging-in-Publication Data",
                             metadata=meta("the heading above the CIP block"))
    cip: list[str] = field(default_factory=list, metadata=meta("the CIP block, line by line"))
    copyright_page: list[str] = field(default_factory=list,
                                      metadata=meta("the copyright page's lines as printed"))
    isbn: dict[str, str] = field(default_factory=dict,
                                 metadata=meta("ISBNs by edition as the CIP block lists them"))
    records: list[str] = field(default_factory=list, metadata=meta("LC record URLs"))
    version: str = field(default="", metadata=meta("release version, the folder under dist/, e.g. 1.0.0"))
    published: str = field(default="", metadata=meta(
        "publication date YYYY-MM-DD (or YYYY-MM) for ONIX; the year when empty"))
    blurb: str = field(default="", metadata=meta("back-cover copy in Markdown; also the ONIX description"))
    bisac: list[str] = field(default_factory=list, metadata=meta("BISAC subject codes for ONIX, main subject first"))

    @property
    def running_title(self) -> str:
        return self.short_title or self.title


# --- sources ------------------------------------------------------------------------------

@dataclass
class Note:
    number: int = field(metadata=meta("as printed; restarts in every unit"))
    id: str = field(metadata=meta("id of the note's text, unique in the book"))
    ref_ids: list[str] = field(metadata=meta("ids of its references in the text, in order"))
    html: str = field(metadata=meta("the note's text as HTML, without the back link"))
    line: int = field(default=0, metadata=meta("line of the definition in the source"))


@dataclass
class Figure:
    id: str = field(metadata=meta("the figure's id (#fig-…)"))
    src: str = field(metadata=meta("the image path as written in the source"))
    path: Path | None = field(metadata=meta("the image file, resolved; None when outside the repository"))
    present: bool = field(metadata=meta("whether the art file exists and is an image"))
    caption_html: str = field(metadata=meta("the caption as HTML"))
    line: int = field(default=0, metadata=meta("line in the source"))


@dataclass
class Unit:
    """One source file of `text/`: a chapter, the foreword, …"""

    id: str = field(metadata=meta("from `# Title {#id}`, else the file name"))
    file: str = field(metadata=meta("path relative to the book folder"))
    role: str = field(metadata=meta("from book.yaml contents"))
    number: int | None = field(metadata=meta("chapter number"))
    title: str = field(metadata=meta("title as plain text"))
    title_html: str = field(metadata=meta("title as HTML (inline)"))
    html: str = field(metadata=meta("the unit as Pandoc made it: `section#id` with the h1, the "
                                    "text, and Pandoc's `section.footnotes` at the end"))
    notes: list[Note] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    lang: str = field(default="en")

    @property
    def notes_count(self) -> int:
        return len(self.notes)

    @property
    def body_html(self) -> str:
        """The text after the title, without Pandoc's note list (renderers place notes)."""
        if not self.html:
            return ""
        root = lxml_html.fragment_fromstring(self.html, create_parent="div")
        section = root.find("section")
        return "".join(etree.tostring(c, encoding="unicode", method="xml") + "\n"
                       for c in section if c.tag != "h1")


CYRILLIC = re.compile(r"[\u0400-\u04FF]")


def script_lang(text: str) -> str:
    """`ru` for a headword written in Cyrillic (БАМ), so that it is tagged as Russian
    like the originals; empty for the book's own language."""
    return "ru" if CYRILLIC.search(text) else ""


@dataclass
class Headword:
    """One name a glossary entry goes by, with what the manuscript brackets after it."""

    term: str
    original: str = ""
    abbreviation: str = ""

    @property
    def lang(self) -> str:
        return script_lang(self.term)


@dataclass
class Term:
    term: str
    definition_html: str
    original: str = ""
    abbreviation: str = ""
    variants: list[Headword] = field(default_factory=list)
    see_also: list[str] = field(default_factory=list)
    id: str = ""
    line: int = 0
    see_also_listed: list[str] = field(default_factory=list, metadata=meta(
        "see-also targets the definition does not name, printed after it (filled by transform)"))

    @property
    def headwords(self) -> list[Headword]:
        """The headword and its variants, in the manuscript's order ("RKI […]; Rabkrin […]")."""
        return [Headword(self.term, self.original or "", self.abbreviation or ""), *self.variants]


@dataclass
class CongressDate:
    name: str
    dates: str
    line: int = 0


@dataclass
class CongressGroup:
    group: str
    items: list[CongressDate]
    line: int = 0


# Where a biography may print its alias: after one of these fields.
ALIAS_PLACES = ("surname", "given_names", "patronymic")


@dataclass
class Person:
    id: str
    surname: str
    given_names: str
    text_html: str
    patronymic: str = ""
    alias: str = ""
    alias_after: str = ""
    surname_caps: str = ""
    dates: str = ""
    born: str = ""
    died: str = ""
    born_os: str = ""
    died_os: str = ""
    line: int = 0

    @property
    def anchor(self) -> str:
        """Id of the biography in every rendering (the index points here)."""
        return f"bio-{self.id}"

    @property
    def forenames(self) -> str:
        return " ".join(p for p in (self.given_names, self.patronymic) if p)

    @property
    def name_groups(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """The name as the manuscript prints it, before and after its comma, as (kind, text)
        pieces; the alias stands where `alias_after` puts it ("KOSIOR, Vladislav [Vladimir]
        Vikentievich", "RIAZANOV [Goldendakh], David Borisovich")."""
        head, rest = [("surname", self.surname)], []
        for kind, value in (("given_names", self.given_names), ("patronymic", self.patronymic)):
            if value:
                rest.append((kind, value))
        if self.alias:
            group = head if self.alias_after in ("surname", "") or not rest else rest
            after = next((i + 1 for i, (kind, _) in enumerate(group) if kind == self.alias_after),
                         len(group))
            group.insert(after, ("alias", self.alias))
        return head, rest


@dataclass
class IndexHeading:
    id: str
    heading: str
    sort: str
    forms: list[str] = field(default_factory=list)
    see: list[str] = field(default_factory=list)
    see_also: list[str] = field(default_factory=list)
    person: str = ""
    line: int = 0


@dataclass
class Mention:
    """One index mention in the text: the span `#anchor` in unit `unit` names `heading`."""

    heading: str
    anchor: str
    unit: str


@dataclass
class Book:
    root: Path = field(metadata=meta("the book folder (holds book.yaml)"))
    config: Config
    units: list[Unit]
    glossary: list[Term] = field(default_factory=list)
    congresses: list[CongressGroup] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    people_note_html: str = ""
    index: list[IndexHeading] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list, metadata=meta("filled by transform"))
    warnings: list[Problem] = field(default_factory=list)
    inline_html: dict[str, str] = field(default_factory=dict, metadata=meta(
        "book.yaml strings that may hold Markdown (title, rights, copyright_page.N, cip.N, "
        "cover_credits, …) as inline HTML"))
    cache: Path | None = field(default=None, metadata=meta(
        "the folder the read stage kept Pandoc's output in, for the stages after it"))
    sources_key: str = field(default="", metadata=meta(
        "digest of every file of the book folder as it was before reading began (fsutil.tree_digest): "
        "what the page map is keyed by, so that an edit made during a build only redoes the next one"))

    @property
    def repository(self) -> Path:
        """The folder that holds `book/` and `images/`."""
        return self.root.parent

    def unit(self, unit_id: str) -> Unit:
        return next(u for u in self.units if u.id == unit_id)

    def unit_for(self, entry: ContentsEntry) -> Unit | None:
        return next((u for u in self.units if u.file == entry.file), None)

    def glossary_id(self, headword: str) -> str:
        """The id of the glossary entry that has `headword` as its term or a variant; empty if none."""
        return next((t.id for t in self.glossary for h in t.headwords if h.term == headword), "")

    def data_title(self, role: str) -> str:
        """The heading of a data unit (glossary, index, …): book.yaml's title or the default."""
        entry = next((e for e in self.config.contents if e.role == role), None)
        return (entry.title if entry and entry.title else DATA_TITLES[role])


DATA_TITLES = {
    "glossary": "Glossary of Abbreviations and Terms",
    "congresses": "Dates of Party Congresses, Conferences, and Comintern Congresses",
    "biographies": "Selected Biographical Notes",
    "index": "Index",
}
