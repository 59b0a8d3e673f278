"""Each WeasyPrint internal the print engine relies on, on tiny HTML: an upgrade that changes one fails here."""
from __future__ import annotations

import io

import pikepdf
import pytest
import weasyprint.layout
from weasyprint import HTML

from bookbuild.print import engine
from bookbuild.print.deferral import Deferral

# A 200 × 300 px page with a 160 × 280 px type area.
PAGE = "@page { size: 200px 300px; margin: 10px 20px } body { margin: 0; font: 10px/12px serif }"
FOOTNOTES = ".fn { float: footnote }"


def render(body: str, css: str = ""):
    return HTML(string=f"<html><head><style>{PAGE}{css}</style></head><body>{body}</body></html>").render()


def paragraphs(n: int, prefix: str = "Para") -> str:
    return "".join(f'<p id="{prefix.lower()}{i}">{prefix} {i} ' + "words " * 30 + "</p>" for i in range(n))


def page_texts(document) -> list[str]:
    return [" ".join(engine.box_text(box).split()) for box in engine.page_boxes(document)]


def test_page_box_gives_the_type_area():
    """`Page._page_box` and its content box: the type area checks.py measures against."""
    box, = engine.page_boxes(render("<p>One line.</p>"))
    assert engine.content_area(box) == (20, 10, 180, 290)


def test_box_tree_gives_lines_with_their_elements_and_text():
    """boxes.LineBox / TextBox / ReplacedBox / FootnoteAreaBox, `children`, `element`, `descendants()`."""
    document = render('<p id="a">Alpha beta<span class="fn">Note text</span> gamma.</p>', FOOTNOTES)
    items = engine.flow_items(engine.page_boxes(document))
    main = [i for i in items if not i.footnote]
    notes = [i for i in items if i.footnote]
    assert [i.elements[-1].get("id") for i in main] == ["a"]
    assert engine.is_line(main[0].box)
    assert "Alpha beta" in engine.box_text(main[0].box) and "gamma" in engine.box_text(main[0].box)
    assert "Note text" in " ".join(engine.box_text(i.box) for i in notes)
    left, _, right, _ = engine.content_area(engine.page_boxes(document)[0])
    extents = list(engine.glyph_extents(main[0].box))
    assert extents and all(left <= x1 < x2 <= right for x1, x2 in extents)
    x1, y1, x2, y2 = engine.box_rect(main[0].box)
    assert x2 > x1 and y2 > y1


def test_generated_text_is_told_apart_by_its_element_tag():
    """A pseudo-element's text box has '::' in `element_tag`: index offsets count without it."""
    document = render('<p class="x">Item</p>', '.x::before { content: "See " }')
    line = next(i for i in engine.flow_items(engine.page_boxes(document)) if engine.is_line(i.box))
    assert engine.box_text(line.box, generated=False) == "Item"
    assert engine.box_text(line.box) == "See Item"


def test_first_words_leave_out_print_only_classes():
    document = render('<p><span class="folio">xii</span> First words of the page</p>')
    page, = document.pages
    assert engine.first_words(page, {"folio"}, count=3) == "First words of"
    assert engine.first_words(page, set(), count=2) == "xii First"


def test_page_anchors_links_and_bookmarks_have_the_shapes_parts_read():
    """`Page.anchors` {id: (x1, y1, x2, y2)}, `Page.links` (kind, target, rect, _), `Page.bookmarks`."""
    document = render('<h1 id="top" style="bookmark-level: 1; bookmark-label: \'Top\'">Top</h1>'
                      '<p><a href="#top">back</a></p>')
    page, = document.pages
    x1, y1, x2, y2 = page.anchors["top"]
    assert x2 >= x1 and y2 >= y1
    kind, target, (lx1, ly1, lx2, ly2), _ = page.links[0]
    assert (kind, target) == ("internal", "top") and lx2 > lx1
    level, label, (_, y), _ = page.bookmarks[0]
    assert (level, label) == (1, "Top") and y >= 0


def test_make_all_pages_is_the_hook_the_layout_calls(monkeypatch):
    """`weasyprint.layout.make_all_pages(context, root_box, html, pages)`, looked up on the module
    at each layout, with `context.page_maker` entries ending in a dict with `content_changed`,
    and the footnote state `footnotes`, `reported_footnotes`, `broken_out_of_flow`."""
    seen = {}
    current = weasyprint.layout.make_all_pages

    def spy(context, root_box, html, pages):
        made = list(current(context, root_box, html, pages))
        seen["flags"] = [entry[-1]["content_changed"] for entry in context.page_maker]
        seen["state"] = (list(context.footnotes), list(context.reported_footnotes),
                         dict(context.broken_out_of_flow))
        return made

    monkeypatch.setattr(weasyprint.layout, "make_all_pages", spy)
    render(paragraphs(6) + '<p>End<span class="fn">A note</span></p>', FOOTNOTES)
    assert seen["flags"] and all(isinstance(flag, bool) for flag in seen["flags"])
    assert isinstance(seen["state"][2], dict)


class Remake:
    """A watcher that asks for the pages to be made again once, at the first boundary, moving nothing."""

    limit = 2

    def __init__(self):
        self.passes = 0
        self.boundaries: list[int] = []

    def boundary(self, root_box, pages, index) -> bool:
        self.boundaries.append(index)
        return len(self.boundaries) == 1


def test_pages_made_again_come_out_as_before():
    """Marking `page_maker` entries changed and restoring the footnote state remakes the same pages:
    no footnote lost or repeated, no page more."""
    body = paragraphs(8) + "".join(f'<p>Noted {i}<span class="fn">Note {i}</span></p>' for i in range(6))
    plain = page_texts(render(body, FOOTNOTES))
    watcher = Remake()
    with engine.watching(watcher):
        remade = page_texts(render(body, FOOTNOTES))
    assert watcher.passes == 1 and len(watcher.boundaries) > 1
    assert remade == plain


def test_a_figure_too_tall_for_its_page_goes_overleaf_and_the_text_comes_first():
    """The deferral end to end: `figure_parent`, `children`, `figure_group`, `set_children` on
    the box tree before layout, and the pages made again from the page with the gap."""
    body = (paragraphs(1, "Before") + '<figure id="fig"><div style="height: 230px"></div><figcaption>Caption</figcaption></figure>'
            + paragraphs(4, "After"))
    css = "figure { margin: 0; break-inside: avoid }"
    plain = page_texts(render(body, css))
    assert "After 0" not in plain[0]                 # without deferral: a gap under "Before"
    with Deferral() as deferral:
        document = render(body, css)
    assert deferral.moved and deferral.moved[0][0] == "fig"
    assert "After 0" in page_texts(document)[0]


def test_write_in_two_halves_keeps_every_page():
    document = render(paragraphs(12))
    pages = len(document.pages)
    assert pages >= 4
    with pikepdf.open(io.BytesIO(engine.write(document, pages // 2))) as pdf:
        assert len(pdf.pages) == pages


def test_standalone_pdf_refuses_urls_when_asked_and_collects_warnings():
    html = '<p>Cover</p><img src="file:///etc/hostname">'
    data, messages = engine.standalone_pdf(html, data_only=True)
    assert data.startswith(b"%PDF-")
    assert any("a cover fetches nothing" in m for m in messages)


@pytest.mark.parametrize("name", ["make_all_pages"])
def test_the_hook_is_installed_once(name):
    with engine.watching(Remake()):
        first = getattr(weasyprint.layout, name)
    with engine.watching(Remake()):
        assert getattr(weasyprint.layout, name) is first
    assert first.defers_figures
