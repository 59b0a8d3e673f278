"""Proofs of the mini-book: print pages on proof sheets, source markers, changes since a revision, one chapter, HTML, pictures."""
from __future__ import annotations

import contextlib
import html.parser
import io
import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

import realbook
from bookbuild import cli
from bookbuild.proof import pictures
from bookbuild.proof.interior import Interior
from bookbuild.proof.sheets import CHANGED_RGB, MARGIN_X, MARGIN_Y

FIXTURE = Path(__file__).parent / "fixtures" / "mini-book"
REPOSITORY = Path(__file__).parent.parent
TRIM_W, TRIM_H = 432, 648
GIT_USER = ["-c", "user.name=Proof Test", "-c", "user.email=proof@example.org"]


def build(command: str, book: Path, out: Path, cache: Path, *extra: str) -> int:
    return cli.main(["-q", command, "--book", str(book), "--out", str(out), "--cache", str(cache), *extra])


@pytest.fixture(scope="module")
def built(mini_pdf, mini_proof):
    """The mini-book's print PDF and its full proof, sharing one cache (tests/conftest.py):
    build/ with mini-book.pdf, cache/ and proof/."""
    return mini_pdf.build


def pdftotext(pdf: Path, page: int, *options: str) -> str:
    return subprocess.run(["pdftotext", *options, "-f", str(page), "-l", str(page), str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout


def trim_text(proof: Path, sheet: int) -> str:
    """The text inside the trim of a proof sheet: the print page, without slug or markers."""
    return pdftotext(proof, sheet, "-x", str(int(MARGIN_X)), "-y", str(int(MARGIN_Y)),
                     "-W", str(TRIM_W), "-H", str(TRIM_H))


def words(text: str) -> list[str]:
    return text.split()


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
                if needle in line)


def bbox_words(pdf: Path, page: int) -> list[tuple[float, float, float, str]]:
    """(xMin, yMin, yMax, word) of every word on a page, from the top of the page."""
    out = pdftotext(pdf, page, "-bbox")
    return [(float(x), float(y1), float(y2), html.unescape(w)) for x, y1, y2, w in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)</word>', out)]


def marker_beside(proof: Path, sheet: int, first_words: str) -> str:
    """The source marker printed in the outer margin level with the block that begins with
    `first_words` (a marker may wrap over lines, after hyphens)."""
    found = bbox_words(proof, sheet)
    lead = [w.strip(",.;:") for w in first_words.split()]
    for i in range(len(found) - len(lead) + 1):
        if [w.strip(",.;:") for _, _, _, w in found[i:i + len(lead)]] == lead:
            top = found[i][1]
            break
    else:
        raise AssertionError(f"{first_words!r} is not on sheet {sheet}")
    outside = [(y, x, w) for x, y, _, w in found
               if (x < MARGIN_X - 9 or x > MARGIN_X + TRIM_W + 9) and top - 2 <= y <= top + 16]
    return "".join(w for _, _, w in sorted(outside))


@pytest.fixture(scope="module")
def proof(built) -> Path:
    return built / "proof" / "mini-book-proof.pdf"


@pytest.fixture(scope="module")
def sidecar(built) -> dict:
    return json.loads((built / "proof" / "mini-book-proof.json").read_text(encoding="utf-8"))


def test_every_print_page_is_on_a_sheet_of_its_own_with_the_same_words(built, proof):
    printed = built / "mini-book.pdf"
    with pikepdf.open(printed) as doc:
        count = len(doc.pages)
    with pikepdf.open(proof) as doc:
        assert len(doc.pages) == count
        assert [float(v) for v in doc.pages[0].mediabox] == [0, 0, TRIM_W + 2 * MARGIN_X, TRIM_H + 2 * MARGIN_Y]
    compared = 0
    for page in range(1, count + 1):
        ours, theirs = words(trim_text(proof, page)), words(pdftotext(printed, page))
        assert ours == theirs, page
        if theirs:
            assert (ours[:3], ours[-3:]) == (theirs[:3], theirs[-3:])
            compared += 1
    assert compared > 15


def test_the_slug_line_gives_version_date_and_page(mini_pdf, proof, sidecar):
    version = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=mini_pdf.repo,
                             capture_output=True, text=True).stdout.strip()
    page = next(p for p in sidecar["pages"] if p["label"] == "2")
    slug = pdftotext(proof, page["sheet"], "-y", str(int(MARGIN_Y + TRIM_H + 9)), "-H", "100",
                     "-x", "0", "-W", "1000")
    assert "PROOF" in slug and version in slug and sidecar["date"][:10] in slug
    assert f"page 2 · sheet {page['sheet']} of {len(sidecar['pages'])}" in " ".join(slug.split())


