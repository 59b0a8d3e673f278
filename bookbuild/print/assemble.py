"""The book PDF from its parts with pikepdf: pages in order under their furniture, one name tree, outline, labels, metadata."""
from __future__ import annotations

import io
from dataclasses import dataclass, field

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .parts import PartPDF


@dataclass
class Sheet:
    """One page of the book: a page of a part PDF (or a blank), under its furniture page."""

    part: str | None
    page: int


@dataclass
class Outline:
    label: str
    page: int
    y: float
    children: list[Outline] = field(default_factory=list)


@dataclass
class Metadata:
    title: str
    authors: list[str]
    subject: str
    keywords: list[str]
    language: str
    date: str                      # D:YYYYMMDDHHmmSSZ
    page_labels: list[tuple[int, str, int]]   # (first page, "r" or "D", first number)


def assemble(sheets: list[Sheet], parts: dict[str, PartPDF], furniture: list[bytes],
             outline: list[Outline], meta: Metadata) -> bytes:
    """One PDF: the parts' pages in order, blanks where a recto needs one, every page under
    its furniture (running head and folio, one page per book page across the `furniture`
    PDFs), one name tree for links across parts."""
    import pikepdf

    out = pikepdf.new()
    stamps = [pikepdf.open(io.BytesIO(data)) for data in furniture]
    stamp_pages = [page for stamp in stamps for page in stamp.pages]
    if len(stamp_pages) != len(sheets):
        raise ValueError(f"{len(stamp_pages)} furniture pages for {len(sheets)} pages")
    sources = {key: pikepdf.open(io.BytesIO(part.pdf)) for key, part in parts.items()}
    for sheet in sheets:
        out.pages.append(stamp_pages[len(out.pages)] if sheet.part is None
                         else sources[sheet.part].pages[sheet.page])
    for number, sheet in enumerate(sheets):
        if sheet.part is not None:
            _overlay(out.pages[number], stamp_pages[number], number)
    where = {(s.part, s.page): n for n, s in enumerate(sheets) if s.part is not None}
    # Looked up once: each look-up in the page list is a walk.
    page_objects = [page.obj for page in out.pages]
    named: dict[str, object] = {}
    for key, part in parts.items():
        for page, anchors in enumerate(part.anchors):
            target = page_objects[where[(key, page)]]
            for name, x, y in anchors:
                if name not in named:
                    named[name] = pikepdf.Array([target, pikepdf.Name.XYZ, x, y, 0])
    for key, part in parts.items():
        for page, rect, name in part.links:
            if name in named:
                page_obj = page_objects[where[(key, page)]]
                annot = out.make_indirect(pikepdf.Dictionary(
                    Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=pikepdf.Array(rect),
                    BS=pikepdf.Dictionary(W=0), Dest=pikepdf.String(name)))
                if "/Annots" not in page_obj:
                    page_obj.Annots = pikepdf.Array()
                page_obj.Annots.append(annot)
    out.Root.Names = pikepdf.Dictionary(Dests=_name_tree(out, named))
    with out.open_outline() as tree:
        tree.root.extend(_outline_items(outline, out))
    nums = pikepdf.Array()
    for first, style, start in meta.page_labels:
        nums.extend([first, pikepdf.Dictionary(S=pikepdf.Name("/" + style), St=start)])
    out.Root.PageLabels = pikepdf.Dictionary(Nums=nums)
    out.Root.Lang = pikepdf.String(meta.language)
    out.docinfo.update({
        "/Title": pikepdf.String(meta.title), "/Author": pikepdf.String(", ".join(meta.authors)),
        "/Subject": pikepdf.String(meta.subject), "/Keywords": pikepdf.String(", ".join(meta.keywords)),
        "/Creator": pikepdf.String("bookbuild"), "/Producer": pikepdf.String("WeasyPrint, pikepdf"),
        "/CreationDate": pikepdf.String(meta.date), "/ModDate": pikepdf.String(meta.date)})
    with out.open_metadata(set_pikepdf_as_editor=False) as xmp:
        xmp.load_from_docinfo(out.docinfo)
    buffer = io.BytesIO()
    out.save(buffer, deterministic_id=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    for source in [*sources.values(), *stamps]:
        source.close()
    return buffer.getvalue()


# Names a leaf of the name tree holds.
NAMES_PER_LEAF = 64


def _name_tree(pdf, named: dict):
    """A name tree of `named` (name → destination), made at once: a root whose kids are leaves
    of NAMES_PER_LEAF names each, in the order of their text (as qpdf orders and looks them up:
    an id in Cyrillic is a UTF-16 string, which by its bytes would sort after every other),
    each with its first and last name as its limits (PDF 32000-1, 7.9.6). Made a name at a
    time with pikepdf's NameTree, the book's 7,875 anchors took 0.5 s, a third of the assembly."""
    import pikepdf

    keyed = [(pikepdf.String(name), named[name]) for name in sorted(named)]
    leaves = []
    for start in range(0, len(keyed), NAMES_PER_LEAF):
        chunk = keyed[start:start + NAMES_PER_LEAF]
        leaves.append(pdf.make_indirect(pikepdf.Dictionary(
            Limits=pikepdf.Array([chunk[0][0], chunk[-1][0]]),
            Names=pikepdf.Array([item for pair in chunk for item in pair]))))
    return pdf.make_indirect(pikepdf.Dictionary(Kids=pikepdf.Array(leaves)) if leaves
                             else pikepdf.Dictionary(Names=pikepdf.Array()))


def _overlay(page, stamp, number: int) -> None:
    """`stamp` drawn over `page`, like pikepdf's add_overlay, but under a name made from the
    page number: add_overlay picks a random one, and the same sources must give the same PDF.
    The pages of a part share one resource dictionary, so the name differs from page to page.
    The page's contents become three streams (save the state; WeasyPrint's content, as
    compressed; restore it and draw the stamp), as PDF allows: made into one, every page's
    content was inflated and compressed again when the PDF was saved (0.3 s a book)."""
    import pikepdf

    form = stamp.as_form_xobject()
    name = page.add_resource(form, pikepdf.Name.XObject, pikepdf.Name(f"/Furniture{number}"))
    placement = page.calc_form_xobject_placement(form, name, pikepdf.Rectangle(page.trimbox))
    page.contents_add(b"q\n", prepend=True)
    page.contents_add(b"Q\n" + placement, prepend=False)


def _outline_items(items: list[Outline], pdf) -> list:
    import pikepdf

    result = []
    for item in items:
        entry = pikepdf.OutlineItem(item.label, item.page, pikepdf.PageLocation.XYZ, top=item.y)
        entry.children.extend(_outline_items(item.children, pdf))
        result.append(entry)
    return result
