"""Letters and digits: what survives Markdown, quotes, dashes and hyphenation, for comparing texts."""
from __future__ import annotations

import unicodedata


def letters(text: str) -> str:
    """The letters and digits of `text`, NFC and case-folded: what survives Markdown, smart
    quotes, dashes, line breaking and hyphenation, for comparing sources with what was set."""
    return "".join(c for c in unicodedata.normalize("NFC", text).casefold() if c.isalnum())