def test_each_block_has_its_source_file_and_line_in_the_outer_margin(proof, sidecar):
    book = FIXTURE / "book"
    chapter = book / "text" / "01-the-grain-crisis.md"
    cases = [
        ("Bukharin watched these events", f"text/01-the-grain-crisis.md:{line_of(chapter, 'Bukharin watched')}"),
        ("Molotov, who had accompanied", f"text/01-the-grain-crisis.md:{line_of(chapter, 'Molotov, who had')}"),
        ("Minutes of the July plenum", f"text/01-the-grain-crisis.md:{line_of(chapter, '[^3]: Minutes')}"),
    ]
    for first_words, marker in cases:
        mark = next(m for m in sidecar["marks"] if m["words"].startswith(first_words))
        assert mark["source"] == marker
        assert marker_beside(proof, mark["sheet"], first_words) == marker
    # A biography and a glossary entry point at their entries in the YAML files.
    bio = next(m for m in sidecar["marks"] if m["file"] == "biographies.yaml" and "Molotov" in m["words"])
    assert bio["line"] == line_of(book / "biographies.yaml", "id: molotov-viacheslav-mikhailovich")
    term = next(m for m in sidecar["marks"] if m["file"] == "glossary.yaml" and m["words"].startswith("Gosplan"))
    assert term["line"] == line_of(book / "glossary.yaml", "term: Gosplan")


def test_markers_are_in_the_outer_margin(sidecar, proof):
    for sheet, outer_right in ((next(p["sheet"] for p in sidecar["pages"] if p["label"] == "1"), True),
                               (next(p["sheet"] for p in sidecar["pages"] if p["label"] == "2"), False)):
        xs = [x for x, _, _, w in bbox_words(proof, sheet) if w.startswith("text/")]
        assert xs
        assert all(x > MARGIN_X + TRIM_W for x in xs) if outer_right else all(x < MARGIN_X for x in xs)


def bars(pdf: Path) -> list[int]:
    """Per sheet, the number of change bars drawn (rectangles filled in the change colour)."""
    colour = " ".join(str(c) for c in CHANGED_RGB) + " rg"
    with pikepdf.open(pdf) as doc:
        return [sum(1 for line in page.Contents.read_bytes().decode("latin-1").splitlines()
                    if colour in line and line.rstrip().endswith("re f Q")) for page in doc.pages]


def test_since_marks_exactly_the_changed_paragraph(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE / "book", repo / "book")
    git = ["git", *GIT_USER]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "mini-book"], cwd=repo, check=True)
    chapter = repo / "book" / "text" / "02-the-opposition-in-exile.md"
    lines = chapter.read_text(encoding="utf-8").splitlines(keepends=True)
    changed_line = next(n for n, line in enumerate(lines, start=1)
                        if n > 2 and line.strip() and not line.startswith(("#", "[^", "!")))
    lines[changed_line - 1] = lines[changed_line - 1].replace(" the ", " THE ", 1)
    chapter.write_text("".join(lines), encoding="utf-8")
    out = tmp_path / "out"
    assert build("proof", repo / "book", out, tmp_path / "cache", "--since", "HEAD", "--no-pictures") == 0
    data = json.loads((out / "mini-book-proof.json").read_text(encoding="utf-8"))
    changed = [m for m in data["marks"] if m["changed"]]
    assert {m["source"] for m in changed} == {f"text/02-the-opposition-in-exile.md:{changed_line}"}
    assert data["front_sheets"] == 1
    first = " ".join(pdftotext(out / "mini-book-proof.pdf", 1).split())
    assert "Changes since HEAD" in first
    assert re.search(r"text/02-the-opposition-in-?exile\.md:" + str(changed_line), first.replace(" ", ""))
    assert changed[0]["page"] in first
    per_sheet = bars(out / "mini-book-proof.pdf")
    assert {sheet for sheet, n in enumerate(per_sheet, start=1) if n} == {m["sheet"] for m in changed}


