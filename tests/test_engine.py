"""Each WeasyPrint internal the print engine relies on, on tiny HTML: an upgrade that changes one fails here."""
from __future__ import annotations

import io
from dataclasses import replace

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

    def page_made(self, pages, index) -> bool:
        return False

    def boundary(self, root_box, pages, index) -> bool:
        self.boundaries.append(index)
        return len(self.boundaries) == 1


class RemakeOwn(Remake):
    """A watcher that asks for the third page to be made again once, as soon as it is made."""

    def __init__(self):
        super().__init__()
        self.made: list[int] = []

    def page_made(self, pages, index) -> bool:
        self.made.append(index)
        return self.made.count(2) == 1 and index == 2

    def boundary(self, root_box, pages, index) -> bool:
        return False


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


def test_a_page_made_again_for_its_own_end_costs_that_page_alone():
    """`watcher.page_made`: asked of each page as soon as it is made; True makes that page
    again, and only it (a boundary makes three again), and the pages come out as before."""
    body = paragraphs(8) + "".join(f'<p>Noted {i}<span class="fn">Note {i}</span></p>' for i in range(6))
    plain = page_texts(render(body, FOOTNOTES))
    watcher = RemakeOwn()
    with engine.watching(watcher):
        remade = page_texts(render(body, FOOTNOTES))
    assert len(plain) >= 4 and remade == plain and watcher.passes == 1
    assert watcher.made == [0, 1, 2, 2, *range(3, len(plain))]


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


# --- whole-paragraph line breaking (engine.paragraph_breaking) -----------------------------

JUSTIFIED = ("p { text-align: justify; hyphens: auto; hyphenate-limit-chars: 6 2 3; margin: 0 }"
             "html { font-family: 'EB Garamond 12', serif; font-size: 11px; line-height: 14px }")
TEXT = ("In order to understand the relative ease with which Stalin managed to realize this "
        "ultra-left turn immediately after the Fifteenth Congress, it is important to take into "
        "account the actual alignment of class forces, which Trotsky described <em>in detail</em> "
        "in his letters from Alma-Ata to comrades in exile and in the colonies of the Urals.")


def lines_of(document) -> list[str]:
    items = engine.flow_items(engine.page_boxes(document))
    return [engine.box_text(i.box) for i in items if engine.is_line(i.box)]


def chosen(body: str, unbreakable=frozenset()):
    before = engine.BreakingStats(**vars(engine.STATS))
    with engine.paragraph_breaking(unbreakable):
        document = render(body, JUSTIFIED)
    after = engine.STATS
    return document, {f: getattr(after, f) - getattr(before, f) for f in vars(after)}


def test_split_inline_box_and_text_align_are_the_line_hooks():
    """`inline.split_inline_box(context, box, position_x, max_x, ...)` and `inline.text_align(
    context, line, available_width, last)`, looked up on the module by `get_next_linebox`:
    every line of the paragraph ends where linebreak.py chose (none set otherwise)."""
    document, stats = chosen(f"<p>{TEXT}</p>")
    assert stats["paragraphs"] == 1 and stats["mismatched"] == 0 and stats["lines"] >= 5
    assert len(lines_of(document)) == stats["lines"]
    assert weasyprint.layout.inline.split_inline_box.chosen_breaks


def test_a_line_set_to_its_chosen_break_is_what_weasyprint_would_set(monkeypatch):
    """`inline.split_text_box` and `inline.split_first_line`, wrapped: the text box a chosen
    break falls in is set to that break in one Pango layout (`_first_line_to`) instead of
    WeasyPrint's search. Its boxes (text, place, width, glyphs counted for the letter
    spacing) are those WeasyPrint's search gives, at breaks after a space, after a word's own
    hyphen, inside a word (a hyphen added) and before an <em>."""
    body = '<div lang="en">' + "".join(
        f'<p style="width: {w}px">{TEXT} The counterrevolutionary bureaucratization reached <em>Pravda</em>.</p>'
        for w in (120, 133, 150, 171)) + "</div>"

    def boxes(document):
        return [(b.text, round(b.position_x, 3), round(b.width, 3), getattr(b, "tracking", 0))
                for item in engine.flow_items(engine.page_boxes(document)) if engine.is_line(item.box)
                for b in item.box.descendants() if isinstance(b, weasyprint.formatting_structure.boxes.TextBox)]

    used = []
    fast = engine._first_line_to

    def counted(*args):
        found = fast(*args)
        used.append(found is not None)
        return found

    monkeypatch.setattr(engine, "_first_line_to", counted)
    document, stats = chosen(body)
    assert stats["mismatched"] == 0 and sum(used) >= stats["lines"] - stats["paragraphs"]
    assert any(text.endswith("\u2010") for text, *_ in boxes(document))  # a hyphen added
    monkeypatch.setattr(engine, "_first_line_to", lambda *args: None)
    searched, _ = chosen(body)
    assert boxes(document) == boxes(searched)


