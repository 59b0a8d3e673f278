"""The read stage: book.yaml and every source into one validated `Book`."""
from __future__ import annotations

import functools
import hashlib
import html
import json
import os
import re
import subprocess
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import pypandoc
from lxml import etree
from lxml import html as lxml_html

from . import cachefile
from .config import Loader, display_path, load_config, load_data
from .errors import BuildError, Problems
from .fsutil import NotUTF8, read_utf8, tree_digest
from .mdsyntax import NoteMark, note_marks, undefined_references
from .mentions import Mentions, find_mentions
from .model import (ALIAS_PLACES, DATA_ROLES, Book, CongressDate, CongressGroup, Figure, Headword,
                    IndexHeading, Note, Person, Term, Unit)
from .outputcache import Inputs
from .settings import derived, setting

# `-auto_identifiers`: Pandoc's automatic heading ids would collide between units
# (every chapter may have a "Conclusions" section); sections get unit-scoped ids below.
PANDOC_ARGS = ("--from=markdown-auto_identifiers", "--to=html5", "--section-divs", "--wrap=none")
# Catalog data (CIP, subjects) writes `--` and straight quotes on purpose.
LITERAL_ARGS = ("--from=markdown-auto_identifiers-smart", "--to=html5", "--wrap=none")

TITLE_LINE = re.compile(r"^#(?!#)\s+(?P<title>.*?)\s*(?:\{(?P<attrs>[^}]*)\})?\s*$")
ID_ATTR = re.compile(r"#([^\s}]+)")
IMAGE = re.compile(r"!\[(?:[^\[\]\\]|\\.|\[[^\]]*\])*\]\((?P<src><[^>]*>|[^)\s]+)")
# A raw HTML <img>'s src, quoted or not.
RAW_IMAGE = re.compile(r"<img\b[^>]*?\ssrc\s*=\s*(?:\"(?P<dq>[^\"]*)\"|'(?P<sq>[^']*)'|(?P<bare>[^\s>]+))", re.I)
LINK_TARGET = re.compile(r"\]\(#(?P<id>[^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~)")
# Element levels inside a unit; the real book goes 8 deep (a note in a list in a quotation).
MAX_NESTING = 40
PANDOC_POSITION = re.compile(r"line (\d+) column (\d+)")
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"RIFF", b"<svg",
               b"<?xml", b"II*\x00", b"MM\x00*")


def read_book(root: Path, cache_dir: Path | None = None, early: Callable[[Book], None] | None = None) -> Book:
    """Load and validate everything under `root` (the folder with book.yaml).

    Raises BuildError with every problem when there is any error; warnings travel
    in `Book.warnings`. Pandoc's output is cached in `<cache_dir>/read/` (default
    cache_dir: `build/cache` beside the book folder), keyed by the source, the Pandoc
    options, Pandoc's version and the read stage's code (`code_key`). `early(book)` is called
    once the data files (glossary, biographies, index, the book's own strings) are read
    without error, before the units are converted: the book then has no units.
    """
    root = Path(root).resolve()
    cache = Path(cache_dir) if cache_dir else root.parent / "build" / "cache"
    sources_key = tree_digest(root, skip=("received",))
    problems = Problems()
    config = load_config(root / "book.yaml", problems)
    if config is None:
        raise BuildError(problems.items)
    sources = _read_sources(root, config, problems)
    book = Book(root=root, config=config, units=[], cache=cache / "read", sources_key=sources_key)
    # The data files are read, and their Markdown converted, while Pandoc converts the
    # units: both spend most of their time waiting for Pandoc. Problems end up sorted,
    # and each file's come from one thread, so their order does not depend on timing.
    with ThreadPoolExecutor(max_workers=1) as pool:
        index = pool.submit(_read_index, root, book, problems)
        data = pool.submit(_read_data, root, book, cache / "read", problems)
        index.result()
        _mark_surnames(sources, book.index, cache / "read", problems)
        if early is not None:
            data.result()
            if not problems.errors:
                early(book)
        converted = _convert_all([s.markdown for s in sources], cache / "read")
        book.units = [_build_unit(s, out, root, problems) for s, out in zip(sources, converted)]
        book.converted = {unit.id for unit, out in zip(book.units, converted) if out.fresh}
        data.result()
    _check_ids_and_links(book, sources, problems)
    if problems.errors:
        raise BuildError(sorted(problems.items, key=_reading_order(root, config)))
    book.warnings = sorted(problems.items, key=_reading_order(root, config))
    return book


def _reading_order(root: Path, config):
    files = {display_path(root / "book.yaml"): -1}
    files.update({display_path(root / e.file): i for i, e in enumerate(config.contents)})
    return lambda p: (files.get(p.path, len(files)), p.path, p.line, p.col, p.code)


# --- sources ------------------------------------------------------------------------------

@dataclass
class Source:
    """One Markdown unit as read from disk, with what the validation needs."""

    entry: object
    path: Path
    label: str
    text: str
    markdown: str = ""
    title_line: int = 0
    explicit_id: str = ""
    note_lines: dict[str, int] = field(default_factory=dict)
    repeated_refs: dict[str, list[int]] = field(default_factory=dict)
    printed_order: list[str] = field(default_factory=list)
    repeated_refs_at: list[NoteMark] = field(default_factory=list)


