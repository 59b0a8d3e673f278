"""Split the received manuscript into front pages, units and back matter."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .blocks import Block
from .settings import ImportSettings

@dataclass
class Region:
    """A unit or section of the manuscript: its heading block and the blocks under it."""

    role: str
    title: str
    heading: Block
    number: int | None = None
    blocks: list[Block] = field(default_factory=list)


def _heading_text(block: Block) -> str:
    text = block.lines[0].lstrip("#").strip()
    text = re.sub(r"<sup>.*?</sup>", "", text)
    return text.replace("**", "").strip()


def classify_heading(block: Block, settings: ImportSettings) -> tuple[str, int | None, str] | None:
    """(role, chapter number, title) when the block opens a unit or section, as the settings say."""
    if not block.lines[0].startswith("#"):
        return None
    m = re.match(settings.chapter, block.lines[0])
    if m:
        return "chapter", int(m.group(1)), m.group(2).replace("**", "").strip()
    text = _heading_text(block)
    if text in settings.units:
        return settings.units[text], None, text
    if text in settings.back_matter:
        return settings.back_matter[text], None, text
    for pattern, role in settings.unit_patterns.items():
        if re.match(pattern, block.lines[0]):
            return role, None, text
    return None


def segment(blocks: list[Block], settings: ImportSettings | None = None) -> tuple[list[Block], list[Region]]:
    """Front-page blocks, then every unit and back-matter section in order."""
    settings = settings or ImportSettings()
    front: list[Block] = []
    regions: list[Region] = []
    for block in blocks:
        opened = classify_heading(block, settings)
        if opened:
            role, number, title = opened
            regions.append(Region(role, title, block, number))
        elif regions:
            regions[-1].blocks.append(block)
        else:
            front.append(block)
    return front, regions
