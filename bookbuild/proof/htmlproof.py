"""The HTML proof: every unit on one page, each block with its source file:line, notes beside their references, lint findings in place."""
from __future__ import annotations

import base64
import importlib
import mimetypes
import re
from dataclasses import dataclass, replace
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from lxml import etree
from lxml import html as lxml_html
from markupsafe import Markup

from ..model import Book, Edition
from ..print.layout import book_parts, environment, render_part
from ..print.engine import PACKAGE_ROOT
from .sources import Locator, SourceRef, classes, parse_document

TEMPLATES = PACKAGE_ROOT / "templates" / "proof"
STYLESHEET = PACKAGE_ROOT / "styles" / "proof.css"
# Parts with no source text of their own: the title pages and the contents come from book.yaml
# and the page map, the index from page numbers an HTML page does not have.
SKIPPED_PARTS = {"front", "contents", "index"}
# Inside a sidenote (a span within a paragraph) block elements of a note become spans.
PHRASING_OF = {"p": "span", "div": "span", "blockquote": "span", "ul": "span", "ol": "span",
               "li": "span", "dl": "span", "dt": "span", "dd": "span"}


# Characters XML cannot hold (lint masks markup with NUL): never let one into the page.
XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass
class LintFinding:
    file: str           # relative to the book folder
    line: int
    severity: str
    code: str
    message: str


def lint_findings(book: Book) -> tuple[list[LintFinding] | None, str]:
    """The findings of `bookbuild.lint.lint_book`, or None and why when lint is not available."""
    try:
        lint = importlib.import_module("bookbuild.lint")
    except ImportError:
        return None, "lint was not run: bookbuild.lint is not installed in this checkout"
    check = getattr(lint, "lint_book", None)
    if check is None:
        return None, "lint was not run: bookbuild.lint has no lint_book()"
    try:
        result = check(book.root)
    except Exception as exc:  # another stage's bug must not cost the editor the proof
        return None, f"lint was not run: it failed with {type(exc).__name__}: {exc}"
    prefix = f"{book.root.name}/"
    findings = []
    for finding in getattr(result, "findings", []):
        problem = finding.problem()
        findings.append(LintFinding(problem.path.removeprefix(prefix), problem.line, problem.severity,
                                    problem.code, XML_UNSAFE.sub("", problem.message)))
    return findings, f"{len(findings)} lint finding{'s' if len(findings) != 1 else ''}"


def _element(tag: str, cls: str, text: str = "", **attrs) -> etree._Element:
    el = etree.Element(tag, {"class": cls, **attrs})
    el.text = text
    return el


def _prepend(block: etree._Element, child: etree._Element) -> None:
    """`child` first inside `block` (inside its first cell for a table row)."""
    if block.tag == "tr":
        cells = [c for c in block if c.tag in ("td", "th")]
        block = cells[0] if cells else block
    child.tail = block.text
    block.text = None
    block.insert(0, child)


def _sidenote(note, ref: SourceRef | None) -> etree._Element:
    """A note as a span that CSS floats into the right margin beside its reference."""
    body = lxml_html.fragment_fromstring(note.html or "", create_parent="span")
    for el in body.iter():
        if isinstance(el.tag, str) and el.tag in PHRASING_OF:
            el.set("class", " ".join([f"sn-{el.tag}", *classes(el)]))
            el.tag = PHRASING_OF[el.tag]
    body.tag = "span"
    body.set("class", "sidenote")
    body.set("id", note.id)
    body.set("role", "note")
    number = _element("span", "sn-number", f"{note.number}.")
    number.tail = " " + (body.text or "")
    body.text = None
    body.insert(0, number)
    if ref is not None:
        body.insert(0, _element("span", "src", str(ref)))
    return body


def _embed_images(section: etree._Element, repository: Path) -> None:
    """Images as data: URIs, so that the page stands alone."""
    for img in section.iter("img"):
        path = (repository / (img.get("src") or "")).resolve()
        if path.is_file() and path.is_relative_to(repository):
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            img.set("src", f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode()}")


# What a contributor's raw HTML may carry into the editor's browser: no element that runs or
# loads anything, no event handler, no script URL, no style that fetches.
UNSAFE_ELEMENTS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "link", "meta",
                   "base", "form", "style"}
SCRIPT_URL = ("javascript:", "vbscript:", "data:text/html")
# A link may lead out (the reader follows it on purpose); nothing may be loaded from outside.
REMOTE_URL = ("http:", "https:", "//", "file:", "ftp:")