def _read_sources(root: Path, config, problems: Problems) -> list[Source]:
    sources = []
    for entry in config.contents:
        if entry.role in DATA_ROLES:
            continue
        path = root / entry.file
        label = display_path(path)
        try:
            text = read_utf8(path)
        except FileNotFoundError:
            problems.error(display_path(root / "book.yaml"), entry.line, 1, "R001",
                           f"{entry.file} is listed in contents but does not exist")
            continue
        except NotUTF8 as exc:
            problems.error(label, exc.line, exc.col, "R001", str(exc))
            continue
        except OSError as exc:
            problems.error(label, 0, 0, "R001", f"cannot read: {exc}")
            continue
        if text.startswith("\ufeff"):
            problems.error(label, 1, 1, "R013", "the file starts with a byte-order mark (U+FEFF); "
                                                "save it as UTF-8 without BOM")
            text = text[1:]
        source = Source(entry, path, label, text)
        _check_title(source, problems)
        source.repeated_refs_at = _check_notes(source, problems)
        sources.append(source)
    return sources


def _lines_outside_code(text: str):
    """(line number, line) for every line not inside a fenced code block."""
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def _check_title(source: Source, problems: Problems) -> None:
    for number, line in _lines_outside_code(source.text):
        if not line.strip():
            continue
        m = TITLE_LINE.match(line)
        if not m:
            problems.error(source.label, number, 1, "R003",
                           "the file must start with its title, `# Title {#id}`")
            return
        source.title_line = number
        ids = ID_ATTR.findall(m.group("attrs") or "")
        source.explicit_id = ids[0] if ids else ""
        break
    else:
        problems.error(source.label, 1, 1, "R003", "the file is empty; it needs `# Title {#id}`")
        return
    depth = 0
    for number, line in _lines_outside_code(source.text):
        if number <= source.title_line:
            continue
        stripped = line.strip()
        if stripped.startswith(":::"):
            depth += 1 if re.match(r"^:::+\s*\S", stripped) else -1
        elif depth == 0 and TITLE_LINE.match(line):
            problems.error(source.label, number, 1, "R003",
                           "a second `# ` heading: a unit has one title; use `##` for its sections")


def _check_notes(source: Source, problems: Problems) -> list[NoteMark]:
    """Check note references against definitions; return the references to a note
    referenced before.

    A note referenced twice is printed once, with the same number at both places;
    Pandoc would make two notes of it, so the later references become marked spans
    (`_mark_surnames`) that `_link_repeated_refs` turns into links to the one note.
    """
    marks = note_marks(source.text)
    defs: dict[str, NoteMark] = {}
    for d in marks.defs:
        if d.label in defs:
            problems.error(source.label, d.line, 1, "N001",
                           f"note [^{d.label}] is defined twice (first on line {defs[d.label].line})")
        else:
            defs[d.label] = d
    undefined = set(undefined_references(marks.refs, defs))
    seen: dict[str, NoteMark] = {}
    again: list[NoteMark] = []
    for r in marks.refs:
        if r in undefined:
            problems.error(source.label, r.line, r.col, "N003", f"note [^{r.label}] is referenced but never defined")
        elif r.label in seen:
            problems.warning(source.label, r.line, r.col, "N004",
                             f"note [^{r.label}] is referenced again (first on line {seen[r.label].line}); "
                             "both places print the same number")
            source.repeated_refs.setdefault(r.label, []).append(r.line)
            again.append(r)
        else:
            seen[r.label] = r
            source.printed_order.append(r.label)
    for label, d in defs.items():
        if label not in seen:
            problems.error(source.label, d.line, d.col, "N002",
                           f"note [^{label}] is defined but never referenced")
    source.note_lines = {label: d.line for label, d in defs.items()}
    numeric = [label for label in source.printed_order if label.isdigit()]
    if numeric == source.printed_order and numeric != [str(i) for i in range(1, len(numeric) + 1)]:
        at = next(i for i, label in enumerate(numeric, start=1) if label != str(i))
        first = seen[numeric[at - 1]]
        problems.warning(source.label, first.line, first.col, "N005",
                         f"note [^{numeric[at - 1]}] is note {at} in reading order; "
                         f"it prints as {at}")
    return again


