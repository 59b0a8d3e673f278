"""Figures that go overleaf: the text after a figure that left a gap is set ahead of it."""
from __future__ import annotations

from . import engine
from .checks import HEADING_TAGS

# WeasyPrint has no page floats: a figure too tall for the rest of its page goes overleaf
# and leaves a gap. Where the gap is large, the paragraphs after the figure are moved ahead
# of it in WeasyPrint's box tree, and pages are made again from the page with the gap,
# with WeasyPrint's own machinery for remaking pages (engine.watching). Pages are watched
# as they are made, so a deferral costs the few pages made again, not a second layout of
# the part. The HTML (so every computed style) stays as it was: moving a figure changes no
# paragraph's style, because no style depends on what precedes a figure (base.css).

# A figure too tall for the rest of its page goes overleaf whole; when that leaves this much
# of the page empty, the text after it is set first (WeasyPrint has no page floats).
DEFER_GAP_PT = 28
# At most this many figures are moved in one part (each makes a few pages again).
DEFER_LIMIT = 24


class Deferral:
    """While active (`with Deferral() as deferral:`), every document laid out in this process
    gets its figures deferred; `passes` counts the pages made again, `moved` the moves."""

    limit = DEFER_LIMIT

    def __init__(self):
        self.passes = 0
        self.moved: list[tuple[str, int]] = []
        self._watching = engine.watching(self)

    def __enter__(self) -> Deferral:
        self._watching.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._watching.__exit__(*exc)

    def page_made(self, pages: list, index: int) -> bool:
        # A page that ends on a hyphen is made again at once (engine.avoid_hyphen_at_page_end
        # reads the page before the boundary it is given).
        return engine.avoid_hyphen_at_page_end(pages, index + 1)

    def boundary(self, root_box, pages: list, index: int) -> bool:
        return defer_figures(root_box, pages, index, self.moved) or engine.balance_spread(pages, index)


def defer_figures(root_box, pages: list, boundary: int, moved: list | None = None) -> bool:
    """When the page `boundary` opens with a figure that left a gap at the foot of the page
    before, moves the figure (with the figures right after it), in the box tree `root_box`,
    after the blocks that fill the gap, as far as `pages` show them; True when it moved.
    Each move goes into `moved` as (figure id, blocks moved ahead of it): the EPUB follows."""
    stops = HEADING_TAGS | {"figure", "section", "header"}
    items = [i for i in engine.flow_items(pages[boundary - 1:]) if not i.footnote]
    last = next((i for i in reversed(items) if i.page == 0), None)
    first = next((i for i in items if i.page == 1), None)
    if last is None or first is None:
        return False
    figure = next((e for e in first.elements if e.tag == "figure"), None)
    if figure is None or figure is first.elements[0]:
        return False
    _, _, _, bottom = engine.content_area(pages[boundary - 1])
    gap = bottom - last.box.position_y - last.box.height
    if gap * engine.PX_TO_PT < DEFER_GAP_PT:
        return False
    parent = engine.figure_parent(root_box, figure)
    if parent is None:
        return False
    children = engine.children(parent)
    group = engine.figure_group(children, figure)
    filled = 0
    target = group[-1]
    for box in children[children.index(group[-1]) + 1:]:
        if engine.element_tag(box) in stops or filled >= gap:
            break
        heights = [i.box.height for i in items if engine.element_of(box) in i.elements]
        if not heights:
            break  # not made yet: it cannot be measured
        filled += sum(heights)
        target = box
    if target is group[-1]:
        return False
    rest = [b for b in children if b not in group]
    at = rest.index(target) + 1
    if moved is not None:
        moved.append((figure.get("id") or "", at - children.index(group[0])))
    engine.set_children(parent, rest[:at] + group + rest[at:])
    return True
