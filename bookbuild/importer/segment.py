"""Split the received manuscript into front pages, units and back matter."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .blocks import Block

CHAPTER = re.compile(r"^#{1,2}\s+\**(\d+)\.\s+(.+?)\**\s*$")
FRONT_UNITS = {
    "About the Author": "about-the-author",
    "Foreword": "foreword",
    "Notes from the Translator": "preface",
    "Introduction": "introduction",
    "Conclusion": "conclusion",
}
BACK_SECTIONS = {
    "Glossary of Abbreviations and Terms": "glossary",
    "Dates of Party Congresses, Conferences, and Comintern Congresses": "congresses",
    "Selected Biographical Notes": "biographies",
}


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


def classify_heading(block: Block) -> tuple[str, int | None, str] | None:
    """(role, chapter number, title) when the block opens a unit or section."""
    if not block.lines[0].startswith("#"):
        return None
    m = CHAPTER.match(block.lines[0])
    if m:
        return "chapter", int(m.group(1)), m.group(2).replace("**", "").strip()
    text = _heading_text(block)
    if text in FRONT_UNITS:
        return FRONT_UNITS[text], None, text
    if text in BACK_SECTIONS:
        return BACK_SECTIONS[text], None, text
    return None


def segment(blocks: list[Block]) -> tuple[list[Block], list[Region]]:
    """Front-page blocks, then every unit and back-matter section in order."""
    front: list[Block] = []
    regions: list[Region] = []
    for block in blocks:
        opened = classify_heading(block)
        if opened:
            role, number, title = opened
            regions.append(Region(role, title, block, number))
        elif regions:
            regions[-1].blocks.append(block)
        else:
            front.append(block)
    return front, regions
