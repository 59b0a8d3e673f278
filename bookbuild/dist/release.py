"""A release: every edition of book.yaml checked, built in a staging folder, then moved to dist/<version>/."""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ..config import display_path
from ..errors import CODES, BuildError, Problems
from ..fsutil import exchange
from .. import printers
from ..model import BACK_ROLES, Book, Edition
from ..pipeline import settle
from ..settings import Positions, missing_needed
from . import barcode, cover, onix, pdfx

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates" / "dist"
PT_PER_IN = 72.0
TOOLS = {"pdftoppm": "poppler-utils", "pdftotext": "poppler-utils", "zbarimg": "zbar-tools", "qpdf": "qpdf",
         "gs": "ghostscript"}


# --- where the release comes from -------------------------------------------------------------

@dataclass
class Source:
    """The version, the commit it is built from, and the one moment every date in it carries."""

    version: str
    commit: str
    tag: str
    dirty: bool
    moment: datetime
    moment_from: str
    since: str = ""
    changes: list[str] = field(default_factory=list)


def git(repo: Path, *args: str) -> str | None:
    """git's output in `repo`, or None when git or the repository is not there."""
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def release_source(book: Book, problems: Problems) -> Source:
    where = book.config.where
    repo = book.repository
    version = book.config.version
    if not version:
        problems.error(*where.at("version"), "D001",
                       "version: missing (the release goes to dist/<version>/; e.g. version: 1.0.0)")
    commit = git(repo, "rev-parse", "HEAD") or ""
    tag = (git(repo, "describe", "--tags", "--exact-match", "HEAD") or "") if commit else ""
    if tag and version and tag.removeprefix("v") != version:
        problems.error(*where.at("version"), "D001",
                       f'version: book.yaml says "{version}", the git tag at HEAD is "{tag}"')
    dirty = bool(git(repo, "status", "--porcelain")) if commit else False
    _check_tagged(version, commit, tag, dirty, problems, where)
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    stamp = git(repo, "log", "-1", "--format=%ct") if commit else None
    if epoch.isdigit():
        moment, moment_from = int(epoch), "SOURCE_DATE_EPOCH"
    elif stamp:
        moment, moment_from = int(stamp), f"time of commit {commit[:12]}"
    else:
        moment = int(max((p.stat().st_mtime for p in book.root.rglob("*") if p.is_file()), default=0))
        moment_from = "newest file in the book folder (no git, no SOURCE_DATE_EPOCH)"
    source = Source(version, commit, tag, dirty, datetime.fromtimestamp(moment, timezone.utc), moment_from)
    if commit:
        # The notes of a tagged release run from the tag before it.
        since = git(repo, "describe", "--tags", "--abbrev=0", "HEAD^" if tag else "HEAD") or ""
        log = git(repo, "log", "--format=%s (%h, %as)", f"{since}..HEAD" if since else "HEAD")
        source.since, source.changes = since, (log or "").splitlines()
    return source


def _check_tagged(version: str, commit: str, tag: str, dirty: bool, problems: Problems,
                  where: Positions) -> None:
    """A release is what a tag names: the same bytes can be made again from it, and the
    manifest can say which. Refused otherwise, with the commands that settle it."""
    if not version:
        return
    wanted = f"v{version}"
    if not commit:
        problems.error(*where.at("version"), "D013",
                       f"the book is not in a git repository: run `git init && git add -A && git commit -m "
                       f"'Release {version}' && git tag {wanted}`, then make dist")
    elif dirty:
        problems.error(*where.at("version"), "D013",
                       f"the working tree has uncommitted changes (git status lists them): commit them, "
                       f"run `git tag {wanted}`, then make dist")
    elif not tag:
        problems.error(*where.at("version"), "D013",
                       f"HEAD has no tag: run `git tag {wanted}` (a release is made from its tag), "
                       "then make dist")


# --- checks before anything is built ----------------------------------------------------------