def test_since_an_unknown_revision_is_an_error(tmp_path, capsys):
    assert build("proof", FIXTURE / "book", tmp_path / "out", tmp_path / "cache", "--since",
                 "no-such-revision-anywhere", "--no-pictures") == 1
    assert "Q002" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_chapter_proof_has_only_that_chapter_with_its_real_folios(built):
    page_map = json.loads((built / "cache" / "pagemap-paperback.json").read_text(encoding="utf-8"))
    labels = [p["label"] for p in page_map["pages"]]
    first = page_map["anchor_pages"]["the-opposition-in-exile"]
    after = page_map["anchor_pages"]["the-turn"]
    out = built / "chapter"
    assert build("proof", FIXTURE / "book", out, built / "cache", "--chapter", "2") == 0
    pdf = out / "mini-book-proof-chapter-2.pdf"
    data = json.loads((out / "mini-book-proof-chapter-2.json").read_text(encoding="utf-8"))
    count = len(data["pages"])
    # Its pages, less the blank verso before the next chapter.
    assert count in (after - first, after - first - 1)
    assert [p["label"] for p in data["pages"]] == labels[first:first + count]
    with pikepdf.open(pdf) as doc:
        assert len(doc.pages) == count
        assert [str(page.label) for page in doc.pages] == labels[first:first + count]
    for sheet in range(1, count + 1):
        assert words(trim_text(pdf, sheet)) == words(pdftotext(built / "mini-book.pdf", first + sheet))
    assert {m["file"] for m in data["marks"]} == {"text/02-the-opposition-in-exile.md"}
    assert not list(out.glob("*.html")) and not (out / "spreads").exists()


def test_a_lengthened_chapter_runs_on_with_its_folios(built, tmp_path, capsys):
    """An editor adds text to chapter 2: its proof has more pages than the page map knew, the
    new ones with the folios that follow, each page with its running head or folio."""
    shutil.copytree(FIXTURE, tmp_path / "repo")
    book = tmp_path / "repo" / "book"
    shutil.copytree(built / "cache", tmp_path / "cache")
    page_map = json.loads((tmp_path / "cache" / "pagemap-paperback.json").read_text(encoding="utf-8"))
    first = page_map["anchor_pages"]["the-opposition-in-exile"]
    before = page_map["anchor_pages"]["the-turn"] - first
    chapter = book / "text" / "02-the-opposition-in-exile.md"
    text = chapter.read_text(encoding="utf-8")
    added = "\n\n".join(["The exiles wrote long letters to each other about the turn, the "
                          "platform and the regime of the party, and they copied them by hand. " * 6] * 10)
    chapter.write_text(text.replace("\n\n[^1]:", f"\n\n{added}\n\n[^1]:", 1), encoding="utf-8")
    out = tmp_path / "out"
    assert build("proof", book, out, tmp_path / "cache", "--chapter", "2") == 0
    # The page map is the last `make pdf`'s, older than the edit: said, and used for the folios.
    assert "pagemap-paperback.json: warning Q003: the page map is older than the sources" in capsys.readouterr().err
    data = json.loads((out / "mini-book-proof-chapter-2.json").read_text(encoding="utf-8"))
    labels = [p["label"] for p in data["pages"]]
    assert len(labels) > before
    assert labels == [str(int(labels[0]) + i) for i in range(len(labels))]
    pdf = out / "mini-book-proof-chapter-2.pdf"
    with pikepdf.open(pdf) as doc:
        assert len(doc.pages) == len(labels)
    for sheet, label in enumerate(labels, start=1):
        page = trim_text(pdf, sheet).split()
        # The folio is by the running head, or at the foot of the opening page.
        assert label in (*page[:6], page[-1]), (sheet, page[:6], page[-3:])


def test_grid_table_cells_are_found_line_by_line():
    from bookbuild.proof.sources import grid_cells

    text = ("Before.\n\n+------+-------+\n| One  | Two   |\n+======+=======+\n| left | right |\n"
            "| cell | cell  |\n|      |       |\n|      | more  |\n+------+-------+\n\nAfter.\n")
    assert [(line, " ".join(cell.split())) for line, cell in grid_cells(text)] == [
        (4, "One"), (4, "Two"), (6, "left cell"), (6, "right cell more")]


