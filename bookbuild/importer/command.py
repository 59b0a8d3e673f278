"""`build.py import MANUSCRIPT`: write `book/` and the import report."""
from __future__ import annotations

import json
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

import yaml

from ..errors import BuildError, Problems
from ..fsutil import write_atomic
from .blocks import Block, Correction, split_blocks
from .frontmatter import parse_front
from .segment import segment
from .settings import load_settings, write_record
from .units import drop_duplicate_paragraphs, parse_unit, resolve_notes, slugify, unit_markdown

def add_arguments(parser) -> None:
    parser.add_argument("manuscript", nargs="?", default=None,
                        help="the received manuscript (Markdown); default: the one the book folder's "
                             "import record (received/import.yaml) names")
    parser.add_argument("--out", "--book", dest="out", default="book",
                        help="the book folder to write (default: book)")
    parser.add_argument("--report", default="build", help="folder for import-report.{txt,json}")
    parser.add_argument("--settings", type=Path, default=None,
                        help="the import settings (default: NAME.import.yaml beside NAME.received.md)")


def dump_yaml(data) -> str:
    """YAML that is the same for the same data: keys in given order, Unicode kept."""
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=88, default_flow_style=False)


def _drop_lines(data):
    """Manuscript line numbers belong in the report, not in the sources."""
    if isinstance(data, dict):
        return {k: _drop_lines(v) for k, v in data.items() if k != "line"}
    if isinstance(data, list):
        return [_drop_lines(v) for v in data]
    return data


def import_manuscript(manuscript: Path, out: Path, progress=None, settings_file: Path | None = None) -> dict:
    """Read the manuscript, write `out/`, return the report (counts, corrections, problems)."""
    say = progress or (lambda msg: None)
    problems = Problems()
    label = str(manuscript)
    try:
        text = manuscript.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else exc
        problems.error(label, 0, 0, "I001", f"cannot read the manuscript: {reason}; "
                       "give its path: make import MANUSCRIPT=path/to/file.md")
        raise BuildError(problems.items)
    settings = load_settings(manuscript, settings_file)
    front_blocks, regions = segment(split_blocks(text), settings)
    chapters = [r for r in regions if r.role == "chapter"]
    if not chapters:
        problems.error(label, 1, 1, "I002", f"no chapter headings found (the import settings' chapter "
                       f"pattern is {settings.chapter!r})")
        raise BuildError(problems.items)

    corrections: list[Correction] = []
    if settings.front == "title-pages":
        facts, fixes, _ = parse_front(front_blocks, label, problems, text)
        corrections += fixes
    else:
        facts = front_facts(front_blocks, settings, label, problems, corrections)
    files: dict[str, str] = {}
    contents: list[dict] = []
    figures: list[dict] = []
    notes_per_unit: dict[str, int] = {}
    used_ids: set[str] = set()
    back: dict[str, object] = {}
    for region in regions:
        if region.role in ("glossary", "congresses", "biographies"):
            back[region.role] = region
            continue
        say(f"import: {region.title}")
        parsed = parse_unit(region.blocks, label, problems, used_ids, settings)
        drop_duplicate_paragraphs(parsed)
        title = region.title
        if settings.title_join and parsed.items and parsed.items[0].kind == "heading" \
                and parsed.items[0].blocks[0].cyrillic_share() == 0:
            # A title printed on two lines came through as two headings.
            title = f"{title} {parsed.items.pop(0).text}"
            corrections.append(Correction(region.heading.line, "title-joined", region.title, title))
        name = f"chapter {region.number}" if region.number else region.title
        resolve_notes(parsed, name, label, problems)
        unit_id = unique_id(slugify(title) or "unit", used_ids)
        path = f"text/{_file_stem(region, regions, unit_id)}.md"
        files[path] = unit_markdown(parsed, title, unit_id, settings)
        entry = {"file": path, "role": region.role}
        if region.number:
            entry["number"] = region.number
        contents.append(entry)
        notes_per_unit[path] = len(parsed.notes)
        figures += [dict(f, file=path) for f in parsed.figures]
        corrections += parsed.corrections

    from .backmatter import parse_biographies, parse_congresses, parse_glossary
    data: dict[str, object] = {}
    if "glossary" in back:
        data["glossary"], fixes = parse_glossary(back["glossary"].blocks, label, problems)
        corrections += fixes
    if "congresses" in back:
        data["congresses"] = parse_congresses(back["congresses"].blocks, label, problems)
    if "biographies" in back:
        bio_blocks, source_note = _split_source_note(back["biographies"].blocks)
        data["biographies"], fixes = parse_biographies(bio_blocks, source_note, label, problems)
        corrections += fixes
    glossary = data.get("glossary", [])
    congresses = data.get("congresses", [])
    people = data["biographies"]["people"] if "biographies" in data else []
    if settings.restyle:
        typeset_back_matter(glossary, people, corrections)

    index: list = []
    if settings.index:
        from .indexer import build_index
        say("import: name index")
        index, marked = build_index({f"book/{p}": t for p, t in files.items()}, people, problems)
        files.update({p[len("book/"):]: t for p, t in marked.items()})
        data["index"] = index

    for role in ("glossary", "congresses", "biographies", "index"):
        if role in data:
            contents.append({"file": f"{role}.yaml", "role": role})
            files[f"{role}.yaml"] = dump_yaml(_drop_lines(data[role]))
    book_yaml = {"slug": slugify(facts.get("short_title") or facts.get("title") or manuscript.name.split(".")[0]),
                 **facts}
    book_yaml["editions"] = _editions(settings, facts)
    book_yaml["contents"] = contents
    files["book.yaml"] = dump_yaml(book_yaml)
    files.update(write_record(out, manuscript, settings))

    # The no-loss check accepts a changed line only when it is listed here.
    from ..letters import letters
    files["received/corrections.yaml"] = dump_yaml([
        c.as_dict() for c in sorted(set(corrections), key=lambda c: (c.line, c.kind, c.before))
        if letters(c.before) != letters(c.after)])
    if problems.errors:
        raise BuildError(problems.items)
    _write_tree(out, files, manuscript)
    report = {
        "manuscript": str(manuscript),
        "counts": {
            "chapters": len(chapters),
            "units": len(contents) - sum(role in data for role in ("glossary", "congresses", "biographies", "index")),
            "notes": sum(notes_per_unit.values()),
            "notes_per_unit": notes_per_unit,
            "figures": len(figures),
            "biographies": len(people),
            "glossary_terms": len(glossary),
            "congress_dates": sum(len(g["items"]) for g in congresses),
            "index_headings": len(index),
            "corrections": dict(sorted(Counter(c.kind for c in corrections).items())),
        },
        "figures": [{k: f[k] for k in ("id", "image", "file", "line")} for f in figures],
        "corrections": [c.as_dict() for c in sorted(corrections, key=lambda c: (c.line, c.kind))],
        "problems": [p.as_dict() for p in sorted(problems.items)],
    }
    return report


