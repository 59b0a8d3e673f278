"""The book the integration tests build (`make test BOOK=DIR`, else this project's book/) and
what they expect of it, from its own expectations.yaml, so that they serve any title."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from bookbuild import safeyaml

REPOSITORY = Path(__file__).resolve().parent.parent
BOOK = Path(os.environ.get("BOOK") or REPOSITORY / "book").resolve()
# Where its outputs go: build/ beside the book folder.
BUILD = BOOK.parent / "build"


def require() -> Path:
    """The book folder; the test is skipped when it holds no book yet."""
    if not (BOOK / "book.yaml").exists():
        pytest.skip(f"{BOOK} holds no book.yaml yet (python build.py new, or import)")
    return BOOK


def expect(key: str, default=None):
    """One expectation of expectations.yaml; without it (and without a default) the test is
    skipped, saying what to add."""
    path = require() / "expectations.yaml"
    data = safeyaml.load(path.read_text(encoding="utf-8")) if path.exists() else {}
    if key in (data or {}):
        return data[key]
    if default is not None:
        return default
    pytest.skip(f"{path} does not say `{key}`")


def config() -> dict:
    return safeyaml.load((require() / "book.yaml").read_text(encoding="utf-8"))


def print_edition() -> tuple[str, dict]:
    """The print edition the ebook's pages follow (else the first print edition)."""
    editions = config()["editions"]
    source = next((e.get("page_source") for e in editions.values() if e.get("format") == "epub"), None)
    name = source or next(n for n, e in editions.items() if e.get("format") == "print")
    return name, editions[name]


def unit_id(number: int) -> str:
    """The id of chapter `number` (its heading's `{#id}`)."""
    import re

    entry = next(e for e in config()["contents"] if e.get("role") == "chapter" and e.get("number") == number)
    head = (BOOK / entry["file"]).read_text(encoding="utf-8").split("\n", 1)[0]
    return re.search(r"\{#([^}\s]+)", head).group(1)
