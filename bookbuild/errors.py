"""Problem codes and the one way problems are reported to editors.

Codes are a letter and three digits, grouped by stage (I: import, S: sources
check, C: configuration, N: notes, F: figures, X: index, P: print, E: epub,
L: lint). A code is never reused: retire it by leaving it in RETIRED.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

CODES: dict[str, str] = {
    # import of a received manuscript
    "I001": "manuscript file cannot be read",
    "I002": "no chapter headings found",
    "I003": "note reference without a note definition",
    "I004": "note definition without a reference",
    "I005": "note reference numbered twice",
    "I006": "paragraph may continue in the next one (left for a human)",
    "I007": "front-matter fact not found",
    "I008": "biography entry not understood",
    "I009": "glossary entry not understood",
    "I010": "congress date not understood",
    "I011": "ambiguous name mention left unmarked",
    "I012": "note list out of order",
    # the no-loss check of book/ against the received manuscript
    "S001": "received paragraph not found in book/",
    "S002": "note referenced but not defined",
    "S003": "note defined but not referenced",
    "S004": "figure from the manuscript missing in book/",
    "S005": "glossary term missing",
    "S006": "biography missing",
    "S007": "congress date missing",
    "S008": "file named in book.yaml contents is missing",
    # configuration (book.yaml)
    "C001": "book.yaml cannot be read",
    "C002": "unknown or missing setting",
    "C003": "setting has a wrong type",
    "C004": "setting has a wrong value",
}
RETIRED: set[str] = set()

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True, order=True)
class Problem:
    """One finding, printed as `file:line:col: severity CODE: message`."""

    path: str
    line: int
    col: int
    severity: str
    code: str
    message: str

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown problem code {self.code}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity}")

    def __str__(self) -> str:
        where = self.path
        if self.line:
            where += f":{self.line}:{self.col or 1}"
        return f"{where}: {self.severity} {self.code}: {self.message}"

    def as_dict(self) -> dict:
        return {
            "path": self.path, "line": self.line, "col": self.col,
            "severity": self.severity, "code": self.code, "message": self.message,
        }


@dataclass
class Problems:
    """Collects problems so that a stage reports all of them, not the first."""

    items: list[Problem] = field(default_factory=list)

    def add(self, path: str | Path, line: int, col: int, severity: str, code: str,
            message: str) -> None:
        self.items.append(Problem(str(path), line, col, severity, code, message))

    def error(self, path, line, col, code, message) -> None:
        self.add(path, line, col, "error", code, message)

    def warning(self, path, line, col, code, message) -> None:
        self.add(path, line, col, "warning", code, message)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "warning"]

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class BuildError(Exception):
    """Raised when a stage found errors; carries every problem it found."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems
