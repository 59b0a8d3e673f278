"""A manuscript's shape as data: the import settings file beside it, and the import record.

The settings say what the importer may not guess: which headings open units and with what role,
which sections are back matter, how a note list starts, whether plain blocks after the notes
are photographs, which front-page lines are which facts, whether the author's punctuation is
restyled. Without a settings file the importer guesses nothing: every heading that is not a
unit's stays a sub-heading, nothing becomes a note or a figure unless its markup says so, and
the text keeps its punctuation.

The import record (`received/import.yaml` in the book folder) names the manuscript and the
settings the book was imported from: the no-loss check compares with that manuscript.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .. import safeyaml
from ..errors import BuildError, Problems

RECORD = "import.yaml"
SUFFIX = ".import.yaml"
ROLES = ("about-the-author", "dedication", "epigraph", "foreword", "preface", "acknowledgments",
         "introduction", "prologue", "part", "chapter", "conclusion", "epilogue", "afterword",
         "appendix", "bibliography")
BACK = ("glossary", "congresses", "biographies")
NOTE_STARTS = ("rule", "next-number", "heading")


@dataclass
class ImportSettings:
    """Every setting, with the default that guesses nothing."""

    chapter: str = r"^#\s+(?:Chapter\s+)?(\d+)[.:]?\s+(.+?)\s*$"
    units: dict[str, str] = field(default_factory=dict)
    unit_patterns: dict[str, str] = field(default_factory=dict)
    back_matter: dict[str, str] = field(default_factory=dict)
    note_list: list[str] = field(default_factory=lambda: ["rule", "heading"])
    note_heading: str = "Notes"
    figures_after_notes: bool = False
    italic_captions: bool = False
    rejoin_paragraphs: bool = False
    documents: bool = False
    title_join: bool = False
    typography: str = "keep"
    front: str = "fields"
    front_fields: dict[str, str] = field(default_factory=dict)
    book: dict = field(default_factory=dict)
    editions: dict = field(default_factory=lambda: {
        "ebook": {"format": "epub", "page_source": "paperback"},
        "paperback": {"format": "print", "binding": "paperback", "trim": "6x9in", "notes": "endnotes"}})
    index: bool = False
    path: str = ""

    @property
    def restyle(self) -> bool:
        """Whether quotes, dashes and ellipses are set in the house style (else as written)."""
        return self.typography == "house"


def settings_path(manuscript: Path) -> Path:
    """`name.received.md` → `name.import.yaml` beside it."""
    stem = manuscript.name.split(".")[0]
    return manuscript.with_name(stem + SUFFIX)


def load_settings(manuscript: Path, given: Path | None = None) -> ImportSettings:
    """The settings beside the manuscript (or `given`); the defaults when there are none.
    A wrong key or value is a located I020 error."""
    path = given or settings_path(manuscript)
    if not path.exists():
        if given:
            raise BuildError([_problem(path, 0, f"no import settings at {path}")])
        return ImportSettings()
    problems = Problems()
    try:
        root = safeyaml.compose(path.read_text(encoding="utf-8"))
        data = safeyaml.load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        raise BuildError([_problem(path, mark.line + 1 if mark else 0, f"cannot read: {exc}")])
    lines = {k.value: k.start_mark.line + 1 for k, _ in root.value} if isinstance(root, yaml.MappingNode) else {}
    settings = ImportSettings(path=str(path))
    if not isinstance(data, dict):
        problems.items.append(_problem(path, 1, "expected a mapping of settings"))
    for key, value in (data if isinstance(data, dict) else {}).items():
        fault = _fault(key, value)
        if fault:
            problems.items.append(_problem(path, lines.get(key, 0), f"{key}: {fault}"))
        else:
            setattr(settings, key, value)
    if problems.items:
        raise BuildError(problems.items)
    return settings


def _fault(key: str, value) -> str:
    """What is wrong with one setting, or ""."""
    default = ImportSettings()
    if key == "path" or not hasattr(default, key):
        return f"unknown setting (known: {', '.join(k for k in vars(default) if k != 'path')})"
    if type(getattr(default, key)) is not type(value):
        return f"expected {type(getattr(default, key)).__name__}, got {value!r}"
    if key == "chapter" and not _compiles(value):
        return f"not a regular expression: {value!r}"
    if key in ("unit_patterns", "front_fields") and not all(_compiles(p) for p in value.values()):
        return "every value must be a regular expression"
    if key == "chapter" and re.compile(value).groups < 2:
        return "the pattern needs two groups: the number and the title"
    if key in ("units", "unit_patterns") and not set(value.values()) <= set(ROLES):
        return f"roles must be among {', '.join(ROLES)}"
    if key == "back_matter" and not set(value.values()) <= set(BACK):
        return f"back-matter kinds must be among {', '.join(BACK)}"
    if key == "note_list" and not set(value) <= set(NOTE_STARTS):
        return f"a note list starts at {', '.join(NOTE_STARTS)}"
    if key == "typography" and value not in ("keep", "house"):
        return "keep (the author's punctuation) or house (restyled quotes, dashes, ellipses)"
    if key == "front" and value not in ("fields", "title-pages"):
        return "fields (front_fields say which line is which fact) or title-pages (this series' pages)"
    return ""


def _compiles(pattern) -> bool:
    try:
        re.compile(pattern)
    except (re.error, TypeError):
        return False
    return True


def _problem(path: Path, line: int, message: str):
    from ..errors import Problem

    return Problem(str(path), line, 1 if line else 0, "error", "I020", message)


def write_record(out: Path, manuscript: Path, settings: ImportSettings) -> dict[str, str]:
    """The record's file and, when the settings came from a file, a copy of it beside the
    received manuscript (so that the book folder holds what it was imported with)."""
    record = {"manuscript": manuscript.name}
    files = {}
    if settings.path:
        record["settings"] = Path(settings.path).name
        files[f"received/{Path(settings.path).name}"] = Path(settings.path).read_text(encoding="utf-8")
    files[f"received/{RECORD}"] = ("# What this book was imported from (build.py import writes it; the no-loss\n"
                                   "# check compares the book with this manuscript).\n" +
                                   yaml.safe_dump(record, allow_unicode=True, sort_keys=False))
    return files


def recorded(root: Path, problems: Problems) -> tuple[Path, ImportSettings] | None:
    """The manuscript and settings the book folder `root` was imported from; None when it has
    no import record (a title begun with `new`: nothing to compare)."""
    path = root / "received" / RECORD
    if not path.exists():
        return None
    try:
        record = safeyaml.load(path.read_text(encoding="utf-8")) or {}
        manuscript = root / "received" / str(record["manuscript"])
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        problems.error(str(path), 0, 0, "S010", f"the import record cannot be read: {exc}")
        return None
    if not manuscript.is_file():
        problems.error(str(path), 0, 0, "S010", f"the manuscript it names, {manuscript.name}, is not in received/")
        return None
    given = root / "received" / record["settings"] if record.get("settings") else None
    return manuscript, load_settings(manuscript, given) if given else ImportSettings()
