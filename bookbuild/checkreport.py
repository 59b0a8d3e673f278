"""What a validator of the EPUB reports (EPUBCheck, Ace, the reading check), and a validator not installed."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTALL_HINT = "run scripts/install-validators.sh"


@dataclass
class Report:
    """What one validator said: counts by severity and one line per message."""

    tool: str
    counts: dict[str, int] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    def count(self, *severities: str) -> int:
        return sum(self.counts.get(s, 0) for s in severities)

    def summary(self) -> str:
        parts = ", ".join(f"{n} {s}" for s, n in self.counts.items())
        return f"{self.tool}: {parts or 'no messages'}"


class ValidatorMissing(RuntimeError):
    """A validator or its runtime is not installed."""
