"""Whole-output cache: a build whose inputs are all unchanged replays its messages and writes nothing."""
from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import sys
from pathlib import Path

from .fsutil import write_atomic

PACKAGE = Path(__file__).resolve().parent
REPOSITORY = PACKAGE.parent
FORMAT = "outputs-1"


class Inputs:
    """A digest of everything a build reads, taken before it reads anything."""

    def __init__(self, *labels: object):
        self._hash = hashlib.sha256()
        self.text(FORMAT, *labels)

    def text(self, *parts: object) -> Inputs:
        for part in parts:
            self._hash.update(str(part).encode("utf-8", "surrogateescape"))
            self._hash.update(b"\0")
        return self

    def file(self, path: Path, name: str | None = None) -> Inputs:
        try:
            data = path.read_bytes()
        except OSError:
            data = None
        self.text(name or path, "absent" if data is None else hashlib.sha256(data).hexdigest())
        return self

    def tree(self, folder: Path, skip: tuple[str, ...] = ()) -> Inputs:
        """Every file under `folder` by content, named relative to it."""
        for path in walk(folder, skip):
            self.file(path, path.relative_to(folder).as_posix())
        return self

    def stats(self, folder: Path, skip: tuple[str, ...] = ()) -> Inputs:
        """Every file under `folder` by size and modification time: photographs are
        large, and this is the test the print stage's own art cache makes."""
        for path in walk(folder, skip):
            try:
                st = path.stat()
                self.text(path.relative_to(folder).as_posix(), st.st_size, st.st_mtime_ns)
            except OSError:
                self.text(path.relative_to(folder).as_posix(), "absent")
        return self

    def code(self) -> Inputs:
        """The pipeline itself: its Python, templates, styles and printer profiles, the Python that runs
        it and the installed distributions (a dist-info folder's name carries its version)."""
        self.text(sys.version, sys.executable)
        for folder in ("bookbuild", "templates", "styles", "printers"):
            self.text(folder).tree(REPOSITORY / folder, skip=("__pycache__",))
        for entry in sys.path:
            if entry.endswith("-packages") and os.path.isdir(entry):
                self.text(*sorted(n for n in os.listdir(entry) if n.endswith((".dist-info", ".egg-info"))))
        return self

    def packages(self, *names: str) -> Inputs:
        """Installed distributions by name and version (`package_version`)."""
        for name in names:
            self.text(name, package_version(name))
        return self

    def modules(self, *names: str) -> Inputs:
        """The source of every bookbuild module the named ones import, however indirectly (found
        from their imports, so a new module counts without being listed here), by content."""
        for path in module_files(names):
            self.file(path, path.relative_to(REPOSITORY).as_posix())
        return self

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def walk(folder: Path, skip: tuple[str, ...] = ()) -> list[Path]:
    """The files under `folder` in a stable order, leaving out folders named in `skip`."""
    found = []
    for top, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in skip)
        found += [Path(top) / f for f in sorted(files)]
    return found


