"""`build.py dist` on the mini-book in two print editions of different trim: bundle, covers, ONIX, reproducibility, bad input."""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import zipfile
from datetime import datetime
from pathlib import Path

import pikepdf
import pytest
from lxml import etree

import realbook
from bookbuild import cli, validate
from bookbuild.dist import barcode, cover, onix, pdfx
from bookbuild.print.checks import pdf_fonts

FIXTURES = Path(__file__).parent / "fixtures"
MINI = FIXTURES / "mini-book"
TWO_EDITIONS = FIXTURES / "two-editions" / "book.yaml"
PRINTERS = Path(__file__).parent.parent / "printers"
REAL_BOOK = realbook.BOOK
ONIX_NS = {"o": "http://ns.editeur.org/onix/3.0/reference"}
PAPERBACK, CLOTH = "9781893638815", "9781893638822"
PT = 72.0


def make_repo(tmp: Path, tag: str | None = "v2.0.0") -> Path:
    """The mini-book with tests/fixtures/two-editions/book.yaml, committed in a git repository
    of its own at a fixed date (release dates come from the commit)."""
    repo = tmp / "repo"
    shutil.copytree(MINI, repo, ignore=shutil.ignore_patterns("build", "dist"))
    shutil.copy(TWO_EDITIONS, repo / "book" / "book.yaml")
    # As in the project: build/ and dist/ are not sources, so a release leaves the tree clean.
    shutil.copy(Path(__file__).parent.parent / ".gitignore", repo / ".gitignore")
    env = dict(os.environ, GIT_AUTHOR_DATE="2019-06-01T12:00:00Z", GIT_COMMITTER_DATE="2019-06-01T12:00:00Z")
    env.pop("SOURCE_DATE_EPOCH", None)
    ident = ["-c", "user.name=Test", "-c", "user.email=test@example.org", "-c", "commit.gpgsign=false"]
    for command in (["init", "-q"], ["add", "-A"], [*ident, "commit", "-q", "-m", "The mini-book in two editions"],
                    *([["tag", tag]] if tag else [])):
        subprocess.run(["git", "-C", str(repo), *command], check=True, env=env, capture_output=True)
    return repo