def _mark_surnames(sources: list[Source], index: list[IndexHeading], cache: Path, problems: Problems) -> None:
    """Each unit's Markdown for Pandoc: a surname alone that several index headings bear is
    marked `[Smirnov]{.ix ref=…}` for the one its context settles (`mentions.find_mentions`),
    as an editor would mark it, and reported (N006) where nothing settles it; a note
    referenced again becomes a marked span (`_check_notes`)."""
    heading_of = {h.id: h.heading for h in index}
    index_key = hashlib.sha256(f"{code_key()}\0{[(h.id, h.heading, h.forms) for h in index]!r}".encode()).hexdigest()
    for source in sources:
        text = source.text
        found = _surnames(text, index, cache, index_key) if index else Mentions([], [], [])
        for s, e, ids in found.ambiguous:
            line = text.count("\n", 0, s) + 1
            who = "; ".join(f"{heading_of[i]} ({i})" for i in ids)
            problems.warning(source.label, line, s - text.rfind("\n", 0, s), "N006",
                             f"“{text[s:e]}” alone may be any of: {who}; nothing around it says which "
                             f"(mark it [{text[s:e]}]{{.ix ref=…}}, or {{.noix}})")
        edits = [(s, e, f"[{text[s:e]}]{{.ix ref={ref}}}") for s, e, ref in found.settled]
        edits += [(r.start, r.end, f"[{r.label}]{{.noteref-again label=\"{r.label}\"}}")
                  for r in source.repeated_refs_at]
        for s, e, new in sorted(edits, reverse=True):
            text = text[:s] + new + text[e:]
        source.markdown = text


# --- Pandoc -------------------------------------------------------------------------------

_VERSION: list[str] = []


def pandoc_version() -> str:
    if not _VERSION:
        _VERSION.append(pypandoc.get_pandoc_version())
    return _VERSION[0]


@functools.lru_cache(maxsize=1)
def code_key() -> str:
    """The read stage's code as a key: the source of every bookbuild module this one imports,
    found from the imports (`outputcache.Inputs.modules`, as the print layout's key), so that
    no edit to how a text is converted can leave a stale conversion in the cache."""
    return Inputs("read").modules(__name__).hexdigest()


def _cache_key(markdown: str, args: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    for part in (code_key(), pandoc_version(), *args, markdown):
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:32]


@dataclass
class Converted:
    html: str
    warnings: list[str]
    error: str = ""
    fresh: bool = False  # converted by this run, not found in the cache


# Texts go through `pandoc lua` running this script, many to a process, rather than
# one `pandoc` process each: every start of the 160 MB binary, with the 64 MB heap it
# reserves, cost ~50 ms, more than converting a chapter. The HTML is the command
# line's, byte for byte (the command line reads with 72 columns, which sets the widths
# of pipe-table columns; Lua's default is 80); each text's warnings are the log entries
# its conversion added.
BATCH_LUA = r"""
local request = pandoc.json.decode(io.read("a"), false)
local results = {}
for i, text in ipairs(request.texts) do
  local logged = #PANDOC_STATE.log
  local ok, out = pcall(function()
    local doc = pandoc.read(text, request.from, request.reader_options)
    return pandoc.write(doc, request.to, request.options)
  end)
  local warnings = {}
  local log = PANDOC_STATE.log
  for k = logged + 1, #log do
    local entry = pandoc.json.decode(pandoc.json.encode(log[k]), false)
    if entry.verbosity == "WARNING" then warnings[#warnings + 1] = entry.pretty end
  end
  if ok then
    results[i] = {html = out .. "\n", warnings = warnings}
  else
    results[i] = {error = tostring(out), warnings = warnings}
  end
end
io.write(pandoc.json.encode(results))
"""


def _lua_request(args: tuple[str, ...]) -> dict:
    """The command-line options in `args` as the Lua script's reader and writer options."""
    request: dict = {"from": "markdown", "to": "html5", "options": {}, "reader_options": {"columns": 72}}
    for arg in args:
        name, _, value = arg.partition("=")
        if name == "--from":
            request["from"] = value
        elif name == "--to":
            request["to"] = value
        elif name == "--section-divs":
            request["options"]["section_divs"] = True
        elif name == "--wrap":
            request["options"]["wrap_text"] = value
        else:
            raise ValueError(f"pandoc option {arg} has no counterpart in BATCH_LUA")
    return request


def _convert_all(texts: list[str], cache: Path, args: tuple[str, ...] = PANDOC_ARGS) -> list[Converted]:
    """Each text through Pandoc (one process per CPU, in parallel), cached by content."""
    results: list[Converted | None] = [None] * len(texts)
    todo = []
    for i, text in enumerate(texts):
        path = cache / f"{_cache_key(text, args)}.json"
        results[i] = _read_cache(path)
        if results[i] is None:
            todo.append((i, text, path))
    if todo:
        groups = _balanced(todo, os.cpu_count() or 2)
        with ThreadPoolExecutor(max_workers=len(groups)) as pool:
            batches = pool.map(lambda group: _pandoc_batch([text for _, text, _ in group], args), groups)
            for group, converted in zip(groups, batches):
                for (i, _, path), result in zip(group, converted):
                    results[i] = replace(result, fresh=True)
                    if not result.error:
                        cachefile.store_json(path, {"html": result.html, "warnings": result.warnings})
    return results


def _balanced(todo: list[tuple[int, str, Path]], workers: int) -> list[list[tuple[int, str, Path]]]:
    """At most `workers` groups of about the same amount of text, longest texts first."""
    groups: list[list[tuple[int, str, Path]]] = [[] for _ in range(min(workers, len(todo)))]
    sizes = [0] * len(groups)
    for item in sorted(todo, key=lambda t: -len(t[1])):
        smallest = sizes.index(min(sizes))
        groups[smallest].append(item)
        sizes[smallest] += len(item[1])
    return groups


