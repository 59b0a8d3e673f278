"""Name index: people found in small fixtures for each rule, and in the real book."""
from __future__ import annotations

import os
import re
import time
from pathlib import Path
from types import SimpleNamespace

import pypandoc
import pytest
import yaml

from bookbuild.errors import Problems
from bookbuild.importer.indexer import build_index
from bookbuild.mentions import match_mentions

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "indexer"
BOOK = ROOT / "book"
# SAVE_GOLDEN=1 pytest tests/test_import_indexer.py rewrites the expected files on purpose.
SAVE_GOLDEN = os.environ.get("SAVE_GOLDEN") == "1"


def fixture_book():
    texts = {f"book/text/{p.name}": p.read_text(encoding="utf-8")
             for p in sorted((FIXTURE / "text").glob("*.md"))}
    people = yaml.safe_load((FIXTURE / "biographies.yaml").read_text(encoding="utf-8"))["people"]
    return texts, people


def index_of(texts: dict[str, str], people=()):
    problems = Problems()
    headings, marked = build_index(texts, list(people), problems)
    return {h["id"]: h for h in headings}, marked, problems


def person(surname, given, patronymic, alias=None, alias_after=None):
    pid = "-".join(x.lower() for x in (surname, given, patronymic))
    return {"id": pid, "surname": surname, "given_names": given, "patronymic": patronymic,
            "alias": alias, "alias_after": alias_after, "text": "…"}


def mentioned(text: str, headings: dict[str, dict]) -> list[tuple[str, str]]:
    return [(text[s:e], ref) for s, e, ref in match_mentions(text, list(headings.values()))]


SMIRNOVS = [person("Smirnov", "Ivan", "Nikitich"), person("Smirnov", "Aleksandr", "Petrovich")]


# --- the fixture book ------------------------------------------------------------------------

def test_fixture_index_matches_the_golden_files():
    texts, people = fixture_book()
    problems = Problems()
    headings, marked = build_index(texts, people, problems)
    expected = FIXTURE / "expected"
    got = {"index.yaml": yaml.safe_dump(headings, allow_unicode=True, sort_keys=False, width=100),
           "problems.txt": "".join(f"{p}\n" for p in problems),
           **{f"text/{Path(path).name}": text for path, text in marked.items()}}
    if SAVE_GOLDEN:
        for name, content in got.items():
            (expected / name).parent.mkdir(parents=True, exist_ok=True)
            (expected / name).write_text(content, encoding="utf-8")
    for name, content in got.items():
        assert content == (expected / name).read_text(encoding="utf-8"), name


def test_fixture_people_and_non_people():
    texts, people = fixture_book()
    index, _, _ = index_of(texts, people)
    headings = {h["heading"] for h in index.values()}
    assert {"Avtorkhanov, A.", "Molotov, Viacheslav Mikhailovich", "Trotsky, Lev Davydovich",
            "Uglanov", "Stalin", "Smirnov, Ivan Nikitich", "Smirnov, Aleksandr Petrovich"} <= headings
    surnames = {h.split(",")[0] for h in headings}
    for word in ("Moscow", "Kharkov", "Pravda", "Politburo", "Kremlin", "Marxism", "Alma-Ata",
                 "Constantinople", "Kamenev", "Agriculture", "Commissar"):
        assert word not in surnames
    assert index["bukharin-nikolai-ivanovich"]["person"] == "bukharin-nikolai-ivanovich"


def test_output_is_sorted_and_the_same_every_time():
    texts, people = fixture_book()
    first = build_index(texts, people, Problems())
    second = build_index(dict(reversed(list(texts.items()))), list(reversed(people)), Problems())
    assert first[0] == second[0]
    assert [h["sort"] for h in first[0]] == sorted(h["sort"] for h in first[0])
    for h in first[0]:
        assert h["forms"] == sorted(h["forms"], key=lambda f: (-len(f), f))
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", h["id"])


# --- finding people --------------------------------------------------------------------------