def test_hyphenation_points_are_found_only_when_a_plan_needs_them(monkeypatch):
    """A paragraph the first pass (no hyphens) sets is planned without its hyphenation points;
    they are found when a plan needs them: a narrower measure, or the breaks chosen again
    (`_all_breaks`, for a page that ends on a word's own hyphen)."""
    calls = []
    real = engine._hyphenation
    monkeypatch.setattr(engine, "_hyphenation", lambda *args: calls.append(1) or real(*args))
    document, stats = chosen(f'<div lang="en"><p style="width: 400px">{TEXT}</p></div>')
    assert stats["paragraphs"] == 1 and not calls
    plan = next(i.box.chosen_plan for i in engine.flow_items(engine.page_boxes(document))
                if getattr(i.box, "chosen_plan", None))
    planned = [b.offset for b in plan.remake[1]]
    every = engine._all_breaks(plan)
    assert calls and any(b.kind == "hyphen" for b in every)
    assert [b.offset for b in every if b.kind != "hyphen"] == planned
    calls.clear()
    chosen(f'<div lang="en"><p style="width: 120px">{TEXT}</p></div>')
    assert calls


def test_skip_stacks_and_text_boxes_give_line_offsets(monkeypatch):
    """Skip stacks ({child: {...}}, a text box's {byte offset: None}) through inline boxes, and
    `inline.skip_first_whitespace`: `_offset` finds in the paragraph's runs (`_runs`, laid end
    to end) the word each line starts with."""
    inline = weasyprint.layout.inline
    calls = []
    current = inline.split_inline_box

    def spy(context, box, position_x, max_x, bottom_space, skip_stack, *rest):
        if isinstance(box, weasyprint.formatting_structure.boxes.LineBox):
            calls.append((box, inline.skip_first_whitespace(box, skip_stack)))
        return current(context, box, position_x, max_x, bottom_space, skip_stack, *rest)

    monkeypatch.setattr(inline, "split_inline_box", spy)
    document = render(f"<p>{TEXT}</p>", JUSTIFIED)
    box = calls[0][0]
    text = "".join(run.text for run in engine._runs_of(box)).encode()
    starts = [text[engine._offset(box, stack):].decode().split()[0] for _, stack in calls]
    assert starts == [line.split()[0] for line in lines_of(document)]
    assert any(isinstance(stack, dict) and len(str(stack)) > 12 for _, stack in calls)  # nested


def test_lines_wider_than_the_measure_have_their_spaces_narrowed():
    """`inline.justify_line` with a negative width: the line ends at the measure."""
    document, stats = chosen("<p>" + " ".join([TEXT] * 3) + "</p>")
    page = engine.page_boxes(document)[0]
    left, _, right, _ = engine.content_area(page)
    for item in engine.flow_items([page]):
        if engine.is_line(item.box):
            assert item.box.position_x + item.box.width <= right + 0.01


OFFICE = " The office was affluent, the officer affable. "