def dist(repo: Path, cache: Path, *extra: str) -> int:
    """`build.py dist` on the repository; its dates come from the commit, whatever the environment says."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("SOURCE_DATE_EPOCH", raising=False)
        return cli.main(["-q", "dist", "--book", str(repo / "book"), "--cache", str(cache), *extra])


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def release(tmp_path_factory, mini_pdf) -> Path:
    """One release of the two-edition book, validators included; its cache starts with the
    parts of the session's layout (tests/conftest.py) that the paperback shares, and
    test_two_builds_are_byte_identical builds it again from nothing."""
    tmp = tmp_path_factory.mktemp("dist")
    repo = make_repo(tmp)
    shutil.copytree(mini_pdf.parts, tmp / "cache" / "print")
    assert dist(repo, tmp / "cache") == 0
    return repo / "dist" / "2.0.0"


@pytest.fixture(scope="module")
def manifest(release) -> dict:
    return json.loads((release / "manifest.json").read_text(encoding="utf-8"))


def entry(manifest: dict, edition: str, kind: str) -> dict:
    return next(f for f in manifest["files"] if f["edition"] == edition and f["kind"] == kind)


def pdftotext(data: bytes, first: int, last: int) -> str:
    return subprocess.run(["pdftotext", "-f", str(first), "-l", str(last), "-", "-"], input=data,
                          capture_output=True, check=True).stdout.decode("utf-8")


# --- the bundle ------------------------------------------------------------------------------

def test_bundle_holds_every_edition(release, manifest):
    assert sorted(files_of(release)) == [
        "RELEASE-NOTES.md", "SHA256SUMS",
        f"cloth/{CLOTH}_cover.pdf", f"cloth/{CLOTH}_interior.pdf", f"cloth/{CLOTH}_onix.xml",
        "ebook/mini-book-ebook-cover.png", "ebook/mini-book-ebook.epub", "manifest.json",
        f"paperback/{PAPERBACK}_cover.pdf", f"paperback/{PAPERBACK}_interior.pdf",
        f"paperback/{PAPERBACK}_onix.xml"]
    assert manifest["version"] == {"name": "2.0.0", "from": "book.yaml and git tag v2.0.0", "git_tag": "v2.0.0",
                                   "commit": manifest["version"]["commit"], "uncommitted_changes": False}
    assert manifest["date"] == "2019-06-01T12:00:00Z"
    work = release.parent.parent.parent  # beside the cache: the staging folder is gone
    assert not list(work.glob(".dist-*"))


def test_sums_and_manifest_describe_every_file(release, manifest):
    lines = (release / "SHA256SUMS").read_text().splitlines()
    listed = {path: digest for digest, path in (line.split("  ") for line in lines)}
    files = files_of(release)
    assert set(listed) == set(files) - {"SHA256SUMS"}
    for path, digest in listed.items():
        assert hashlib.sha256(files[path]).hexdigest() == digest, path
    for record in manifest["files"]:
        data = files[record["path"]]
        assert record["bytes"] == len(data) and record["sha256"] == hashlib.sha256(data).hexdigest()
        assert record["isbn"] == {"paperback": PAPERBACK, "cloth": CLOTH, "ebook": None}[record["edition"]]
        assert record["path"].startswith(record["edition"] + "/")


def test_release_notes_say_what_was_checked(release):
    notes = (release / "RELEASE-NOTES.md").read_text()
    assert "release 2.0.0" in notes and "(tag v2.0.0)" in notes
    assert "- The mini-book in two editions (" in notes
    for checker in validate.EPUBCHECKS:
        assert f"EPUBCheck {checker}: 0 fatal, 0 error, 0 warning" in notes
    assert "Ace: 0 critical, 0 serious, 0 moderate, 0 minor" in notes
    # The absent photograph is settled (missing_art: caption) and listed, not a warning.
    assert "1 × F001" not in notes
    assert "## Figures set as their captions alone" in notes
    assert "- The Grain Crisis of 1928: Viacheslav Mikhailovich Molotov (1890–1986)" in notes


# --- interiors -------------------------------------------------------------------------------

@pytest.mark.parametrize("edition, isbn, other, binding, other_binding, trim", [
    ("paperback", PAPERBACK, CLOTH, "paperback", "cloth", (6, 9)),
    ("cloth", CLOTH, PAPERBACK, "cloth", "paperback", (5.5, 8.5)),
])
def test_interior_is_its_own_edition(release, manifest, edition, isbn, other, binding, other_binding, trim):
    data = (release / entry(manifest, edition, "interior")["path"]).read_bytes()
    front = re.sub(r"\s+", " ", pdftotext(data, 1, 6))
    assert f"ISBN {isbn} ({binding})" in front
    assert f"ISBN {other} ({other_binding})" not in front
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert len(pdf.pages) == entry(manifest, edition, "interior")["pages"]
        assert len(pdf.pages) % 2 == 0
        width, height = trim[0] * PT, trim[1] * PT
        for page in pdf.pages:
            assert [float(v) for v in page.TrimBox] == [0, 0, width, height]
            # Nothing in the interior bleeds: the page is the trim (KDP, IngramSpark).
            assert [float(v) for v in page.MediaBox] == [0, 0, width, height]


@pytest.mark.parametrize("kind", ["interior", "cover"])
@pytest.mark.parametrize("edition", ["paperback", "cloth"])
def test_print_files_are_pdfx_1a(release, manifest, edition, kind):
    data = (release / entry(manifest, edition, kind)["path"]).read_bytes()
    assert pdfx.verify(data) == []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert pdf.pdf_version == "1.4"
        assert str(pdf.docinfo.GTS_PDFXVersion) == "PDF/X-1a:2003"
        assert str(pdf.Root.OutputIntents[0].OutputConditionIdentifier) == "CGATS TR 001"
        assert str(pdf.docinfo.CreationDate) == "D:20190601120000Z"
    fonts = pdf_fonts(data)
    assert fonts and all(embedded for _, embedded in fonts)


def test_press_turns_colour_into_black(tmp_path):
    """A line of red type becomes gray, Lab colour spaces go, and the file says PDF/X-1a."""
    from weasyprint import HTML

    page = ('<html><style>@page { size: 2in 1in; bleed: 0.125in } body { color: rgb(255, 0, 0); '
            'font-family: "EB Garamond 12" }</style><body><p>Red words</p></body></html>')
    data, violations = pdfx.press(HTML(string=page).write_pdf(), "Test", datetime(2019, 6, 1), even=True)
    assert violations == []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert len(pdf.pages) == 2
        operators = {str(op) for _, op in pikepdf.parse_content_stream(pdf.pages[0])}
        assert "rg" not in operators and "g" in operators
        assert "/ColorSpace" not in pdf.pages[0].Resources or not any(
            str(k).startswith("/lab") for k in pdf.pages[0].Resources.ColorSpace.keys())


# --- covers ----------------------------------------------------------------------------------

def inches(text: str) -> float:
    assert text.endswith("in"), text
    return float(text[:-2])


def expected_caliper(edition: dict) -> float:
    """The paper thickness the spine formula uses: the printer's own figure for the edition's
    paper (printers/<printer>.yaml `papers`), else book.yaml's `caliper` (IngramSpark
    publishes none)."""
    import yaml

    profile = yaml.safe_load((PRINTERS / f"{edition['printer']}.yaml").read_text(encoding="utf-8"))
    papers = {name: inches(value) for name, value in (profile.get("papers") or {}).items()}
    return next((c for name, c in papers.items() if name in edition["paper"]), inches(edition["caliper"]))


def test_spine_is_pages_times_caliper(release, manifest):
    """Each edition's spine is the page count of the interior PDF it ships times the caliper of
    its paper, from the printer's profile; the manifest and the cover say so too."""
    import yaml

    editions = yaml.safe_load(TWO_EDITIONS.read_text(encoding="utf-8"))["editions"]
    assert "papers" in yaml.safe_load((PRINTERS / "kdp.yaml").read_text(encoding="utf-8"))  # one from a profile
    for name in ("paperback", "cloth"):
        with pikepdf.open(release / entry(manifest, name, "interior")["path"]) as pdf:
            pages = len(pdf.pages)
        spine = pages * expected_caliper(editions[name])
        facts = manifest["editions"][name]
        assert facts["pages"] == pages and facts["spine_in"] == pytest.approx(spine, abs=5e-5), name
        for kind in ("interior", "cover"):
            record = entry(manifest, name, kind)
            assert record["spine_in"] == facts["spine_in"] and record["pages"] == pages
        boards = 2 * inches(editions[name]["case"]["board"]) if editions[name]["cover"] == "case" else 0
        assert facts["cover_spine_in"] == pytest.approx(spine + boards, abs=5e-5), name