def check_settings(book: Book, problems: Problems) -> None:
    """What each edition needs for a release, beyond what book.yaml's loader checks; each
    problem points at the setting's line as it was read."""
    where = book.config.where
    c = book.config
    isbns: dict[str, str] = {}
    for name, edition in c.editions.items():
        at = f"editions.{name}"
        kind = cover.cover_kind(edition)
        for setting, why in missing_needed(edition, "release"):
            problems.error(*where.at(f"{at}.{setting}"), "D003",
                           f"{at}.{setting}: missing ({why.format(profiles=', '.join(printers.names()))})")
        if edition.format == "print":
            if kind == "image":
                problems.error(*where.at(f"{at}.cover"), "D003",
                               f"{at}.cover: a print edition has a wrap or a case cover")
            _check_printer(edition, problems, where)
        elif kind != "image":
            problems.error(*where.at(f"{at}.cover"), "D003",
                           f"{at}.cover: an ebook's cover is an image")
        if edition.isbn in isbns:
            problems.error(*where.at(f"{at}.isbn"), "D005",
                           f"{at}.isbn: {edition.isbn} is the ISBN of the {isbns[edition.isbn]} edition too")
        if edition.isbn:
            isbns.setdefault(edition.isbn, name)
        if edition.cover_image:
            _check_cover_image(book, edition, problems, where)
    for name, code in (("language", c.language), ("original.language", c.original.language if c.original else "")):
        if code and code.split("-")[0].lower() not in onix.ISO_639_2:
            problems.error(*where.at(name), "D003",
                           f'{name}: no ISO 639-2 code known for "{code}" (ONIX needs one)')


def _check_cover_image(book: Book, edition: Edition, problems: Problems, where: Positions) -> None:
    from PIL import Image, UnidentifiedImageError

    setting = f"editions.{edition.name}.cover_image"
    path = (book.root / edition.cover_image).resolve()
    if not path.is_relative_to(book.root.resolve()):
        problems.error(*where.at(setting), "D004",
                       f'{setting}: "{edition.cover_image}" is outside the book folder')
        return
    if not path.is_file():
        problems.error(*where.at(setting), "D004",
                       f'{setting}: "{edition.cover_image}" does not exist (put the art there, or remove '
                       "the setting for a cover with a marked placeholder)")
        return
    try:
        with Image.open(path) as picture:
            picture.verify()
    except (UnidentifiedImageError, OSError) as exc:
        problems.error(*where.at(setting), "D004",
                       f'{setting}: "{edition.cover_image}" is not an image ({exc})')


def _check_printer(edition: Edition, problems: Problems, where: Positions) -> None:
    place = printers.Place(where, edition.name)
    profile = printers.edition_profile(edition, problems, place)
    if profile is not None:
        printers.check_standard(pdfx.VERSION, profile, problems, place)
        printers.check_edition(edition, profile, problems, place)


def check_unfinished(book: Book, problems: Problems) -> list[str]:
    """What a draft may show and a release may not: a figure without its art where an
    edition would print a placeholder frame, a cover without the photograph its design
    needs, a note the importer could only mark as missing. Each is refused where it
    stands, saying how to settle it; returns, for the release notes, the figures set as
    their captions alone, by unit and caption (a released file names no source paths)."""
    c = book.config
    framed = [n for n, e in c.editions.items() if e.missing_art == "placeholder"]
    captions = []
    for unit in book.units:
        label = display_path(book.root / unit.file)
        for figure in (f for f in unit.figures if not f.present):
            if framed:
                problems.error(label, figure.line, 1, "D012",
                               f"figure {figure.id} has no art ({figure.src}) and the "
                               f"{', '.join(framed)} edition(s) would print a placeholder: put the art "
                               f"there, or set editions.<name>.missing_art: caption in book.yaml")
            else:
                caption = " ".join(re.sub(r"<[^>]+>", "", figure.caption_html).split())
                captions.append(f"{unit.title}: {caption}")
        for note in unit.notes:
            if 'class="missing"' in note.html:
                problems.error(label, note.line, 1, "D012",
                               f"note [^{note.number}] is the importer's placeholder for a note the "
                               "manuscript lacks: write in its place what the reader should read "
                               "(the editor's words)")
    for name, edition in c.editions.items():
        if edition.cover_art == "photo" and not edition.cover_image:
            problems.error(*c.where.at(f"editions.{name}.cover_image"), "D012",
                           f"editions.{name}: the cover design has a photograph but no cover_image: "
                           "name the art, or set cover_art: type for a type-only cover")
    return captions


