"""The EPUB as a retailer converts it: calibre's ebook-convert to AZW3 and back to EPUB, and what survives."""
from __future__ import annotations

import os
import posixpath
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from lxml import etree

from .checkreport import INSTALL_HINT, ROOT, Report, ValidatorMissing

DRIVER = ROOT / "scripts" / "calibre-convert.py"
CALIBRE_INSTALL = "apt-get install -y --no-install-recommends calibre"
MARKS = ("calibre WARNING:", "calibre ERROR:")
CYRILLIC = re.compile(r"[\u0400-\u04ff]+(?:[-\u2010][\u0400-\u04ff]+)*")
# What a reader follows, by kind, in the order the report names them.
KINDS = ("notes", "backlinks", "index", "biographies", "other links")  # biographies: links into them
TARGET_TEXT = 30
# calibre's notes about its own output on the way back, not about our EPUB, with the reason.
ACCEPTED_BACK: dict[str, str] = {
    # An AZW3 keeps its cover as an offset among its resources (EXTH 201), not by id; calibre's
    # KF8 reader names it with an id of its own, and its EPUB output then renames that (a Nook
    # Color workaround, oeb_output.py). Our EPUB's cover is "cover", and EPUB → EPUB is quiet.
    'calibre WARNING: The cover image has an id != "cover"': "calibre's own id for the AZW3's cover",
}


@dataclass
class Link:
    file: str
    kind: str
    # (the link's text, the text from its target on): calibre renames files and moves some
    # ids (a link to a section may come back pointing at its heading), the place stays.
    key: tuple[str, str]
    target: str
    resolves: bool


@dataclass
class Holdings:
    """What one EPUB's text documents hold that a reader uses."""

    links: list[Link] = field(default_factory=list)
    cyrillic: Counter = field(default_factory=Counter)
    pages: dict[str, str] = field(default_factory=dict)     # page-break id → its label
    ids: set[str] = field(default_factory=set)
    page_list: int = 0


def run_kindle_check(epub: Path, out_dir: Path) -> Report:
    """EPUB → AZW3 (kept in `out_dir` for a look in a Kindle previewer) → EPUB, with calibre
    headless and offline. Every warning calibre prints on the way there is a finding; so is a
    note, backlink, index or biography link, Cyrillic word or page label the round trip loses."""
    calibre = shutil.which("calibre-debug")
    if not calibre:
        raise ValidatorMissing(f"the AZW3 check needs calibre's ebook-convert, and there is no `calibre-debug` "
                               f"on PATH: install it with `{CALIBRE_INSTALL}` (as root), or {INSTALL_HINT}")
    out_dir.mkdir(parents=True, exist_ok=True)
    azw3 = out_dir / f"{epub.stem}.azw3"
    back = out_dir / f"{epub.stem}.roundtrip.epub"
    there = convert(calibre, epub, azw3)
    again = [w for w in convert(calibre, azw3, back) if not any(w.startswith(a) for a in ACCEPTED_BACK)]
    return compare(holdings(epub), holdings(back), there, again, _calibre_version(calibre))


def convert(calibre: str, source: Path, target: Path) -> list[str]:
    """ebook-convert through scripts/calibre-convert.py; the lines calibre logged as warnings or errors."""
    with tempfile.TemporaryDirectory(prefix="calibre-") as home:
        # Headless (no display), its settings in a folder of its own; it has no reason to use
        # the network for a conversion (tests/test_offline.py counts none).
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", CALIBRE_CONFIG_DIRECTORY=home,
                   CALIBRE_TEMP_DIR=home, HOME=home, LANG="C.UTF-8")
        partial = target.with_name(f".{target.name}.part{target.suffix}")
        proc = subprocess.run([calibre, "-e", str(DRIVER), str(source), str(partial)],
                              capture_output=True, text=True, env=env, timeout=1800)
    said = proc.stdout + proc.stderr
    if proc.returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"ebook-convert {source.name} → {target.suffix[1:].upper()} failed "
                           f"(exit {proc.returncode}):\n{said.strip()[-3000:]}")
    os.replace(partial, target)
    return [line.strip() for line in said.splitlines() if line.startswith(MARKS)]


def _calibre_version(calibre: str) -> str:
    version = Path(calibre).resolve().parent / "ebook-convert"
    try:
        out = subprocess.run([str(version), "--version"], capture_output=True, text=True, timeout=120).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "calibre"
    m = re.search(r"calibre ([\d.]+)", out)
    return f"calibre {m.group(1)}" if m else "calibre"


# --- what an EPUB holds --------------------------------------------------------------------

def holdings(epub: Path) -> Holdings:
    found = Holdings()
    with zipfile.ZipFile(epub) as z:
        docs = {name: _parse(z.read(name)) for name in z.namelist()
                if name.endswith((".xhtml", ".html", ".htm"))}
        found.page_list = sum(z.read(n).count(b"<pageTarget") for n in z.namelist() if n.endswith(".ncx"))
    ids = {name: _texts_from_ids(doc) for name, doc in docs.items() if doc is not None}
    found.ids = {i for texts in ids.values() for i in texts}
    biographies = {name for name, doc in docs.items() if doc is not None and _is_biographies(doc)}
    for name, doc in docs.items():
        if doc is None or _is_nav(doc):
            continue  # the contents: calibre makes its own (toc.ncx), compared by the reader elsewhere
        index = _is_index(doc)
        for el in doc.iter():
            if not isinstance(el.tag, str):
                continue
            local = etree.QName(el).localname
            if el.get("role") == "doc-pagebreak" and el.get("id"):
                found.pages[el.get("id")] = el.get("aria-label") or el.get("title") or ""
            if local == "a" and el.get("href"):
                link = _link(name, el, ids, index, biographies)
                if link:
                    found.links.append(link)
        body = next((el for el in doc.iter() if isinstance(el.tag, str) and etree.QName(el).localname == "body"), None)
        if body is not None:
            found.cyrillic.update(CYRILLIC.findall(" ".join(body.itertext())))
    return found


def _texts_from_ids(doc) -> dict[str, str]:
    """Each id → the first TARGET_TEXT characters of the document's text from that element on,
    without white space (the place a link to it lands on, as a reader would check it)."""
    pieces: list[str] = []
    length = 0
    starts: dict[str, int] = {}
    for event, el in etree.iterwalk(doc, events=("start", "end")):
        text = el.tail if event == "end" else el.text if isinstance(el.tag, str) else None
        if event == "start" and isinstance(el.tag, str) and el.get("id"):
            starts.setdefault(el.get("id"), length)
        if text:
            squeezed = "".join(text.split())
            pieces.append(squeezed)
            length += len(squeezed)
    flat = "".join(pieces)
    return {i: flat[at:at + TARGET_TEXT] for i, at in starts.items()}


