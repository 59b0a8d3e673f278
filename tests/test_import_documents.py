"""Russian facsimile documents → `::: {.document lang=ru}` blocks, on samples and on the real manuscript."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pypandoc
import pytest

from bookbuild.importer.blocks import Block, split_blocks
from bookbuild.importer.documents import convert_document

ROOT = Path(__file__).parent.parent
MANUSCRIPT_NAME = "bolsheviks-against-stalinism.received.md"
MANUSCRIPT_CANDIDATES = [ROOT / "book" / "received" / MANUSCRIPT_NAME,
                         ROOT.parent / "shared" / "manuscript" / MANUSCRIPT_NAME]
# Every facsimile document of the received manuscript: first line, last line
# (its caption included). The five without an English caption run into the
# next chapter or paragraph.
DOCUMENTS = [(211, 231), (590, 598), (1419, 1436), (1519, 1637), (1641, 1683), (1972, 2027),
             (2571, 2593), (2914, 2936), (4789, 4848), (4973, 4985), (6060, 6104), (6320, 6332)]


def blocks_of(text: str, first_line: int = 1) -> list[Block]:
    return split_blocks(text, first_line)


def html_of(markdown: str) -> str:
    return pypandoc.convert_text(markdown, "html", format="markdown")


# ---------------------------------------------------------------- samples

SAMPLE = """# Выписка из протокола №

Заседания Коллегии ОГПУ от 3 ноября 1 9 2 9 г.

СЛУШАЛИ\tПОСТАНОВИЛИ
<p>дела гр. Якова Герше- вича, ур. Черни- говской губ.</p> <p>Дело слушается.</p>\t<p>Б Л У М К И Н А Якова - за шпио- наж -</p> <p><u>РАССТРЕЛЯТЬ</u> с конфискацией</p>

*Менжинский*  
/Ягода/  
*Трилиссер*