def _pandoc_batch(texts: list[str], args: tuple[str, ...]) -> list[Converted]:
    # pypandoc logs Pandoc's warnings through `logging` instead of returning them;
    # each warning belongs to one source file, so Pandoc is called directly.
    request = json.dumps({**_lua_request(args), "texts": texts}, ensure_ascii=False)
    proc = subprocess.run([pypandoc.get_pandoc_path(), "lua", "-e", BATCH_LUA],
                          input=request.encode("utf-8"), capture_output=True)
    if proc.returncode:
        stderr = proc.stderr.decode("utf-8", "replace").strip()
        return [Converted("", [], stderr or f"pandoc exited with {proc.returncode}")] * len(texts)
    return [Converted(r.get("html", ""), list(r.get("warnings") or []), r.get("error", ""))
            for r in json.loads(proc.stdout)]


def _read_cache(path: Path) -> Converted | None:
    data = cachefile.load_json(path, _is_converted)
    return Converted(data["html"], data["warnings"]) if data is not None else None


def _is_converted(data) -> bool:
    return (isinstance(data, dict) and isinstance(data.get("html"), str) and isinstance(data.get("warnings"), list)
            and all(isinstance(w, str) for w in data["warnings"]))


# --- HTML of a unit -----------------------------------------------------------------------

def parse_fragment(text: str) -> etree._Element:
    """An HTML fragment inside a `div` (lxml's HTML parser copes with raw HTML in sources)."""
    return lxml_html.fragment_fromstring(text, create_parent="div")


def to_xhtml(el: etree._Element) -> str:
    """Serialize as well-formed XHTML (no namespace), which both EPUB and print can parse."""
    return etree.tostring(el, encoding="unicode", method="xml", with_tail=False)


def inner_xhtml(el: etree._Element) -> str:
    text = html.escape(el.text or "", quote=False)
    return text + "".join(etree.tostring(c, encoding="unicode", method="xml") for c in el)


def _classes(el: etree._Element) -> list[str]:
    return (el.get("class") or "").split()


def _unit_id(source: Source) -> str:
    if source.explicit_id:
        return source.explicit_id
    return re.sub(r"^\d+[-_]", "", source.path.stem)


def _build_unit(source: Source, converted: Converted, root: Path, problems: Problems) -> Unit:
    entry = source.entry
    uid = _unit_id(source)
    for warning in converted.warnings:
        if "note" in warning.lower():
            continue  # reported with its own code by _check_notes
        m = PANDOC_POSITION.search(warning)
        line, col = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        problems.warning(source.label, line, col, "R010", " ".join(warning.split()))
    if converted.error:
        problems.error(source.label, 0, 0, "R002", f"Pandoc failed: {converted.error}")
        return Unit(uid, entry.file, entry.role, entry.number, uid, uid, "")
    div = parse_fragment(converted.html)
    if _too_deep(div, source, problems):
        return Unit(uid, entry.file, entry.role, entry.number, uid, uid, "")
    section = next((c for c in div if c.tag == "section" and "level1" in _classes(c)), None)
    h1 = section.find("h1") if section is not None else None
    if h1 is None:
        if source.title_line:
            problems.error(source.label, source.title_line, 1, "R003", "no title found")
        return Unit(uid, entry.file, entry.role, entry.number, uid, uid, "")
    section.set("id", uid)
    _scope_section_ids(section, uid)
    notes = _collect_notes(div, source, uid)
    _link_repeated_refs(div, notes, source.printed_order)
    figures = _collect_figures(div, source, root, problems)
    lang = section.get("lang") or "en"
    title = " ".join(h1.text_content().split())
    full = "".join(to_xhtml(c) + "\n" for c in div)
    return Unit(uid, entry.file, entry.role, entry.number, title, inner_xhtml(h1).strip(), full,
                notes, figures, lang)


def _too_deep(div: etree._Element, source: Source, problems: Problems) -> bool:
    """An R012 for lists or quotations nested deeper than MAX_NESTING, at the first line
    that deep: WeasyPrint, the proof and the EPUB checks recurse once or more per level."""
    stack = [(div, 0)]
    while stack:
        element, depth = stack.pop()
        if depth > MAX_NESTING:
            own = next((e.text for e in element.iter() if isinstance(e.tag, str) and (e.text or "").strip()), "")
            words = " ".join(own.split()[:4])
            line = next((n for n, text in enumerate(source.text.splitlines(), 1) if words and words in text), 0)
            problems.error(source.label, line, 1 if line else 0, "R012",
                           f"lists or quotations nested more than {MAX_NESTING} deep (at \"{words}\")")
            return True
        stack.extend((child, depth + 1) for child in reversed(element) if isinstance(child.tag, str))
    return False


def _scope_section_ids(section: etree._Element, uid: str) -> None:
    for n, sub in enumerate(section.iter("section"), start=0):
        if sub is not section and not sub.get("id"):
            sub.set("id", f"{uid}-s{n}")


