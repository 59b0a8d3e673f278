"""The mini-book's EPUB read back with EbookLib, as a reading system reads it: metadata, spine, contents, page-list, manifest.

Our EPUB is written with zipfile from our own XHTML (EbookLib would rewrite <head> and <body>,
see ARCHITECTURE.md); EbookLib is the independent reader here, which parses the package
document and the nav on its own.
"""
from __future__ import annotations

import json
import re
import warnings
import zipfile
from pathlib import Path

import ebooklib
import pytest
import yaml
from ebooklib import epub
from lxml import etree


@pytest.fixture(scope="module")
def config(mini_pdf) -> dict:
    return yaml.safe_load((mini_pdf.book / "book.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def read(mini_epub):
    """The EPUB as EbookLib reads it (EPUB 3 nav, no NCX), failing on any warning it gives."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return epub.read_epub(str(mini_epub), {"ignore_ncx": True})


def values(book, namespace: str, name: str) -> list[str]:
    return [value for value, _ in book.get_metadata(namespace, name)]


def test_metadata_is_the_books(read, config):
    assert values(read, "DC", "title")[0] == config["title"]
    assert values(read, "DC", "language") == [config["language"]]
    assert values(read, "DC", "creator") == [a["name"] for a in config["authors"]]
    assert values(read, "DC", "contributor") == [t["name"] for t in config["translators"]]
    assert values(read, "DC", "publisher") == [config["publisher"]["name"]]
    identifier = read.get_metadata("DC", "identifier")
    assert [attrs.get("id") for _, attrs in identifier] == ["pub-id"] and read.uid == identifier[0][0]
    page_source = config["editions"]["ebook"]["page_source"]
    assert values(read, "DC", "source") == [f"urn:isbn:{config['editions'][page_source]['isbn']}"]


def test_spine_follows_the_contents_of_book_yaml(read, config):
    units = [f"x-{Path(entry['file']).stem}" for entry in config["contents"]]
    assert [idref for idref, linear in read.spine] == ["x-cover", "x-titlepage", "x-copyright", "x-nav", *units]
    assert all(linear == "yes" for _, linear in read.spine)
    for idref, _ in read.spine:
        assert read.get_item_with_id(idref).media_type == "application/xhtml+xml", idref


def test_table_of_contents_names_every_unit_in_reading_order(read, mini_pdf, config):
    assert not any(isinstance(entry, tuple) for entry in read.toc)  # one level, as the book has
    hrefs = [link.href for link in read.toc]
    spine = [read.get_item_with_id(idref).file_name for idref, _ in read.spine]
    assert hrefs == [name for name in spine if name not in ("text/cover.xhtml", "text/nav.xhtml")]
    titles = {link.href: link.title for link in read.toc}
    for entry in config["contents"]:
        if entry["file"].startswith("text/"):
            heading = re.search(r"^# (.+?)(\s*\{.*\})?$", (mini_pdf.book / entry["file"]).read_text(encoding="utf-8"),
                                re.M).group(1)
            number = f"{entry['number']}. " if entry.get("number") else ""
            assert titles[f"text/{Path(entry['file']).stem}.xhtml"] == number + heading


def test_page_list_is_the_print_editions_and_every_target_exists(read, mini_pdf):
    """EbookLib's page list (from the nav's page-list) has every page of the print layout, in
    order, and each points at an element that is in its document."""
    page_map = json.loads((mini_pdf.cache / "pagemap.json").read_text(encoding="utf-8"))
    assert [page.title for page in read.pages] == [p["label"] for p in page_map["pages"]]
    ids = {item.file_name: set(etree.fromstring(item.get_content()).xpath("//@id"))
           for item in read.get_items_of_type(ebooklib.ITEM_DOCUMENT)}
    for page in read.pages:
        document, _, anchor = page.href.partition("#")
        assert anchor in ids[document], page.href


def test_every_manifest_item_is_in_the_zip_and_every_file_is_in_the_manifest(read, mini_epub):
    with zipfile.ZipFile(mini_epub) as zf:
        names = set(zf.namelist())
        for item in read.get_items():
            path = f"EPUB/{item.file_name}"
            assert path in names, path
            assert item.get_content() and zf.read(path), path
    listed = {f"EPUB/{item.file_name}" for item in read.get_items()}
    assert names - listed == {"mimetype", "META-INF/container.xml", "EPUB/package.opf"}
    navs = [item for item in read.get_items() if isinstance(item, epub.EpubNav)]
    assert [nav.file_name for nav in navs] == ["text/nav.xhtml"]
    covers = [item for item in read.get_items() if isinstance(item, epub.EpubCover)]
    assert [c.media_type for c in covers] == ["image/png"]