def sanitize(section: etree._Element) -> int:
    """Takes out what could run or load in the proof; returns how many things it took out."""
    removed = 0
    for el in [e for e in section.iter() if isinstance(e.tag, str) and e.tag.lower() in UNSAFE_ELEMENTS]:
        if el.getparent() is not None:
            el.drop_tree()
            removed += 1
    for el in section.iter():
        if not isinstance(el.tag, str):
            continue
        for name, value in list(el.attrib.items()):
            value_l = value.strip().lower()
            if name.lower().startswith("on") \
                    or (name in ("href", "xlink:href", "action", "formaction") and value_l.startswith(SCRIPT_URL)) \
                    or (name in ("src", "srcset", "poster", "data") and value_l.startswith(SCRIPT_URL + REMOTE_URL)) \
                    or (name == "style" and ("url(" in value_l or "expression(" in value_l)):
                del el.attrib[name]
                removed += 1
    return removed


def _part_section(book: Book, edition: Edition, part, env, locator: Locator,
                  findings: dict[str, list[LintFinding]], placed: set[int]) -> str:
    tree = parse_document(render_part(env, book, edition, part))
    section = tree.body[0]
    located = locator.locate(part.key, part.unit, tree)
    notes = {n.id: n for n in part.unit.notes} if part.unit is not None else {}
    endnotes = next((s for s in section.iter("section") if "endnotes" in classes(s)), None)
    blocks: list[tuple[etree._Element, SourceRef]] = []
    note_refs: dict[str, SourceRef] = {}
    for el, ref in located:
        li = next((a for a in el.iterancestors("li") if a.get("id") in notes), None)
        if endnotes is not None and li is not None:
            old = note_refs.get(li.get("id"))
            note_refs[li.get("id")] = ref if old is None else SourceRef(ref.file, old.line, max(old.end, ref.end))
        else:
            blocks.append((el, ref))
    if endnotes is not None:
        endnotes.getparent().remove(endnotes)
    for a in list(section.iter("a")):
        if "footnote-ref" not in classes(a):
            continue
        note = next((n for n in notes.values() if a.get("id") in n.ref_ids), None)
        if note is None or a.get("id") != note.ref_ids[0]:
            continue
        sidenote = _sidenote(note, note_refs.get(note.id))
        sidenote.tail, a.tail = a.tail, None
        a.addnext(sidenote)
        if note.id in note_refs:
            blocks.append((sidenote, note_refs[note.id]))
    for el, ref in blocks:
        el.set("data-src", str(ref))
        if "sidenote" not in classes(el):
            _prepend(el, _element("span", "src", str(ref)))
    for finding in findings.get(blocks[0][1].file if blocks else "", []):
        target = next((el for el, ref in blocks if ref.line <= finding.line <= ref.end), None)
        if target is None:
            continue
        placed.add(id(finding))
        flag = _element("span", f"lint {finding.severity}", f"{finding.code} ", title=f"line {finding.line}")
        flag.append(_element("span", "lint-message", finding.message))
        if "sidenote" in classes(target):
            target.append(flag)
        else:
            # After the marker and the flags already there, in the order lint reported them.
            last = target.xpath(".//span[@class='src']/following-sibling::*[1]"
                                "[contains(concat(' ', @class, ' '), ' lint ')]")
            after = target.find(".//span[@class='src']")
            while last:
                after = last[0]
                last = after.xpath("following-sibling::*[1][contains(concat(' ', @class, ' '), ' lint ')]")
            after.addnext(flag)
            flag.tail, after.tail = after.tail, None
    sanitize(section)
    _embed_images(section, book.root)
    return lxml_html.tostring(section, encoding="unicode", method="html")


def html_proof(book: Book, edition: Edition, slug) -> tuple[str, str]:
    """The page, and a line saying what lint contributed."""
    env = environment()
    locator = Locator(book)
    findings, lint_note = lint_findings(book)
    by_file: dict[str, list[LintFinding]] = {}
    for finding in findings or []:
        by_file.setdefault(finding.file, []).append(finding)
    placed: set[int] = set()
    endnote_edition = replace(edition, notes="endnotes")
    parts = [p for p in book_parts(book) if p.key not in SKIPPED_PARTS]
    sections = [Markup(_part_section(book, endnote_edition, p, env, locator, by_file, placed)) for p in parts]
    unplaced = [f for f in findings or [] if id(f) not in placed]
    if findings is not None:
        lint_note += f", {len(findings) - len(unplaced)} shown in place"
    page_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                           trim_blocks=True, lstrip_blocks=True)
    contents = [{"id": p.unit.id if p.unit else p.key,
                 "title": (f"{p.unit.number}. " if p.unit and p.unit.role == "chapter" and p.unit.number else "")
                 + p.title} for p in parts]
    page = page_env.get_template("proof.html.j2").render(
        book=book, slug=slug, css=Markup(STYLESHEET.read_text(encoding="utf-8")), sections=sections,
        contents=contents, lint_ran=findings is not None, lint_note=lint_note, unplaced=unplaced,
        missed=locator.missed)
    return page, lint_note
