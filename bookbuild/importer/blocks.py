"""The received manuscript as blocks of lines, each with its line number."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

CYRILLIC = re.compile(r"[\u0400-\u04FF]")
LATIN = re.compile(r"[A-Za-z]")


@dataclass
class Block:
    """Consecutive non-blank lines of the manuscript; `line` is 1-based."""

    line: int
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def end_line(self) -> int:
        return self.line + len(self.lines) - 1

    def cyrillic_share(self) -> float:
        """Share of Cyrillic among the letters: tells Russian documents apart."""
        cyr = len(CYRILLIC.findall(self.text))
        lat = len(LATIN.findall(self.text))
        return cyr / (cyr + lat) if cyr + lat else 0.0


@dataclass(frozen=True)
class Correction:
    """One change the importer made to the received text, for the report."""

    line: int
    kind: str
    before: str
    after: str

    def as_dict(self) -> dict:
        return {"line": self.line, "kind": self.kind, "before": self.before, "after": self.after}


def is_blank(line: str) -> bool:
    """Blank, or only whitespace, non-breaking spaces or a lone list dash."""
    s = line.replace("\u00a0", " ").strip()
    return s in ("", "-")


def split_blocks(text: str, first_line: int = 1) -> list[Block]:
    """Split text into blocks at blank lines, keeping manuscript line numbers."""
    blocks: list[Block] = []
    current: Block | None = None
    for offset, raw in enumerate(text.split("\n")):
        line = raw.rstrip("\r")
        if is_blank(line):
            current = None
            continue
        if current is None:
            current = Block(first_line + offset)
            blocks.append(current)
        current.lines.append(line)
    return blocks
