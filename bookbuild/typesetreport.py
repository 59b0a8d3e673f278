"""`build.py typeset-report`: how well the built interior is set, read from its glyph positions."""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from math import inf
from pathlib import Path

from . import mupdf
from .errors import BuildError, Problem
from .fsutil import write_atomic

# The type area, from styles/print.css's @page margins (top, outside, bottom, inside), in pt.
MARGINS = (0.875 * 72, 0.625 * 72, 0.735 * 72, 0.875 * 72)
PITCH = 14.0            # the body's line, and the grid
TOLERANCE = 0.6         # pt: a line ending this close to a right edge is justified
BLOCKQUOTE_INSET = 12.0  # base.css: blockquote margin 1.2em at 10 pt
SPACE_EM = 0.2         # EB Garamond's space, in em
TEXT_SIZE = 9.0        # pt: justified text is set at this size or larger; smaller type is a table's
HYPHENS = "\u2010-\u00ad"
SKIPPED_UNITS = ("contents", "index")


@dataclass
class Line:
    """One line of type on a page, as its glyphs lie."""

    page: int
    x0: float
    x1: float
    baseline: float
    size: float
    text: str
    gaps: list[float]       # each word space over the advance of its own space glyph
    normal: float            # the widest space glyph's advance on the line, pt
    justified: bool = False
    indent: float = 0.0      # from the type area's left edge, pt
    outdent: float = 0.0     # from its end to the type area's right edge, pt

    @property
    def kind(self) -> str:
        return "notes" if self.size < 10.2 else "body"

    @property
    def stretch(self) -> float:
        return sum(self.gaps) / len(self.gaps) if self.gaps else 1.0

    @property
    def hyphenated(self) -> bool:
        t = self.text.rstrip()
        return len(t) > 1 and t[-1] in HYPHENS and t[-2].isalpha()


