"""Cache keys from declared inputs: an edit to any module the print layout imports, another
WeasyPrint, or another face changes the page map's key and the parts' keys; an edit to any
module the read stage or the mention matcher imports changes their keys."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bookbuild import outputcache
from bookbuild.print import pagemap, parts

REPOSITORY = Path(__file__).resolve().parent.parent
MINI = Path(__file__).parent / "fixtures" / "mini-book"
PRINT_MODULES = ["bookbuild.print", "bookbuild.print.layout", "bookbuild.print.parts", "bookbuild.print.engine",
                 "bookbuild.print.deferral", "bookbuild.print.checks", "bookbuild.print.assemble",
                 "bookbuild.print.pagemap"]


@pytest.fixture
def code(tmp_path, monkeypatch):
    """A copy of bookbuild/ that the keys read instead of the real one, to edit."""
    package = tmp_path / "repo" / "bookbuild"
    shutil.copytree(outputcache.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(outputcache, "PACKAGE", package)
    monkeypatch.setattr(outputcache, "REPOSITORY", package.parent)
    return package


def loaded_modules(names: list[str] = PRINT_MODULES) -> list[str]:
    """The bookbuild modules Python loads with `names`: found by the import system, not the AST."""
    probe = (f"import importlib, sys\nfor m in {names!r}:\n    importlib.import_module(m)\n"
             "print(sorted(m for m in sys.modules if m.startswith('bookbuild')))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPOSITORY, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.replace("'", '"'))


def file_of(package: Path, module: str) -> Path:
    base = package.joinpath(*module.split(".")[1:])
    return base / "__init__.py" if (base / "__init__.py").exists() else base.with_suffix(".py")


def test_editing_any_module_the_layout_loads_changes_the_page_map_key(code):
    modules = [m for m in loaded_modules() if m != "bookbuild"]
    assert set(PRINT_MODULES) <= set(modules) and "bookbuild.transform" in modules
    before = pagemap.layout_key_of(MINI)
    for module in modules:
        path = file_of(code, module)
        original = path.read_bytes()
        path.write_bytes(original + b"\n# edited\n")
        assert pagemap.layout_key_of(MINI) != before, module
        path.write_bytes(original)
    assert pagemap.layout_key_of(MINI) == before


def test_a_module_the_layout_does_not_use_leaves_the_key(code):
    before = pagemap.layout_key_of(MINI)
    path = code / "lint" / "report.py"
    path.write_bytes(path.read_bytes() + b"\n# edited\n")
    assert pagemap.layout_key_of(MINI) == before


def test_a_new_module_the_print_package_imports_counts_without_being_listed(code):
    before = pagemap.layout_key_of(MINI)
    (code / "print" / "newstage.py").write_text('"""A stage added later."""\nX = 1\n')
    assert pagemap.layout_key_of(MINI) == before              # not imported yet: not an input
    engine = code / "print" / "engine.py"
    engine.write_text(engine.read_text() + "\nfrom . import newstage  # noqa\n")
    edited = pagemap.layout_key_of(MINI)
    (code / "print" / "newstage.py").write_text('"""A stage added later."""\nX = 2\n')
    assert len({before, edited, pagemap.layout_key_of(MINI)}) == 3


def test_another_weasyprint_changes_the_page_map_and_part_keys(monkeypatch):
    job = parts.Job("part", "<p>Text</p>", "@page { size: 6in 9in }", str(REPOSITORY))
    real = outputcache.package_version
    page_map, part = pagemap.layout_key_of(MINI), parts._job_key(job)
    parts._layout_code.cache_clear()
    monkeypatch.setattr(outputcache, "package_version",
                        lambda name: "99.0" if name == "weasyprint" else real(name))
    try:
        assert pagemap.layout_key_of(MINI) != page_map
        assert parts._job_key(job) != part
    finally:
        parts._layout_code.cache_clear()


def test_an_unrelated_package_leaves_the_key(monkeypatch):
    before = pagemap.layout_key_of(MINI)
    real = outputcache.package_version
    monkeypatch.setattr(outputcache, "package_version",
                        lambda name: "99.0" if name == "ebooklib" else real(name))
    assert pagemap.layout_key_of(MINI) == before


def test_another_face_changes_the_key(tmp_path, monkeypatch):
    from bookbuild.print import checks

    faces = tmp_path / "faces"
    shutil.copytree(checks.FONT_DIR, faces)
    monkeypatch.setattr(checks, "FONT_DIR", faces)
    before = pagemap.layout_key_of(MINI)
    face = faces / checks.FACE_FILES["regular"]
    face.write_bytes(face.read_bytes() + b"\0")
    assert pagemap.layout_key_of(MINI) != before


def read_key() -> str:
    from bookbuild import read

    return read.code_key.__wrapped__()


def mention_key() -> str:
    from bookbuild import transform
    from bookbuild.model import IndexHeading

    class Indexed:
        index = [IndexHeading("smirnov-i-n", "Smirnov, I. N.", "smirnov i n", ["I. N. Smirnov"])]
    return transform._index_key(Indexed())


@pytest.mark.parametrize("key, module", [(read_key, "bookbuild.read"), (mention_key, "bookbuild.transform")])
def test_editing_any_module_a_stage_loads_changes_its_cache_key(code, key, module):
    """The read stage's Pandoc cache and the transform's mention cache (both in build/cache/read/)."""
    modules = [m for m in loaded_modules([module]) if m != "bookbuild"]
    assert module in modules and "bookbuild.mdsyntax" in modules
    before = key()
    for name in modules:
        path = file_of(code, name)
        original = path.read_bytes()
        path.write_bytes(original + b"\n# edited\n")
        assert key() != before, name
        path.write_bytes(original)
    assert key() == before
    path = code / "lint" / "report.py"
    path.write_bytes(path.read_bytes() + b"\n# edited\n")
    assert key() == before


def test_the_imports_kept_between_builds_are_checked_before_use(tmp_path, monkeypatch):
    """outputcache.IMPORTS_FILE keeps each module's imports by its content's digest, sealed: the
    same modules come out of it, and an entry edited by hand is parsed again, not believed."""
    monkeypatch.setattr(outputcache, "IMPORTS_FILE", tmp_path / "imports.json")
    monkeypatch.setattr(outputcache, "_STORED", {})
    outputcache._imports.cache_clear()
    first = outputcache.module_files(["bookbuild.print.layout"])
    data = json.loads((tmp_path / "imports.json").read_text())
    assert len(data) == len(first)
    # Someone says the layout imports nothing: the seal no longer matches, so it is parsed again.
    source = outputcache.module_path("bookbuild.print.layout").read_bytes()
    key = hashlib.sha256(source + b"\0bookbuild.print").hexdigest()
    assert any(base == "bookbuild.print.engine" for base, _ in data[key][0])
    data[key][0] = []
    (tmp_path / "imports.json").write_text(json.dumps(data))
    monkeypatch.setattr(outputcache, "_STORED", {})
    outputcache._imports.cache_clear()
    assert outputcache.module_files(["bookbuild.print.layout"]) == first
    outputcache._imports.cache_clear()