def test_initials_and_given_names_make_full_headings():
    text = ("# T\n\nAs A. Avtorkhanov notes, Aleksandr V. Chayanov wrote to Molotov. "
            "Later Aleksandr Vasilievich Chayanov was arrested.\n")
    index, _, _ = index_of({"t.md": text})
    assert index["avtorkhanov-a"]["heading"] == "Avtorkhanov, A."
    chayanov = index["chayanov-aleksandr-vasilievich"]
    assert chayanov["heading"] == "Chayanov, Aleksandr Vasilievich"
    assert {"Aleksandr V. Chayanov", "A. V. Chayanov", "Chayanov"} <= set(chayanov["forms"])


def test_caption_of_a_portrait_gives_the_full_name():
    text = ("# T\n\n![Viacheslav Mikhailovich Molotov (1890–1986)](images/m.jpg){#fig-m}\n\n"
            "Molotov said so, and Molotov’s speech followed.\n")
    index, _, _ = index_of({"t.md": text})
    assert index["molotov-viacheslav-mikhailovich"]["heading"] == "Molotov, Viacheslav Mikhailovich"


def test_given_name_and_patronymic_alone_name_the_one_person_they_fit():
    text = ("# T\n\nL. D. Trotsky was exiled. Leon Trotsky wrote. “Lev Davydovich,” said Sedov. "
            "Nikolai Ivanovich was silent.\n")
    people = [person("Bukharin", "Nikolai", "Ivanovich"), person("Yezhov", "Nikolai", "Ivanovich")]
    index, _, _ = index_of({"t.md": text}, people)
    trotsky = index["trotsky-lev-davydovich"]
    assert {"Lev Davydovich", "Leon Trotsky", "L. D. Trotsky"} <= set(trotsky["forms"])
    assert not any("Nikolai Ivanovich" == f for h in index.values() for f in h["forms"])


def test_bare_surname_needs_person_contexts_and_places_are_left_out():
    text = ("# T\n\nIn Kharkov the strike grew. Uglanov, who led the Moscow Committee, said no. "
            "Later Uglanov said yes. From Kharkov came letters; in Kharkov they were read. "
            "The Politburo met in Moscow.\n")
    index, _, _ = index_of({"t.md": text})
    assert "uglanov" in index
    assert not {"kharkov", "moscow", "politburo"} & set(index)


def test_transliteration_variants_and_misprints_are_forms_of_one_heading():
    text = ("# T\n\nYakov Blumkin met Trotsky. Blumkin was shot. Mikhail Pavlovich Tomsy resigned, "
            "and Tomsy said he was tired.\n")
    people = [person("Bliumkin", "Yakov", "Grigorievich"), person("Tomsky", "Mikhail", "Pavlovich")]
    index, _, _ = index_of({"t.md": text}, people)
    assert {"Blumkin", "Yakov Blumkin", "Bliumkin"} <= set(index["bliumkin-yakov-grigorievich"]["forms"])
    assert "Tomsy" in index["tomsky-mikhail-pavlovich"]["forms"]
    assert len([h for h in index.values() if h["heading"].startswith(("Blumkin", "Tomsy"))]) == 0


def test_hyphenated_names_of_two_people_are_split_and_double_surnames_kept():
    text = ("# T\n\nRuth Fischer wrote to Arkadi Maslow about the Ruth Fischer-Maslow group. "
            "Vladimir Antonov-Ovseenko backed the Stalin-Bukharin bloc, said Stalin.\n")
    index, _, _ = index_of({"t.md": text}, [person("Antonov-Ovseenko", "Vladimir", "Aleksandrovich")])
    assert {h["heading"] for h in index.values()} >= {
        "Fischer, Ruth", "Maslow, Arkadi", "Antonov-Ovseenko, Vladimir Aleksandrovich"}
    assert not any("Fischer-Maslow" in h["heading"] for h in index.values())
    found = mentioned(text, index)
    assert ("Ruth Fischer", "fischer-ruth") in found and ("Maslow", "maslow-arkadi") in found
    assert found.count(("Stalin", "stalin")) == 2