def test_an_unknown_chapter_is_an_error(built, capsys):
    assert build("proof", FIXTURE / "book", built / "nothing", built / "cache", "--chapter", "99") == 1
    assert "Q001" in capsys.readouterr().err


class Checker(html.parser.HTMLParser):
    """Start and end tags balanced, ids unique, no block inside a paragraph or a span."""

    VOID = {"meta", "link", "img", "br", "hr", "input", "source", "wbr", "col"}
    BLOCK = {"p", "div", "section", "ul", "ol", "li", "table", "figure", "blockquote", "h1", "h2", "h3",
             "aside", "dl", "header", "footer", "main", "nav"}

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.ids: list[str] = []
        self.faults: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag in self.BLOCK and any(t in ("p", "span") for t in self.stack):
            self.faults.append(f"<{tag}> inside <{self.stack[-1]}>")
        if (tag == "link" and "stylesheet" in attrs.get("rel", "")) or \
                (tag in ("img", "script") and not attrs.get("src", "data:").startswith("data:")):
            self.external.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.faults.append(f"</{tag}> closes <{self.stack[-1] if self.stack else ''}>")
            return
        self.stack.pop()


@pytest.fixture(scope="module")
def html_page(built) -> str:
    return (built / "proof" / "mini-book.html").read_text(encoding="utf-8")


def test_html_proof_is_one_valid_self_contained_page(html_page):
    assert html_page.startswith("<!DOCTYPE html>")
    checker = Checker()
    checker.feed(html_page)
    checker.close()
    assert not checker.faults and not checker.stack
    assert len(checker.ids) == len(set(checker.ids))
    assert not checker.external
    assert "<style>" in html_page and ".sidenote" in html_page


def test_html_proof_has_the_markers_and_the_notes_beside_their_references(html_page):
    from lxml import html as lxml_html

    root = lxml_html.fromstring(html_page)
    chapter = FIXTURE / "book" / "text" / "01-the-grain-crisis.md"
    para = next(p for p in root.iter("p") if "Bukharin watched" in p.text_content())
    marker = para.find("span[@class='src']")
    assert marker.text == f"text/01-the-grain-crisis.md:{line_of(chapter, 'Bukharin watched')}"
    ref = next(a for a in para.iter("a") if "footnote-ref" in a.get("class", ""))
    note = ref.getnext()
    assert "sidenote" in note.get("class")
    assert "Osnovnye zadachi partii" in note.text_content()
    assert note.find("span[@class='src']").text == f"text/01-the-grain-crisis.md:{line_of(chapter, '[^2]:')}"
    assert {s.text.split(":")[0] for s in root.iter("span") if s.get("class") == "src"} >= {
        "text/00-foreword.md", "text/03-the-turn.md", "glossary.yaml", "biographies.yaml", "congresses.yaml"}
    assert not root.find_class("endnotes")


def test_html_proof_shows_lint_findings_where_they_are(html_page):
    from lxml import html as lxml_html

    root = lxml_html.fromstring(html_page)
    try:
        from bookbuild.lint import lint_book
    except ImportError:
        assert "lint was not run" in html_page
        return
    findings = lint_book((FIXTURE / "book").resolve()).findings
    flags = root.find_class("lint")
    assert findings and len(flags) == len(findings)
    straight = next(f for f in findings if f.code == "L001" and f.path.endswith("01-the-grain-crisis.md"))
    block = next(el for el in root.iter() if el.get("data-src") == f"text/01-the-grain-crisis.md:{straight.line}")
    assert any("L001" in flag.text_content() for flag in block.find_class("lint"))