def front_facts(blocks: list[Block], settings, label: str, problems: Problems,
                corrections: list[Correction]) -> dict:
    """book.yaml's facts from the settings' `book`, and from the front-page lines its
    `front_fields` patterns match (group 1, else the whole match); a line no pattern
    matches is reported, and the settings must give what book.yaml requires."""
    facts = dict(settings.book)
    for block in blocks:
        for offset, raw in enumerate(block.lines):
            line = raw.strip().lstrip("#").strip().replace("**", "")
            found = next(((k, m) for k, p in settings.front_fields.items() if (m := re.search(p, line))), None)
            if found is None:
                problems.warning(label, block.line + offset, 1, "I022",
                                 f"front-page line “{line[:50]}” matches no front_fields pattern: not imported")
                continue
            key, m = found
            value = (m.group(1) if m.groups() else m.group(0)).strip()
            if value != line:
                # "by Jane Q. Writer" → the author's name: the words around it are the page's, not a fact.
                corrections.append(Correction(block.line + offset, "front-field", line, value))
            if key == "authors":
                facts.setdefault("authors", []).append({"name": value})
            elif key == "publisher":
                facts["publisher"] = {"name": value}
            elif key == "year":
                facts["year"] = int(value) if value.isdigit() else value
            else:
                facts[key] = value
    for key in ("title", "authors", "publisher", "language"):
        if key not in facts:
            problems.error(settings.path or label, 0, 0, "I023", f"book.yaml needs `{key}`: give it in the "
                           "import settings' `book` or match it with a `front_fields` pattern")
    return facts


def unique_id(base: str, used: set[str]) -> str:
    """`base`, or `base-2`, … when a unit or figure already has it."""
    unit_id, n = base, 2
    while unit_id in used:
        unit_id, n = f"{base}-{n}", n + 1
    used.add(unit_id)
    return unit_id


def _file_stem(region, regions: list, unit_id: str) -> str:
    """Files sort in reading order: front units 00, chapters by number (as wide as the last
    chapter's number, two digits at least), what follows the chapters after the last one."""
    numbers = [r.number for r in regions if r.number]
    width = max(2, len(str(max(numbers, default=0) + 1)))
    if region.number:
        return f"{region.number:0{width}d}-{unit_id}"
    first_chapter = next(i for i, r in enumerate(regions) if r.number)
    if regions.index(region) < first_chapter:
        return f"{0:0{width}d}-{unit_id}"
    return f"{max(numbers) + 1:0{width}d}-{unit_id}"