def test_a_womans_given_name_before_a_mans_surname_form_means_the_womans_form():
    text = "# T\n\nNatalia Sedova wrote to Lev Lvovich Sedov. Natalia Sedov was in Prinkipo.\n"
    index, _, _ = index_of({"t.md": text}, [person("Sedov", "Lev", "Lvovich")])
    assert "Natalia Sedov" in index["sedova-natalia"]["forms"]
    assert "Sedov" in index["sedov-lev-lvovich"]["forms"]


def test_see_references_from_aliases():
    text = "# T\n\nZinoviev said so. Sergo Ordzhonikidze objected, and Sergo left.\n"
    people = [person("Zinoviev", "Grigory", "Evseevich", "Radomyslsky", "patronymic"),
              person("Ordzhonikidze", "Grigory", "Konstantinovich", "Sergo", "patronymic"),
              person("Gaven", "Yuri", "Petrovich", "Yan Ernestovich Dauman", "patronymic")]
    index, _, _ = index_of({"t.md": text}, people)
    assert index["radomyslsky"]["see"] == "zinoviev-grigory-evseevich"
    assert index["radomyslsky"]["forms"] == []
    assert index["dauman-yan-ernestovich"]["see"] == "gaven-yuri-petrovich"
    assert {"Sergo", "Sergo Ordzhonikidze"} <= set(index["ordzhonikidze-grigory-konstantinovich"]["forms"])
    assert "sergo" not in index


def test_known_as_name_in_brackets_heads_and_the_real_name_is_a_see_reference():
    text = ("# T\n\n![Iosif Vissarionovich Dzhugashvili [Stalin] (1878–1953)](images/s.jpg){#fig-s}\n\n"
            "Stalin said it. Stalin wrote it. Stalin’s letter arrived.\n")
    index, _, _ = index_of({"t.md": text})
    assert index["stalin-iosif-vissarionovich"]["heading"] == "Stalin, Iosif Vissarionovich"
    assert [h["see"] for h in index.values() if h["heading"].startswith("Dzhugashvili")] == [
        "stalin-iosif-vissarionovich"]


def test_notes_and_documents_are_not_indexed():
    text = ("# T\n\nThen Molotov said it.[^1] Later Molotov wrote it.\n\n::: {.document lang=ru}\nKamenev Kamenev.\n\n"
            "::: caption\nSigned by Kamenev and Kamenev.\n:::\n:::\n\n[^1]: Kamenev, who said it, wrote it.\n"
            "    Kamenev said it again.\n")
    index, _, _ = index_of({"t.md": text})
    assert "molotov" in index and not any(h["heading"].startswith("Kamenev") for h in index.values())
    headings = list(index.values()) + [{"id": "kamenev", "forms": ["Kamenev"]}]
    assert [m for m in match_mentions(text, headings) if m[2] == "kamenev"] == []


# --- homonyms --------------------------------------------------------------------------------

def test_homonym_settled_by_the_previous_mention_in_the_paragraph():
    text = ("# T\n\nI. N. Smirnov wrote. Smirnov’s letter came.\n\n"
            "A. P. Smirnov, the commissar, disagreed. In Kharkov, Smirnov spoke.\n\n"
            "Smirnov was arrested.\n")
    index, marked, problems = index_of({"t.md": text}, SMIRNOVS)
    out = marked["t.md"]
    assert "[Smirnov]{.ix ref=smirnov-ivan-nikitich}’s letter" in out
    assert "Kharkov, [Smirnov]{.ix ref=smirnov-aleksandr-petrovich} spoke" in out
    assert "\nSmirnov was arrested." in out
    assert [(p.line, p.col, p.code) for p in problems] == [(7, 1, "I011")]
    assert "Smirnov" not in index["smirnov-ivan-nikitich"]["forms"]
    assert "I. N. Smirnov" in index["smirnov-ivan-nikitich"]["forms"]