def check_tools(problems: Problems) -> None:
    for tool, package in TOOLS.items():
        if not shutil.which(tool):
            problems.error("scripts/ensure-system.sh", 0, 0, "D010", f"{tool} is not installed (Debian: apt-get install {package}; "
                                             "make setup installs it)")


def check_book(book: Book, problems: Problems) -> list[str]:
    """`build.py lint` and the no-loss check; their problems, and a line each for the record."""
    from ..importer.noloss import check_sources as no_loss
    from ..lint import lint_book

    done = []
    found = [p for p in lint_book(book.root).problems() if p.severity == "error"]
    problems.items.extend(found)
    if found:
        problems.error(display_path(book.root), 0, 0, "D006", f"lint found {len(found)} error(s)")
    done.append(f"lint: {len(found)} errors")
    if (book.root / "received").is_dir():
        lost = no_loss(book.root)
        problems.items.extend(lost.errors)
        if lost.errors:
            problems.error(display_path(book.root), 0, 0, "D006",
                           f"the no-loss check found {len(lost.errors)} error(s)")
        done.append(f"no-loss check against book/received/: {len(lost.errors)} errors")
    else:
        done.append("no-loss check: not run (the book has no received manuscript in book/received/)")
    return done


def stop_on_errors(problems: Problems) -> None:
    if problems.errors:
        raise BuildError(problems.items)


# --- building -----------------------------------------------------------------------------

@dataclass
class Output:
    """One file of the bundle."""

    path: str
    edition: str
    kind: str
    isbn: str
    data: bytes
    pages: int | None = None
    spine_in: float | None = None


@dataclass
class Built:
    """What one edition left for the manifest and the notes."""

    edition: Edition
    pages: int | None = None
    spine_in: float | None = None
    geometry: cover.Geometry | None = None
    extent: onix.Extent | None = None
    layout: object = None          # print.layout.PrintedBook, for the ebook's page map


@contextmanager
def source_date_epoch(moment: datetime):
    """The interior's PDF dates come from SOURCE_DATE_EPOCH (print.layout.source_date)."""
    before = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(int(moment.timestamp()))
    try:
        yield
    finally:
        if before is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = before


def stem(book: Book, edition: Edition) -> str:
    """File names start with the ISBN, as printers and distributors file them."""
    return edition.isbn or f"{book.config.slug}-{edition.name}"


def extent(result) -> onix.Extent:
    """ONIX page counts from the print layout's folios and parts."""
    labels = result.pages.labels
    front = sum(not label.isdigit() for label in labels)
    back_first = next((slot.first - (1 if slot.blank_before else 0) for slot in result.slots
                       if (slot.part.unit.role if slot.part.unit else slot.part.key) in BACK_ROLES), len(labels))
    arabic = [int(label) for label in labels[:back_first] if label.isdigit()]
    return onix.Extent(max(arabic, default=0), front, len(labels) - back_first, len(labels))


def build_print(book: Book, edition: Edition, blurb, moment: datetime, cache: Path, problems: Problems,
                say) -> tuple[Built, list[Output]]:
    """Interior and cover of one print edition, both PDF/X-1a, the cover sized by the interior;
    each checked as the printer will read it."""
    import pikepdf

    from ..print import build_pdf

    c = book.config
    name = stem(book, edition)
    title = f"{c.title}: {c.subtitle}" if c.subtitle else c.title
    say(f"dist: {edition.name}: laying out the interior")
    data, result = build_pdf(book, edition, problems, cache)
    interior, violations = pdfx.press(data, title, moment, even=True)
    interior_path = f"{edition.name}/{name}_interior.pdf"
    check_interior(interior, edition, violations, interior_path, problems)
    with pikepdf.open(io.BytesIO(interior)) as pdf:
        pages = len(pdf.pages)
    g = cover.geometry(edition, pages)
    say(f"dist: {edition.name}: {pages} pages, spine {g.spine / PT_PER_IN:.3f} in; the cover")
    cover_pdf, warnings = cover.render_pdf(cover.render_html(book, edition, g, blurb, moment),
                                           pdfx.WEASYPRINT_VARIANT)
    cover_pdf, violations = pdfx.press(cover_pdf, f"{title}: cover ({edition.binding or edition.name})", moment)
    cover_path = f"{edition.name}/{name}_cover.pdf"
    check_cover(book, cover_pdf, edition, warnings, violations, cover_path, problems)
    spine_in = round(pages * edition.caliper / PT_PER_IN, 4)
    built = Built(edition, pages, spine_in, g, extent(result), result)
    return built, [Output(interior_path, edition.name, "interior", edition.isbn, interior, pages, spine_in),
                   Output(cover_path, edition.name, "cover", edition.isbn, cover_pdf, pages, spine_in)]