Transcript of the OGPU Collegium session on 3 November  
1929, ordering Blumkin's execution.  
Signed by Menzhinsky, Yagoda and Trilisser."""


@pytest.fixture(scope="module")
def sample():
    return convert_document(blocks_of(SAMPLE, 1419))


def test_document_div_with_caption_div_last(sample):
    md, _ = sample
    assert md.startswith("::: {.document lang=ru}\n")
    assert md.rstrip().endswith(
        "::: {.caption lang=en}\n"
        "Transcript of the OGPU Collegium session on 3 November 1929, ordering Blumkin’s execution. "
        "Signed by Menzhinsky, Yagoda and Trilisser.\n:::\n:::")


def test_headings_become_classed_bold_paragraphs(sample):
    md, _ = sample
    assert not re.search(r"^#", md, re.M)
    assert "::: {.doc-heading .doc-h1}\n**Выписка из протокола №**\n:::" in md


def test_html_becomes_markdown(sample):
    md, _ = sample
    assert "<" not in md
    assert "[РАССТРЕЛЯТЬ]{.underline}" in md


def test_table_with_header_row(sample):
    md, _ = sample
    html = html_of(md)
    assert "<th>СЛУШАЛИ</th>" in html.replace("\n", "") or re.search(r"<th[^>]*>\s*СЛУШАЛИ", html)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)
    assert len(cells) == 2
    assert cells[0].count("<p>") == 2 and "Дело слушается." in cells[0]
    assert "<u>РАССТРЕЛЯТЬ</u>" in cells[1]  # Pandoc writes an underline span as <u>


def test_signature_lines_keep_their_breaks(sample):
    md, _ = sample
    assert "*Менжинский*\\\n/Ягода/\\\n*Трилиссер*" in md
    assert html_of(md).count("<br />") == 2


def test_ocr_fixes_are_reported(sample):
    md, fixes = sample
    assert "Гершевича" in md and "Черниговской" in md and "шпионаж" in md
    assert "1929 г." in md and "[БЛУМКИНА]{.spaced}" in md
    found = {(f.kind, f.before, f.after) for f in fixes}
    assert ("hyphenation", "Герше- вича", "Гершевича") in found
    assert ("letterspacing", "1 9 2 9", "1929") in found
    assert ("letterspacing", "Б Л У М К И Н А", "[БЛУМКИНА]{.spaced}") in found
    apostrophe = next(f for f in fixes if f.kind == "apostrophe")
    assert "Blumkin's execution" in apostrophe.before and "Blumkin’s execution" in apostrophe.after
    assert apostrophe.line == 1431
    lines = {f.before: f.line for f in fixes}
    assert lines["Герше- вича"] == 1424 and lines["1 9 2 9"] == 1421


def test_typed_dashes_stay_in_russian_text(sample):
    md, _ = sample
    assert "Якова - за" in md.replace("\n", " ").replace("| ", "").replace("\\- ", "- ")


@pytest.mark.parametrize("received, kept", [
    ("по- прежнему", "по-прежнему"),
    ("в- третьих", "в-третьих"),
    ("какое- либо", "какое-либо"),
    ("кое- как", "кое-как"),
    ("По- становлено", "Постановлено"),
])
def test_hyphenated_words_keep_their_hyphen(received, kept):
    md, fixes = convert_document(blocks_of(f"Текст {received} дальше."))
    assert kept in md
    assert [f.kind for f in fixes] == ["hyphenation"]


def test_spaced_hyphen_in_capitals_is_closed_when_the_document_spells_it_closed():
    md, fixes = convert_document(blocks_of(
        "## (БОЛЬШЕВИКОВ-ЛЕНИНЦЕВ)\n\n##### I. БОРЬБА БОЛЬШЕВИКОВ - ЛЕНИНЦЕВ В С.С.С.Р.\n\n"
        "Еще раз о Брандлере - Тальгеймере. СТАЛИНИЗМ - НИКОГДА!"))
    assert "БОРЬБА БОЛЬШЕВИКОВ-ЛЕНИНЦЕВ" in md
    assert "Брандлере - Тальгеймере" in md and "СТАЛИНИЗМ - НИКОГДА" in md
    assert [(f.kind, f.after) for f in fixes] == [("hyphen", "БОЛЬШЕВИКОВ-ЛЕНИНЦЕВ")]


def test_paragraph_split_by_a_page_break_is_rejoined():
    md, fixes = convert_document(blocks_of(
        "Борьба оппозиции (большевиков-ленинцев)\n\nи репрессии.\n\nв силу мо-\n\nих ошибок.\n\n"
        "Конец фразы.\n\nначало другой."))
    assert "Борьба оппозиции (большевиков-ленинцев) и репрессии. в силу моих ошибок." not in md
    assert "(большевиков-ленинцев) и репрессии." in md
    assert "в силу моих ошибок." in md
    assert "Конец фразы.\n\nначало другой." in md
    kinds = [f.kind for f in fixes]
    assert kinds.count("rejoined-paragraph") == 2 and kinds.count("hyphenation") == 1


def test_newspaper_column_broken_at_line_ends_is_reflowed():
    md, fixes = convert_document(blocks_of("„9 апреля 1928 г. Работа  \nв Москве. Работало 7 че-  \nловек."))
    assert "\n\n„9 апреля 1928 г. Работа в Москве. Работало 7 человек.\n\n:::" in md
    assert [(f.line, f.before) for f in fixes] == [(2, "че- ловек")]


def test_lines_that_look_like_markdown_blocks_stay_text():
    md, _ = convert_document(blocks_of(
        "1. Среда 11/7.\n\n2) Когда и где  \n3) И, в-третьих\n\n- тире\n\n---\n\n# ЗАГОЛОВОК\n\nI. Часть"))
    html = html_of(md)
    assert not re.search(r"<(?:ol|ul|li|hr|h\d)\b", html)
    for text in ("1. Среда", "2) Когда", "3) И, в-третьих", "- тире", "---", "I. Часть"):
        assert text in html


def test_document_without_caption_and_caption_in_italics():
    md, _ = convert_document(blocks_of("# ЗАГОЛОВОК\n\nТекст."))
    assert ".caption" not in md and md.rstrip().endswith(":::")
    md, _ = convert_document(blocks_of(
        "Текст.\n\n*Trotsky's \"Tragedy of the German Proletariat.*\n\n"
        "*The German Workers Will Rise, Stalinism — Never!\"*"))
    assert ("::: {.caption lang=en}\nTrotsky’s “Tragedy of the German Proletariat. "
            "The German Workers Will Rise, Stalinism — Never!”\n:::") in md


def test_superscript_marks_and_bold_headings():
    md, _ = convert_document(blocks_of(
        "### **СТАЛИН И КРИЗИС ДИКТАТУРЫ <sup>1</sup>**\n\n#### **(«ГРУППА РЮТИНА»)\\***"))
    assert "::: {.doc-heading .doc-h3}\n**СТАЛИН И КРИЗИС ДИКТАТУРЫ^1^**\n:::" in md
    assert "::: {.doc-heading .doc-h4}\n**(«ГРУППА РЮТИНА»)\\***\n:::" in md
    html = html_of(md)
    assert "<sup>1</sup>" in html and "РЮТИНА»)*</strong>" in html


def test_deterministic(sample):
    assert convert_document(blocks_of(SAMPLE, 1419)) == sample


# ---------------------------------------------------------------- the real manuscript

@pytest.fixture(scope="module")
def manuscript_lines() -> list[str]:
    for path in MANUSCRIPT_CANDIDATES:
        if path.exists():
            return path.read_text(encoding="utf-8").split("\n")
    pytest.skip("the received manuscript is not available")


def document(lines: list[str], first: int, last: int) -> tuple[str, list]:
    return convert_document(split_blocks("\n".join(lines[first - 1:last]), first))


def test_real_blumkin_protocol_parses_as_intended(manuscript_lines):
    md, fixes = document(manuscript_lines, 1419, 1436)
    html = html_of(md)
    outer = re.search(r'<div class="document" lang="ru">(.*)</div>', html, re.S)
    assert outer, html[:300]
    inside = outer.group(1)
    assert not re.search(r"<h[1-6]\b", inside)
    assert "<table" in inside
    caption = re.search(r'<div class="caption" lang="en">\s*<p>(.*?)</p>\s*</div>', inside, re.S)
    assert " ".join(caption.group(1).split()) == ("Transcript of the OGPU Collegium session on 3 November 1929, "
                                                  "ordering Blumkin’s execution. Signed by Menzhinsky, "
                                                  "Yagoda and Trilisser.")
    assert "Гершевича" in inside and "Герше- вича" not in inside
    assert sum(f.kind == "hyphenation" for f in fixes) == 8


def _letters(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


def _ast_text(node) -> str:
    """The words of a Pandoc JSON AST in reading order (table cells row by row)."""
    if isinstance(node, dict):
        if node.get("t") == "Str":
            return node["c"]
        if node.get("t") in ("Code", "RawInline", "RawBlock"):
            return node["c"][-1]
        return "".join(_ast_text(v) for k, v in node.items() if k == "c" or k == "blocks")
    if isinstance(node, list):
        return "".join(_ast_text(n) for n in node)
    return ""


@pytest.mark.parametrize("first, last", DOCUMENTS)
def test_real_documents_lose_nothing(manuscript_lines, first, last):
    received = "\n".join(manuscript_lines[first - 1:last])
    received = re.sub(r"<[^>]+>", " ", received)
    md, _ = document(manuscript_lines, first, last)
    ast = json.loads(pypandoc.convert_text(md, "json", format="markdown"))
    assert _letters(_ast_text(ast["blocks"])) == _letters(received)


@pytest.mark.parametrize("first, last", DOCUMENTS)
def test_real_documents_have_no_headings_and_one_document_div(manuscript_lines, first, last):
    md, fixes = document(manuscript_lines, first, last)
    html = html_of(md)
    assert not re.search(r"<h[1-6]\b", html)
    assert html.count('<div class="document" lang="ru">') == 1
    assert "<p>" not in md and "<u>" not in md
    assert all(first <= f.line <= last for f in fixes)