def test_homonym_settled_when_only_one_bearer_has_been_named_so_far():
    texts = {"a.md": "# A\n\nM. N. Riutin wrote the platform.\n\nRiutin was expelled.\n",
             "b.md": "# B\n\nThe photograph was given by Vissarion Riutin.\n\nRiutin was shot.\n"}
    index, marked, problems = index_of(texts, [person("Riutin", "Martemian", "Nikitich")])
    assert "[Riutin]{.ix ref=riutin-martemian-nikitich} was expelled" in marked["a.md"]
    assert marked["b.md"] == texts["b.md"]
    assert [(p.path, p.line, p.code) for p in problems] == [("b.md", 5, "I011")]


def test_marks_never_go_inside_notes_documents_links_attributes_or_spans():
    text = ("# T {#smirnov}\n\nI. N. Smirnov and A. P. Smirnov met; [Smirnov]{lang=ru} left, "
            "[see Smirnov](#smirnov) and ![Smirnov](images/smirnov.jpg){#fig-smirnov}.\n\n"
            "::: {.document lang=ru}\nSmirnov\n:::\n\n[^1]: Smirnov.\n")
    _, marked, problems = index_of({"t.md": text}, SMIRNOVS)
    out = marked["t.md"]
    # Link texts and captions are main text; the span's content is not, so it is reported.
    assert "[see [Smirnov]{.ix ref=smirnov-aleksandr-petrovich}](#smirnov)" in out
    assert "![[Smirnov]{.ix ref=smirnov-aleksandr-petrovich}](images/smirnov.jpg){#fig-smirnov}" in out
    assert "[Smirnov]{lang=ru}" in out and "\nSmirnov\n:::" in out and "[^1]: Smirnov." in out
    assert [(p.line, p.col) for p in problems] == [(3, 39)]
    html = pypandoc.convert_text(out, "html", format="markdown")
    assert len(re.findall(r'<span\s+class="ix"', html)) == 1  # the caption becomes alt text
    assert re.search(r'<a href="#smirnov">see <span\s+class="ix"\s+data-ref="smirnov-aleksandr-petrovich">', html)


def test_marked_text_is_valid_pandoc_markdown():
    texts, people = fixture_book()
    _, marked, _ = index_of(texts, people)
    html = pypandoc.convert_text(marked["book/text/01-exile.md"], "html", format="markdown")
    refs = re.findall(r'<span\s+class="ix"\s+data-ref="([^"]+)">Smirnov</span>', html)
    assert refs == ["smirnov-ivan-nikitich", "smirnov-aleksandr-petrovich"]


# --- match_mentions --------------------------------------------------------------------------

HEADINGS = [
    {"id": "stalin", "forms": ["Iosif Stalin", "Stalin"]},
    {"id": "smirnov-ivan-nikitich", "forms": ["I. N. Smirnov"]},
    {"id": "antonov-ovseenko", "forms": ["Antonov-Ovseenko"]},
    {"id": "antonov", "forms": ["Antonov"]},
]


def test_match_mentions_longest_form_possessives_and_word_boundaries():
    text = ("# T\n\nIosif Stalin and Stalin’s and Stalin's men; Stalinism, Stalinist; "
            "I.N. Smirnov; the Stalin-Bukharin bloc; Antonov-Ovseenko, not Antonov.\n")
    assert mentioned(text, {h["id"]: h for h in HEADINGS}) == [
        ("Iosif Stalin", "stalin"), ("Stalin", "stalin"), ("Stalin", "stalin"),
        ("I.N. Smirnov", "smirnov-ivan-nikitich"), ("Stalin", "stalin"),
        ("Antonov-Ovseenko", "antonov-ovseenko"), ("Antonov", "antonov")]


def test_match_mentions_ix_overrides_and_noix_excludes():
    text = ("# T\n\n[Smirnov]{.ix ref=smirnov-ivan-nikitich} met [Stalin]{.noix} and "
            "[Iosif]{.ix ref=stalin}; [Stalin](#stalin-chapter) is a link text.\n")
    assert mentioned(text, {h["id"]: h for h in HEADINGS}) == [
        ("Smirnov", "smirnov-ivan-nikitich"), ("Iosif", "stalin"), ("Stalin", "stalin")]