def check_interior(interior: bytes, edition: Edition, violations: list[str], path: str,
                   problems: Problems) -> None:
    """The pressed interior (its print checks ran in build_pdf): PDF/X-1a (D007), and its
    copyright page names this edition's ISBN (D011)."""
    for violation in violations:
        problems.error(path, 0, 0, "D007", violation)
    _check_copyright_isbn(interior, edition, path, problems)


def check_cover(book: Book, data: bytes, edition: Edition, warnings: list[str], violations: list[str], path: str,
                problems: Problems) -> None:
    """The pressed cover: WeasyPrint's warnings (P002), PDF/X-1a (D007), its fonts, its barcode
    read back (D008), its printer's ink and barcode area (K007, K008)."""
    from ..print.checks import check_fonts

    for message in dict.fromkeys(warnings):
        problems.warning(path, 0, 0, "P002", f"WeasyPrint: {message}")
    for violation in violations:
        problems.error(path, 0, 0, "D007", violation)
    check_fonts(data, problems, path)
    # zbar reads the add-on as a symbol of its own.
    wanted = sorted([edition.isbn, barcode.price_addon(edition.price)])
    read = sorted(barcode.scan(data))
    if read != wanted:
        problems.error(path, 0, 0, "D008", f"zbarimg read {read or 'nothing'}, not {wanted} "
                                           "(the ISBN and its price add-on)")
    check_cover_for_printer(book, data, edition, path, problems)


def check_cover_for_printer(book: Book, data: bytes, edition: Edition, path: str, problems: Problems) -> None:
    """Total ink and the barcode's clear area against the edition's printer (K007, K008)."""
    place = printers.Place(book.config.where, edition.name)
    profile = printers.edition_profile(edition, Problems(), place)
    if profile is None:
        return
    printers.check_cover_ink(data, profile, problems, place, path)
    printers.check_barcode_area(printers.white_box(data), profile, problems, place, path)


def _check_copyright_isbn(interior: bytes, edition: Edition, path: str, problems: Problems) -> None:
    """The front pages name this edition's ISBN: a wrong one would be printed in every copy."""
    text = subprocess.run(["pdftotext", "-f", "1", "-l", "12", "-", "-"], input=interior, capture_output=True,
                          check=True).stdout.decode("utf-8")
    if f"ISBN {edition.isbn}" not in text:
        problems.error(path, 0, 0, "D011", f"no “ISBN {edition.isbn}” in the first 12 pages")


def build_ebook(book: Book, edition: Edition, built: dict[str, Built], blurb, moment: datetime, cache: Path,
                say) -> list[Output]:
    """The EPUB with its page-list from the print edition it follows, and its cover image."""
    from ..epub import build as build_epub, parse_page_map
    from ..print.pagemap import write_page_map

    c = book.config
    source = built.get(edition.page_source)
    width = (source.edition.trim if source else next(
        (e.trim for e in c.editions.values() if e.trim), (6 * PT_PER_IN, 9 * PT_PER_IN)))[0]
    say(f"dist: {edition.name}: the cover image and the EPUB")
    html = cover.render_html(book, edition, cover.ebook_geometry(width), blurb, moment)
    png = cover.to_png(cover.render_pdf(html, None)[0], cover.EBOOK_PX)
    page_map = None
    if source is not None:
        write_page_map(book, source.edition, source.layout.pages, cache)
        page_map = parse_page_map((cache / f"pagemap-{source.edition.name}.json").read_bytes())
    epub = finish_epub(build_epub(book, page_map, cache), png, moment)
    name = stem(book, edition)
    return [Output(f"{edition.name}/{name}.epub", edition.name, "epub", edition.isbn, epub),
            Output(f"{edition.name}/{name}-cover.png", edition.name, "cover-image", edition.isbn, png)]


