"""book/lint-ignore.yaml: findings kept on purpose, each entry with the reason why."""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

import yaml

from .. import safeyaml
from .report import SEVERITY, Finding

KEYS = {"code", "file", "line", "text", "reason"}


@dataclass
class Entry:
    """code + file (a glob, relative to book/) + optional line + optional text (a regular
    expression the finding's subject must match in full) + the reason."""

    code: str
    file: str
    line: int | None
    text: re.Pattern | None
    at: int
    used: int = 0

    def covers(self, finding: Finding, rel: str) -> bool:
        return (finding.code == self.code and fnmatch.fnmatchcase(rel, self.file)
                and (self.line is None or self.line == finding.line)
                and (self.text is None or bool(self.text.fullmatch(finding.subject))))


def load(path: str, source: str) -> tuple[list[Entry], list[Finding]]:
    """The entries, and an L023 for every entry that is malformed or gives no reason."""
    problems: list[Finding] = []
    try:
        root = safeyaml.compose(source)
        data = safeyaml.load(source) or []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [], [Finding(path, mark.line + 1 if mark else 1, mark.column + 1 if mark else 1, "L023",
                            f"not valid YAML: {getattr(exc, 'problem', exc)}")]
    if not isinstance(data, list):
        return [], [Finding(path, 1, 1, "L023", "expected a list of entries {code, file, line?, text?, reason}")]
    lines = [n.start_mark.line + 1 for n in root.value] if root is not None else []
    entries = []
    for item, line in zip(data, lines):
        def bad(message: str) -> None:
            problems.append(Finding(path, line, 1, "L023", message))
        if not isinstance(item, dict):
            bad("an entry is a mapping {code, file, line?, text?, reason}")
            continue
        unknown = set(item) - KEYS
        if unknown:
            bad(f"unknown key(s) {', '.join(sorted(map(str, unknown)))}; allowed: code, file, line, text, reason")
            continue
        if not str(item.get("reason") or "").strip():
            bad(f"entry for {item.get('code', '?')} in {item.get('file', '?')} gives no reason")
            continue
        if item.get("code") not in SEVERITY:
            bad(f"“{item.get('code')}” is not a lint code")
            continue
        if not isinstance(item.get("file"), str) or not item["file"]:
            bad("an entry names the file (relative to book/, * and ? allowed)")
            continue
        line_no = item.get("line")
        if line_no is not None and (not isinstance(line_no, int) or line_no < 1):
            bad(f"line must be a line number, got {line_no!r}")
            continue
        text = None
        if item.get("text") is not None:
            try:
                text = re.compile(str(item["text"]))
            except re.error as exc:
                bad(f"text is not a valid regular expression: {exc}")
                continue
        entries.append(Entry(item["code"], item["file"], line_no, text, line))
    return entries, problems


def apply(findings: list[Finding], entries: list[Entry], book_name: str) -> tuple[list[Finding], int]:
    """The findings no entry covers, and how many were covered."""
    kept, ignored = [], 0
    prefix = f"{book_name}/" if book_name else ""
    for f in findings:
        rel = f.path[len(prefix):] if f.path.startswith(prefix) else f.path
        entry = next((e for e in entries if e.covers(f, rel)), None)
        if entry is None:
            kept.append(f)
        else:
            entry.used += 1
            ignored += 1
    return kept, ignored


def unused(entries: list[Entry], path: str) -> list[Finding]:
    return [Finding(path, e.at, 1, "L024",
                    f"entry for {e.code} in {e.file} matches nothing; remove it", e.code)
            for e in entries if not e.used]
