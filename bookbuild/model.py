"""The book in memory: the dataclasses that every stage after `read` works on."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree
from lxml import html as lxml_html

from .errors import Problem
from .settings import Choice, Isbn, Length, Needed, Pattern, Positions, Trim, derived, setting

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
    """Field metadata of the in-memory classes (settings use `settings.setting`): one line of documentation."""
    return {"doc": doc, **kw}


# --- book.yaml ---------------------------------------------------------------------------
# Each setting is declared here once: its type (the annotation), default, doc and check
# (`settings.setting`); `config.Loader` reads them, and docs/book-yaml.md is made from them.

@dataclass
class Series:
    title: str = setting("the series title", required=True)
    volume: int | None = setting("this book's volume in the series", None)


@dataclass
class Contributor:
    name: str = setting("the name as printed", required=True)
    file_as: str = setting("sort form, 'Surname, Given'", "")
    full_name: str = setting("the name in full, with patronymic", "")


@dataclass
class Publisher:
    name: str = setting("the publisher's name", required=True)
    city: str = setting("city as on the title page", "")
    address: str = setting("postal address for the copyright page", "")
    country: str = setting("ISO 3166-1 code of the publisher's country, for ONIX", "")


@dataclass
class Original:
    title: str = setting("the original's title, transliterated", required=True)
    edition: str = setting("place and year of the original edition", "")
    language: str = setting("the original's language code", "")
    title_native: str = setting("the original's title in its own script", "")


@dataclass
class Lccn:
    print: str = setting("LC control number of the print edition", "")
    ebook: str = setting("LC control number of the ebook", "")


@dataclass
class Classification:
    lcc_print: str = setting("LC class number, print", "")
    lcc_ebook: str = setting("LC class number, ebook", "")
    ddc: str = setting("Dewey class number", "")


# A case's allowances, up to 2 in each.
CASE_LENGTH = Length("2in", "0.75in")


@dataclass
class Case:
    """A case (hardcover) binding's allowances around the trimmed panels of its cover."""

    wrap: float = setting("cover material turned in over the boards on every edge, bleed included; "
                          "kept in points", 54.0, check=CASE_LENGTH)
    hinge: float = setting("the joint between the spine and each board; kept in points", 28.8,
                           check=CASE_LENGTH)
    board: float = setting("board thickness: the case spine is pages × caliper + 2 × board; kept in points",
                           0.0, check=CASE_LENGTH)


@dataclass
class Edition:
    name: str = derived("the edition's key in book.yaml")
    format: str = setting("epub or print", required=True, check=Choice("epub", "print"))
    isbn: str = setting("ISBN-13 of this edition", "", check=Isbn(),
                        needed=Needed("print", "release", "the copyright page, the barcode and ONIX need it"))
    binding: str = setting("paperback, cloth, …", "")
    trim: tuple[float, float] | None = setting(
        "trim size WIDTHxHEIGHT with in, mm, cm or pt; kept in points", None, check=Trim(),
        needed=Needed("print", "read", "a print edition needs its trim size, e.g. 6x9in"))
    bleed: float = setting("bleed on each side, kept in points", 0.0, check=Length("0.5in", "0.125in"))
    notes: str = setting("endnotes (after each chapter) or footnotes", "endnotes",
                         check=Choice("endnotes", "footnotes"))
    page_source: str = setting("print edition whose pages the ebook's page-list follows", "")
    paper: str = setting("the interior paper as the printer names it, e.g. 55 lb cream", "")
    # Book papers run from about 0.002 in (thin 45 lb) to 0.004 in (bulky 70 lb) per page;
    # past 0.01 in a caliper is a slip (a whole leaf, a board, mm for in).
    caliper: float = setting(
        "paper thickness per page (half a leaf), e.g. 0.0025in: the spine is pages × caliper; kept in points",
        0.0, check=Length("0.01in", "0.0025in", "a paper thickness per page, more than 0 and at most",
                          positive=True),
        needed=Needed("print", "release", "the spine is pages × caliper; e.g. 0.0025in for 55 lb cream"))
    cover: str = setting("cover kind: wrap (paperback), case (cloth) or image (ebook); from format and "
                         "binding when empty", "", check=Choice("wrap", "case", "image"))
    cover_image: str = setting("art for the cover's photo area, a path in the book folder (images/…); "
                               "empty: a marked placeholder", "")
    case: Case = setting("case binding allowances (cover: case)", factory=Case)
    price: str = setting("suggested retail price, e.g. 24.95 USD: the barcode's EAN-5 add-on (90000 when empty)",
                         "", check=Pattern(r"^\d{1,2}\.\d{2} (USD|CAD)$",
                                           "a price and its currency, e.g. 24.95 USD (USD or CAD)"))
    cover_art: str = setting(
        "photo (the cover_image in the photo area; a marked placeholder in drafts without one) "
        "or type (a type-only cover, no photographs and no photo credits)", "photo",
        check=Choice("photo", "type"))
    printer: str = setting(
        "the printer whose published rules the files must meet: a profile in printers/ (ingramspark, kdp)", "",
        needed=Needed("print", "release", "the printer whose rules the files must meet: {profiles}"))
    missing_art: str = setting(
        "a figure whose art is absent: placeholder (a marked frame, drafts only: dist refuses it) "
        "or caption (the caption alone where the photograph would be, listed in the release notes)",
        "placeholder", check=Choice("placeholder", "caption"))
    line_breaking: str = setting(
        "paragraph (each justified paragraph's breaks chosen together, least demerits, no personal "
        "name hyphenated, at most two hyphens running) or greedy (WeasyPrint's, line by line)",
        "paragraph", check=Choice("paragraph", "greedy"))
    page_bottoms: str = setting(
        "aligned (inside a unit every page that the text runs over ends on the same line: up to two "
        "lines a page is short are shared out among the gaps between its blocks, a sixth of a line "
        "at most between two paragraphs of text, then 0.4 pt at most between lines) or ragged "
        "(each page ends where its text does)",
        "aligned", check=Choice("aligned", "ragged"))

    @property
    def cover_photographs(self) -> bool:
        """Whether this edition's cover carries the photographs that `cover_credits` names."""
        return self.cover_art == "photo" and bool(self.cover_image)