def test_letter_spaced_lines_end_at_the_measure_in_the_pdf():
    """`Plan.tracking`: a line is letter-spaced (each text box wider by the spacing for each of
    its glyphs, boxes after it moved), then justified; drawn, `draw.text.draw_first_line`
    (wrapped) adds the spacing to the advances of the glyphs of the box's Pango line (its
    `runs`, `glyphs.glyphs[i].geometry.width`), and WeasyPrint's glyph offsets are rounded
    (`draw.text.int`), so the glyphs of every justified line end at the measure (cut toward
    zero, a line of letters spaced apart drew up to 0.7 pt long or short). The text has
    ligatures ("office", "affluent"): they stay (Pango's letter spacing turns them off)."""
    import pymupdf

    before = engine.BreakingStats(**vars(engine.STATS))
    with engine.paragraph_breaking():  # a measure as wide as a book's: the error grows with it
        document = render("<p>" + OFFICE.join([TEXT] * 3) + "</p>",
                          JUSTIFIED + "@page { size: 500px 300px }")
    assert engine.STATS.mismatched == before.mismatched
    page = engine.page_boxes(document)[0]
    left, _, right, _ = engine.content_area(page)
    spaced = [getattr(box, "tracking", 0) for item in engine.flow_items([page]) if engine.is_line(item.box)
              for box in item.box.descendants() if isinstance(box, weasyprint.formatting_structure.boxes.TextBox)]
    assert any(spaced) and min(spaced) >= 0  # letters set apart, never closer (linebreak.TRACK_SHRINK)
    pdf = pymupdf.open(stream=document.write_pdf(), filetype="pdf")
    rows = {}
    for block in pdf[0].get_text("rawdict")["blocks"]:
        for line in block.get("lines", []):
            for span in line["spans"]:
                for c in span["chars"]:
                    if c["c"].strip():
                        y = round(c["origin"][1])
                        rows[y] = max(rows.get(y, 0), c["bbox"][2])
    ends = [rows[y] for y in sorted(rows)][:-1]  # the last line is set as it comes
    to_pt = 0.75
    assert len(ends) >= 8 and all(abs(e - right * to_pt) < 0.25 for e in ends), (right * to_pt, ends)
    text = "".join(p.get_text() for p in pdf).replace("\u2010\n", "").replace("-\n", "-")
    assert text.split() == OFFICE.join([TEXT] * 3).replace("<em>", "").replace("</em>", "").split()
    tracked = [box for item in engine.flow_items(engine.page_boxes(document)) if engine.is_line(item.box)
               for box in item.box.descendants() if getattr(box, "tracking", 0) and "ffi" in box.text]
    assert tracked and engine._glyph_count("office", tracked[0].style) < len("office")  # o ﬃ c e


def test_names_are_never_hyphenated():
    body = "<p>" + " ".join(["Preobrazhensky and Zinoviev wrote to Trotsky."] * 12) + "</p>"
    document, _ = chosen(body, frozenset({"Preobrazhensky", "Zinoviev", "Trotsky"}))
    assert not any(line.rstrip().endswith("\u2010") and line.rstrip()[-3:-1].isalpha()
                   and any(n.startswith(line.split()[-1][:-1]) for n in ("Preobrazhensky", "Zinoviev"))
                   for line in lines_of(document))


def test_a_page_never_ends_on_a_hyphen_the_plan_chose():
    """A page boundary shown to the watcher (`Deferral`): a paragraph whose chosen line ends a
    page on a hyphen has its breaks from that page on chosen again, and the page made again."""
    def last_lines(document):
        return [[engine.box_text(i.box) for i in engine.flow_items([page]) if engine.is_line(i.box)][-1]
                for page in engine.page_boxes(document)[:-1]]

    def words(document):
        return "".join(engine.box_text(page) for page in engine.page_boxes(document)).replace("\u2010", "")

    long_words = ("the counterrevolutionary bureaucratization of administrative institutions "
                  "and collectivization accompanied industrialization ") * 8
    cases = ((n, w) for w in (150, 130, 120) for n in range(20))
    for lines_before, width in cases:
        html = '<div lang="en">' + "<p>Line.</p>" * lines_before + f"<p>{long_words}</p></div>"
        css = JUSTIFIED + f"body {{ width: {width}px }}"
        with engine.paragraph_breaking():
            plain = render(html, css)
        if any(line.rstrip().endswith("\u2010") for line in last_lines(plain)):
            break
    else:
        pytest.skip("no page of these texts ends on a hyphen in this face")
    with engine.paragraph_breaking(), Deferral():
        fixed = render(html, css)
    assert not any(line.rstrip().endswith("\u2010") for line in last_lines(fixed))
    assert "".join(words(fixed).split()) == "".join(words(plain).split())