def test_wrap_cover_is_back_spine_front_and_bleed(release, manifest):
    facts = manifest["editions"]["paperback"]
    data = (release / entry(manifest, "paperback", "cover")["path"]).read_bytes()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        x1, y1, x2, y2 = (float(v) for v in pdf.pages[0].MediaBox)
        tx1, ty1, tx2, ty2 = (float(v) for v in pdf.pages[0].TrimBox)
    spine = facts["pages"] * 0.0025 * PT
    assert x2 - x1 == pytest.approx(6 * PT + spine + 6 * PT + 2 * 0.125 * PT, abs=0.01)
    assert y2 - y1 == pytest.approx(9 * PT + 2 * 0.125 * PT, abs=0.01)
    assert tx2 - tx1 == pytest.approx(12 * PT + spine, abs=0.01)
    assert facts["cover_spine_text"] is False  # 26 pages: 0.065 in, under a quarter inch


def test_case_cover_is_boards_hinges_spine_and_turn_ins(release, manifest):
    facts = manifest["editions"]["cloth"]
    data = (release / entry(manifest, "cloth", "cover")["path"]).read_bytes()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        x1, y1, x2, y2 = (float(v) for v in pdf.pages[0].MediaBox)
    spine = facts["pages"] * 0.0023 * PT + 2 * 0.098 * PT
    assert facts["cover_spine_in"] == pytest.approx(spine / PT, abs=5e-5)
    assert x2 - x1 == pytest.approx(2 * 0.75 * PT + 2 * 5.5 * PT + 2 * 0.4 * PT + spine, abs=0.01)
    assert y2 - y1 == pytest.approx(8.5 * PT + 2 * 0.75 * PT, abs=0.01)
    assert facts["cover_spine_text"] is True  # with its boards the case spine passes a quarter inch
    paperback = manifest["editions"]["paperback"]["cover_sheet_in"]
    assert facts["cover_sheet_in"] != paperback