def _collect_notes(div: etree._Element, source: Source, uid: str) -> list[Note]:
    """Give Pandoc's note ids the unit's prefix; return the notes in printed order."""
    rename: dict[str, str] = {}
    for el in div.iter():
        old = el.get("id")
        if old and (re.fullmatch(r"fn(ref)?\d+", old) or old == "footnotes"):
            rename[old] = f"{uid}-{old}"
            el.set("id", rename[old])
    for a in div.iter("a"):
        href = a.get("href") or ""
        if href.startswith("#") and href[1:] in rename:
            a.set("href", "#" + rename[href[1:]])
    notes = []
    items = [li for sec in div.iter("section") if "footnotes" in _classes(sec) for li in sec.iter("li")]
    for number, li in enumerate(items, start=1):
        label = source.printed_order[number - 1] if number <= len(source.printed_order) else ""
        body = etree.fromstring(to_xhtml(li))
        for back in body.iter("a"):
            if "footnote-back" in _classes(back):
                _drop_keeping_tail(back)
        notes.append(Note(number, li.get("id"), [f"{uid}-fnref{number}"],
                          inner_xhtml(body).strip(), source.note_lines.get(label, 0)))
    return notes


def _link_repeated_refs(div: etree._Element, notes: list[Note], labels: list[str]) -> None:
    by_label = dict(zip(labels, notes))
    for span in list(div.iter("span")):
        if "noteref-again" not in _classes(span):
            continue
        note = by_label.get(span.get("data-label") or "")
        if note is None:
            continue
        ref_id = f"{note.ref_ids[0]}-{len(note.ref_ids) + 1}"
        note.ref_ids.append(ref_id)
        a = etree.Element("a", {"href": f"#{note.id}", "class": "footnote-ref", "id": ref_id,
                                "role": "doc-noteref"})
        sup = etree.SubElement(a, "sup")
        sup.text = str(note.number)
        a.tail = span.tail
        span.getparent().replace(span, a)


def _drop_keeping_tail(el: etree._Element) -> None:
    parent = el.getparent()
    prev = el.getprevious()
    if el.tail:
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _image_lines(source: Source) -> dict[str, tuple[int, int]]:
    """Where each image starts (line, column), a Markdown `![` or a raw `<img`; a caption
    may run over several lines."""
    places: dict[str, tuple[int, int]] = {}
    found = [(m.start(), m.group("src").strip("<>")) for m in IMAGE.finditer(source.text)]
    for m in RAW_IMAGE.finditer(source.text):
        group = next(g for g in ("dq", "sq", "bare") if m.group(g) is not None)
        found.append((m.start(), html.unescape(m.group(group))))
    for at, src in sorted(found):
        line_start = source.text.rfind("\n", 0, at) + 1
        places.setdefault(src, (source.text.count("\n", 0, at) + 1, at - line_start + 1))
    return places


def _collect_figures(div: etree._Element, source: Source, root: Path,
                     problems: Problems) -> list[Figure]:
    # Art lives in the book folder (images/ beside text/), so that a title is one folder.
    repository = root
    places = _image_lines(source)
    figures = []
    for img in list(div.iter("img")):
        src = img.get("src") or ""
        line, column = places.get(src, (0, 1))
        figure_el = img.getparent() if img.getparent().tag == "figure" else None
        path, present = _check_image(src, repository, source.label, (line, column), problems)
        if not present and figure_el is not None:
            figure_el.set("class", " ".join([*_classes(figure_el), "absent"]))
        if figure_el is None:
            continue
        caption = figure_el.find("figcaption")
        figures.append(Figure(figure_el.get("id") or "", src, path, present,
                              inner_xhtml(caption).strip() if caption is not None else "", line))
    return figures


def _check_image(src: str, repository: Path, label: str, place: tuple[int, int],
                 problems: Problems) -> tuple[Path | None, bool]:
    line, column = place
    if re.match(r"^[a-z][a-z0-9+.-]*:", src, re.I) or src.startswith("/"):
        problems.error(label, line, column, "F003",
                       f"image {src}: only paths inside the book folder (images/…) can be printed")
        return None, False
    path = (repository / src).resolve()
    if not path.is_relative_to(repository):
        problems.error(label, line, column, "F003", f"image {src} points outside the book folder")
        return None, False
    if not path.exists():
        problems.warning(label, line, column, "F001", f"art for {src} is absent (each edition's missing_art says how it is set)")
        return path, False
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        problems.error(label, line, column, "F002", f"image {src} cannot be read: {exc}")
        return path, False
    if path.is_dir() or not any(head.startswith(m) for m in IMAGE_MAGIC) or \
            (head.startswith(b"RIFF") and head[8:12] != b"WEBP"):
        problems.error(label, line, column, "F002",
                       f"{src} is not an image (PNG, JPEG, GIF, WebP, TIFF or SVG expected)")
        return path, False
    fault = _svg_fault(path) if head.startswith((b"<svg", b"<?xml")) else _raster_fault(path)
    if fault:
        code, message = fault
        problems.error(label, line, column, code, f"{src}: {message}")
        return path, False
    return path, True