def finish_epub(data: bytes, png: bytes, moment: datetime) -> bytes:
    """The EPUB with the release's cover as images/cover.png and its date as dcterms:modified.

    Done to the finished zip, so that the committed images/ stay as they are and the
    EPUB build keeps choosing its own cover outside releases."""
    from ..epub.package import zip_epub

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    container = files["META-INF/container.xml"].decode("utf-8")
    opf_path = re.search(r'full-path="([^"]+)"', container).group(1)
    base = opf_path.rpartition("/")[0]
    opf = files[opf_path].decode("utf-8")
    item = re.search(r'<item\b[^>]*properties="[^"]*cover-image[^"]*"[^>]*/>', opf)
    old_href = re.search(r'href="([^"]+)"', item.group(0)).group(1)
    new_item = re.sub(r'href="[^"]+"', 'href="images/cover.png"', item.group(0))
    new_item = re.sub(r'media-type="[^"]+"', 'media-type="image/png"', new_item)
    opf = opf.replace(item.group(0), new_item)
    opf = re.sub(r'(<meta property="dcterms:modified">)[^<]*(</meta>)',
                 lambda m: m.group(1) + moment.strftime("%Y-%m-%dT%H:%M:%SZ") + m.group(2), opf)
    files[opf_path] = opf.encode("utf-8")
    del files[f"{base}/{old_href}"]
    files[f"{base}/images/cover.png"] = png
    if old_href != "images/cover.png":
        for name in [n for n in files if n.endswith(".xhtml")]:
            files[name] = files[name].replace(old_href.encode(), b"images/cover.png")
    return zip_epub(files)


def build_onix(book: Book, built: Built, description: str, moment: datetime, problems: Problems) -> Output:
    edition = built.edition
    thickness = built.geometry.spine / PT_PER_IN if built.geometry else None
    xml = onix.record(book, edition, built.extent, thickness, description, moment)
    path = f"{edition.name}/{stem(book, edition)}_onix.xml"
    for message in onix.validate(xml):
        problems.error(path, 0, 0, "D009", message)
    return Output(path, edition.name, "onix", edition.isbn, xml.encode("utf-8"))


def preflight_outputs(outputs: list[Output], problems: Problems, say) -> None:
    """Every file a printer or a retailer receives, read as their preflight would."""
    from . import preflight

    say("dist: preflight (qpdf, Ghostscript, the text of every file)")
    for out in outputs:
        text = ""
        if out.path.endswith(".pdf"):
            for message in preflight.pdf_problems(out.data):
                problems.error(out.path, 0, 0, "D007", message)
            text = preflight.pdf_text(out.data)
        elif out.kind == "epub":
            text = preflight.epub_text(out.data)
        elif out.kind == "onix":
            text = re.sub(r"<[^>]+>", " ", out.data.decode("utf-8"))
        for found in preflight.unfinished(text):
            problems.error(out.path, 0, 0, "D012", f"unfinished matter in a released file: {found}")


def check_completeness(book: Book, outputs: list[Output], problems: Problems, say) -> str:
    """Every paragraph, note, caption and back-matter field of book/ in every edition's text
    (bookbuild/completeness.py): V001 for what an edition lost, V002 for entries out of order."""
    from ..completeness import check_editions, epub_text, pdf_text

    say("dist: every paragraph, note, caption and field of book/ in every edition")
    texts = {}
    with tempfile.TemporaryDirectory() as tmp:
        for out in outputs:
            if out.kind not in ("epub", "interior"):
                continue
            path = Path(tmp) / out.path.replace("/", "_")
            path.write_bytes(out.data)
            edition = book.config.editions[out.edition]
            try:
                texts[f"{out.edition} {out.kind}"] = (epub_text(path) if out.kind == "epub"
                                                      else pdf_text(path, edition))
            except (OSError, KeyError, ValueError, zipfile.BadZipFile, subprocess.CalledProcessError) as exc:
                problems.error(out.path, 0, 0, "V003", f"cannot be read for the completeness check "
                               f"({type(exc).__name__}: {exc}): the release is not made")
    results = check_editions(book, texts, problems)
    counts = ", ".join(f"{r.name} {r.checked - len(r.missing)}/{r.checked}" for r in results)
    return f"completeness: paragraphs, notes, captions and back-matter fields of book/ found ({counts})"