def package_version(name: str) -> str:
    """An installed distribution's version, from its metadata (importing WeasyPrint costs 0.6 s)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


def module_path(name: str) -> Path | None:
    """The file of a bookbuild module (`bookbuild.print.engine`), None for other modules."""
    parts = name.split(".")
    if parts[0] != PACKAGE.name:
        return None
    base = PACKAGE.joinpath(*parts[1:])
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    return None


def imported_modules(name: str) -> set[str]:
    """The bookbuild modules that module `name` imports, at its top or inside a function."""
    path = module_path(name)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for base, names in _imports(path.read_bytes(), package):
        # `from . import x` imports the module x when there is one, else a name of the package.
        submodules = {f"{base}.{n}" for n in names if module_path(f"{base}.{n}")}
        found.update(submodules or {base})
    return {m for m in found if module_path(m) is not None and m != name}


def _parse(source: bytes):
    """ast.parse; on a thread of its own when CPython 3.11.7's AST constructor refuses with
    "SystemError: AST constructor recursion depth mismatch" (its own depth count going wrong,
    not the source: seen in pytest, deep in its stack, after tests/test_engine.py laid out a
    page of floated note numbers in the same process); a new thread starts from an empty stack."""
    try:
        return ast.parse(source)
    except SystemError:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            return pool.submit(ast.parse, source).result()


# The imports of each module's source, kept by its content's digest between builds: parsing
# the 80 modules of bookbuild for their imports took 0.45 s of a one-chapter rebuild. Each
# entry carries a digest of itself, and one that does not match is parsed again.
IMPORTS_FILE = REPOSITORY / "build" / "cache" / "imports.json"
_STORED: dict = {}
_NEW: list = []


def _seal(key: str, entry) -> str:
    return hashlib.sha256(f"imports-1\0{key}\0{json.dumps(entry)}".encode()).hexdigest()


def _stored_imports() -> dict:
    if not _STORED:
        _STORED["loaded"] = {}
        try:
            data = json.loads(IMPORTS_FILE.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        for key, entry in (data.items() if isinstance(data, dict) else ()):
            if isinstance(entry, list) and len(entry) == 2 and entry[1] == _seal(key, entry[0]):
                _STORED["loaded"][key] = entry[0]
    return _STORED["loaded"]


def _save_imports() -> None:
    if not _NEW:
        return
    stored = _stored_imports()
    _NEW.clear()
    try:
        write_atomic(IMPORTS_FILE, json.dumps({k: [v, _seal(k, v)] for k, v in sorted(stored.items())}))
    except OSError:
        pass  # a checkout it cannot write to parses again next time


@functools.lru_cache(maxsize=256)
def _imports(source: bytes, package: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(absolute module, names imported from it) of every import in a module's source,
    parsed once per content: the read and transform stages and the print layout each key
    their caches by the modules they import, in one process, and the next build finds them
    in IMPORTS_FILE."""
    key = hashlib.sha256(source + b"\0" + package.encode()).hexdigest()
    stored = _stored_imports()
    if key in stored:
        return tuple((base, tuple(names)) for base, names in stored[key])
    found = _parsed_imports(source, package)
    stored[key] = [[base, list(names)] for base, names in found]
    _NEW.append(key)
    return found


def _parsed_imports(source: bytes, package: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    found: list[tuple[str, tuple[str, ...]]] = []
    for node in ast.walk(_parse(source)):
        if isinstance(node, ast.Import):
            found += [(a.name, ()) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found.append((base, tuple(a.name for a in node.names)))
    return tuple(found)


def module_files(names) -> list[Path]:
    """The files of the modules `names` and of every bookbuild module they import, transitively."""
    seen: set[str] = set()
    todo = [n for n in names if module_path(n) is not None]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            # Importing a module runs its packages' __init__ first.
            parents = {name.rsplit(".", n)[0] for n in range(1, name.count(".") + 1)}
            todo.extend((imported_modules(name) | parents) - seen)
    _save_imports()
    return sorted(module_path(n) for n in seen)


class Stamp:
    """What the last build with a given name wrote, under which key, and what it said."""

    def __init__(self, cache: Path, name: str):
        self.path = cache / "outputs" / f"{name}.json"

    def fresh(self, key: str) -> dict | None:
        """The last build's record (`outputs`, `messages`, `summary`) when it had this
        key and every file it wrote is still as it wrote it; None when the build has to run."""
        try:
            record = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if record.get("key") != key or not record.get("outputs"):
            return None
        for name, digest in record["outputs"].items():
            try:
                data = Path(name).read_bytes()
            except OSError:
                return None
            if hashlib.sha256(data).hexdigest() != digest:
                return None
        return record

    def save(self, key: str, outputs: dict[Path, bytes], messages: list[str], summary: str) -> None:
        record = {"key": key, "summary": summary, "messages": messages,
                  "outputs": {str(Path(p).resolve()): hashlib.sha256(data).hexdigest()
                              for p, data in outputs.items()}}
        write_atomic(self.path, json.dumps(record, ensure_ascii=False, indent=1) + "\n")