# Art for a 6 × 9 in page at 600 dpi is under 20 megapixels; far past that, a file is a
# decompression bomb or a mistake, and opening it would take gigabytes.
MAX_PIXELS = 100_000_000
OUTSIDE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:|/|\.\.)", re.I)


def _raster_fault(path: Path) -> tuple[str, str] | None:
    """Reads the image's header only (its size), never its pixels."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                width, height = img.size
    except Image.DecompressionBombError:
        return "F004", f"more than {2 * Image.MAX_IMAGE_PIXELS // 1_000_000} megapixels: scale it down"
    except (OSError, ValueError) as exc:
        return "F002", f"cannot be read as an image ({exc})"
    if width * height > MAX_PIXELS:
        return "F004", (f"{width} × {height} px is {width * height / 1e6:.0f} megapixels, more than "
                        f"{MAX_PIXELS // 1_000_000} (art for print needs about 20): scale it down")
    return None


def _svg_fault(path: Path) -> tuple[str, str] | None:
    """An SVG may load images, fonts and styles by URL: each must be data: or inside the book."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.parse(str(path), parser).getroot()
    except etree.XMLSyntaxError as exc:
        return "F002", f"is not well-formed SVG ({exc})"
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        urls = [v for k, v in el.attrib.items() if k.rsplit("}", 1)[-1] in ("href", "src")]
        urls += re.findall(r"url\(\s*['\"]?([^'\")]+)", (el.get("style") or "") + (el.text or ""))
        outside = [u for u in urls if OUTSIDE.match(u) and not u.strip().lower().startswith("data:")]
        if outside:
            return "F005", f"loads {outside[0]} (an SVG may only use data: URLs or what it holds)"
    return None


# --- data files ---------------------------------------------------------------------------

# Each file's entries are declared like book.yaml's settings (settings.setting); where the
# model keeps an entry otherwise (HTML for Markdown, lists for one-or-many), the file's
# own class says how it is written.

@dataclass
class _TermYaml:
    term: str = setting("the headword", required=True)
    definition: str = setting("the definition (Markdown)", required=True)
    original: str = setting("the Russian original", "")
    abbreviation: str = setting("what the headword abbreviates", "")
    variants: list[Headword] = setting(
        "other headwords, in the manuscript's order after the first ('RKI […]; Rabkrin […]')", factory=list)
    see_also: list[str] = setting("related headwords", factory=list)
    line: int = derived("line in glossary.yaml", 0)


@dataclass
class _PeopleYaml:
    people: list[Person] = setting("the biographies", required=True)
    source_note: str = setting("the note on sources (Markdown)", "")


@dataclass
class _HeadingYaml:
    id: str = setting("the heading's id", required=True)
    heading: str = setting("the heading as printed", required=True)
    sort: str = setting("sort key", "")
    forms: list[str] | str = setting("forms that match in the text", factory=list)
    see: list[str] | str = setting("see: other headings", factory=list)
    see_also: list[str] | str = setting("see also: other headings", factory=list)
    person: str = setting("id of the person's biography", "")
    line: int = derived("line in index.yaml", 0)


def _as_list(value) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)


def _slug(text: str) -> str:
    return re.sub(r"[^\w]+", "-", text.casefold()).strip("-")


def _surnames(text: str, index: list[IndexHeading], cache: Path, index_key: str) -> Mentions:
    """`find_mentions`'s settled and ambiguous surnames, kept in the read cache by the text,
    the headings and the code: matching every unit against the index takes half a second."""
    digest = hashlib.sha256(f"{index_key}\0{text}".encode()).hexdigest()[:32]
    path = cache / f"surnames-{digest}.json"
    hit = cachefile.load_json(path, _are_surnames)
    if hit is not None:
        return Mentions([], [tuple(s) for s in hit["settled"]],
                        [(s, e, tuple(ids)) for s, e, ids in hit["ambiguous"]])
    found = find_mentions(text, index)
    cachefile.store_json(path, {"settled": found.settled, "ambiguous": found.ambiguous})
    return found


def _are_surnames(value) -> bool:
    return (isinstance(value, dict) and isinstance(value.get("settled"), list)
            and isinstance(value.get("ambiguous"), list)
            and all(isinstance(s, list) and len(s) == 3 and isinstance(s[0], int) and isinstance(s[1], int)
                    and isinstance(s[2], str) for s in value["settled"])
            and all(isinstance(a, list) and len(a) == 3 and isinstance(a[0], int) and isinstance(a[1], int)
                    and isinstance(a[2], list) and all(isinstance(i, str) for i in a[2])
                    for a in value["ambiguous"]))


def _read_index(root: Path, book: Book, problems: Problems) -> None:
    """The name index, which the units' Markdown needs before Pandoc (`_mark_surnames`);
    checked against the biographies in `_read_data`."""
    for entry in book.config.contents:
        if entry.role == "index":
            headings = _load_list(root / entry.file, _HeadingYaml, problems)
            book.index = [IndexHeading(h.id, h.heading, h.sort or h.heading, _as_list(h.forms),
                                       _as_list(h.see), _as_list(h.see_also), h.person, h.line)
                          for h in headings]