def run_validators(epub: Path, label: str, reports: Path, problems: Problems) -> list[str]:
    """Every EPUBCheck version and Ace side by side (each a process of its own); a line each for the record."""
    from .. import validate

    runners = validate.runners()
    with ThreadPoolExecutor(len(runners)) as pool:
        futures = {name: pool.submit(run, epub, reports / name.lower().replace(" ", "-"))
                   for name, run in runners.items()}
    done = []
    for name, future in futures.items():
        try:
            report = future.result()
        except (validate.ValidatorMissing, RuntimeError) as exc:
            problems.error(label, 0, 0, "D006", f"{name} did not run: {exc}")
            continue
        for message in report.messages:
            problems.error(label, 0, 0, "D006", f"{name}: {message}")
        done.append(report.summary())
    return done


# --- the bundle -----------------------------------------------------------------------------

def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest(book: Book, source: Source, built: dict[str, Built], outputs: list[Output], checks: list[str],
             warnings: Counter) -> dict:
    c = book.config
    editions = {}
    for name, b in built.items():
        e = b.edition
        entry = {"format": e.format, "isbn": e.isbn or None, "binding": e.binding or None,
                 "cover": cover.cover_kind(e)}
        if e.format == "print":
            g = b.geometry
            entry.update({
                "trim_in": [round(v / PT_PER_IN, 4) for v in e.trim], "paper": e.paper or None,
                "caliper_in": round(e.caliper / PT_PER_IN, 6), "pages": b.pages, "spine_in": b.spine_in,
                "cover_sheet_in": [round(g.width / PT_PER_IN, 4), round(g.height / PT_PER_IN, 4)],
                "cover_spine_in": round(g.spine / PT_PER_IN, 4), "cover_bleed_in": round(g.bleed / PT_PER_IN, 4),
                "cover_spine_text": g.spine_text})
            if g.kind == "case":
                entry.update({"case_wrap_in": round(g.turn_in / PT_PER_IN, 4),
                              "case_hinge_in": round(g.hinge / PT_PER_IN, 4),
                              "case_board_in": round(e.case.board / PT_PER_IN, 4)})
        else:
            entry["page_source"] = e.page_source or None
        editions[name] = entry
    files = []
    for out in outputs:
        record = {"path": out.path, "edition": out.edition, "kind": out.kind, "isbn": out.isbn or None,
                  "bytes": len(out.data), "sha256": sha256(out.data)}
        if out.pages is not None:
            record.update({"pages": out.pages, "spine_in": out.spine_in})
        files.append(record)
    return {
        "book": {"slug": c.slug, "title": c.title, "subtitle": c.subtitle},
        "version": {"name": source.version,
                    "from": f"book.yaml and git tag {source.tag}" if source.tag else "book.yaml",
                    "git_tag": source.tag or None, "commit": source.commit or None,
                    "uncommitted_changes": source.dirty},
        "date": source.moment.strftime("%Y-%m-%dT%H:%M:%SZ"), "date_from": source.moment_from,
        "pdf_standard": pdfx.VERSION,
        "editions": editions, "files": files, "checks": checks,
        "warnings": dict(sorted(warnings.items())),
    }


def release_notes(book: Book, source: Source, built: dict[str, Built], checks: list[str],
                  warnings: Counter, captions: list[str]) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=True)
    editions = [{"name": n, "isbn": b.edition.isbn, "pages": b.pages,
                 "spine": f"{b.spine_in:.4f} in" if b.spine_in is not None else "",
                 "cover": _cover_summary(b)} for n, b in built.items()]
    return env.get_template("release-notes.md.j2").render(
        c=book.config, source=source, date=source.moment.strftime("%Y-%m-%d %H:%M:%S UTC"),
        editions=editions, checks=checks, since=source.since, changes=source.changes, captions=captions,
        warnings=[(code, n, CODES[code]) for code, n in sorted(warnings.items())])