@pytest.mark.parametrize("edition, isbn", [("paperback", PAPERBACK), ("cloth", CLOTH)])
def test_barcode_on_the_back_cover_scans_as_the_isbn(release, manifest, edition, isbn, tmp_path):
    """Only the back panel is rendered (at 300 dpi, as a scanner sees print) and given to zbarimg."""
    data = (release / entry(manifest, edition, "cover")["path"]).read_bytes()
    facts = manifest["editions"][edition]
    g = cover.Geometry(facts["cover"], tuple(v * PT for v in facts["trim_in"]), facts["cover_spine_in"] * PT,
                       facts["cover_bleed_in"] * PT, facts.get("case_wrap_in", 0) * PT,
                       facts.get("case_hinge_in", 0) * PT)
    x, y, w, h = g.panels()["back"]
    dpi = 300
    source = tmp_path / "cover.pdf"
    source.write_bytes(data)
    subprocess.run(["pdftoppm", "-png", "-singlefile", "-r", str(dpi), "-x", str(round((x + g.bleed) * dpi / PT)),
                    "-y", str(round((y + g.bleed) * dpi / PT)), "-W", str(round(w * dpi / PT)),
                    "-H", str(round(h * dpi / PT)), str(source), str(tmp_path / "back")], check=True)
    read = subprocess.run(["zbarimg", "--quiet", str(tmp_path / "back.png")], capture_output=True, text=True)
    assert read.stdout.split() == [f"EAN-13:{isbn}"]


def test_cover_art_fills_the_photo_area(tmp_path):
    """Named art replaces the placeholder: gray in the print cover (PDF/X-1a takes no RGB),
    as it is in the ebook's."""
    import base64

    from PIL import Image

    from bookbuild.read import read_book

    repo = make_repo(tmp_path, tag=None)
    Image.new("RGB", (300, 200), (200, 30, 30)).save(repo / "book" / "images" / "cover-photos.png")
    path = repo / "book" / "book.yaml"
    art = "    cover_image: images/cover-photos.png\n"
    path.write_text(path.read_text().replace("    cover: wrap\n    cover_art: type\n", "    cover: wrap\n" + art)
                    .replace("    cover: image\n    cover_art: type\n", "    cover: image\n" + art))
    book = read_book(repo / "book", tmp_path / "cache")
    edition = book.config.editions["paperback"]
    moment = datetime(2019, 6, 1)
    html = cover.render_html(book, edition, cover.geometry(edition, 300), cover.blurb_html(book.config.blurb), moment)
    assert "Placeholder" not in html
    data, warnings = cover.render_pdf(html, pdfx.WEASYPRINT_VARIANT)
    data, violations = pdfx.press(data, "Test", moment)
    assert warnings == [] and violations == []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        images = [o for o in pdf.objects if isinstance(o, pikepdf.Stream) and o.get("/Subtype") == "/Image"]
        assert images and all(str(i.ColorSpace) == "/DeviceGray" for i in images)
    ebook = cover.render_html(book, book.config.editions["ebook"], cover.ebook_geometry(432), "", moment)
    original = base64.b64encode((repo / "book" / "images" / "cover-photos.png").read_bytes()).decode()
    assert f"data:image/png;base64,{original}" not in html and f"data:image/png;base64,{original}" in ebook