def _read_data(root: Path, book: Book, cache: Path, problems: Problems) -> None:
    """Glossary, congress dates, biographies and index; their Markdown in one Pandoc call."""
    markdown: dict[str, str] = {}
    files = {e.role: root / e.file for e in book.config.contents if e.role in DATA_ROLES}
    if "glossary" in files:
        terms = _load_list(files["glossary"], _TermYaml, problems)
        for i, t in enumerate(terms):
            markdown[f"gl{i}"] = t.definition
        book.glossary = [Term(t.term, "", t.original, t.abbreviation,
                              t.variants,
                              _as_list(t.see_also),
                              f"gl-{_slug(t.term)}", t.line) for t in terms]
        _check_see_also(book, display_path(files["glossary"]), problems)
    if "congresses" in files:
        book.congresses = _load_list(files["congresses"], CongressGroup, problems)
    if "biographies" in files:
        loader, node = load_data(files["biographies"], problems)
        data = loader.value(node, _PeopleYaml, "") if node is not None else None
        if data is not None:
            markdown["people-note"] = data.source_note
            for i, p in enumerate(data.people):
                markdown[f"bio{i}"] = p.text
            book.people = data.people
            _check_unique([(p.id, p.line) for p in book.people], loader, "biography id", problems)
            _check_aliases(book.people, loader.path, problems)
    if "index" in files:
        _check_index(book, display_path(files["index"]), problems)
    config = book.config
    inline = {"title": config.title, "subtitle": config.subtitle, "rights": config.rights,
              "printed_in": config.printed_in, "cover_credits": config.cover_credits,
              "series": config.series.title if config.series else "",
              "original": config.original.title if config.original else ""}
    inline.update({f"copyright_page.{i}": s for i, s in enumerate(config.copyright_page)})
    inline.update({f"cip.{i}": s for i, s in enumerate(config.cip)})
    converted = _convert_batch(markdown, cache, problems, root, PANDOC_ARGS)
    converted.update(_convert_batch({f"inline:{k}": v for k, v in inline.items()}, cache, problems,
                                    root, LITERAL_ARGS))
    for i, term in enumerate(book.glossary):
        term.definition_html = converted.get(f"gl{i}", "")
    for i, person in enumerate(book.people):
        person.text_html = converted.get(f"bio{i}", "")
    book.people_note_html = converted.get("people-note", "")
    book.inline_html = {k: unwrap_paragraph(converted.get(f"inline:{k}", html.escape(v)))
                        for k, v in inline.items()}


def _load_list(path: Path, cls, problems: Problems) -> list:
    loader, node = load_data(path, problems)
    if node is None:
        return []
    return loader.value(node, list[cls], "") or []


def _check_unique(items: list[tuple[str, int]], loader: Loader, what: str, problems: Problems) -> None:
    seen: dict[str, int] = {}
    for key, line in items:
        if key in seen:
            problems.error(loader.path, line, 1, "R004", f"{what} '{key}' used twice (first on line {seen[key]})")
        seen.setdefault(key, line)


def _check_aliases(people: list[Person], path, problems: Problems) -> None:
    """An alias is printed after the surname, the given names or the patronymic: the one
    `alias_after` names must be there, or the alias would move."""
    for p in people:
        if not p.alias:
            continue
        if p.alias_after not in ALIAS_PLACES or not getattr(p, p.alias_after):
            problems.error(path, p.line, 1, "R007",
                           f"{p.surname}: alias_after must name a filled field ({', '.join(ALIAS_PLACES)}), "
                           f"got {p.alias_after!r}")


def _check_see_also(book: Book, path, problems: Problems) -> None:
    """Every see-also target is a headword or a variant of the glossary."""
    names = {h.term for t in book.glossary for h in t.headwords}
    for t in book.glossary:
        for target in t.see_also:
            if target not in names:
                problems.warning(path, t.line, 1, "R011",
                                 f"'{t.term}': see also '{target}' is not a glossary headword")


def _check_index(book: Book, label: str, problems: Problems) -> None:
    ids = {}
    for h in book.index:
        if h.id in ids:
            problems.error(label, h.line, 1, "R004", f"index id '{h.id}' used twice "
                                                     f"(first on line {ids[h.id]})")
        ids.setdefault(h.id, h.line)
    by_text = {h.heading: h.id for h in book.index}
    people = {p.id for p in book.people}
    for h in book.index:
        if h.person and h.person not in people:
            problems.error(label, h.line, 1, "R008", f"'{h.heading}': person '{h.person}' has no biography")
        for kind in ("see", "see_also"):
            resolved = []
            for target in getattr(h, kind):
                if target in ids:
                    resolved.append(target)
                elif target in by_text:
                    resolved.append(by_text[target])
                else:
                    problems.error(label, h.line, 1, "R008",
                                   f"'{h.heading}': {kind.replace('_', ' ')} '{target}' is not an index heading")
            setattr(h, kind, resolved)