def _parse(data: bytes):
    try:
        return etree.fromstring(data, etree.XMLParser(recover=True, resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None


def _is_nav(doc) -> bool:
    """The contents document: a <nav> of type toc (calibre writes epub:type as plain `type`);
    the index has a <nav> of its own, its letters."""
    return any(etree.QName(el).localname == "nav" and "toc" in " ".join(
        v for k, v in el.attrib.items() if etree.QName(k).localname in ("type", "role")).split()
        for el in doc.iter() if isinstance(el.tag, str))


def _is_index(doc) -> bool:
    return any(el.get("id") == "index" for el in doc.iter() if isinstance(el.tag, str))


def _is_biographies(doc) -> bool:
    return any(el.get("id") == "biographies" or "biographies" in (el.get("class") or "").split()
               for el in doc.iter() if isinstance(el.tag, str))


def _link(name: str, a, ids: dict[str, set], index: bool, biographies: set[str]) -> Link | None:
    parts = urlsplit(a.get("href"))
    if parts.scheme or parts.netloc:
        return None  # links out of the book are not the round trip's to keep
    target = posixpath.normpath(posixpath.join(posixpath.dirname(name), unquote(parts.path))) if parts.path else name
    fragment = unquote(parts.fragment)
    resolves = target in ids and (not fragment or fragment in ids[target])
    lands = ids[target].get(fragment, "") if resolves and fragment else ""
    text = " ".join("".join(a.itertext()).split())
    role = a.get("role") or ""
    kind = ("notes" if role == "doc-noteref" else "backlinks" if role == "doc-backlink"
            else "biographies" if target in biographies else "index" if index else "other links")
    return Link(name, kind, (text, lands), fragment, resolves)


def _matched(before: list[Link], after: list[Link]) -> list[bool]:
    """For each link before, whether a link of the same text lands at the same text after the
    round trip (each link after used once). calibre splits big files, so the text after a
    target may stop sooner: a prefix matches too, in a second pass, once exact matches are taken."""
    available: dict[str, Counter] = {}
    for link in after:
        if link.resolves:
            available.setdefault(link.key[0], Counter())[link.key[1]] += 1
    found = [False] * len(before)
    for exact in (True, False):
        for i, link in enumerate(before):
            if found[i]:
                continue
            candidates = available.get(link.key[0], Counter())
            lands = link.key[1]
            other = lands if exact else next((o for o, n in candidates.items() if n and o and lands and
                                              (o.startswith(lands) or lands.startswith(o))), None)
            if other is not None and candidates[other] > 0:
                candidates[other] -= 1
                found[i] = True
    return found


# --- before and after ----------------------------------------------------------------------

def compare(before: Holdings, after: Holdings, there: list[str], again: list[str], calibre: str) -> Report:
    messages = [f"ebook-convert to AZW3: {w}" for w in there]
    messages += [f"ebook-convert back to EPUB: {w}" for w in again]
    # A broken link is EPUBCheck's to report; the round trip cannot lose it.
    links = [link for link in before.links if link.resolves]
    kept = Counter()
    total = Counter()
    for link, survives in zip(links, _matched(links, after.links)):
        total[link.kind] += 1
        if survives:
            kept[link.kind] += 1
        else:
            messages.append(f"EPUB/{link.file[5:] if link.file.startswith('EPUB/') else link.file}: "
                            f"a link of the {link.kind} ({link.key[0]!r} → #{link.target}, at "
                            f"{link.key[1]!r}) does not land there after the round trip")
    lost_words = before.cyrillic - after.cyrillic
    for word, n in sorted(lost_words.items()):
        messages.append(f"the Cyrillic word {word!r} is lost {n} time(s) in the round trip")
    # AZW3 has no page-list (a Kindle's page numbers come from an APNX file beside the book):
    # what it can keep is each page's position, the page break's id, which links reach.
    lost = [label for pid, label in before.pages.items() if pid not in after.ids]
    pages_kept = len(before.pages) - len(lost)
    labelled = sum(1 for pid, label in before.pages.items() if after.pages.get(pid) == label)
    if lost:
        messages.append(f"{len(lost)} page break(s) lost in the round trip: page {', '.join(lost[:10])}")
    figures = ", ".join(f"{k} {kept[k]}/{total[k]}" for k in KINDS if total[k])
    tool = (f"AZW3 round trip ({calibre}): {figures}, Cyrillic words "
            f"{sum((before.cyrillic & after.cyrillic).values())}/{sum(before.cyrillic.values())}, "
            f"page breaks {pages_kept}/{len(before.pages)} as anchors ({labelled} with their label; "
            f"AZW3 keeps no page-list)")
    counts = {"warning": len(there) + len(again), "link lost": sum(total.values()) - sum(kept.values()),
              "Cyrillic word lost": sum(lost_words.values()), "page break lost": len(lost)}
    report = Report(tool, counts, messages)
    report.kept = {"links": dict(kept), "total": dict(total), "pages": (pages_kept, len(before.pages)),
                   "cyrillic": (sum((before.cyrillic & after.cyrillic).values()), sum(before.cyrillic.values()))}
    return report


def main(argv: list[str] | None = None) -> int:
    """`python -m bookbuild.kindle BOOK.epub [--out build/kindle]`: the round trip alone."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m bookbuild.kindle", description=__doc__)
    parser.add_argument("epub", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "kindle")
    args = parser.parse_args(argv)
    try:
        report = run_kindle_check(args.epub, args.out)
    except (ValidatorMissing, RuntimeError) as exc:
        print(f"AZW3 round trip: {exc}", file=sys.stderr)
        return 1
    print(report.summary(), file=sys.stderr)
    for message in report.messages:
        print(f"  {message}", file=sys.stderr)
    return 1 if report.messages else 0


if __name__ == "__main__":
    raise SystemExit(main())