def test_barcode_modules_follow_the_encoding_tables():
    # 9 780306 406157: first digit 9 → parity LGGLGL; a symbol of 95 modules between guards.
    pattern = barcode.modules("9780306406157")
    assert len(pattern) == 95 and pattern.startswith("101") and pattern.endswith("101")
    assert pattern[3:10] == barcode.L_CODES[7] and pattern[10:17] == barcode.G_CODES[8]
    assert pattern[45:50] == "01010" and pattern[50:57] == barcode.R_CODES[4]
    with pytest.raises(ValueError):
        barcode.modules("9780306406158")


def test_ebook_cover_is_big_enough_and_in_the_epub(release, manifest):
    from PIL import Image

    png = (release / entry(manifest, "ebook", "cover-image")["path"]).read_bytes()
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (1600, 2560)
    with zipfile.ZipFile(release / entry(manifest, "ebook", "epub")["path"]) as epub:
        assert epub.read("EPUB/images/cover.png") == png
        opf = epub.read("EPUB/package.opf").decode()
        nav = epub.read("EPUB/text/nav.xhtml").decode()
    assert 'href="images/cover.png" media-type="image/png" properties="cover-image"' in opf
    assert "<meta property=\"dcterms:modified\">2019-06-01T12:00:00Z</meta>" in opf
    assert 'epub:type="page-list"' in nav


def test_ebook_page_list_follows_the_paperback(release, manifest):
    with zipfile.ZipFile(release / entry(manifest, "ebook", "epub")["path"]) as epub:
        nav = etree.fromstring(epub.read("EPUB/text/nav.xhtml"))
    ns = {"x": "http://www.w3.org/1999/xhtml", "epub": "http://www.idpf.org/2007/ops"}
    labels = [a.text for a in nav.xpath("//x:nav[@epub:type='page-list']//x:a", namespaces=ns)]
    with pikepdf.open(release / entry(manifest, "paperback", "interior")["path"]) as pdf:
        printed = len(pdf.pages)
    assert labels[0] == "i" and "1" in labels
    assert len(labels) <= printed


# --- ONIX ------------------------------------------------------------------------------------

@pytest.mark.parametrize("edition, isbn, form, trim", [("paperback", PAPERBACK, "BC", ("9.00", "6.00")),
                                                       ("cloth", CLOTH, "BB", ("8.50", "5.50"))])
