"""The no-loss check: every paragraph, note, figure, term, person and date of the received manuscript is still in `book/`."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

from .. import safeyaml
from ..errors import BuildError, Problems
from ..letters import letters
from ..mdsyntax import grid_lines, note_marks, undefined_references, unreferenced_definitions
from .blocks import split_blocks
from .segment import segment
from .settings import recorded
from .units import parse_unit

# The check lives with the importer: it splits the manuscript into units with the importer's
# own segmentation and unit parser, so it checks the import's output against its input. The
# reading, transforming and writing stages never need it; `build.py check-sources` and a
# release (`dist.release`) run it.

BACK_ROLES = {"glossary": "glossary.yaml", "congresses": "congresses.yaml",
              "biographies": "biographies.yaml"}
ATTRIBUTES = re.compile(r"\{[^{}]*\}|\]\((?!#)[^)]*\)")
PHRASE_SPLIT = re.compile(r"[()\[\]:;,|*—–\"“”«»]|\s-\s|^-\s")


def linearize_grid_tables(text: str) -> str:
    """Grid-table cells as running text: a cell's lines are interleaved with its neighbours'."""
    return "\n".join(line for _, line in grid_lines(text))


def _received_letters(line: str) -> str:
    line = re.sub(r"^#+\s*\**\d+\.\s", "", line)  # chapter numbers live in book.yaml
    line = re.sub(r"\]\(#\)", "]", line)
    line = re.sub(r"</?(?:sup|p|u|br)\b[^>]*>", " ", line)
    return letters(line)


def _yaml_strings(data) -> list[str]:
    if isinstance(data, dict):
        return [s for v in data.values() for s in _yaml_strings(v)]
    if isinstance(data, list):
        return [s for v in data for s in _yaml_strings(v)]
    return [str(data)] if data is not None else []


def _load_yaml(path: Path, problems: Problems):
    try:
        return safeyaml.load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problems.error(str(path), line, col, "S008", f"cannot read: {getattr(exc, 'problem', None) or exc}")
        return None


def check_sources(root: Path) -> Problems:
    """Compare `root` (the book folder) with the manuscript in `root/received/`."""
    problems = Problems()
    record = recorded(root, problems)  # the manuscript named in received/import.yaml, and its settings
    book = _load_yaml(root / "book.yaml", problems)
    if record is None or not book:  # no import record (a title begun with `new`): nothing to compare
        return problems
    received, settings = record
    rel = f"{root.name}/received/{received.name}"
    corrected = _corrected_lines(root)
    front, regions = segment(split_blocks(received.read_text(encoding="utf-8")), settings)
    units = [c for c in book.get("contents", []) if str(c.get("file", "")).startswith("text/")]
    unit_regions = [r for r in regions if r.role not in BACK_ROLES]
    if len(units) != len(unit_regions):
        problems.error(str(root / "book.yaml"), 0, 0, "S008",
                       f"contents lists {len(units)} text units, the manuscript has {len(unit_regions)}")
    texts: dict[str, str] = {}
    for entry in units:
        path = root / entry["file"]
        if not path.exists():
            problems.error(str(root / "book.yaml"), 0, 0, "S008", f"{entry['file']} is missing")
            texts[entry["file"]] = ""
        else:
            texts[entry["file"]] = path.read_text(encoding="utf-8")
    front_hay = letters(" ".join(_yaml_strings(book)))
    _check_phrases(front, front_hay, rel, corrected, problems)
    for entry, region in zip(units, unit_regions):
        hay = letters(ATTRIBUTES.sub(" ", linearize_grid_tables(texts[entry["file"]])))
        blocks = [region.heading, *region.blocks]
        for block in blocks:
            for offset, line in enumerate(block.lines):
                number = block.line + offset
                if number in corrected:
                    continue
                for cell in line.split("\t"):  # a table row: its cells are checked one by one
                    wanted = _received_letters(cell)
                    if wanted and wanted not in hay:
                        problems.error(rel, number, 1, "S001",
                                       f"not found in {entry['file']}: “{cell.strip()[:70]}”")
        expected = len(parse_unit(region.blocks, rel, Problems(), set(), settings).figures)
        found = len(re.findall(r"^!\[", texts[entry["file"]], re.M))
        if found < expected:
            problems.error(f"{root.name}/{entry['file']}", 0, 0, "S004",
                           f"{expected - found} of the manuscript's {expected} figures are missing")
        _check_notes(f"{root.name}/{entry['file']}", texts[entry["file"]], problems)
    for region in regions:
        if region.role in BACK_ROLES:
            data = _load_yaml(root / BACK_ROLES[region.role], problems)
            hay = letters(" ".join(_yaml_strings(data)))
            _check_phrases(region.blocks, hay, rel, corrected, problems,
                           code={"glossary": "S005", "biographies": "S006", "congresses": "S007"}[region.role])
    return problems


def _check_phrases(blocks, hay: str, rel: str, corrected: set[int], problems: Problems,
                   code: str = "S001") -> None:
    """Data moved into YAML fields is compared phrase by phrase: field order may differ."""
    for block in blocks:
        for offset, line in enumerate(block.lines):
            number = block.line + offset
            if number in corrected or line.strip() == "---":
                continue
            # A note's own number (the biographies' source note) is not text.
            line = re.sub(r"^\s*(?:<sup>)?\d+(?:</sup>)?\s*\.\s", "", line)
            for phrase in PHRASE_SPLIT.split(re.sub(r"</?(?:sup|p|u|br)\b[^>]*>|\]\(#\)|#+", " ", line)):
                wanted = letters(phrase)
                if wanted and wanted not in hay:
                    problems.error(rel, number, 1, code, f"“{phrase.strip()[:60]}” not found in book/")


def _check_notes(path: str, text: str, problems: Problems) -> None:
    marks = note_marks(text)
    for r in undefined_references(marks.refs, marks.defined):
        problems.error(path, r.line, r.col, "S002", f"note [^{r.label}] is referenced but never defined")
    for d in unreferenced_definitions(marks):
        problems.error(path, d.line, 1, "S003", f"note [^{d.label}] is defined but never referenced")


def _corrected_lines(root: Path) -> set[int]:
    """Manuscript lines whose wording the import changed on purpose (listed in the report)."""
    path = root / "received" / "corrections.yaml"
    if not path.exists():
        return set()
    data = safeyaml.load(path.read_text(encoding="utf-8")) or []
    return {int(c["line"]) for c in data}


def add_arguments(parser) -> None:
    parser.add_argument("--book", default="book", help="the book folder (default: book)")


def run(args) -> int:
    problems = check_sources(Path(args.book))
    if problems.errors:
        raise BuildError(problems.items)
    if not getattr(args, "quiet", False) and not (Path(args.book) / "received" / "import.yaml").exists():
        print("check-sources: no import record (received/import.yaml): nothing to compare", file=sys.stderr)
    elif not getattr(args, "quiet", False):
        print("check-sources: every paragraph, note, figure, term, person and date of the "
              "received manuscript is in book/", file=sys.stderr)
    return 0
