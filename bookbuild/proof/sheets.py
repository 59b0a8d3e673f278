"""Proof sheets: each print page whole on a larger sheet, with crop marks, slug line, source markers and change bars outside the trim."""
from __future__ import annotations

import io
from dataclasses import dataclass

from ..model import Edition
from .interior import Interior, Mark

INCH = 72.0
# Room outside the trim: the outer margin holds file:line markers of up to about 34 characters
# a line; the markers use Courier, whose fixed advance lets them be wrapped and right-aligned
# without font metrics.
MARGIN_X = 1.75 * INCH
MARGIN_Y = 0.75 * INCH
MARK_SIZE = 5.0
MARK_LEAD = 5.8
MARK_ADVANCE = 0.6 * MARK_SIZE
SLUG_SIZE = 7.0
GAP = 4.0
BAR_WIDTH = 2.0
CHANGED_RGB = (0.8, 0.1, 0.1)
MARK_GRAY = 0.3


@dataclass
class Slug:
    """What the slug line of every sheet says besides the page."""

    title: str
    edition: str
    version: str
    date: str
    since: str = ""


def sheet_size(edition: Edition) -> tuple[float, float]:
    width, height = edition.trim
    return width + 2 * MARGIN_X, height + 2 * MARGIN_Y


def pdf_string(text: str) -> bytes:
    """A PDF literal string in WinAnsiEncoding (cp1252 is its superset); other characters as '?'."""
    data = text.encode("cp1252", errors="replace")
    return b"(" + data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def wrap(text: str, width: int) -> list[str]:
    """`text` cut into lines of at most `width` characters, after a hyphen or slash if one is near."""
    lines = []
    while len(text) > width:
        cut = max(text.rfind(c, 0, width) for c in "-/_")
        cut = cut + 1 if cut > width // 3 else width
        lines.append(text[:cut])
        text = text[cut:]
    lines.append(text)
    return lines


def marker_groups(marks: list[Mark]) -> list[tuple[float, str, list[str]]]:
    """(top, text, mark ids) of the markers of one page: blocks side by side in one line (a
    glossary term and its definition) share one marker, `file:12,14`."""
    groups: list[list[Mark]] = []
    for mark in sorted((m for m in marks if m.first), key=lambda m: -m.top):
        if groups and abs(groups[-1][0].top - mark.top) < 1 and groups[-1][0].ref.file == mark.ref.file:
            groups[-1].append(mark)
        else:
            groups.append([mark])
    return [(g[0].top, f"{g[0].ref.file}:{','.join(str(m.ref.line) for m in g)}", [m.id for m in g])
            for g in groups]


def sheet_content(book_page: int, label: str, sheet_number: int, sheets: int, marks: list[Mark],
                  changed: set[str], edition: Edition, slug: Slug) -> bytes:
    """The drawing of one sheet: the print page, then everything outside its trim."""
    trim_w, trim_h = edition.trim
    bleed = edition.bleed
    ops = [f"q 1 0 0 1 {MARGIN_X:.2f} {MARGIN_Y:.2f} cm /Page Do Q".encode()]
    # The trim edge in light grey (a white page on a white sheet shows no edge), crop marks
    # beyond the bleed.
    ops.append(f"q 0.75 G 0.3 w {MARGIN_X:.2f} {MARGIN_Y:.2f} {trim_w:.2f} {trim_h:.2f} re S Q".encode())
    ops.append(b"q 0 G 0.3 w")
    for x in (MARGIN_X, MARGIN_X + trim_w):
        for y in (MARGIN_Y, MARGIN_Y + trim_h):
            sx = -1 if x == MARGIN_X else 1
            sy = -1 if y == MARGIN_Y else 1
            ops.append(f"{x + sx * (bleed + 3):.2f} {y:.2f} m {x + sx * (bleed + 18):.2f} {y:.2f} l S "
                       f"{x:.2f} {y + sy * (bleed + 3):.2f} m {x:.2f} {y + sy * (bleed + 18):.2f} l S".encode())
    ops.append(b"Q")
    recto = book_page % 2 == 0
    edge = MARGIN_X + trim_w + bleed if recto else MARGIN_X - bleed
    side = 1 if recto else -1
    bar_x = edge + side * GAP if recto else edge - GAP - BAR_WIDTH
    for mark in marks:
        if mark.id in changed:
            r, g, b = CHANGED_RGB
            ops.append(f"q {r} {g} {b} rg {bar_x:.2f} {MARGIN_Y + mark.bottom:.2f} {BAR_WIDTH:.2f} "
                       f"{mark.top - mark.bottom:.2f} re f Q".encode())
    room = (MARGIN_X - bleed - 2 * GAP - BAR_WIDTH - GAP) / MARK_ADVANCE
    text_x = edge + side * (2 * GAP + BAR_WIDTH)
    floor = MARGIN_Y + trim_h + MARK_LEAD
    for top, text, ids in marker_groups(marks):
        color = CHANGED_RGB if changed.intersection(ids) else (MARK_GRAY,) * 3
        # The first line level with the block's first line of text, pushed down below the marker above.
        baseline = min(MARGIN_Y + top - MARK_SIZE * 1.6, floor - MARK_LEAD)
        for line in wrap(text, int(room)):
            x = text_x if recto else text_x - len(line) * MARK_ADVANCE
            ops.append(f"BT /Mono {MARK_SIZE} Tf {color[0]} {color[1]} {color[2]} rg {x:.2f} {baseline:.2f} Td "
                       .encode() + pdf_string(line) + b" Tj ET")
            floor = baseline
            baseline -= MARK_LEAD
    words = [slug.title, f"{slug.edition} edition", slug.version, slug.date, f"page {label}",
             f"sheet {sheet_number} of {sheets}"]
    if slug.since:
        words.append(f"bars: changed since {slug.since}")
    line = "  \u00b7  ".join(words)
    ops.append(f"BT /Bold {SLUG_SIZE} Tf 0 g {MARGIN_X:.2f} {MARGIN_Y / 2 - 10:.2f} Td ".encode()
               + pdf_string("PROOF") + b" Tj /Sans " + f"{SLUG_SIZE}".encode() + b" Tf ( ) Tj "
               + pdf_string(line) + b" Tj ET")
    return b"\n".join(ops) + b"\n"