def test_onix_record_names_its_own_isbn(release, manifest, edition, isbn, form, trim):
    xml = (release / entry(manifest, edition, "onix")["path"]).read_bytes()
    root = etree.fromstring(xml)
    assert onix.validate(xml.decode()) == []

    def values(path: str) -> list[str]:
        return [e.text for e in root.xpath(path, namespaces=ONIX_NS)]

    assert values("//o:Product/o:ProductIdentifier[o:ProductIDType='15']/o:IDValue") == [isbn]
    assert values("//o:ProductForm") == [form]
    assert values("//o:Measure[o:MeasureType='01']/o:Measurement") == [trim[0]]
    assert values("//o:Measure[o:MeasureType='02']/o:Measurement") == [trim[1]]
    assert values("//o:Contributor/o:ContributorRole") == ["A01", "B06"]
    assert values("//o:Contributor[o:ContributorRole='B06']/o:FromLanguage") == ["rus"]
    assert values("//o:Collection//o:PartNumber") == ["2"]
    assert values("//o:Collection//o:TitleText") == ["Was There an Alternative?"]
    assert values("//o:Subject[o:MainSubject]/o:SubjectCode") == ["HIS032000"]
    assert values("//o:Subject[o:SubjectSchemeIdentifier='04']/o:SubjectHeadingText")[0] == \
        "Soviet Union--Politics and government--1917-1936"
    numbered = values("//o:Extent[o:ExtentType='05']/o:ExtentValue")
    assert numbered and int(numbered[0]) <= manifest["editions"][edition]["pages"]
    assert values("//o:PublishingDate/o:Date") == ["2019"]
    assert values("//o:LanguageCode") == ["eng", "rus"]
    other = CLOTH if isbn == PAPERBACK else PAPERBACK
    assert values("//o:RelatedProduct/o:ProductIdentifier/o:IDValue") == [other]


def test_onix_validation_finds_a_missing_element(release, manifest):
    xml = (release / entry(manifest, "paperback", "onix")["path"]).read_text()
    broken = re.sub(r"<NotificationType>03</NotificationType>", "", xml)
    assert any("NotificationType" in message for message in onix.validate(broken))


# --- reproducibility and replacing a release ---------------------------------------------------

def test_a_release_is_not_replaced_without_force(release, capsys):
    repo = release.parent.parent
    before = files_of(release)
    assert dist(repo, repo.parent / "cache") == 1
    err = capsys.readouterr().err
    assert "error D002: release 2.0.0 exists already; --force replaces it" in err
    assert files_of(release) == before


def test_two_builds_are_byte_identical(release, tmp_path):
    """Built again with --force and a fresh cache, every file is the same to the byte."""
    repo = release.parent.parent
    before = files_of(release)
    assert dist(repo, tmp_path / "cache", "--force") == 0
    after = files_of(release)
    assert sorted(after) == sorted(before)
    assert [name for name in before if before[name] != after[name]] == []


# --- bad input: a clear error naming the setting, nothing written ---------------------------------

def edit(repo: Path, old: str, new: str) -> int:
    """Replace `old` in book.yaml and return the line it was on."""
    path = repo / "book" / "book.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text[:text.index(old)].count("\n") + 1