def _convert_batch(markdown: dict[str, str], cache: Path, problems: Problems, root: Path,
                   args: tuple[str, ...]) -> dict[str, str]:
    """Many short Markdown texts through one Pandoc call: each in a div named by its key."""
    keys = [k for k, v in markdown.items() if v]
    doc = "\n\n".join(f"::: {{#k{i}}}\n{markdown[k]}\n:::" for i, k in enumerate(keys))
    converted = _convert_all([doc], cache, args)[0]
    if converted.error:
        problems.error(display_path(root / "book.yaml"), 0, 0, "R002",
                       f"Pandoc failed on the data files: {converted.error}")
        return {}
    div = parse_fragment(converted.html)
    out = {}
    for el in div.iter("div"):
        m = re.fullmatch(r"k(\d+)", el.get("id") or "")
        if m:
            out[keys[int(m.group(1))]] = inner_xhtml(el).strip()
    return out


def unwrap_paragraph(fragment: str) -> str:
    """One paragraph's content without its `<p>`; anything else as it is."""
    m = re.fullmatch(r"<p>(.*)</p>", fragment, re.S)
    return m.group(1) if m and "<p>" not in m.group(1) else fragment


# --- the whole book -----------------------------------------------------------------------

def _check_ids_and_links(book: Book, sources: list[Source], problems: Problems) -> None:
    """Ids are unique across the book, and every `#id` link lands on one."""
    where: dict[str, str] = {}
    by_file = {s.entry.file: s for s in sources}
    units = [u for u in book.units if u.html]
    blamed = _duplicate_units(units)
    for index, unit in enumerate(units):
        source = by_file[unit.file]
        if index in blamed:
            # Its note ids repeat the other unit's too; one problem says it all.
            line, column = (_id_places(source.text, unit.id) or [(source.title_line, 1)])[0]
            problems.error(source.label, line, column, "R004",
                           f"unit id '{unit.id}' is used twice (also in {units[blamed[index]].file})")
            continue
        where[unit.id] = unit.file
        seen: dict[str, int] = {}
        for el in parse_fragment(unit.html).iter():
            el_id = el.get("id") if isinstance(el.tag, str) else None
            if not el_id:
                continue
            seen[el_id] = seen.get(el_id, 0) + 1
            if el_id == unit.id and seen[el_id] == 1:
                continue
            if el_id in where:
                # The n-th element with this id in the unit is the n-th place the source names it.
                places = _id_places(source.text, el_id)
                line, column = places[min(seen[el_id], len(places)) - 1] if places else \
                    (_line_of(source.text, "#" + el_id), 1)
                problems.error(source.label, line, column, "R004",
                               f"id '{el_id}' is used twice (also in {where[el_id]})")
            else:
                where[el_id] = unit.file
    for person in book.people:
        where.setdefault(person.anchor, "biographies")
    for term in book.glossary:
        where.setdefault(term.id, "glossary")
    known_headings = {h.id for h in book.index}
    for source in sources:
        for number, line in _lines_outside_code(source.text):
            for m in LINK_TARGET.finditer(line):
                if m.group("id") not in where:
                    problems.error(source.label, number, m.start() + 3, "R005",
                                   f"link to #{m.group('id')}, which is not an id in the book")
            for m in re.finditer(r"\{[^}]*\.ix\b[^}]*\bref=\"?([^\s\"}]+)", line):
                if book.index and m.group(1) not in known_headings:
                    problems.error(source.label, number, m.start() + 1, "R009",
                                   f"index mark refers to '{m.group(1)}', which index.yaml does not have")


def _duplicate_units(units: list) -> dict[int, int]:
    """For each unit id used twice: the unit to blame → the unit that keeps the id. The one
    whose file name gives that id keeps it (`{#foreword}` added to 00-about-the-author.md is
    the fault, not 00-foreword.md); otherwise the first in reading order does."""
    first: dict[str, int] = {}
    blamed: dict[int, int] = {}
    for index, unit in enumerate(units):
        keeper = first.setdefault(unit.id, index)
        if keeper == index:
            continue
        if _file_id(units[keeper].file) != unit.id and _file_id(unit.file) == unit.id:
            blamed[keeper] = first[unit.id] = index
        else:
            blamed[index] = keeper
    return blamed


def _file_id(file: str) -> str:
    """The id a unit's file name gives it: 00-foreword.md → foreword."""
    return re.sub(r"^\d+-", "", Path(file).stem)


def _id_places(text: str, el_id: str) -> list[tuple[int, int]]:
    """Where the source sets `el_id`, in order: `{#id …}` attributes and raw `id="…"`."""
    name = re.escape(el_id)
    pattern = re.compile(r"\{[^{}\n]*?(?<=[{\s])(#" + name + r")(?=[\s}])|\bid\s*=\s*[\"']?(" + name + r")\b")
    places = []
    for m in pattern.finditer(text):
        at = m.start(1) if m.group(1) else m.start(2)
        places.append((text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)))
    return places


def _line_of(text: str, needle: str) -> int:
    at = text.find(needle)
    return text.count("\n", 0, at) + 1 if at >= 0 else 0