def test_a_chosen_break_before_an_inline_box_holds():
    """A line chosen to end at the space before an <em>: WeasyPrint is given the line's width
    with its trailing space (`Plan.at_space`). Without it, `split_text_box` cut a text box too
    wide by that space at its first word, and the rest of the paragraph was set greedily."""
    text = ("Quite a few letters condemning Stalin arrived at the editorial board of <em>Pravda</em>. "
            "The majority of them were of course shelved. However, some letters protesting against "
            "laying blame for “excesses” on “scapegoats” nevertheless appeared on the pages of "
            "<em>Pravda</em>. Thus, an article by Mamaev said:")
    for width in range(130, 162, 2):  # at 142 px a line ends at "… board of |Pravda" (found so)
        document, stats = chosen(f'<p style="width: {width}px">{text}</p>')
        assert stats["paragraphs"] == 1 and stats["mismatched"] == 0 and stats["greedy"] == 0, width
        assert len(lines_of(document)) == stats["lines"]


def test_a_closing_quote_before_a_bracket_lets_the_line_end():
    """Pango keeps “…” (…) together (UAX #14 LB15); layout.numero_apart puts a zero-width
    space after the quote, and box_text leaves it out."""
    from bookbuild.print.layout import QUOTE_BREAK, numero_apart

    text = "Comrade Bukharin” (published in 1933) and “the troika” [documents]"
    assert numero_apart(f'<p title="a” (b">{text}</p>') == \
        f'<p title="a” (b">{text.replace("” ", "”" + QUOTE_BREAK + " ")}</p>'
    narrow = "body { width: 105px }"
    lines = lines_of(render(f"<p>{numero_apart(text)}</p>", narrow))
    assert lines[0].rstrip() == "Comrade Bukharin”" and "\u200b" not in "".join(lines)
    assert lines_of(render(f"<p>{text}</p>", narrow))[0].rstrip() == "Comrade"  # Pango's rule, as found


# --- aligned page bottoms (engine.filling_pages) --------------------------------------------

GRID = "html { line-height: 12px } p { margin: 0 } blockquote { margin: 5px 10px; font: 8px/9px serif } h2 { margin: 8px 0 4px; font: 10px/12px serif }"


def last_line_feet(document) -> list[float]:
    """The foot of the lowest line of each page."""
    return [max(i.box.position_y + i.box.height for i in engine.flow_items([page]) if engine.is_line(i.box))
            for page in engine.page_boxes(document)]


def test_layout_document_is_wrapped_and_pages_end_on_the_grid():
    """`weasyprint.document.layout_document` (wrapped), `context.page_maker[i][1]["break"]`,
    `Box.translate`: a page the text runs over, with a quotation on it, ends on the lowest line
    of the 12 px grid (290 − 10 = 280 px of type area: 23 lines, foot at 286); the last page and
    a page before a forced break are left as they are."""
    body = "".join(f"<p>Para {i} " + "word " * 25 + "</p>" + ("<blockquote>" + "quoted " * 20 + "</blockquote>"
                                                             if i % 2 else "") for i in range(8))
    body += '<p style="break-before: page">Alone on its page, after a forced break.</p>' + "<p>More.</p>"
    plain = last_line_feet(render(body, GRID))
    with engine.filling_pages() as stats:
        before = replace(stats)
        filled = last_line_feet(render(body, GRID))
    assert plain[0] < 286 and filled[0] == pytest.approx(286)
    assert filled[-1] == plain[-1]  # the last page, and the page of the forced break
    assert stats.filled - before.filled >= 1 and weasyprint.document.layout_document.fills_pages