@dataclass
class ContentsEntry:
    file: str = setting("path relative to the book folder", required=True)
    role: str = setting("what the unit is: chapter, foreword, glossary, …", required=True, check=Choice(*ROLES))
    number: int | None = setting("chapter number as printed (a chapter needs one)", None)
    title: str = setting("title of a data unit (glossary, index, …)", "")
    line: int = derived("line in book.yaml", 0)


@dataclass
class Config:
    """Everything `book.yaml` says, typed."""

    slug: str = setting("output file names", required=True,
                        check=Pattern(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", "lower-case words joined by hyphens"))
    title: str = setting("the full title", required=True)
    language: str = setting("the book's language code", required=True,
                            check=Pattern(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$",
                                          "a language code such as en or en-US"))
    authors: list[Contributor] = setting("authors in order", required=True)
    publisher: Publisher = setting("the publisher", required=True)
    editions: dict[str, Edition] = setting("editions by name", required=True)
    contents: list[ContentsEntry] = setting("reading order", required=True)
    subtitle: str = setting("the subtitle", "")
    short_title: str = setting("verso running head; the title when empty", "")
    series: Series | None = setting("the series this book belongs to", None)
    translators: list[Contributor] = setting("translators", factory=list)
    year: int = setting("year of publication", 0)
    rights: str = setting("copyright line", "")
    printed_in: str = setting("'Printed in …' line", "")
    original: Original | None = setting("the work this is translated from", None)
    cover_credits: str = setting("credits for the cover photographs", "")
    lccn: Lccn = setting("LC control numbers", factory=Lccn)
    subjects: list[str] = setting("LC subject headings", factory=list)
    classification: Classification = setting("LC and Dewey classification", factory=Classification)
    cip_heading: str = setting("the heading above the CIP block",
                               "Library of Congress Cataloging-in-Publication Data")
    cip: list[str] = setting("the CIP block, line by line", factory=list)
    copyright_page: list[str] = setting("the copyright page's lines as printed", factory=list)
    isbn: dict[str, str] = setting("ISBNs by edition as the CIP block lists them", factory=dict)
    records: list[str] = setting("LC record URLs", factory=list)
    version: str = setting("release version, the folder under dist/, e.g. 1.0.0", "",
                           check=Pattern(r"^[0-9A-Za-z][0-9A-Za-z.+-]*$",
                                         "a version such as 1.0.0 (letters, digits, dots, + and -)"))
    published: str = setting("publication date YYYY-MM-DD (or YYYY-MM) for ONIX; the year when empty", "",
                             check=Pattern(r"^\d{4}-\d{2}(?:-\d{2})?$", "a date YYYY-MM-DD or YYYY-MM"))
    blurb: str = setting("back-cover copy in Markdown; also the ONIX description", "")
    bisac: list[str] = setting("BISAC subject codes for ONIX, main subject first", factory=list,
                               check=Pattern(r"^[A-Z]{3}\d{6}$", "BISAC codes such as HIS032000", each=True))
    where: Positions = derived("line and column of every setting in book.yaml, for later checks",
                               factory=Positions)

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

    term: str = setting("another name of the entry", required=True)
    original: str = setting("its Russian original", "")
    abbreviation: str = setting("what it abbreviates", "")

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
    """An entry of congresses.yaml (read by `config.Loader`)."""

    name: str = setting("the congress or conference", required=True)
    dates: str = setting("its dates", "")
    line: int = derived("line in congresses.yaml", 0)


@dataclass
class CongressGroup:
    group: str = setting("the group's heading", "")
    items: list[CongressDate] = setting("dated items", factory=list, required=True)
    line: int = derived("line in congresses.yaml", 0)


# Where a biography may print its alias: after one of these fields.
ALIAS_PLACES = ("surname", "given_names", "patronymic")


@dataclass
class Person:
    """One biography: an entry of biographies.yaml (read by `config.Loader`) and its HTML."""

    id: str = setting("the person's id", required=True)
    surname: str = setting("surname", required=True)
    given_names: str = setting("given names", "")
    text_html: str = derived("the biography as HTML (filled by read)", "")
    patronymic: str = setting("patronymic", "")
    alias: str = setting("alias or real name", "")
    alias_after: str = setting("where the alias is printed", "")
    surname_caps: str = setting("the surname as printed in capitals", "")
    dates: str = setting("life dates as printed", "")
    born: str = setting("date of birth", "")
    died: str = setting("date of death", "")
    born_os: str = setting("date of birth, old style", "")
    died_os: str = setting("date of death, old style", "")
    text: str = setting("the biography (Markdown)", "")
    line: int = derived("line in biographies.yaml", 0)

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
    converted: set[str] = field(default_factory=set, metadata=meta(
        "ids of the units Pandoc converted in this run (not found in the read cache): the ones an "
        "edit changed, which the print stage lays out first"))

    @property
    def repository(self) -> Path:
        """The title's folder: it holds `book/` (with its art in `book/images/`) and the
        outputs, `build/` and `dist/`."""
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


if __name__ == "__main__":
    # The settings reference lives here, not in settings.py: settings must not import model.
    from .settings import reference

    print(reference(Config, "book.yaml settings"), end="")