def test_spreads_of_every_opening_and_contact_sheets(built, sidecar):
    folder = built / "proof"
    spreads = sorted((folder / "spreads").glob("*.png"))
    book_yaml = (FIXTURE / "book" / "book.yaml").read_text(encoding="utf-8")
    contents = re.findall(r"^\s+- \{file: ", book_yaml, re.M)
    assert len(spreads) == len(contents)
    assert [s.name[3:-4] for s in spreads] == ["foreword", "the-grain-crisis", "the-opposition-in-exile",
                                              "the-turn", "glossary", "congresses", "biographies", "index"]
    with Image.open(spreads[1]) as image:
        width, height = image.size
        assert width > 1.2 * height            # two pages side by side (one is 2:3)
    sheets = sorted(folder.glob("contact-sheet-*.png"))
    assert len(sheets) == math.ceil((len(sidecar["pages"]) + 1) / pictures.PER_SHEET)


def test_contact_sheets_hold_sixty_places_each(built, tmp_path, monkeypatch):
    pdf = (built / "mini-book.pdf").read_bytes()
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        labels = [str(p.label) for p in doc.pages]
    interior = Interior(pdf, labels, list(range(len(labels))), [], [])
    monkeypatch.setattr(pictures, "PER_SHEET", 10)
    slug = type("Slug", (), {"title": "T", "version": "v", "date": "d"})()
    made = pictures.contact_sheets(interior, tmp_path, slug)
    # The first page is a recto: the place before it, a verso's, stays empty.
    assert len(made) == math.ceil((len(labels) + 1) / 10)
    assert [p.name for p in made] == [f"contact-sheet-{n:02d}.png" for n in range(1, len(made) + 1)]


@pytest.mark.integration
def test_the_real_book_chapter_proof(tmp_path):
    """A chapter of the real book (expectations.yaml's proof_chapter): the print pages, with the
    print folios, from the cache."""
    root = realbook.require()
    number = realbook.expect("proof_chapter")
    slug, edition = realbook.config()["slug"], realbook.print_edition()[0]
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert cli.main(["-q", "pdf", "--book", str(root), "--edition", edition]) == 0
        assert cli.main(["-q", "proof", "--book", str(root), "--out", str(tmp_path), "--chapter", str(number)]) == 0
    assert "Q005" not in err.getvalue()
    data = json.loads((tmp_path / f"{slug}-proof-chapter-{number}.json").read_text(encoding="utf-8"))
    printed = realbook.BUILD / f"{slug}.pdf"
    page_map = json.loads((realbook.BUILD / "cache" / f"pagemap-{edition}.json").read_text(encoding="utf-8"))
    first = page_map["anchor_pages"][realbook.unit_id(number)]
    assert data["pages"][0]["label"] == page_map["pages"][first]["label"]
    for page in data["pages"][:6]:
        ours = words(trim_text(tmp_path / f"{slug}-proof-chapter-{number}.pdf", page["sheet"]))
        assert ours == words(pdftotext(printed, page["book_page"]))
    chapter = next(e["file"] for e in realbook.config()["contents"] if e.get("number") == number)
    assert {m["file"] for m in data["marks"]} == {chapter}
    paragraphs = [b for b in (root / chapter).read_text(encoding="utf-8").split("\n\n") if b.strip()]
    assert len(data["marks"]) >= len(paragraphs) // 2


def test_the_html_proof_runs_and_loads_nothing_of_a_contributors(tmp_path):
    """Scripts, frames, handlers, remote styles and images in a chapter's raw HTML do not
    reach the editor's browser; a Content-Security-Policy refuses anything left."""
    from lxml import html as lxml_html

    from bookbuild.proof.htmlproof import sanitize

    section = lxml_html.fragment_fromstring(
        '<section><p onclick="steal()">Grain <a href="javascript:go()">here</a> and '
        '<a href="https://example.org/">out</a>.</p><script>steal()</script>'
        '<iframe src="https://example.org/"></iframe><link rel="stylesheet" href="https://example.org/x.css">'
        '<p style="background: url(http://example.org/t.png)">Exile</p><img src="http://example.org/t.png" alt="">'
        '</section>')
    assert sanitize(section) == 7
    out = lxml_html.tostring(section, encoding="unicode")
    assert not any(bad in out for bad in ("onclick", "javascript:", "<script", "<iframe", "<link", "url(",
                                          'src="http'))
    assert "Grain" in out and "Exile" in out and 'href="https://example.org/"' in out
    template = (Path(__file__).parent.parent / "templates" / "proof" / "proof.html.j2").read_text()
    assert "Content-Security-Policy" in template and "default-src 'none'" in template