def test_a_spread_that_cannot_be_filled_is_set_a_line_short_on_both_pages():
    """`weasyprint.layout.page.make_page` and `page_height` (wrapped), a page box's
    `page_type.side`: a recto two lines short (a block that may not break goes overleaf, and
    the lines of one paragraph can take only a fraction of a line) beside a full verso; both
    are made a line shorter, the verso's last line goes overleaf, and both end on the grid
    line above the foot (23 lines of 12 px, foot at 286). Without the watcher, as before."""
    lines = "<br>".join(f"Line {i}" for i in range(23 * 2 + 21))
    body = (f"<p>{lines}</p><div style='height: 36px; break-inside: avoid'>A block</div>"
            + "<p>" + "<br>".join(f"After {i}" for i in range(30)) + "</p>")
    with engine.filling_pages():
        plain = render(body, GRID)
        with Deferral():
            balanced = render(body, GRID)
    feet = last_line_feet(plain)
    assert feet[1] == pytest.approx(286) and feet[2] == pytest.approx(286 - 24)  # two lines short
    feet = last_line_feet(balanced)
    assert feet[1] == pytest.approx(286 - 12) and feet[2] == pytest.approx(286 - 12)
    assert page_texts(balanced)[2].startswith("Line 45") and "Line 66" in page_texts(balanced)[2]
    assert "".join(page_texts(balanced)).replace(" ", "") == "".join(page_texts(plain)).replace(" ", "")
    assert all(page.height == plain.pages[0].height for page in balanced.pages)


def test_notes_keep_their_numbers_and_an_empty_fragment_is_no_end():
    """A note's number floats beside its text, outside the text's own block (as
    templates/print/unit.html.j2 sets it): the note moves whole, number and text level. A list
    item whose first line went overleaf leaves an empty box at the foot of the page (WeasyPrint
    draws a box that goes on overleaf down to the foot): the page's end is its last line."""
    css = GRID + (".notes { font: 8px/10px serif; margin-top: 20px } ol { list-style: none; margin: 0; padding: 0 }"
                  " li { padding-left: 1.6em; margin: 0 0 2px } .n { float: left; width: 1.6em; margin-left: -1.6em }")
    body = "".join(f"<p>Para {i} " + "word " * 25 + "</p>" for i in range(3)) + '<div class="notes"><ol>' + "".join(
        f'<li><span class="n">{i}.</span><div><p>Note text ' + "more " * (i % 7 * 4) + "</p></div></li>"
        for i in range(40)) + "</ol></div>"
    with engine.filling_pages():
        document = render(body, css)
    feet = last_line_feet(document)
    assert all(foot >= 285 for foot in feet[:-1]), feet  # on the grid's last line (a float's line aside), or below
    for page in engine.page_boxes(document):
        numbers = [b for b in page.descendants() if b.element_tag == "span" and b.is_floated()]
        for number in numbers:
            li = next(b for b in page.descendants() if number in list(b.descendants()) and b.element_tag == "li")
            text = next((b for b in li.descendants() if engine.is_line(b) and "Note" in engine.box_text(b)), None)
            # No number is left at the foot of a page with its note overleaf (carry_lone_floats).
            assert text is not None, engine.box_text(number)
            assert abs(number.position_y - text.position_y) < 0.5, engine.box_text(text)


def test_the_layout_runs_on_a_roomy_stack_that_maps_no_chunk_per_call():
    """parts.on_a_roomy_stack: calls that go 400 frames deep and back, 3,000 times, map a
    new chunk of CPython's frame stack (and fault its pages in) each time they pass a chunk's
    end; run on the roomy stack they find the room there, and fault in next to nothing."""
    import resource

    from bookbuild.print.parts import on_a_roomy_stack

    def deep(n: int) -> int:
        return deep(n - 1) + 1 if n else 0

    def swing() -> int:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(3000):
            deep(400)
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    assert on_a_roomy_stack(pow, 2, 10) == 1024
    plain = swing()
    roomy = on_a_roomy_stack(swing)
    assert plain > 3000 and roomy < 300, (plain, roomy)