def _cover_summary(built: Built) -> str:
    g = built.geometry
    if g is None:
        return f"image, {cover.EBOOK_PX[0]} × {cover.EBOOK_PX[1]} px"
    size = f"{g.width / PT_PER_IN:.3f} × {g.height / PT_PER_IN:.3f} in"
    if g.kind == "case":
        return (f"case wrap {size} (spine {g.spine / PT_PER_IN:.3f} in with boards, "
                f"{g.turn_in / PT_PER_IN:g} in turn-in, {g.hinge / PT_PER_IN:g} in hinges)")
    return f"full wrap {size} plus {g.bleed / PT_PER_IN:g} in bleed (spine {g.spine / PT_PER_IN:.3f} in)"


def write_bundle(staging: Path, outputs: list[Output], extra: dict[str, bytes]) -> None:
    files = {o.path: o.data for o in outputs} | extra
    sums = "".join(f"{sha256(data)}  {path}\n" for path, data in sorted(files.items()))
    files["SHA256SUMS"] = sums.encode()
    for path, data in files.items():
        target = staging / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        target.chmod(0o644)
    for folder in [staging, *(p for p in staging.rglob("*") if p.is_dir())]:
        folder.chmod(0o755)


def move_into_place(staging: Path, target: Path, force: bool) -> None:
    """Rename the finished bundle to dist/<version>/. A release it replaces is swapped out in one
    step (`fsutil.exchange`), so that dist/<version>/ always holds a whole release, on any kill."""
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_replaced(target)
    if target.exists() and not force:
        raise FileExistsError(target)
    near = _beside(staging, target)
    try:
        if not target.exists():
            os.rename(near, target)
            return
        try:
            exchange(near, target)
        except OSError:
            _replace_in_two_steps(near, target)
            return
        shutil.rmtree(near)
    finally:
        if near != staging:
            shutil.rmtree(near, ignore_errors=True)


def _beside(staging: Path, target: Path) -> Path:
    """The bundle on the target's file system: the staging folder itself, or a copy made there."""
    if os.stat(staging).st_dev == os.stat(target.parent).st_dev:
        return staging
    near = Path(tempfile.mkdtemp(prefix=f".dist-{target.name}-{os.getpid()}-", dir=target.parent))
    shutil.copytree(staging, near, dirs_exist_ok=True)
    near.chmod(0o755)
    return near


def _replace_in_two_steps(new: Path, target: Path) -> None:
    """Where one-step exchange is not to be had: the old release aside, the new one in; a kill
    between the two renames leaves the old one aside, and `recover_replaced` puts it back."""
    old = target.with_name(f".{target.name}.replaced-{os.getpid()}")
    os.rename(target, old)
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old)


def recover_replaced(target: Path) -> None:
    """A release set aside by a killed `dist --force` goes back in place when none replaced it;
    set-aside copies of a release that is in place are removed."""
    aside = sorted(target.parent.glob(f".{target.name}.replaced-*"), key=lambda p: p.stat().st_mtime)
    if aside and not target.exists():
        os.rename(aside.pop(), target)
    for path in aside:
        shutil.rmtree(path, ignore_errors=True)


# --- the whole release ----------------------------------------------------------------------

def make_release(book: Book, out_root: Path, cache: Path, force: bool = False, strict: bool = False,
                 validators: bool = True, say=lambda message: None) -> tuple[Path, list]:
    """Check everything, build every edition into a staging folder, check the results, then move
    the bundle to `out_root/<version>/`; returns it and the warnings. Raises BuildError (and
    leaves nothing behind) on any error."""
    problems = Problems(list(book.warnings))
    source = release_source(book, problems)
    target = out_root / source.version
    captions, checks = check_before_building(book, source, target, force, problems)
    with source_date_epoch(source.moment):
        built, outputs = build_editions(book, source, cache, problems, say)
    checks += check_outputs(book, outputs, problems, say)
    order = {name: n for n, name in enumerate(book.config.editions)}
    outputs.sort(key=lambda o: (order[o.edition], o.path))
    work = cache.parent
    work.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".dist-{source.version}-{os.getpid()}-", dir=work))
    try:
        checks += validate_epubs(outputs, staging, work / "dist-reports" / source.version, problems,
                                 validators, say)
        problems = settle(problems, strict)
        write_bundle(staging, outputs, record_files(book, source, built, outputs, checks, problems, captions))
        move_into_place(staging, target, force)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target, problems.warnings