@dataclass
class Tally:
    """The figures for a unit, or the book."""

    justified: dict = field(default_factory=lambda: {"body": 0, "notes": 0})
    over2: dict = field(default_factory=lambda: {"body": 0, "notes": 0})
    over3: dict = field(default_factory=lambda: {"body": 0, "notes": 0})
    worst: float = 0.0
    tightest: float = inf  # the narrowest word gap of a justified line, in spaces
    tightest_page: str = ""
    worst_page: str = ""
    hyphenated: int = 0
    hyphen_runs: int = 0
    longest_run: int = 0
    pages_ending_hyphen: int = 0
    across_turn: int = 0
    split_names: list = field(default_factory=list)
    widows: list = field(default_factory=list)
    orphans: list = field(default_factory=list)
    spreads: int = 0
    short_pages: list = field(default_factory=list)
    title_single_word: list = field(default_factory=list)
    loose_lines: list = field(default_factory=list)
    unaligned: list = field(default_factory=list)

    def add(self, other: "Tally") -> None:
        for name in ("justified", "over2", "over3"):
            for kind in ("body", "notes"):
                getattr(self, name)[kind] += getattr(other, name)[kind]
        if other.tightest < self.tightest:
            self.tightest, self.tightest_page = other.tightest, other.tightest_page
        if other.worst > self.worst:
            self.worst, self.worst_page = other.worst, other.worst_page
        for name in ("hyphenated", "hyphen_runs", "pages_ending_hyphen", "across_turn", "spreads"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.longest_run = max(self.longest_run, other.longest_run)
        for name in ("split_names", "short_pages", "title_single_word", "widows", "orphans", "loose_lines", "unaligned"):
            getattr(self, name).extend(getattr(other, name))

    def figures(self) -> dict:
        lines = sum(self.justified.values())
        share = lambda n, d: round(100 * n / d, 2) if d else 0.0  # noqa: E731
        return {
            "justified_lines": dict(self.justified),
            "over_2x_percent": {k: share(self.over2[k], self.justified[k]) for k in self.justified},
            "over_2x": dict(self.over2), "over_3x": dict(self.over3),
            "worst_stretch": round(self.worst, 2), "worst_at": self.worst_page,
            "tightest_gap": round(self.tightest, 2) if self.tightest != inf else None,
            "tightest_at": self.tightest_page,
            "hyphens_per_1000": round(1000 * self.hyphenated / lines, 1) if lines else 0.0,
            "hyphenated_lines": self.hyphenated, "hyphen_runs_3plus": self.hyphen_runs,
            "longest_hyphen_run": self.longest_run,
            "pages_ending_hyphen": self.pages_ending_hyphen, "across_page_turn": self.across_turn,
            "split_names": len(self.split_names), "widows": len(self.widows),
            "orphans": len(self.orphans),
            "spreads": self.spreads, "spreads_unaligned": len(self.unaligned),
            "spreads_aligned_percent": share(self.spreads - len(self.unaligned), self.spreads),
            "short_pages": len(self.short_pages), "titles_single_word": len(self.title_single_word),
        }


# --- reading the PDF ----------------------------------------------------------------------

def page_lines(page, number: int) -> list[Line]:
    """The lines of the page's type area (running heads and folios left out), top to bottom;
    pieces on one baseline (a note's number and its text) are one line."""
    top, bottom = MARGINS[0] - 2, page.rect.height - MARGINS[2] + 6
    pieces = []
    for block in page.get_text("rawdict")["blocks"]:
        for raw in block.get("lines", []):
            chars = [(c, s) for s in raw["spans"] for c in s["chars"]]
            if chars and top <= raw["bbox"][3] <= bottom and "".join(c["c"] for c, _ in chars).strip():
                pieces.append(chars)
    rows: list[list] = []
    for chars in sorted(pieces, key=lambda cs: (_baseline(cs), cs[0][0]["bbox"][0])):
        if rows and abs(_baseline(rows[-1][-1]) - _baseline(chars)) < 1.0:
            rows[-1].append(chars)
        else:
            rows.append([chars])
    return [_line(row, number) for row in rows]


def _baseline(chars: list) -> float:
    return max(chars, key=lambda cs: cs[1]["size"])[1]["origin"][1]


def _line(row: list[list], number: int) -> Line:
    """A line from its pieces, left to right; word spaces are measured inside each piece, each
    against the advance of its own space glyph (a space too wide for PyMuPDF to keep as a
    glyph is measured against the face's space, a fifth of an em in EB Garamond)."""
    chars = [cs for piece in row for cs in piece]
    size = max(s["size"] for _, s in chars)
    ratios, normals = [], []
    previous_end, space = None, None
    inside = 0  # gaps inside a piece: a row of table cells or a contents line has none
    for piece in row:
        if re.fullmatch(r"\s*\d+\.\s*", "".join(c["c"] for c, _ in piece)):
            continue  # a note's number, set apart from its text by the list's own indent
        first = True
        for c, span in piece:
            if c["c"] in " \u00a0":
                if previous_end is not None and space is None:
                    space = c["bbox"][2] - c["bbox"][0]
                continue
            left = c["bbox"][0]
            if previous_end is not None and not space and left - previous_end > 0.15 * span["size"]:
                space = SPACE_EM * span["size"]
            if space:
                ratios.append((left - previous_end) / space)
                normals.append(space)
                inside += not first
            space, previous_end, first = None, c["bbox"][2], False
    text = "".join(c["c"] for c, _ in chars)
    if not inside and len(ratios) == 1:
        ratios, normals = [], []  # a title and its page number ("Index … 505"), no words spaced
    return Line(number, row[0][0][0]["bbox"][0], max(c["bbox"][2] for c, _ in chars),
                _baseline(row[0]), size, text, ratios, max(normals, default=0.0))


def content_bottom(page, lines: list[Line]) -> float:
    """Where the page's type ends: its last baseline, or a picture or frame below it."""
    bottom = lines[-1].baseline if lines else 0.0
    area_bottom = page.rect.height - MARGINS[2] + 1
    frames = [i["bbox"] for i in page.get_image_info()] + \
        [d["rect"] for d in page.get_drawings() if d["rect"].height > PITCH]
    for frame in frames:
        if bottom < frame[3] <= area_bottom:
            bottom = frame[3]
    return bottom


def type_area(page, number: int) -> tuple[float, float]:
    """(left, right) of the type area: page 1 is a recto, its inside margin on the left."""
    recto = number % 2 == 0
    left = MARGINS[3] if recto else MARGINS[1]
    right = page.rect.width - (MARGINS[1] if recto else MARGINS[3])
    return left, right


def mark_justified(lines: list[Line], area: tuple[float, float]) -> None:
    edges = (area[1], area[1] - BLOCKQUOTE_INSET)
    for line in lines:
        line.indent, line.outdent = line.x0 - area[0], area[1] - line.x1
        # Justification widens every space of a line alike: a row of table cells is no such line.
        even = bool(line.gaps) and max(line.gaps) - min(line.gaps) < 0.3 and line.size >= TEXT_SIZE
        # A centred line (a caption's last) whose margins happen to be a quotation's: its
        # spaces are the face's own, where a justified line's are stretched or shrunk.
        centred = abs(line.indent - line.outdent) < 0.5 < line.indent and \
            all(abs(g - 1) < 0.02 for g in line.gaps)
        line.justified = even and not centred and any(abs(line.x1 - e) <= TOLERANCE for e in edges)


# --- the measures ---------------------------------------------------------------------------

def units_of(document) -> list[tuple[str, int, int]]:
    """(title, first page, last page) of each unit, 0-based, from the PDF's outline."""
    toc = [(title, page - 1) for level, title, page in document.get_toc() if level == 1]
    out = []
    for i, (title, first) in enumerate(toc):
        last = toc[i + 1][1] - 1 if i + 1 < len(toc) else len(document) - 1
        out.append((title, first, last))
    return out


def measure_unit(title: str, pages: list[list[Line]], bottoms: list[float], first: int,
                 labels: list[str], names: set[str], full_baseline: float) -> Tally:
    tally = Tally()
    flow = [l for page in pages for l in page]
    for line in flow:
        if line.justified:
            tally.justified[line.kind] += 1
            s = line.stretch
            tally.over2[line.kind] += s > 2
            if s > 2:
                tally.loose_lines.append(f"{labels[line.page]}: {line.kind} {s:.2f}x {line.text.strip()[:40]}")
            tally.over3[line.kind] += s > 3
            if s > tally.worst:
                tally.worst, tally.worst_page = s, labels[line.page]
            if min(line.gaps) < tally.tightest:
                tally.tightest, tally.tightest_page = min(line.gaps), labels[line.page]
    _hyphens(flow, tally, names, labels)
    _page_ends(pages, bottoms, first, tally, labels, full_baseline)
    _title(title, pages[0] if pages else [], tally, labels)
    return tally


def _hyphens(flow: list[Line], tally: Tally, names: set[str], labels: list[str]) -> None:
    run = 0
    for i, line in enumerate(flow):
        if line.hyphenated:
            tally.hyphenated += 1
            run += 1
            following = flow[i + 1] if i + 1 < len(flow) else None
            if following is not None and _joins_name(line.text, following.text, names):
                tally.split_names.append(f"{labels[line.page]}: {_joined(line.text, following.text)}")
        else:
            run = 0
        if run == 3:
            tally.hyphen_runs += 1
        tally.longest_run = max(tally.longest_run, run)


def _joined(end: str, start: str) -> str:
    head = re.findall(r"[\w’'-]+[\u2010\-\u00ad]?$", end.rstrip())
    tail = re.findall(r"^[\w’'-]+", start.lstrip())
    fragment = head[0] if head else ""
    if fragment and fragment[-1] in "\u2010\u00ad":
        fragment = fragment[:-1]
    return fragment + (tail[0] if tail else "")


def _joins_name(end: str, start: str, names: set[str]) -> bool:
    word = re.sub(r"[’']s$", "", _joined(end, start))
    return word in names or any(part in names for part in word.split("-") if part != word) and \
        end.rstrip()[-1] != "-"


def _page_ends(pages: list[list[Line]], bottoms: list[float], first: int, tally: Tally,
               labels: list[str], full_baseline: float) -> None:
    for i, page in enumerate(pages):
        if not page:
            continue
        last, number = page[-1], first + i
        unit_end = i == len(pages) - 1
        if last.hyphenated and not unit_end:
            tally.pages_ending_hyphen += 1
            tally.across_turn += number % 2 == 0
        if not unit_end and i + 1 < len(pages) and pages[i + 1]:
            _widow_orphan(page, pages[i + 1], tally, labels)
        short = round((full_baseline - bottoms[i]) / PITCH)
        if not unit_end and short >= 2 and i > 0:
            tally.short_pages.append(f"{labels[number]}: {short} lines short")
        verso = number % 2 == 1
        if verso and i > 0 and i + 1 < len(pages) - 1 and pages[i + 1]:
            tally.spreads += 1
            if abs(bottoms[i + 1] - bottoms[i]) > 1.0:
                tally.unaligned.append(f"{labels[number]}–{labels[number + 1]}: "
                                       f"{(bottoms[i + 1] - bottoms[i]) / PITCH:+.1f} lines")


def _widow_orphan(page: list[Line], following: list[Line], tally: Tally, labels: list[str]) -> None:
    last, top = page[-1], following[0]
    if not last.justified:
        return
    if not top.justified and top.kind == last.kind and abs(top.indent - last.indent) < 20:
        if _ends_paragraph(top, following):
            tally.widows.append(f"{labels[top.page]}: {top.text.strip()[:40]}")
    if len(page) == 1 or _starts_paragraph(last, page[-2]):
        tally.orphans.append(f"{labels[last.page]}: {last.text.strip()[:40]}")


def _ends_paragraph(top: Line, following: list[Line]) -> bool:
    if len(following) < 2:
        return True
    nxt = following[1]
    return nxt.x0 > top.x0 + 3 or nxt.baseline - top.baseline > PITCH + 1 or nxt.kind != top.kind


def _starts_paragraph(last: Line, before: Line) -> bool:
    """Whether `last` opens a paragraph: after a line that ended short, or first after a
    heading (larger, or centred); after a figure or a quotation the text goes on."""
    pitch = last.baseline - before.baseline
    if pitch <= PITCH + 1 and before.kind == last.kind:
        return not before.justified
    heading = before.size > last.size + 0.5 or abs(before.indent - before.outdent) < 2 < before.indent
    return pitch > PITCH + 1 and heading


def _title(title: str, first_page: list[Line], tally: Tally, labels: list[str]) -> None:
    lines = [l for l in first_page if 14 <= l.size <= 20]
    if len(lines) >= 2 and len(lines[-1].text.split()) == 1:
        tally.title_single_word.append(f"{labels[lines[-1].page]}: {title}")


# --- names ----------------------------------------------------------------------------------

def known_names(book: Path) -> set[str]:
    """Every capitalised word of the name index's headings and forms and of the biographies."""
    from .safeyaml import load

    words: set[str] = set()
    index, bios = book / "index.yaml", book / "biographies.yaml"
    if index.is_file():
        for entry in load(index.read_text(encoding="utf-8")) or []:
            for text in [entry.get("heading") or "", *(entry.get("forms") or [])]:
                words.update(_capitalised(text))
    if bios.is_file():
        for person in (load(bios.read_text(encoding="utf-8")) or {}).get("people", []):
            for key in ("surname", "given_names", "patronymic", "alias"):
                words.update(_capitalised(str(person.get(key) or "")))
    return words


def _capitalised(text: str) -> set[str]:
    return {w for w in re.split(r"[\s,.()\[\]]+", text) if len(w) > 2 and w[0].isupper()}


# --- the report -----------------------------------------------------------------------------

def report(pdf: Path, book: Path) -> dict:
    pymupdf = mupdf.load()

    try:
        document = pymupdf.open(pdf)
    except Exception as exc:  # PyMuPDF raises its own types for a missing or broken file
        raise BuildError([Problem(str(pdf), 0, 0, "error", "T001", f"cannot read the PDF: {exc}")])
    labels = [p.get_label() or str(p.number + 1) for p in document]
    pages, bottoms = [], []
    for number, page in enumerate(document):
        lines = page_lines(page, number)
        mark_justified(lines, type_area(page, number))
        pages.append(lines)
        bottoms.append(content_bottom(page, lines))
    full = max((p[-1].baseline for p in pages if p and p[-1].kind == "body"), default=0.0)
    names = known_names(book)
    total, units = Tally(), {}
    for title, first, last in units_of(document) or [("(the whole document)", 0, len(pages) - 1)]:
        if title.lower() in SKIPPED_UNITS or last < first:
            continue
        while last > first and not pages[last]:
            last -= 1
        tally = measure_unit(title, pages[first:last + 1], bottoms[first:last + 1], first, labels,
                             names, full)
        units[title] = tally
        total.add(tally)
    return {"pdf": str(pdf), "pages": len(document), "total": total.figures(),
            "units": {t: u.figures() for t, u in units.items()},
            "details": {"loose_lines": total.loose_lines, "split_names": total.split_names, "short_pages": total.short_pages,
                        "unaligned_spreads": total.unaligned,
                        "titles_single_word": total.title_single_word,
                        "widows": total.widows, "orphans": total.orphans}}


def as_text(data: dict) -> str:
    t = data["total"]
    out = [f"Typesetting of {data['pdf']} ({data['pages']} pages)",
           f"justified lines: body {t['justified_lines']['body']}, notes {t['justified_lines']['notes']}",
           f"word space > 2x normal: body {t['over_2x']['body']} ({t['over_2x_percent']['body']} %), "
           f"notes {t['over_2x']['notes']} ({t['over_2x_percent']['notes']} %); "
           f"> 3x: body {t['over_3x']['body']}, notes {t['over_3x']['notes']}; "
           f"worst {t['worst_stretch']}x at {t['worst_at']}; tightest gap {t['tightest_gap']}x at "
           f"{t['tightest_at']} (under about 0.72, pdftotext runs the words together)",
           f"hyphenated line ends: {t['hyphenated_lines']} ({t['hyphens_per_1000']} per 1,000 justified lines); "
           f"runs of 3+: {t['hyphen_runs_3plus']} (longest {t['longest_hyphen_run']})",
           f"pages ending on a hyphen: {t['pages_ending_hyphen']} ({t['across_page_turn']} across a page turn)",
           f"split personal names: {t['split_names']}",
           f"widows / orphans: {t['widows']} / {t['orphans']}",
           f"spreads inside units: {t['spreads']}, last lines not aligned in {t['spreads_unaligned']} "
           f"({t['spreads_aligned_percent']} % aligned)",
           f"pages two or more lines short inside units: {t['short_pages']}",
           f"titles leaving one word on their last line: {t['titles_single_word']}", "",
           f"{'unit':44} {'body>2x':>8} {'notes>2x':>9} {'>3x':>4} {'hy/1000':>8} {'runs':>5} "
           f"{'pg-hy':>6} {'names':>6} {'spreads':>8} {'short':>6}"]
    for title, u in data["units"].items():
        out.append(f"{title[:44]:44} {u['over_2x_percent']['body']:7.1f}% {u['over_2x_percent']['notes']:8.1f}% "
                   f"{sum(u['over_3x'].values()):4} {u['hyphens_per_1000']:8.0f} {u['hyphen_runs_3plus']:5} "
                   f"{u['pages_ending_hyphen']:6} {u['split_names']:6} "
                   f"{u['spreads_unaligned']:3}/{u['spreads']:<4} {u['short_pages']:6}")
    for name, items in data["details"].items():
        if items:
            out += ["", name.replace("_", " ") + ":", *("  " + i for i in items)]
    return "\n".join(out) + "\n"


def add_arguments(parser) -> None:
    parser.add_argument("--book", default="book", help="the book folder (default: book)")
    parser.add_argument("--pdf", help="the interior to report on (default: build/<slug>.pdf)")
    parser.add_argument("--out", help="folder for report.txt and report.json (default: build/typeset/)")


def run(args) -> int:
    from .safeyaml import load

    book = Path(args.book).resolve()
    if args.pdf:
        pdf = Path(args.pdf)
    else:
        slug = (load((book / "book.yaml").read_text(encoding="utf-8")) or {}).get("slug", "book")
        pdf = book.parent / "build" / f"{slug}.pdf"
    out = Path(args.out) if args.out else book.parent / "build" / "typeset"
    data = report(pdf, book)
    text = as_text(data)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "report.json", json.dumps(data, indent=1, ensure_ascii=False).encode())
    write_atomic(out / "report.txt", text.encode())
    if not getattr(args, "quiet", False):
        print(text, end="")
    return 0
