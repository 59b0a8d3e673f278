"""The page map of a print edition (every page's label and first words, every anchor's page) and the key of what it was laid out from."""
from __future__ import annotations

import json
from pathlib import Path

from ..fsutil import tree_digest, write_atomic
from ..model import Book, Edition
from ..outputcache import Inputs


def write_page_map(book: Book, edition: Edition, pages, cache: Path) -> None:
    """anchor id → page label and index, every page's label and first words, the figures
    print set after text that followed them, and the printed index: for the EPUB."""
    by_page: dict[int, list[str]] = {}
    for anchor, index in pages.anchors.items():
        by_page.setdefault(index, []).append(anchor)
    after = None
    page_list = []
    for index, label in enumerate(pages.labels):
        page_list.append({"label": label, "index": index, "after": after, "text": pages.first_words[index]})
        if by_page.get(index):
            after = by_page[index][-1]
    data = {
        "key": layout_key(book),
        "edition": edition.name,
        "pages": page_list,
        "anchors": {a: pages.labels[i] for a, i in pages.anchors.items()},
        "anchor_pages": dict(pages.anchors),
        "figures_moved": dict(pages.moved),
        # The index as printed, entry by entry: the EPUB's carries the same locators.
        "index": [{"letter": letter, "entries": [{"id": e.id, "locators": e.locators, "see_sep": e.see_sep}
                                                 for e in entries]}
                  for letter, entries in pages.index],
    }
    text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    write_atomic(cache / f"pagemap-{edition.name}.json", text)
    if any(e.page_source == edition.name for e in book.config.editions.values()):
        write_atomic(cache / "pagemap.json", text)


# What, besides a book's sources, the print layout runs on: the installed distributions
# that set its type (WeasyPrint and what it shapes, hyphenates and writes with), and pikepdf.
LAYOUT_PACKAGES = ("weasyprint", "pydyf", "pyphen", "tinycss2", "cssselect2", "tinyhtml5", "fonttools",
                   "pillow", "pikepdf")


def layout_inputs(*labels: object) -> Inputs:
    """Every input of the print layout but the book: the source of every module the print
    package imports (found from its imports: a new module counts without being listed), its
    styles and templates, the versions of LAYOUT_PACKAGES, and the font files of the faces."""
    from ..fonts import FOLDER as BOLD_FACES
    from .checks import FONT_DIR
    from .engine import PACKAGE_ROOT, PARAGRAPHS_CSS, STYLES

    inputs = Inputs(*labels).modules("bookbuild.print").packages(*LAYOUT_PACKAGES)
    for path in (*STYLES, PARAGRAPHS_CSS):
        inputs.file(path, path.relative_to(PACKAGE_ROOT).as_posix())
    inputs.text("templates").tree(PACKAGE_ROOT / "templates" / "print")
    return inputs.text("fonts").tree(FONT_DIR).tree(BOLD_FACES)


def layout_key(book: Book) -> str:
    """Changes whenever anything that can move a print page changes: the book's sources
    as read and its art, and every other input of the layout (`layout_inputs`)."""
    return layout_key_of(book.root, book.sources_key or None)


def layout_key_of(root: Path, sources_key: str | None = None) -> str:
    """`layout_key` of the book folder `root`; its sources as given by `sources_key` (taken
    when reading began), else as they are now."""
    inputs = layout_inputs("page map").text(sources_key or tree_digest(root, skip=("received",)))
    return inputs.stats(root / "images").hexdigest()


def page_map_current(root: Path, cache: Path) -> bool:
    """Whether the ebook's page map (cache/pagemap.json) was made from these sources and code."""
    try:
        return json.loads((cache / "pagemap.json").read_text(encoding="utf-8")).get("key") == \
            layout_key_of(root)
    except (OSError, ValueError):
        return False