def check_before_building(book: Book, source: Source, target: Path, force: bool,
                          problems: Problems) -> tuple[list[str], list[str]]:
    """The settings a release needs, unfinished matter, the tools, then lint and the no-loss
    check; stops on any error. Returns the figures set as captions alone, and a line per
    check for the record."""
    recover_replaced(target)
    if source.version and target.exists() and not force:
        problems.error(display_path(target), 0, 0, "D002",
                       f"release {source.version} exists already; --force replaces it")
    check_settings(book, problems)
    captions = check_unfinished(book, problems)
    check_tools(problems)
    stop_on_errors(problems)
    checks = check_book(book, problems)
    stop_on_errors(problems)
    return captions, checks


def build_editions(book: Book, source: Source, cache: Path, problems: Problems,
                   say) -> tuple[dict[str, Built], list[Output]]:
    """Each print edition's interior and cover (stopping on an error), then the ebook from the
    page map of the edition it follows, then an ONIX record per ISBN; in book.yaml's order."""
    c = book.config
    blurb = cover.blurb_html(c.blurb)
    built: dict[str, Built] = {}
    outputs: list[Output] = []
    for edition in c.editions.values():
        if edition.format == "print":
            built[edition.name], files = build_print(book, edition, blurb, source.moment, cache, problems, say)
            outputs += files
    stop_on_errors(problems)
    for edition in c.editions.values():
        if edition.format == "epub":
            outputs += build_ebook(book, edition, built, blurb, source.moment, cache, say)
            built[edition.name] = Built(edition)
    built = {name: built[name] for name in c.editions}
    for b in built.values():
        if b.edition.isbn:
            outputs.append(build_onix(book, b, str(blurb), source.moment, problems))
    return built, outputs


def check_outputs(book: Book, outputs: list[Output], problems: Problems, say) -> list[str]:
    """Every file as a preflight reads it, and every edition against book/; a line per check
    for the record (the interiors' and covers' own checks ran as they were built)."""
    preflight_outputs(outputs, problems, say)
    checks = [check_completeness(book, outputs, problems, say)]
    checks += [f"{pdfx.VERSION}: interiors and covers pressed and preflighted (font programs CFF or "
               "TrueType, one subset tag per program)",
               "printer profiles: trim, page boxes, 0 ink in the safe zone, gutter, cover ink and barcode area",
               "qpdf --check and Ghostscript read every PDF without a message",
               "no draft words (placeholder, absent, not available) or source paths in any PDF, EPUB or ONIX",
               "fonts embedded in every PDF", "copyright pages name their edition's ISBN",
               "barcodes read back by zbarimg as their edition's ISBN",
               "ONIX records valid against the ONIX 3.0 reference XSD"]
    return checks


def validate_epubs(outputs: list[Output], staging: Path, reports: Path, problems: Problems, validators: bool,
                   say) -> list[str]:
    """EPUBCheck and Ace on each EPUB, written into the staging folder first."""
    epubs = [o for o in outputs if o.kind == "epub"]
    if not validators:
        return ["EPUBCheck and Ace: not run (--skip-validators)"] if epubs else []
    checks = []
    for out in epubs:
        path = staging / out.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(out.data)
        say(f"dist: EPUBCheck and Ace on {out.path}")
        checks += run_validators(path, out.path, reports, problems)
    return checks


def record_files(book: Book, source: Source, built: dict[str, Built], outputs: list[Output], checks: list[str],
                 problems: Problems, captions: list[str]) -> dict[str, bytes]:
    """manifest.json and RELEASE-NOTES.md."""
    # Absent art is settled by every edition's missing_art and listed in the notes.
    warnings = Counter(p.code for p in problems.warnings if not (captions and p.code == "F001"))
    record = manifest(book, source, built, outputs, checks, warnings)
    notes = release_notes(book, source, built, checks, warnings, captions)
    return {"manifest.json": (json.dumps(record, ensure_ascii=False, indent=1) + "\n").encode(),
            "RELEASE-NOTES.md": notes.encode()}
