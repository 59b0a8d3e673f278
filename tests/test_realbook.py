"""The book under test (tests/realbook.py: BOOK=DIR or book/) against its expectations.yaml:
the counts the integration tests rely on are the book's own, checked without a build."""
from __future__ import annotations

import re

import pytest

import realbook


def _text_units() -> list[dict]:
    return [e for e in realbook.config()["contents"] if str(e.get("file", "")).endswith(".md")]


@pytest.mark.parametrize("key", ["units", "chapters", "notes"])
def test_the_books_counts_are_as_its_expectations_say(key):
    units = _text_units()
    counts = {
        "units": len(units),
        "chapters": sum(e.get("role") == "chapter" for e in units),
        "notes": sum(len(re.findall(r"(?m)^\[\^[^\]\s]+\]:", (realbook.BOOK / e["file"]).read_text(encoding="utf-8")))
                     for e in units),
    }
    assert counts[key] == realbook.expect(key)


def test_the_proof_chapter_is_a_chapter_of_the_book():
    number = realbook.expect("proof_chapter")
    assert re.fullmatch(r"[\w-]+", realbook.unit_id(number))
