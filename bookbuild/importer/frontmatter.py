"""The received title, copyright and CIP pages → the facts of `book.yaml`."""
from __future__ import annotations

import re

from ..errors import Problems
from .blocks import Block, Correction

CIP_HEADING = "Library of Congress Cataloging-in-Publication Data"
CIP_LABEL = re.compile(r"^(Names|Title|Other titles|Identifiers|Subjects|Classification|Description|LC record|LC ebook record)\b")


def _plain(text: str) -> str:
    """Markdown emphasis and hard breaks removed, spaces collapsed."""
    text = re.sub(r"\*+", "", text)
    text = re.sub(r"<(https?://[^>]+)>", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


def _cip_entries(blocks: list[Block]) -> list[tuple[int, str]]:
    """Join the CIP block's lines into its entries, as the Library of Congress prints them."""
    entries: list[tuple[int, str]] = []
    for block in blocks:
        for offset, raw in enumerate(block.lines):
            line = _plain(raw)
            if not line:
                continue
            continues = entries and (
                entries[-1][1].endswith(("|", "ISBN", "DDC"))
                or line[0].islower() or line[0].isdigit()
            )
            if continues and not CIP_LABEL.match(line):
                entries[-1] = (entries[-1][0], entries[-1][1] + " " + line)
            else:
                entries.append((block.line + offset, line))
    return entries


def _spelling_elsewhere(printed: str, whole: str) -> str:
    """The spelling of a title that the rest of the book uses, if it differs by one letter."""
    words = printed.split()
    pattern = r"\s+".join(map(re.escape, words[:-1] + [words[-1][:3]])) + r"\w*"
    for found in sorted(set(re.findall(pattern, whole))):
        if len(found) == len(printed) and sum(a != b for a, b in zip(found, printed)) == 1:
            return found
    return printed


def _imprint_city(lines: list[tuple[int, str]], used: set[int]) -> re.Match | None:
    """The title page's imprint: the city on the line above the year ("Oak Park, Michigan", "2019")."""
    plain = [(n, _plain(raw)) for n, raw in lines if _plain(raw)]
    for (number, text), (_, after) in zip(plain, plain[1:]):
        if re.fullmatch(r"\d{4}", after) and re.fullmatch(r"[A-Z][\w.' -]*, [A-Z][\w. -]+", text):
            used.add(number)
            return re.fullmatch(r"(.+)", text)
    return None


def parse_front(blocks: list[Block], path: str, problems: Problems,
                whole: str = "") -> tuple[dict, list[Correction], set[int]]:
    """Return the book facts, the corrections made, and the lines they came from."""
    lines: list[tuple[int, str]] = [
        (b.line + i, raw) for b in blocks for i, raw in enumerate(b.lines)
    ]
    text = "\n".join(raw for _, raw in lines)
    corrections: list[Correction] = []
    used: set[int] = set()

    def find(pattern: str, what: str, flags=0) -> re.Match | None:
        for number, raw in lines:
            m = re.search(pattern, _plain(raw), flags)
            if m:
                used.add(number)
                return m
        problems.warning(path, blocks[0].line if blocks else 1, 1, "I007",
                         f"front pages: {what} not found; fill it in book/book.yaml")
        return None

    def line_of(pattern: str) -> int:
        return next((n for n, raw in lines if re.search(pattern, _plain(raw))), 0)

    facts: dict = {}
    title_line = _plain(blocks[0].text).lstrip("# ") if blocks else ""
    facts["title"] = re.sub(r"\s+", " ", title_line).strip()
    if not facts["title"]:
        problems.warning(path, 1, 1, "I007", "front pages: title not found; fill it in book/book.yaml")
    # The title page repeats the title, then gives the subtitle and the author.
    words = " ".join(facts["title"].split()[:2]).lower()
    page = next((i for i, b in enumerate(blocks[1:], 1) if _plain(b.text).lower().startswith(words)), None)
    subtitle = _plain(blocks[page + 1].text) if page is not None and page + 1 < len(blocks) else ""
    author_line = _plain(blocks[page + 2].text) if page is not None and page + 2 < len(blocks) else ""
    if not subtitle:
        problems.warning(path, 1, 1, "I007", "front pages: subtitle not found; fill it in book/book.yaml")
    facts["subtitle"] = subtitle
    facts["short_title"] = re.sub(r"\s*\d{4}–\d{4}$", "", facts["title"])
    m = find(r"Series: (.+?)\s*\|", "series")
    series_title = m.group(1).strip() if m else ""
    # The CIP record lowercases the series title; the About the Author text
    # gives it as printed on the series' covers.
    about = re.search(r"\*(" + re.escape(series_title) + r")\*", whole, re.I) if series_title else None
    # The volume as the text states it ("This book is the second volume"); never a guess.
    volume = re.search(r"This book is the (first|second|third|fourth|fifth|sixth|seventh) volume", whole)
    if series_title:
        facts["series"] = {"title": about.group(1) if about else series_title}
        if volume:
            facts["series"]["volume"] = ["first", "second", "third", "fourth", "fifth", "sixth",
                                         "seventh"].index(volume.group(1)) + 1
        else:
            problems.warning(path, 1, 1, "I007", "front pages: the series volume is not stated "
                             "(“This book is the … volume”); fill it in book/book.yaml")
    author = author_line
    m = find(r"Names: ([^,]+), (.+?) \((.+?)\), author", "author's catalogue name")
    facts["authors"] = [{
        "name": author,
        "file_as": f"{m.group(1)}, {author.rsplit(' ', 1)[0]}" if m and author else author,
        "full_name": f"{m.group(3).split()[0]} {m.group(3).split()[1]} {m.group(1)}" if m else author,
    }]
    m = find(r"^Translated by (.+)$", "translator")
    translator = m.group(1).strip() if m else ""
    facts["translators"] = [{
        "name": translator,
        "file_as": (translator.rsplit(" ", 1)[1] + ", " + translator.rsplit(" ", 1)[0]) if translator else "",
    }]
    m = find(r"^Published by (.+)$", "publisher")
    publisher = m.group(1).strip() if m else ""
    m_addr = find(r"^(P\.O\. Box .+)$", "publisher's address")
    m_city = _imprint_city(lines, used)
    if m_city is None:
        problems.warning(path, blocks[0].line if blocks else 1, 1, "I007",
                         "front pages: publisher's city (the title page's line above its year) not found")
    facts["publisher"] = {
        "name": publisher,
        "city": m_city.group(1) if m_city else "",
        "address": m_addr.group(1) if m_addr else "",
    }
    m = find(r"^© (\d{4}) (.+)$", "copyright")
    facts["year"] = int(m.group(1)) if m else 0
    facts["language"] = "en"
    m_rights = find(r"^All rights reserved\.$", "rights")
    facts["rights"] = (f"© {m.group(1)} {m.group(2)}. " if m else "") + (m_rights.group(0) if m_rights else "")
    m = find(r"^Printed in (.+)$", "place of printing")
    facts["printed_in"] = m.group(0) if m else ""
    m = find(r"^Translation of (.+?), (M\., \d{4})\.$", "original title")
    printed = ""
    if m:
        printed = m.group(1)
        # The title page misspells the Russian title (Власть и оппозиции);
        # the About the Author page and the CIP's own source spell it right.
        original = _spelling_elsewhere(printed, whole).replace("'", "’")
        if original.replace("’", "'") != printed:
            corrections.append(Correction(line_of(r"^Translation of"), "spelling", printed, original))
        facts["original"] = {"title": original, "edition": m.group(2), "language": "ru",
                             "title_native": "Власть и оппозиции"}
    start = next((i for i, (_, raw) in enumerate(lines) if _plain(raw).startswith("Published by")), None)
    page = []
    for number, raw in lines[start:] if start is not None else []:
        if _plain(raw).startswith("Cover photos"):
            break
        line = _plain(raw)
        if line.startswith("Translation of") and printed:
            line = line.replace(printed, "*" + facts["original"]["title"] + "*")
        page.append(line)
    # The copyright page as printed, for the templates that reproduce it.
    facts["copyright_page"] = page
    credits = [(_plain(raw), n) for n, raw in lines if _plain(raw).startswith(("Cover photos:", "Right (from top):"))]
    used.update(n for _, n in credits)
    facts["cover_credits"] = " ".join(c for c, _ in credits)
    if not credits:
        problems.warning(path, 1, 1, "I007", "front pages: cover photo credits not found")

    cip_start = next((i for i, b in enumerate(blocks) if _plain(b.text) == CIP_HEADING), None)
    cip = _cip_entries(blocks[cip_start + 1:]) if cip_start is not None else []
    if cip_start is None:
        problems.warning(path, 1, 1, "I007", "front pages: CIP block not found")
    facts["cip_heading"] = CIP_HEADING
    facts["cip"] = [entry for _, entry in cip]
    joined = " ".join(facts["cip"])
    lccn = re.findall(r"LCCN (\d+) \((print|ebook)\)", joined)
    facts["lccn"] = {kind: number for number, kind in lccn}
    subjects = next((e for _, e in cip if e.startswith("Subjects: LCSH: ")), "")
    facts["subjects"] = [s.strip().rstrip(".") for s in subjects[len("Subjects: LCSH: "):].split("|") if s.strip()]
    if not subjects:
        problems.warning(path, 1, 1, "I007", "front pages: LC subjects not found")
    cls = re.search(r"LCC (.+?) \(print\) \| LCC (.+?) \(ebook\) \| DDC (\S+)", joined)
    facts["classification"] = {"lcc_print": cls.group(1), "lcc_ebook": cls.group(2), "ddc": cls.group(3)} if cls else {}
    isbns = dict((kind, number) for number, kind in re.findall(r"ISBN (\d{13}) \((pbk|cloth)", joined))
    facts["isbn"] = {"paperback": isbns.get("pbk", ""), "cloth": isbns.get("cloth", "")}
    facts["records"] = re.findall(r"<(https?://[^>]+)>", text)
    return facts, corrections, used
