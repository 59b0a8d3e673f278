"""Problem codes and the one way problems are reported to editors.

Codes are a letter and three digits, grouped by stage (I: import, S: sources
check, C: configuration, N: notes and names in the text, F: figures, X: index, P: print, E: epub,
L: lint, Q: proof, D: dist, K: printers, T: typesetting, B: the build's own files). A code is
never reused: retire it by leaving it in RETIRED.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

CODES: dict[str, str] = {
    # import of a received manuscript
    "I001": "manuscript file cannot be read",
    "I002": "no chapter headings found",
    "I003": "note reference without a note definition",
    "I004": "note definition without a reference",
    "I005": "note reference numbered twice",
    "I006": "paragraph may continue in the next one (left for a human)",
    "I007": "front-matter fact not found",
    "I008": "biography entry not understood",
    "I009": "glossary entry not understood",
    "I010": "congress date not understood",
    "I011": "ambiguous name mention left unmarked",
    "I012": "note list out of order",
    "I020": "import settings file wrong (unknown setting, wrong type or value)",
    "I021": "text after a unit's note list kept as a paragraph (not a figure: the settings do not say so)",
    "I022": "front-page line not matched by any front_fields pattern",
    "I023": "a book fact the settings must give is missing",
    # the no-loss check of book/ against the received manuscript
    "S001": "received paragraph not found in book/",
    "S002": "note referenced but not defined",
    "S003": "note defined but not referenced",
    "S004": "figure from the manuscript missing in book/",
    "S005": "glossary term missing",
    "S006": "biography missing",
    "S007": "congress date missing",
    "S008": "file named in book.yaml contents is missing",
    "S009": "`new` asked to write a book folder that exists and is not empty",
    "S010": "the import record (received/import.yaml) cannot be read or names no manuscript",
    # configuration (book.yaml)
    "C001": "book.yaml cannot be read",
    "C002": "unknown or missing setting",
    "C003": "setting has a wrong type",
    "C004": "setting has a wrong value",
    # read: sources and data files into the Book
    "R001": "unit source cannot be read",
    "R002": "Pandoc failed to convert a source",
    "R003": "unit does not start with one `# Title`",
    "R004": "id used twice in the book",
    "R005": "link to an id that does not exist",
    "R006": "data file cannot be read or is not valid YAML",
    "R007": "data file entry has an unknown, missing or wrong field",
    "R008": "index heading refers to an unknown person or heading",
    "R009": "index mark refers to an unknown index heading",
    "R010": "Pandoc warning about a source",
    "R011": "glossary see-also names no glossary headword",
    "R013": "source file starts with a byte-order mark",
    "R012": "lists or quotations nested too deep",
    # notes
    "N001": "note defined twice",
    "N002": "note defined but never referenced",
    "N003": "note referenced but never defined",
    "N004": "note referenced more than once",
    "N005": "note labels not in reading order",
    "N006": "surname alone that several index headings bear, and nothing around it says whose",
    # figures
    "F001": "figure art is absent",
    "F002": "figure file is not an image",
    "F003": "image path outside the repository",
    "F004": "image too large to be art (a decompression bomb or a scan at far too high a resolution)",
    "F005": "SVG image loads something from outside the book",
    # print (PDF)
    "P001": "edition is not a print edition of this book",
    "P002": "page layout failed",
    "P003": "anchor missing from the page layout",
    "P004": "font not embedded in the PDF",
    "P005": "font not installed",
    "P006": "text set in a fallback font",
    "P007": "type outside the text block (overset line)",
    "P008": "heading last on a page or column",
    "P009": "figure caption on another page than its frame",
    "P010": "unit opens on a verso",
    "P011": "character missing from the book's font",
    # epub
    "E001": "raw HTML in a source is not well-formed XHTML",
    "E002": "raw HTML carries a script or an event handler",
    "E003": "the ebook edition has no ISBN of its own: not ready for retail",
    "E004": "no full publication date for the ebook's metadata",
    "E005": "raw HTML loads a resource from outside the book (a style url(), a remote or file: source)",
    # lint: editorial checks over book/ (bookbuild/lint/)
    "L001": "straight quote or apostrophe in the text",
    "L002": "quotation marks not balanced in a paragraph",
    "L003": "brackets or parentheses not balanced in a paragraph",
    "L004": "misplaced apostrophe (after a space, before a letter)",
    "L005": "hyphen in a number range (use an en dash)",
    "L006": "spaced or double hyphen used as a dash",
    "L007": "double space",
    "L008": "three dots for an ellipsis",
    "L009": "word spelt two ways in the book",
    "L010": "note referenced but not defined",
    "L011": "note defined but not referenced",
    "L012": "note numbered out of order",
    "L013": "a unit's first note says Ibid. (the note before it is in another unit)",
    "L014": "index heading matches nothing in the text",
    "L015": "index reference to an unknown heading",
    "L016": "person named in the text but in no index heading",
    "L017": "figure art absent under images/",
    "L018": "the text glosses a term differently from the glossary",
    "L019": "glossary term not in the text, a variant spelling of it is",
    "L020": "impossible date",
    "L021": "Old/New Style date pair not 12–13 days apart",
    "L022": "word in neither the dictionary nor the book's word list",
    "L023": "lint-ignore entry malformed or without a reason",
    "L024": "lint-ignore entry matches nothing",
    "L025": "spelling dictionary not installed",
    "L026": "data file is not valid YAML (not linted)",
    "L027": "source file is not UTF-8 text (not linted)",
    "L028": "the book folder holds no book (no book.yaml, no text/): nothing to lint",
    # proof (bookbuild/proof/)
    "Q001": "no such chapter or unit for a one-chapter proof",
    "Q002": "git cannot compare the book with the given revision",
    "Q003": "page map missing or older than the sources (one-chapter proof)",
    "Q004": "printed block not found in its source file (no source marker)",
    "Q005": "proof pages differ from the print page map",
    # dist: release bundles (bookbuild/dist/)
    "D001": "release version missing, or not the one the git tag at HEAD names",
    "D002": "the release exists already (--force replaces it)",
    "D003": "an edition lacks a setting the release needs",
    "D004": "cover image named in book.yaml is missing or not an image",
    "D005": "two editions share an ISBN",
    "D006": "a check before release failed (lint, no-loss check, EPUBCheck, Ace)",
    "D007": "print file is not PDF/X-1a as the printer needs it",
    "D008": "the cover's barcode does not scan as the edition's ISBN",
    "D009": "ONIX record is not valid ONIX 3.0",
    "D010": "a tool the release needs is not installed",
    "D011": "the interior's copyright page does not name the edition's ISBN",
    "D012": "unfinished matter in a release (figure without art, cover without its photograph, placeholder note)",
    "D013": "a release is made from a clean tree at its version's tag",
    # printer profiles (bookbuild/printers.py, printers/*.yaml)
    "K001": "printer profile unknown or not valid",
    "K002": "trim size the printer does not offer",
    "K003": "page boxes not as the printer wants them (trim, bleed)",
    "K004": "ink nearer the trim than the printer's safe zone",
    "K005": "inside margin narrower than the printer's gutter for this page count",
    "K006": "PDF standard the printer does not accept",
    "K007": "cover ink over the printer's total-coverage limit",
    "K008": "cover barcode area smaller than the printer asks",
    # completeness: the editions against book/ (bookbuild/completeness.py)
    "V001": "text of book/ not found in an edition",
    "V002": "print and EPUB order the glossary or the biographies differently",
    "V003": "an edition cannot be read for the completeness check",
    # typesetting: line breaking and the typeset report (bookbuild/typesetreport.py)
    "T001": "the PDF to report on cannot be read",
    # the build's own files (caches, outputs) under build/ and dist/
    "B001": "cache entry damaged (its content does not match its hash); discarded and made again",
    "B002": "a file cannot be written or read (read-only folder, disk full, no permission)",
    "B003": "sources nest deeper than the pipeline can follow",
}
RETIRED: set[str] = set()

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True, order=True)
class Problem:
    """One finding, printed as `file:line:col: severity CODE: message`."""

    path: str
    line: int
    col: int
    severity: str
    code: str
    message: str

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown problem code {self.code}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity}")

    def __str__(self) -> str:
        where = self.path
        if self.line:
            where += f":{self.line}:{self.col or 1}"
        return f"{where}: {self.severity} {self.code}: {self.message}"

    def as_dict(self) -> dict:
        return {
            "path": self.path, "line": self.line, "col": self.col,
            "severity": self.severity, "code": self.code, "message": self.message,
        }


@dataclass
class Problems:
    """Collects problems so that a stage reports all of them, not the first."""

    items: list[Problem] = field(default_factory=list)

    def add(self, path: str | Path, line: int, col: int, severity: str, code: str,
            message: str) -> None:
        self.items.append(Problem(str(path), line, col, severity, code, message))

    def error(self, path, line, col, code, message) -> None:
        self.add(path, line, col, "error", code, message)

    def warning(self, path, line, col, code, message) -> None:
        self.add(path, line, col, "warning", code, message)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "warning"]

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def shown(problems, limit: int = 3) -> list[str]:
    """The lines a command prints: every error; of the warnings of one code, the first
    `limit` and then one line that counts the rest (a hundred absent photographs are
    one fact, not a hundred)."""
    lines, counts = [], {}
    for problem in problems:
        if problem.severity == "warning":
            counts[problem.code] = counts.get(problem.code, 0) + 1
            if counts[problem.code] > limit:
                continue
        lines.append(str(problem))
    for code, count in counts.items():
        if count > limit:
            lines.append(f"... and {count - limit} more {code} warning(s) like these "
                         f"({CODES[code]}; `make lint` lists each with its place)")
    return lines


class BuildError(Exception):
    """Raised when a stage found errors; carries every problem it found."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems
