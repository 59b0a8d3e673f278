"""English typography of imported paragraphs, and Russian spans, on samples and on the real manuscript."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pypandoc
import pytest

from bookbuild.importer.blocks import split_blocks
from bookbuild.importer.typography import mark_russian, normalize_typography

ROOT = Path(__file__).parent.parent
MANUSCRIPT_NAME = "bolsheviks-against-stalinism.received.md"
MANUSCRIPT_CANDIDATES = [ROOT / "book" / "received" / MANUSCRIPT_NAME,
                         ROOT.parent / "shared" / "manuscript" / MANUSCRIPT_NAME]
# The facsimile documents of the received manuscript (first line, last line with the caption).
DOCUMENTS = [(211, 231), (590, 598), (1419, 1436), (1519, 1637), (1641, 1683), (1972, 2027),
             (2571, 2593), (2914, 2936), (4789, 4848), (4973, 4985), (6060, 6104), (6320, 6332)]


def norm(text: str) -> str:
    return normalize_typography(text, 1)[0]


# ---------------------------------------------------------------- quotes and apostrophes

@pytest.mark.parametrize("received, expected", [
    ('He said "no" twice.', "He said “no” twice."),
    ('"Yes," he said.', "“Yes,” he said."),
    ("the 'kulak' and \"the 'left' turn\"", "the ‘kulak’ and “the ‘left’ turn”"),
    ('*"Pravda"* and "*Pravda*"', "*“Pravda”* and “*Pravda*”"),
    ('of the Stalinists — "a new course" (the "troika")', "of the Stalinists — “a new course” (the “troika”)"),
    ('["Notes"]', "[“Notes”]"),
    ('"Yes—" he said.', "“Yes—” he said."),
    ("Stalin's line, the workers' pay, the '30s, don't", "Stalin’s line, the workers’ pay, the ’30s, don’t"),
    ("So-Called 'Union of Marxist-Leninists.'\"", "So-Called ‘Union of Marxist-Leninists.’”"),
])
def test_quotes_and_apostrophes_by_context(received, expected):
    assert norm(received) == expected


@pytest.mark.parametrize("received, expected", [
    ('*XV s"ezd VKP(b)*', "*XV s”ezd VKP(b)*"),
    ("*XV s''ezda VKP(b)*", "*XV s”ezda VKP(b)*"),
    ("XVI S''ezd VKP(b)", "XVI S”ezd VKP(b)"),
    ("*XVI s’ezd Vsesoiuznoi*", "*XVI s”ezd Vsesoiuznoi*"),
    ("resheniiakh s’ezdov", "resheniiakh s”ezdov"),
    ("*Istoriia i kon''iunktura*", "*Istoriia i kon”iunktura*"),
    ("*Istoriia i kon’iunktura*", "*Istoriia i kon”iunktura*"),
    ("partii (bol'shevikov)", "partii (bol’shevikov)"),
    ("L. D. Trotskii, *Moia zhizn'*, p. 530", "L. D. Trotskii, *Moia zhizn’*, p. 530"),
    ("*Vlast' i oppozitsii*", "*Vlast’ i oppozitsii*"),
    ("Vasil'evich, *Oktiabr'*, 1989", "Vasil’evich, *Oktiabr’*, 1989"),
])
def test_transliterated_hard_and_soft_signs(received, expected):
    new = norm(received)
    assert new == expected
    letters = lambda s: re.sub(r"[^A-Za-z]", "", s)  # noqa: E731
    assert letters(new) == letters(received)


def test_hard_sign_kind_is_reported():
    _, fixes = normalize_typography('*XV s"ezd* and *XVI s\'\'ezd*', 7)
    assert [f.kind for f in fixes] == ["hard-sign"]
    assert 's"ezd' in fixes[0].before and "s”ezd" in fixes[0].after


@pytest.mark.parametrize("received, expected", [
    ("*Biulleten 'oppozitsii*, 1929, № 1", "*Biulleten’ oppozitsii*, 1929, № 1"),
    ("*Biulleten ’oppozitsii*", "*Biulleten’ oppozitsii*"),
])
def test_misplaced_apostrophe_goes_back_to_its_word(received, expected):
    new, fixes = normalize_typography(received, 1408)
    assert new == expected
    assert [(f.line, f.kind) for f in fixes] == [(1408, "misplaced-apostrophe")]


@pytest.mark.parametrize("text", [
    "the 'kulak' problem",           # an English quotation, not a soft sign
    "a 'visitor' from Moscow",
    "Bukharin 'oppozitsii' quoted",  # closed again: a quotation
])
def test_quotation_after_a_space_is_not_a_misplaced_apostrophe(text):
    _, fixes = normalize_typography(text, 1)
    assert "misplaced-apostrophe" not in {f.kind for f in fixes}


# ---------------------------------------------------------------- dashes, ranges, ellipses, spaces

@pytest.mark.parametrize("received, expected", [
    ("1917-1936", "1917–1936"),
    ("pp. 37-45.", "pp. 37–45."),
    ("№ 1-2, p. 3", "№ 1–2, p. 3"),
    ("the 1950s-1960s", "the 1950s–1960s"),
    ("in July-August 1928", "in July–August 1928"),
    ("ISBN 978-1-893638-81-5", "ISBN 978-1-893638-81-5"),
    ("LCCN 2019-022149", "LCCN 2019-022149"),
    ("947.084/2--dc23", "947.084/2--dc23"),
    ("Soviet Union--Politics and government", "Soviet Union--Politics and government"),
    ("poor- and middle-peasant farms", "poor- and middle-peasant farms"),
    ("5/1-1927", "5/1-1927"),
])
def test_ranges_get_an_en_dash_identifiers_keep_hyphens(received, expected):
    assert norm(received) == expected


@pytest.mark.parametrize("received, expected", [
    ("Artëm Vesëly - *V. R.*) is right", "Artëm Vesëly — *V. R.*) is right"),
    ("and left -- quickly", "and left — quickly"),
    ("leaders of the OGPU – *V. R.*) are", "leaders of the OGPU — *V. R.*) are"),
    ("the investigators —and I", "the investigators — and I"),
    ("word—word", "word — word"),
    ("Finally — with a delay", "Finally — with a delay"),
    ("from 1917 – 1936", "from 1917 – 1936"),
])
def test_dashes_become_the_books_spaced_em_dash(received, expected):
    assert norm(received) == expected


def test_markdown_list_markers_and_rules_are_not_dashes():
    text = "- [2.](#) *Ibid.*, p. 45.\n  - [3.](#) *Ibid.*, p. 46."
    assert norm(text) == text


def test_ellipsis_and_spaces_but_not_hard_breaks():
    assert norm("the kulak... and  then . . . end") == "the kulak… and then … end"
    text = "Transcript of the session  \n1929, ordering"
    assert norm(text) == text


# ---------------------------------------------------------------- syntax that is not prose

def test_code_urls_note_refs_link_targets_and_attributes_are_untouched():
    text = ('See `a "b" 1-2 ...` and <https://www.wsws.org/a-1-2> and https://x.org/it\'s-1-2 '
            'and [the "link"](http://x.org/1-2 "a \'title\'"){.ix ref="smirnov-1-2"} '
            'and <span title="x\'y">"z"</span>, \\"kept\\", note.[^12] [^3]: "def"')
    new = norm(text)
    for kept in ('`a "b" 1-2 ...`', "<https://www.wsws.org/a-1-2>", "https://x.org/it's-1-2",
                 '(http://x.org/1-2 "a \'title\'")', '{.ix ref="smirnov-1-2"}',
                 '<span title="x\'y">', '\\"kept\\"', "[^12]", "[^3]:"):
        assert kept in new, kept
    assert "[the “link”]" in new
    assert "“z”" in new
    assert "“def”" in new


def test_quote_after_syntax_closes():
    assert norm('“A” [Москва]{lang=ru}" x') == "“A” [Москва]{lang=ru}” x"
    assert norm('said.<sup>3</sup>" And') == "said.<sup>3</sup>” And"
    assert norm('<em>"x"</em>') == "<em>“x”</em>"


# ---------------------------------------------------------------- corrections for the report

def test_corrections_carry_kind_line_and_short_searchable_excerpts():
    text = ("First line of a paragraph that runs on and on for quite a while.\n"
            'Second line with "quotes" and more words after the quotes, and a range 1917-1936 '
            "in it, and an ellipsis... near the end of this very long line of text.")
    new, fixes = normalize_typography(text, 100)
    kinds = {f.kind: f for f in fixes}
    assert set(kinds) == {"quotes", "range", "ellipsis"}
    assert all(f.line == 101 for f in fixes)
    for f in fixes:
        assert len(f.before) < 90 and len(f.after) < 90
        assert f.before in " ".join(text.split()) and f.after in " ".join(new.split())
        assert f.before != f.after
    assert kinds["quotes"].after.count("“") == 1 and kinds["quotes"].after.count("”") == 1


def test_normalizing_twice_changes_nothing_more():
    text = ("*Biulleten 'oppozitsii*, 1929, pp. 16-17. He said \"the 'left' turn...\" - "
            "XV s\"ezd (bol'shevikov), 1917-1936.")
    once, _ = normalize_typography(text, 1)
    twice, fixes = normalize_typography(once, 1)
    assert twice == once and fixes == []


# ---------------------------------------------------------------- Russian spans

@pytest.mark.parametrize("received, expected", [
    ("**БАМ [Байкало-Амурская магистраль (БАМ)]**: the Baikal",
     "**[БАМ]{lang=ru} [[Байкало-Амурская магистраль (БАМ)]{lang=ru}]**: the Baikal"),
    ("**Cheka [(ЧК)Чрезвычайная комиссия по борьбе с контрреволюцией]**: The",
     "**Cheka [[(ЧК)Чрезвычайная комиссия по борьбе с контрреволюцией]{lang=ru}]**: The"),
    ("**VKP(b) [ВКП(б). Всесоюзная партия (большевиков)]:** The",
     "**VKP(b) [[ВКП(б). Всесоюзная партия (большевиков)]{lang=ru}]:** The"),
    ("the Cyrillic “Е”, “Ю” or “Я” are", "the Cyrillic “[Е]{lang=ru}”, “[Ю]{lang=ru}” or “[Я]{lang=ru}” are"),
    ("“people with fixed quotas” [твердозаданцы] who", "“people with fixed quotas” [[твердозаданцы]{lang=ru}] who"),
    ("*Правда* и *Известия*, 1929.", "*[Правда]{lang=ru}* [и]{lang=ru} *[Известия]{lang=ru}*, 1929."),
    ("in 1929 Москва, 1930 and", "in 1929 [Москва]{lang=ru}, 1930 and"),
    ("газета „Правда“ пишет.", "[газета „Правда“ пишет]{lang=ru}."),
    ("already [Москва]{lang=ru} here", "already [Москва]{lang=ru} here"),
    ("no Russian at all", "no Russian at all"),
])
def test_mark_russian(received, expected):
    assert mark_russian(received) == expected


def test_mark_russian_leaves_syntax_alone_and_stays_valid_pandoc():
    text = ("`код` and <b>жирный</b>, a note[^1], [Москва](http://ru.wikipedia.org/Москва), "
            "!Ленин, x^Сталин, [text]Троцкий and {#id-Ленин}")
    marked = mark_russian(text)
    assert "`код`" in marked and "(http://ru.wikipedia.org/Москва)" in marked and "{#id-Ленин}" in marked
    html = pypandoc.convert_text(marked, "html", format="markdown")
    spans = re.findall(r'<span\s+lang="ru">(.*?)</span>', html, re.S)
    assert spans == ["жирный", "Москва", "Ленин", "Сталин"]
    assert "!" in html and "^" in html and "Троцкий" in html


def test_mark_russian_output_parses_as_spans():
    marked = mark_russian("**Gosplan [Госплан]:** The State Planning Committee; "
                          "**NEP [(НЭП) Новая экономическая политика]:** The New")
    html = pypandoc.convert_text(marked, "html", format="markdown")
    spans = [" ".join(s.split()) for s in re.findall(r'<span\s+lang="ru">(.*?)</span>', html, re.S)]
    assert spans == ["Госплан", "(НЭП) Новая экономическая политика"]


# ---------------------------------------------------------------- the real manuscript

def _manuscript() -> str:
    for path in MANUSCRIPT_CANDIDATES:
        if path.exists():
            return path.read_text(encoding="utf-8")
    pytest.skip("the received manuscript is not available")


def _english_paragraphs(text: str):
    inside = lambda b: any(a <= b.line <= z for a, z in DOCUMENTS)  # noqa: E731
    return [b for b in split_blocks(text) if not inside(b) and b.text.strip() != "---"]


def test_real_manuscript_english_paragraphs():
    blocks = _english_paragraphs(_manuscript())
    counts: Counter = Counter()
    results = []
    misplaced = []
    for block in blocks:
        new, fixes = normalize_typography(block.text, block.line)
        counts.update(f.kind for f in fixes)
        assert all(block.line <= f.line <= block.end_line for f in fixes)
        misplaced += [f.line for f in fixes if f.kind == "misplaced-apostrophe"]
        results.append((block, new))
    leftover = [(b.line, m.group()) for b, new in results
                for m in re.finditer(r".{0,20}[\"'].{0,20}", re.sub(r"<[^>]+>|\[\^\d+\]|\]\([^)]*\)", "", new))]
    assert leftover == []
    assert misplaced == [1408, 1411, 1415, 1417]
    assert not any("Biulleten 'oppozitsii" in new for _, new in results)
    assert not any(re.search(r"[A-Za-z](?:\"|''|’)(?:ezd|iunktur)", new) for _, new in results)
    assert counts["quotes"] > 500 and counts["apostrophe"] > 300 and counts["ellipsis"] > 200
    assert counts["hard-sign"] >= 20 and counts["dash"] >= 30 and counts["range"] >= 15
