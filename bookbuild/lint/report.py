"""Lint findings: each code's severity, and how a finding becomes a Problem."""
from __future__ import annotations

from dataclasses import dataclass

from bookbuild.errors import Problem

from .source import Text

# Error: the book is certainly wrong (a note lost, a reference to nothing, a date that
# cannot be). Warning: an editor should look, and fix it or record why not.
SEVERITY: dict[str, str] = {
    "L001": "warning",
    "L002": "warning",
    "L003": "warning",
    "L004": "warning",
    "L005": "warning",
    "L006": "warning",
    "L007": "warning",
    "L008": "warning",
    "L009": "warning",
    "L010": "error",
    "L011": "error",
    "L012": "warning",
    "L013": "warning",
    "L014": "warning",
    "L015": "error",
    "L016": "warning",
    "L017": "warning",
    "L018": "warning",
    "L019": "warning",
    "L020": "error",
    "L021": "warning",
    "L022": "warning",
    "L023": "error",
    "L024": "warning",
    "L025": "warning",
    "L026": "error",
    "L027": "error",
    "L028": "error",
}


@dataclass(frozen=True)
class Finding:
    """What a check found: where, which code, a message, and the text it is about (for ignores)."""

    path: str
    line: int
    col: int
    code: str
    message: str
    subject: str = ""

    def problem(self, strict: bool = False) -> Problem:
        severity = SEVERITY[self.code]
        if strict and severity == "warning":
            severity = "error"
        return Problem(self.path, self.line, self.col, severity, self.code, self.message)


def at(t: Text, offset: int, code: str, message: str, subject: str = "") -> Finding:
    line, col = t.where(offset)
    # Masked markup (NUL) is lint's own; a message or subject shows what the editor wrote.
    return Finding(t.path, line, col, code, message.replace("\x00", ""), subject.replace("\x00", ""))


def quoted(s: str, width: int = 60) -> str:
    s = " ".join(s.split())
    return "“" + (s if len(s) <= width else s[:width - 1] + "…") + "”"