@pytest.mark.parametrize("old, new, at, message", [
    ('isbn: "9781893638822"', 'isbn: "9781893638823"', ('isbn: "9781893638823"', 0),
     r'book\.yaml:{line}:11: error C004: editions\.cloth\.isbn: "9781893638823" is not a valid ISBN-13'),
    ("    trim: 5.5x8.5in\n", "", ("  cloth:\n", 1),
     r"book\.yaml:{line}:5: error C002: editions\.cloth\.trim: missing"),
    ("    caliper: 0.0023in\n", "    caliper: 0\n", ("caliper: 0\n", 0),
     r'book\.yaml:{line}:14: error C004: editions\.cloth\.caliper: expected a paper thickness per page, '
     r'more than 0 .* got "0"'),
    ("    cover: wrap\n", "    cover: wrap\n    cover_image: images/cover-photos.jpg\n", ("cover_image:", 0),
     r'book\.yaml:{line}:18: error D004: editions\.paperback\.cover_image: "images/cover-photos\.jpg" '
     r"does not exist"),
    ("    printer: kdp\n    missing_art: caption\n", "    printer: kdp\n", ("version", 0),
     r"01-the-grain-crisis\.md:9:1: error D012: figure fig-molotov has no art \(images/molotov\.jpg\) and the "
     r"paperback edition\(s\) would print a placeholder: put the art there, or set editions\.<name>\.missing_art: "
     r"caption"),
    ("    cover: wrap\n    cover_art: type\n", "    cover: wrap\n", ("  paperback:\n", 1),
     r"book\.yaml:{line}:5: error D012: editions\.paperback: the cover design has a photograph but no "
     r"cover_image: name the art, or set cover_art: type for a type-only cover"),
    ("    printer: ingramspark\n", "", ("  cloth:\n", 1),
     r"book\.yaml:{line}:5: error D003: editions\.cloth\.printer: missing \(the printer whose rules the files "
     r"must meet: ingramspark, kdp\)"),
    ("    caliper: 0.0025in\n", "    caliper: 0.0024in\n", ("caliper: 0.0024in", 0),
     r"book\.yaml:{line}:14: error K003: caliper 0\.0024 in: Amazon KDP's cream paper is 0\.0025 in a page, "
     r"and its spine formula uses it \(printer kdp: Amazon KDP\)"),
    ("    price: 29.95 USD\n", "    price: 29.95 EUR\n", ("price:", 0),
     r'book\.yaml:{line}:12: error C004: editions\.cloth\.price: expected a price and its currency'),
    ("version: 2.0.0", "version: 2.0.1", ("version: 2.0.1", 0),
     r'book\.yaml:{line}:10: error D001: version: book\.yaml says "2\.0\.1", the git tag at HEAD is "v2\.0\.0"'),
])
def test_bad_input_names_the_setting_and_writes_nothing(tmp_path, capsys, old, new, at, message):
    repo = make_repo(tmp_path)
    path = repo / "book" / "book.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    needle, below = at
    line = text[:text.index(needle)].count("\n") + 1 + below
    assert dist(repo, tmp_path / "cache") == 1
    err = capsys.readouterr().err
    assert re.search(message.format(line=line), err), err
    assert "nothing was written" in err
    assert not (repo / "dist").exists()
    assert not list(tmp_path.glob(".dist-*"))


def test_a_release_is_made_from_its_tag(tmp_path, capsys):
    repo = make_repo(tmp_path, tag=None)
    assert dist(repo, tmp_path / "cache") == 1
    err = capsys.readouterr().err
    assert re.search(r"book\.yaml:4:10: error D013: HEAD has no tag: run `git tag v2\.0\.0` \(a release is made "
                     r"from its tag\), then make dist", err), err
    subprocess.run(["git", "-C", str(repo), "tag", "v2.0.0"], check=True)
    (repo / "book" / "text" / "00-foreword.md").write_text("# Foreword\n\nChanged.\n")
    assert dist(repo, tmp_path / "cache") == 1
    assert "error D013: the working tree has uncommitted changes" in capsys.readouterr().err


def test_a_placeholder_note_is_refused(tmp_path, capsys):
    repo = make_repo(tmp_path)
    chapter = repo / "book" / "text" / "02-the-opposition-in-exile.md"
    text = chapter.read_text()
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row.startswith("[^2]:"))
    chapter.write_text(re.sub(r"(?m)^\[\^2\]: .*$", "[^2]: [The text of this note is missing.]{.missing}", text))
    assert dist(repo, tmp_path / "cache") == 1
    err = capsys.readouterr().err
    assert f"02-the-opposition-in-exile.md:{line}:1: error D012: note [^2] is the importer's placeholder" in err, err


# --- the real book -------------------------------------------------------------------------------

def tagged_copy(tmp: Path) -> Path:
    """The real book (book/, its art in book/images/) committed in a repository of its own and tagged with
    its version, as a release is made."""
    import yaml

    repo = tmp / "repo"
    shutil.copytree(REAL_BOOK, repo / "book", ignore=shutil.ignore_patterns("build", "dist"))
    shutil.copy(realbook.REPOSITORY / ".gitignore", repo / ".gitignore")
    version = yaml.safe_load((REAL_BOOK / "book.yaml").read_text())["version"]
    ident = ["-c", "user.name=Test", "-c", "user.email=test@example.org", "-c", "commit.gpgsign=false"]
    for command in (["init", "-q"], ["add", "-A"], [*ident, "commit", "-q", "-m", "The book"], ["tag", f"v{version}"]):
        subprocess.run(["git", "-C", str(repo), *command], check=True, capture_output=True)
    return repo


@pytest.mark.integration
def test_the_real_book_release(tmp_path):
    """The real book's release, validators included, read back as the printers' preflights read
    it (printers/*.yaml): page boxes, the safe zone, fonts, qpdf and Ghostscript, no unfinished
    matter, barcodes with their add-on, cover ink."""
    from bookbuild import printers
    from bookbuild.dist import preflight

    if not realbook.expect("release", False):
        pytest.skip("the book is not ready for a release (its expectations.yaml says no `release: true`)")
    repo = tagged_copy(tmp_path)
    cache = REAL_BOOK.parent / "build" / "cache"
    assert cli.main(["-q", "dist", "--book", str(repo / "book"), "--cache", str(cache)]) == 0
    version = next((repo / "dist").iterdir())
    manifest = json.loads((version / "manifest.json").read_text())
    assert manifest["version"]["git_tag"] == f"v{version.name}"
    prints = [n for n, e in realbook.config()["editions"].items() if e["format"] == "print"]
    for edition in prints:
        facts = manifest["editions"][edition]
        assert facts["pages"] >= realbook.expect("min_pages") and facts["pages"] % 2 == 0
        assert facts["spine_in"] == pytest.approx(facts["pages"] * facts["caliper_in"], abs=5e-5)
        profile = printers.load(yaml_edition(repo, edition)["printer"], printers.Problems())
        safe = printers.length(profile.interior.safe) / PT
        interior = (version / entry(manifest, edition, "interior")["path"]).read_bytes()
        assert_interior_passes(interior, facts["trim_in"], safe)
        data = (version / entry(manifest, edition, "cover")["path"]).read_bytes()
        assert sorted(barcode.scan(data)) == sorted([facts["isbn"], "90000"])
        assert f"ISBN {cover.isbn_hyphenated(facts['isbn'])}" in pdftotext(data, 1, 1)
        assert printers.max_ink(data)[0] <= profile.cover.max_ink
        assert pdfx.verify(data) == [] and preflight.pdf_problems(data) == []
    epub = (version / entry(manifest, "ebook", "epub")["path"]).read_bytes()
    assert preflight.unfinished(preflight.epub_text(epub)) == []
    for checker in validate.EPUBCHECKS:
        assert any(c.startswith(f"EPUBCheck {checker}: 0 fatal, 0 error, 0 warning") for c in manifest["checks"])
    subprocess.run(["sha256sum", "--check", "--quiet", "SHA256SUMS"], cwd=version, check=True)


def yaml_edition(repo: Path, name: str) -> dict:
    import yaml

    return yaml.safe_load((repo / "book" / "book.yaml").read_text())["editions"][name]


def assert_interior_passes(data: bytes, trim_in: list[float], safe: float) -> None:
    import pymupdf

    from bookbuild import printers
    from bookbuild.dist import preflight

    assert pdfx.verify(data) == []
    assert preflight.pdf_problems(data) == []
    assert preflight.unfinished(preflight.pdf_text(data)) == []
    width, height = (v * PT for v in trim_in)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            assert [float(v) for v in page.MediaBox] == [0, 0, width, height]
            assert [float(v) for v in page.TrimBox] == [0, 0, width, height]
        assert pdfx.font_violations(pdf) == []
    nearest = 9.0
    with pymupdf.open(stream=data, filetype="pdf") as doc:
        for page in doc:
            box = printers.ink_box(page)
            if box:
                nearest = min(nearest, box[0], box[1], width / PT - box[2], height / PT - box[3])
    assert nearest >= safe - printers.MEASURE_TOLERANCE_IN, nearest