def test_every_document_is_drawn_alike_whatever_the_process_laid_out_before():
    """`engine.render` installs the engine's drawing (glyph offsets rounded, letter spacing
    drawn) in a process that has never set a paragraph: a proof's running heads, laid out in
    the main process, were drawn otherwise than the book's, laid out in the workers."""
    import subprocess
    import sys
    from pathlib import Path

    probe = ("import weasyprint.draw.text as drawn\nfrom bookbuild.print import engine\n"
             "before = getattr(drawn, 'int', int) is engine._nearest\n"
             "engine.render('<p>Running head</p>', '@page { size: 300px 200px }', '.')\n"
             "print(before, drawn.int is engine._nearest, getattr(drawn.draw_first_line, 'tracks', False))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.split() == ["False", "True", "True"], out


def test_pages_that_match_the_same_page_rules_share_their_styles(monkeypatch):
    """`engine._install_page_styles`: a page's style and its margin boxes' are computed once
    per set of @page selectors matched (WeasyPrint computed them for every page): pages of a
    side share them, a page that `:nth()` or `:blank` selects has its own, and the PDF is the
    same bytes as with a style computed for every page."""
    import weasyprint.layout.page as paged

    engine._install_drawing()  # as engine.render and engine.standalone_pdf do
    css = ("@page { @bottom-center { content: counter(page) } }"
           "@page :left { @top-left { content: string(head) } }"
           "@page :right { @top-right { content: string(head); font-style: italic } }"
           "@page :nth(3) { @top-right { content: 'Third' } }"
           "@page :blank { @bottom-center { content: none } }"
           "h1 { string-set: head content(); break-before: right }")
    body = "".join(f"<h1>Chapter {n}</h1>" + paragraphs(12, f"C{n}p") for n in range(3))

    def styled():
        document = render(body, css)
        pages = [page._page_box for page in document.pages]
        return document.write_pdf(), pages

    ours, pages = styled()
    assert len(pages) >= 8 and any(p.page_type.blank for p in pages)
    by_side = {}
    for page in pages:
        if page.page_type.index != 2 and not page.page_type.blank:
            by_side.setdefault(page.page_type.side, set()).add(id(page.style))
    assert len(by_side) == 2 and all(len(ids) == 1 for ids in by_side.values()), by_side
    third = pages[2]
    assert id(third.style) not in by_side[third.page_type.side]
    head = {b.at_keyword: "".join(t.text for t in b.descendants() if hasattr(t, "text"))
            for b in third.children if isinstance(b, weasyprint.formatting_structure.boxes.MarginBox)}
    assert head.get("@top-right") == "Third"
    monkeypatch.setattr(paged, "set_page_type_computed_styles", paged.set_page_type_computed_styles.original)
    theirs, pages = styled()
    assert len({id(p.style) for p in pages}) == len(pages)  # WeasyPrint's own: a style a page
    assert ours == theirs


def test_justified_lines_are_shaped_whole_and_drawn_as_pango_spaced_them(monkeypatch):
    """`engine._install_own_word_spacing`: a justified text box is shaped again for drawing
    without Pango's spacing attributes on its spaces, so in one run a face (WeasyPrint's way,
    a run a word), and `_space_out` widens its spaces as Pango did: the PDF is the same bytes,
    for lines spaced wider and tighter than their words (`TEXT` in the page's own measure sets
    lines narrowed), no-break spaces, spaces at a text box's ends, letter-spaced lines."""
    import weasyprint.text.line_break as lb
    from weasyprint.formatting_structure import boxes

    body = ("<p>" + OFFICE.join([TEXT] * 3) + "</p><p>" + " ".join([TEXT] * 3) + "</p>"
            "<p>" + " K.\u00a0Khella, <em>in</em> <em>detail</em> and U.\u00a0<em>Legi</em>\u00a0w " * 6 + "</p>")

    def drawn():
        with engine.paragraph_breaking():
            document = render(body, JUSTIFIED)
        return document, document.write_pdf()

    document, ours = drawn()
    spaced = [box for page in engine.page_boxes(document) for item in engine.flow_items([page])
              if engine.is_line(item.box) for box in item.box.descendants()
              if isinstance(box, boxes.TextBox) and box.justification_spacing]
    assert any(b.justification_spacing < 0 for b in spaced) and any(b.justification_spacing > 0 for b in spaced)
    assert any("\u00a0" in b.text for b in spaced) and any(b.text[0] == " " for b in spaced)
    box = max(spaced, key=lambda b: b.text.count(" "))
    box.pango_layout.reactivate(box.style)
    assert box.pango_layout.spaced and len(list(engine._glyph_items(box.pango_layout.get_first_line()[0]))) == 1
    box.pango_layout.deactivate()
    monkeypatch.setattr(lb.Layout, "reactivate", lb.Layout.reactivate.original)
    _, theirs = drawn()
    assert ours == theirs