def test_match_mentions_skips_headings_notes_documents_targets_and_attributes():
    text = ("# Stalin {#stalin}\n\n![Stalin](images/stalin.jpg){#fig-stalin}\n\nStalin.[^1]\n\n"
            "::: {.document lang=ru}\nStalin\n:::\n\n[^1]: Stalin.\n\n    Stalin again.\n\nStalin after.\n")
    found = match_mentions(text, HEADINGS)
    assert [text.count("\n", 0, s) + 1 for s, _, _ in found] == [3, 5, 15]


def test_a_form_two_headings_share_is_nobodys():
    headings = [{"id": "a", "forms": ["Smirnov"]}, {"id": "b", "forms": ["Smirnov", "A. P. Smirnov"]}]
    assert match_mentions("A. P. Smirnov and Smirnov.", headings) == [(0, 13, "b")]


def test_match_mentions_takes_heading_objects_too():
    heading = SimpleNamespace(id="stalin", heading="Stalin", sort="stalin", forms=["Stalin"])
    assert match_mentions("Stalin’s men.", [heading]) == [(0, 6, "stalin")]


# --- the real book ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_book():
    """The imported book/ (texts in reading order, biographies) and its index, built once."""
    if not (BOOK / "text").is_dir() or not (BOOK / "biographies.yaml").is_file():
        pytest.skip("book/ has not been imported yet")
    contents = yaml.safe_load((BOOK / "book.yaml").read_text(encoding="utf-8"))["contents"]
    files = [c["file"] for c in contents if c["file"].startswith("text/")]
    texts = {f"book/{f}": (BOOK / f).read_text(encoding="utf-8") for f in files}
    people = yaml.safe_load((BOOK / "biographies.yaml").read_text(encoding="utf-8"))["people"]
    problems = Problems()
    headings, marked = build_index(texts, people, problems)
    return people, headings, marked, problems


@pytest.mark.integration
def test_real_book_index(real_book):
    people, headings, marked, problems = real_book
    by_id = {h["id"]: h for h in headings}
    assert len(headings) >= 300
    assert {p["id"] for p in people} <= set(by_id)
    assert {"smirnov-ivan-nikitich", "smirnov-aleksandr-petrovich"} <= set(by_id)
    by_surname: dict[str, list[str]] = {}
    for h in headings:
        by_surname.setdefault(h["heading"].split(",")[0], []).append(h["heading"])
    for surname in ("Trotsky", "Stalin", "Bukharin", "Rykov", "Tomsky", "Kamenev", "Zinoviev", "Molotov",
                    "Riutin", "Rakovsky", "Preobrazhensky", "Radek"):
        full = [h for h in by_surname.get(surname, [])
                if re.fullmatch(rf"{surname}, \w+ \w+(?:vich|ich)", h)]
        assert full, (surname, by_surname.get(surname))
    for word in ("Moscow", "Pravda", "Politburo", "Comintern", "Kremlin", "Siberia", "Marxism"):
        assert word not in by_surname
        assert not any(word in h["forms"] for h in headings)
    assert all(p.code == "I011" for p in problems)


@pytest.mark.integration
def test_real_book_marks_are_pandoc_spans_and_matching_is_fast(real_book):
    _, headings, marked, _ = real_book
    changed = [t for t in marked.values() if "{.ix ref=" in t]
    assert changed
    for text in changed[:5]:
        html = pypandoc.convert_text(text, "html", format="markdown")
        assert len(re.findall(r'<span\s+class="ix"\s+data-ref="', html)) == text.count("{.ix ref=")
    match_mentions(next(iter(marked.values())), headings)  # compiles the one regex
    started = time.process_time()
    found = sum(len(match_mentions(text, headings)) for text in marked.values())
    assert time.process_time() - started < 1.0
    assert found > 3000