def _editions(settings, facts: dict) -> dict:
    """The settings' editions; `isbn: from-cip` takes the ISBN the CIP block gives that binding."""
    editions = {}
    for name, edition in settings.editions.items():
        edition = dict(edition)
        if edition.get("isbn") == "from-cip":
            edition["isbn"] = facts.get("isbn", {}).get(edition.get("binding", name), "")
        editions[name] = edition
    return editions


def typeset_back_matter(glossary: list[dict], people: list[dict], corrections: list[Correction]) -> None:
    """Glossary definitions and biographies get the same quotes and dashes as the text."""
    from .typography import normalize_typography

    for entry, field in [*((g, "definition") for g in glossary), *((p, "text") for p in people)]:
        if entry.get(field):
            entry[field], fixes = normalize_typography(entry[field], entry.get("line", 0))
            corrections.extend(fixes)


def _split_source_note(blocks: list[Block]) -> tuple[list[Block], str]:
    """The biographies' own note (their source) follows the last `---`."""
    for i in range(len(blocks) - 1, -1, -1):
        if blocks[i].text.strip() == "---":
            note = " ".join(b.text.strip() for b in blocks[i + 1:])
            note = re.sub(r"^(?:<sup>\s*1\s*</sup>|\[?1\.?\]?(?:\(#\))?)\.?\s*", "", note)
            return blocks[:i], note
    return blocks, ""


def _write_tree(out: Path, files: dict[str, str], manuscript: Path) -> None:
    """Write every file; stale unit files from an earlier import are removed."""
    (out / "text").mkdir(parents=True, exist_ok=True)
    (out / "received").mkdir(parents=True, exist_ok=True)
    for old in (out / "text").glob("*.md"):
        if f"text/{old.name}" not in files:
            old.unlink()
    for rel, content in sorted(files.items()):
        write_atomic(out / rel, content)
    received = out / "received" / manuscript.name
    received.parent.mkdir(parents=True, exist_ok=True)
    if not received.exists() or received.read_bytes() != manuscript.read_bytes():
        shutil.copyfile(manuscript, received)


def _recorded_manuscript(book: Path) -> tuple[Path, Path | None]:
    """The manuscript (and settings) a re-import reads when none is given: the book's own."""
    from .settings import recorded

    problems = Problems()
    record = recorded(book, problems)
    if record is None:
        problems.error(str(book / "received"), 0, 0, "I001", "no manuscript given and no import record in "
                       f"{book}/received/ to take it from: python build.py import path/to/NAME.received.md")
        raise BuildError(problems.items)
    return record[0], Path(record[1].path) if record[1].path else None


def format_report(report: dict) -> str:
    """The plain-text report an editor reads."""
    c = report["counts"]
    lines = [
        f"Import report for {report['manuscript']}",
        "",
        f"chapters: {c['chapters']}   units: {c['units']}   notes: {c['notes']}   figures: {c['figures']}",
        f"biographies: {c['biographies']}   glossary terms: {c['glossary_terms']}   "
        f"congress dates: {c['congress_dates']}   index headings: {c['index_headings']}",
        "",
        "Notes per unit:",
        *[f"  {path}: {n}" for path, n in c["notes_per_unit"].items()],
        "",
        "Corrections by kind: " + ", ".join(f"{k} {v}" for k, v in c["corrections"].items()),
        "",
        f"Problems for a human ({len(report['problems'])}):",
        *[f"  {p['path']}:{p['line']}:{p['col']}: {p['severity']} {p['code']}: {p['message']}"
          for p in report["problems"]],
        "",
        f"Corrections ({len(report['corrections'])}), by manuscript line:",
        *[f"  line {x['line']}: {x['kind']}: {x['before']!r} -> {x['after']!r}" for x in report["corrections"]],
    ]
    return "\n".join(lines) + "\n"


def run(args) -> int:
    manuscript, settings = (Path(args.manuscript), args.settings) if args.manuscript else \
        _recorded_manuscript(Path(args.out))
    quiet = getattr(args, "quiet", False)
    report = import_manuscript(manuscript, Path(args.out),
                               None if quiet else (lambda m: print(m, file=sys.stderr)), settings)
    out = Path(args.report)
    write_atomic(out / "import-report.json", json.dumps(report, ensure_ascii=False, indent=1) + "\n")
    write_atomic(out / "import-report.txt", format_report(report))
    c = report["counts"]
    if not quiet:
        print(f"import: {c['chapters']} chapters, {c['notes']} notes, {c['figures']} figures, "
              f"{c['biographies']} biographies, {c['glossary_terms']} terms, "
              f"{len(report['problems'])} problems for a human (see {out / 'import-report.txt'})",
              file=sys.stderr)
    return 0