def proof_pdf(interior: Interior, edition: Edition, slug: Slug, changed: set[str],
              front: bytes | None = None) -> bytes:
    """The proof: `front` pages (the list of changes) if any, then one sheet per interior page."""
    import pikepdf

    out = pikepdf.new()
    fonts = out.make_indirect(pikepdf.Dictionary(**{
        name: pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                 BaseFont=pikepdf.Name("/" + base), Encoding=pikepdf.Name.WinAnsiEncoding)
        for name, base in (("Mono", "Courier"), ("Sans", "Helvetica"), ("Bold", "Helvetica-Bold"))}))
    ahead = 0
    if front:
        with pikepdf.open(io.BytesIO(front)) as extra:
            out.pages.extend(extra.pages)
            ahead = len(extra.pages)
    width, height = sheet_size(edition)
    by_page: dict[int, list[Mark]] = {}
    for mark in interior.marks:
        by_page.setdefault(mark.page, []).append(mark)
    with pikepdf.open(io.BytesIO(interior.pdf)) as source:
        total = ahead + len(source.pages)
        for i, page in enumerate(source.pages):
            form = out.copy_foreign(page.as_form_xobject())
            content = sheet_content(interior.book_pages[i], interior.labels[i], ahead + i + 1, total,
                                    by_page.get(i, []), changed, edition, slug)
            sheet = pikepdf.Dictionary(
                Type=pikepdf.Name.Page, MediaBox=pikepdf.Array([0, 0, width, height]),
                Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Page=form), Font=fonts),
                Contents=out.make_stream(content))
            out.pages.append(pikepdf.Page(sheet))
        out.Root.PageLabels = pikepdf.Dictionary(Nums=page_label_nums(interior, ahead))
        with out.open_outline() as tree:
            tree.root.extend(_outline(interior.outline, ahead))
        out.docinfo["/Title"] = pikepdf.String(f"PROOF: {slug.title} ({slug.version}, {slug.date})")
        out.docinfo["/Creator"] = pikepdf.String("bookbuild proof")
        buffer = io.BytesIO()
        out.save(buffer, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return buffer.getvalue()


def page_label_nums(interior: Interior, ahead: int):
    """The viewer shows each sheet's folio; the list of changes comes first as "Changes"."""
    import pikepdf

    nums = pikepdf.Array()
    if ahead:
        nums.extend([0, pikepdf.Dictionary(P=pikepdf.String("Changes "), S=pikepdf.Name.D, St=1)])
    previous = None
    for i, label in enumerate(interior.labels):
        style, number = ("D", int(label)) if label.isdigit() else ("r", interior.book_pages[i] + 1)
        if previous is None or previous != (style, number - 1):
            nums.extend([ahead + i, pikepdf.Dictionary(S=pikepdf.Name("/" + style), St=number)])
        previous = (style, number)
    return nums


def _outline(items, ahead: int) -> list:
    import pikepdf

    out = []
    for item in items:
        entry = pikepdf.OutlineItem(item.label, ahead + item.page, pikepdf.PageLocation.XYZ,
                                    top=MARGIN_Y + item.y)
        entry.children.extend(_outline(item.children, ahead))
        out.append(entry)
    return out
