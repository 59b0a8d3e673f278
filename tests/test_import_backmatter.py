"""Back matter import: glossary, congress dates and biographies, on small samples and on the real manuscript."""
from __future__ import annotations

import re
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from bookbuild.errors import Problems
from bookbuild.importer.backmatter import parse_biographies, parse_congresses, parse_glossary
from bookbuild.importer.blocks import split_blocks

PATH = "received.md"
ROOT = Path(__file__).resolve().parents[1]
MANUSCRIPT_NAME = "bolsheviks-against-stalinism.received.md"
MANUSCRIPT_CANDIDATES = [ROOT / "book" / "received" / MANUSCRIPT_NAME,
                         ROOT.parent / "shared" / "manuscript" / MANUSCRIPT_NAME]


def blocks_of(text: str, first_line: int = 1):
    return split_blocks(textwrap.dedent(text).strip("\n"), first_line)


def glossary(text: str):
    problems = Problems()
    entries, corrections = parse_glossary(blocks_of(text), PATH, problems)
    return entries, corrections, problems


def biographies(text: str, note: str = "Sources."):
    problems = Problems()
    data, corrections = parse_biographies(blocks_of(text), note, PATH, problems)
    return data, corrections, problems


def one_person(text: str):
    data, corrections, problems = biographies(text)
    assert len(data["people"]) == 1
    return data["people"][0], corrections, problems


# ---------------------------------------------------------------- glossary

def test_glossary_colon_inside_or_outside_the_bold_with_stray_spaces():
    entries, _, problems = glossary("""
        **Artiel** : a law against speculation.

        **Gosplan [Госплан]:** The State Planning Committee.

        **CC**: Central Committee.
        """)
    assert [(e["term"], e["original"], e["definition"]) for e in entries] == [
        ("Artiel", None, "a law against speculation."),
        ("Gosplan", "Госплан", "The State Planning Committee."),
        ("CC", None, "Central Committee."),
    ]
    assert [e["line"] for e in entries] == [1, 3, 5]
    assert not problems.items


def test_glossary_original_bracket_is_kept_exactly():
    entries, _, problems = glossary("""
        **kolkhoz [(колхоз) коллективное хозяйство]:** collective farm.

        **Cheka [(ЧК)Чрезвычайная комиссия]**: The Extraordinary Commission.

        **Sovnarkom [Совнарком; Совет Народных Комиссаров]:** The Council.

        **VKP(b) [ВКП(б). Всесоюзная партия (большевиков)]:** The All-Union Party.
        """)
    assert [(e["term"], e["original"]) for e in entries] == [
        ("kolkhoz", "(колхоз) коллективное хозяйство"),
        ("Cheka", "(ЧК)Чрезвычайная комиссия"),
        ("Sovnarkom", "Совнарком; Совет Народных Комиссаров"),
        ("VKP(b)", "ВКП(б). Всесоюзная партия (большевиков)"),
    ]
    assert not problems.items


def test_glossary_latin_bracket_is_an_abbreviation_not_the_russian_original():
    entries, _, problems = glossary("**Five-Year Plan [FYP]**: a central economic plan.")
    assert entries[0]["term"] == "Five-Year Plan"
    assert entries[0]["original"] is None
    assert entries[0]["abbreviation"] == "FYP"
    assert not problems.items


def test_glossary_latin_letters_posing_as_cyrillic_are_kept_and_reported():
    entries, _, problems = glossary("""
        **SNK [CHK]:** *See:* Sovnarkom.

        **Sovnarkom [Совнарком]:** The Council of People's Commissars.
        """)
    assert entries[0]["original"] == "CHK"
    assert [(p.code, p.severity, p.line) for p in problems] == [("I009", "warning", 1)]
    assert "СНК" in problems.items[0].message


def test_glossary_headword_in_cyrillic_is_reported():
    entries, _, problems = glossary("**ИКР [ИКП]:** Institute of Red Professors.")
    assert entries[0]["term"] == "ИКР"
    assert [(p.code, p.severity) for p in problems] == [("I009", "warning")]


def test_glossary_two_names_in_one_headword():
    entries, _, problems = glossary(
        "**RKI [Рабоче-крестьянская инспекция]; Rabkrin [Рабкрин]:** Worker-Peasant Inspection.")
    assert entries[0]["term"] == "RKI"
    assert entries[0]["original"] == "Рабоче-крестьянская инспекция"
    assert entries[0]["variants"] == [{"term": "Rabkrin", "original": "Рабкрин", "abbreviation": None}]
    assert not problems.items


def test_glossary_definition_split_by_a_page_break_is_rejoined():
    entries, corrections, problems = glossary("""
        **Glavkontsesskom [Главконцесском]**: The Main Concession Committee. Pyatakov became first chairman

        on 8 March 1923. Trotsky became chairman on 26 May 1925.

        **Gosplan [Госплан]:** The State Planning Committee.
        """)
    assert [e["term"] for e in entries] == ["Glavkontsesskom", "Gosplan"]
    assert entries[0]["definition"].endswith("became first chairman on 8 March 1923. "
                                             "Trotsky became chairman on 26 May 1925.")
    assert [(c.line, c.kind) for c in corrections] == [(3, "rejoined")]
    assert not problems.items


def test_glossary_see_also_names_the_terms_and_leaves_the_definition_alone():
    entries, _, problems = glossary("""
        **concessions**: enterprises owned by foreign capitalists. See below: Glavkontsesskom.

        **Glavkontsesskom [Главконцесском]**: The Main Concession Committee.

        **Revvoensovet (RVS) [(РВС) Революционный Военный Совет]:** Revolutionary Military Council.

        **RVS:** *see* revvoensovet.
        """)
    by_term = {e["term"]: e for e in entries}
    assert by_term["concessions"]["see_also"] == ["Glavkontsesskom"]
    assert by_term["concessions"]["definition"].endswith("See below: Glavkontsesskom.")
    assert by_term["RVS"]["see_also"] == ["Revvoensovet (RVS)"]
    assert by_term["RVS"]["definition"] == "*see* revvoensovet."
    assert by_term["Glavkontsesskom"]["see_also"] == []
    assert not problems.items


def test_glossary_see_also_to_a_missing_term_is_reported():
    entries, _, problems = glossary("**SNK:** *See:* Sovnarkom.")
    assert entries[0]["see_also"] == ["Sovnarkom"]
    assert [(p.code, p.severity) for p in problems] == [("I009", "warning")]


def test_glossary_keeps_markdown_italics():
    entries, _, _ = glossary("**samizdat:** works like *Chronicle of Current Events*, passed hand to hand.")
    assert entries[0]["definition"] == "works like *Chronicle of Current Events*, passed hand to hand."


def test_glossary_text_before_the_first_term_is_an_error():
    _, _, problems = glossary("""
        stray words

        **CC**: Central Committee.
        """)
    assert [(p.code, p.severity, p.line) for p in problems] == [("I009", "error", 1)]


# ---------------------------------------------------------------- congresses

def test_congresses_grouped_under_their_headings():
    problems = Problems()
    groups = parse_congresses(blocks_of("""
        ## Party Congresses

        Tenth Congress of the Russian Communist Party (Bolsheviks) [RKP(b)]: 8–16 March 1921

        Seventeenth Congress of the VKP(b) [“Congress of Victors”]: 26 January–10 February 1934

        ## Congresses of the Third International (Comintern)

        First Congress: 2–7 March 1919
        """, 10), PATH, problems)
    assert groups == [
        {"group": "Party Congresses", "items": [
            {"name": "Tenth Congress of the Russian Communist Party (Bolsheviks) [RKP(b)]",
             "dates": "8–16 March 1921", "line": 12},
            {"name": "Seventeenth Congress of the VKP(b) [“Congress of Victors”]",
             "dates": "26 January–10 February 1934", "line": 14}]},
        {"group": "Congresses of the Third International (Comintern)", "items": [
            {"name": "First Congress", "dates": "2–7 March 1919", "line": 18}]},
    ]
    assert not problems.items


def test_congress_line_without_dates_is_an_error_and_kept():
    problems = Problems()
    groups = parse_congresses(blocks_of("""
        ## Party Conferences

        Fourteenth Conference of the RKP(b) in April 1925
        """), PATH, problems)
    assert groups[0]["items"] == [{"name": "Fourteenth Conference of the RKP(b) in April 1925",
                                   "dates": None, "line": 3}]
    assert [(p.code, p.severity, p.line) for p in problems] == [("I010", "error", 3)]


# ---------------------------------------------------------------- biographies

def test_biography_old_style_dates_and_colon_for_dash():
    person, corrections, problems = one_person(
        "AFINOGENOV, Aleksandr Nikolaevich (22 March [4 April] 1904: 29 October 1941). "
        "Soviet playwright.")
    assert person == {
        "id": "afinogenov-aleksandr-nikolaevich", "surname": "Afinogenov",
        "surname_caps": "AFINOGENOV", "given_names": "Aleksandr", "patronymic": "Nikolaevich",
        "alias": None, "alias_after": None, "dates": "22 March [4 April] 1904–29 October 1941",
        "born": "4 April 1904", "born_os": "22 March 1904", "died": "29 October 1941",
        "died_os": None, "text": "Soviet playwright.", "line": 1,
    }
    assert [(c.line, c.kind, c.before, c.after) for c in corrections] == [
        (1, "dash", "(22 March [4 April] 1904: 29 October 1941)",
         "(22 March [4 April] 1904–29 October 1941)")]
    assert not problems.items


def test_biography_old_style_day_only_and_hyphenated_surname():
    person, _, problems = one_person(
        "ANTONOV-OVSEENKO, Vladimir Aleksandrovich (9 [21] March 1883–10 February 1938). Born.")
    assert (person["surname"], person["surname_caps"], person["id"]) == (
        "Antonov-Ovseenko", "ANTONOV-OVSEENKO", "antonov-ovseenko-vladimir-aleksandrovich")
    assert (person["born"], person["born_os"]) == ("21 March 1883", "9 March 1883")
    assert not problems.items


@pytest.mark.parametrize("dates, born, died", [
    ("?–October 1928", "?", "October 1928"),
    ("1896–? [no sooner than 1956]", "1896", "? [no sooner than 1956]"),
    ("1881–1963", "1881", "1963"),
])
def test_biography_unknown_and_partial_dates(dates, born, died):
    person, corrections, problems = one_person(f"BUTOV, Georgy Vasilievich ({dates}). An engineer.")
    assert (person["dates"], person["born"], person["died"]) == (dates, born, died)
    assert person["born_os"] is person["died_os"] is None
    assert not corrections and not problems.items


def test_biography_spaces_around_the_dash_are_corrected():
    person, corrections, _ = one_person(
        "VAREIKIS, Iosif Mikhailovich (6 [18] October 1894 –29 July 1938). Member of party.")
    assert person["dates"] == "6 [18] October 1894–29 July 1938"
    assert [c.kind for c in corrections] == ["dash"]


def test_biography_date_without_month_is_kept_and_reported():
    person, _, problems = one_person("RYKOV, Aleksei Ivanovich (13 [25] 1881–15 March 1938). Born.")
    assert person["dates"] == "13 [25] 1881–15 March 1938"
    assert [(p.code, p.severity) for p in problems] == [("I008", "warning")]


@pytest.mark.parametrize("head, given, patronymic, alias, after", [
    ("DEBORIN [Ioffe], Abram Moiseevich (1881–1963)", "Abram", "Moiseevich", "Ioffe", "surname"),
    ("GAVEN, Yuri Petrovich [Yan Ernestovich Dauman] (18 March 1884–4 October 1936)",
     "Yuri", "Petrovich", "Yan Ernestovich Dauman", "patronymic"),
    ("BLIUMKIN, Yakov Grigorievich [Simkha-Yankev Gershevich Bliumkin. Pseudonyms: Isaev, Maks, "
     "Vladimirov] (27 February 1900–3 November 1929)", "Yakov", "Grigorievich",
     "Simkha-Yankev Gershevich Bliumkin. Pseudonyms: Isaev, Maks, Vladimirov", "patronymic"),
    ("YAKOVLEV, Yakov Arkadievich [Epshtein](21 June 1896–29 July 1938)",
     "Yakov", "Arkadievich", "Epshtein", "patronymic"),
    ("KOSIOR, Vladislav [Vladimir] Vikentievich (8 August 1891–30 March 1938)",
     "Vladislav", "Vikentievich", "Vladimir", "given_names"),
    ("TOGLIATTI, Palmiro (26 March 1893–21 August 1964)", "Palmiro", None, None, None),
])
def test_biography_names_and_aliases(head, given, patronymic, alias, after):
    person, _, problems = one_person(f"{head}. Some text.")
    assert (person["given_names"], person["patronymic"], person["alias"], person["alias_after"]) == (
        given, patronymic, alias, after)
    assert person["text"] == "Some text."
    assert not problems.items


def test_biography_list_dashes_and_several_entries_in_one_block():
    data, corrections, problems = biographies("""
        - BUTOV, Georgy Vasilievich (?–October 1928). An engineer.
        - CHAYANOV, Aleksandr Vasilievich (17 [29] January 1888–3 October 1937). Economist.
        - DEBORIN [Ioffe], Abram Moiseevich (1881–1963). Philosopher.
        """)
    assert [p["id"] for p in data["people"]] == [
        "butov-georgy-vasilievich", "chayanov-aleksandr-vasilievich", "deborin-abram-moiseevich"]
    assert [p["line"] for p in data["people"]] == [1, 2, 3]
    assert [(c.line, c.kind) for c in corrections] == [(1, "list-marker"), (2, "list-marker"),
                                                      (3, "list-marker")]
    assert not problems.items


def test_biography_continuations_after_page_breaks_are_rejoined():
    data, corrections, problems = biographies("""
        ASTROV, Valentin Nikolaevich (1 August 1898–15 July 1993). Finished IKP in 1926.

        1924–1929, on editorial board of journal *Bolshevik*.

        KONDRATIEV, Nikolai Dmitrievich (4 [16] March 1892–17 September 1938). In 1920–

        1923, in Narkomzem.

        RAKOVSKY, Khristian Georgievich (1 August 1873–11 September 1941). Supported newspaper *Nashe*



        *Slovo*, edited by Martov. Died in 1941.

        Works were published later.
        """)
    texts = [p["text"] for p in data["people"]]
    assert texts == [
        "Finished IKP in 1926. 1924–1929, on editorial board of journal *Bolshevik*.",
        "In 1920–1923, in Narkomzem.",
        "Supported newspaper *Nashe Slovo*, edited by Martov. Died in 1941. Works were published later.",
    ]
    assert [(c.line, c.kind) for c in corrections] == [
        (3, "rejoined"), (7, "rejoined"), (13, "rejoined"), (15, "rejoined")]
    assert not problems.items


def test_biography_colon_between_two_dates_in_the_text_becomes_a_dash():
    person, corrections, _ = one_person(
        "BUKHARIN, Nikolai Ivanovich (9 October 1888–15 March 1938). Member of Politburo "
        "2 June 1924: 17 November 1929. In 1923: nothing.")
    assert person["text"] == "Member of Politburo 2 June 1924–17 November 1929. In 1923: nothing."
    assert [(c.kind, c.before, c.after) for c in corrections] == [
        ("dash", "2 June 1924: 17 November 1929", "2 June 1924–17 November 1929")]


def test_biography_without_dates_is_an_error():
    data, _, problems = biographies("KAMENEV, Lev Borisovich. Born in Moscow.")
    assert data["people"] == []
    assert [(p.code, p.severity) for p in problems] == [("I008", "error")]


def test_biography_same_name_twice_gets_a_distinct_id():
    data, _, problems = biographies("""
        SMIRNOV, Ivan Nikitich (1881–1936). One.

        SMIRNOV, Ivan Nikitich (1890–1940). Another.
        """)
    assert [p["id"] for p in data["people"]] == ["smirnov-ivan-nikitich", "smirnov-ivan-nikitich-2"]
    assert [(p.code, p.severity, p.line) for p in problems] == [("I008", "warning", 3)]


def test_biography_source_note_marker_dropped_and_note_after_the_rule_accepted():
    text = """
        TOGLIATTI, Palmiro (26 March 1893–21 August 1964). Italian Communist.

        ---

        <sup>1</sup>. The information in these notes comes from a variety of sources.
        """
    data, _, problems = biographies(text, note="")
    assert data["source_note"] == "The information in these notes comes from a variety of sources."
    assert len(data["people"]) == 1 and not problems.items
    data, _, problems = biographies(text, note="<sup>1</sup>. Something else.")
    assert [(p.code, p.severity, p.line) for p in problems] == [("I008", "error", 5)]


def test_biography_output_is_deterministic():
    text = "KOSIOR, Vladislav [Vladimir] Vikentievich (8 August 1891–30 March 1938). Born.\n\nmore."
    assert biographies(text)[:2] == biographies(text)[:2]


# ---------------------------------------------------------------- the real manuscript

def _manuscript_lines() -> list[str]:
    for candidate in MANUSCRIPT_CANDIDATES:
        if candidate.exists():
            return candidate.read_text(encoding="utf-8").split("\n")
    pytest.skip(f"the received manuscript is in none of {[str(c) for c in MANUSCRIPT_CANDIDATES]}")


def _section(lines: list[str], title: str) -> tuple[int, list[str]]:
    """(1-based line of the first line after the `#` heading, the lines up to the next `#` heading)."""
    start = next(i for i, line in enumerate(lines) if line.startswith("# " + title))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("# ")), len(lines))
    return start + 2, lines[start + 1:end]


def _alnum(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


def _glossary_fields(entry: dict) -> list[str]:
    names = [entry, *entry["variants"]]
    return [f for n in names for f in (n["term"], n["original"], n["abbreviation"]) if f] + [
        entry["definition"]]


def _congress_fields(group: dict) -> list[str]:
    return [group["group"]] + [f for item in group["items"] for f in (item["name"], item["dates"])]


def _person_fields(person: dict) -> list[str]:
    """The printed heading's parts in printed order, then the text."""
    alias = {person["alias_after"]: person["alias"]} if person["alias"] else {}
    fields = [person["surname_caps"], alias.get("surname"), person["given_names"],
              alias.get("given_names"), person["patronymic"], alias.get("patronymic"),
              person["dates"], person["text"]]
    return [f for f in fields if f]


def _assert_nothing_lost(received: list[str], fields_per_entry: list[list[str]]) -> None:
    produced = "".join(_alnum(f) for fields in fields_per_entry for f in fields)
    missing = [line for line in received if _alnum(line) not in produced]
    assert not missing, missing[:3]
    assert Counter(_alnum("".join(received))) == Counter(produced)


@pytest.mark.integration
def test_real_manuscript_back_matter():
    lines = _manuscript_lines()
    problems = Problems()

    first, glossary_lines = _section(lines, "Glossary of Abbreviations and Terms")
    terms, glossary_corrections = parse_glossary(
        split_blocks("\n".join(glossary_lines), first), PATH, problems)
    assert len(terms) == sum(1 for line in glossary_lines if line.startswith("**")) == 55
    _assert_nothing_lost(glossary_lines, [_glossary_fields(e) for e in terms])

    first, congress_lines = _section(lines, "Dates of Party Congresses")
    groups = parse_congresses(split_blocks("\n".join(congress_lines), first), PATH, problems)
    assert [(g["group"], len(g["items"])) for g in groups] == [
        ("Party Congresses", 13), ("Party Conferences", 4),
        ("Congresses of the Third International (Comintern)", 7)]
    _assert_nothing_lost(congress_lines, [_congress_fields(g) for g in groups])

    first, bio_lines = _section(lines, "Selected Biographical Notes")
    rule = next(i for i, line in enumerate(bio_lines) if line.strip() == "---")
    source_note = "\n".join(bio_lines[rule + 1:]).strip()
    data, bio_corrections = parse_biographies(
        split_blocks("\n".join(bio_lines[:rule]), first), source_note, PATH, problems)
    people = data["people"]
    # The brief expected 88 people, but the section holds 93 headings: the 88
    # without a list dash plus BUTOV, CHAYANOV, DEBORIN, DEMCHENKO and
    # DINGELSHTEDT, which the conversion printed as a bulleted list.
    assert len(people) == 93
    assert len({p["id"] for p in people}) == len(people)
    assert all(re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", p["id"]) for p in people)
    assert _alnum(data["source_note"]) == _alnum(re.sub(r"^<sup>1</sup>\.", "", source_note))
    _assert_nothing_lost(bio_lines[:rule], [_person_fields(p) for p in people])

    rejoined = sorted(c.line for c in glossary_corrections + bio_corrections if c.kind == "rejoined")
    assert rejoined == [6612, 6772, 6788, 6804, 6812, 6826, 6834, 6848, 6860, 6870, 6880, 6890,
                        6904, 6914, 6932, 6940, 6948, 6962, 6974, 6984, 6994]
    by_id = {p["id"]: p for p in people}
    assert "1924–1929, on editorial board" in by_id["astrov-valentin-nikolaevich"]["text"]
    assert by_id["zinoviev-grigory-evseevich"]["text"].endswith("Rehabilitated on 13 July 1988.")
    assert {(c.line, c.kind) for c in bio_corrections if c.kind != "rejoined"} == {
        (6764, "dash"), (6766, "dash"), (6768, "dash"), (6774, "dash"), (6780, "dash"),
        (6970, "dash"), (6782, "list-marker"), (6783, "list-marker"), (6784, "list-marker"),
        (6785, "list-marker"), (6786, "list-marker")}
    # Each of these is a real doubt in the manuscript, left for an editor.
    assert [(p.line, p.code, p.severity) for p in problems] == [
        (6590, "I009", "warning"),  # headword БАМ in Cyrillic
        (6620, "I009", "warning"),  # headword ИКР in Cyrillic (the text says IKP)
        (6660, "I009", "warning"),  # [(PBC) …]: Latin letters for РВС
        (6672, "I009", "warning"),  # [CHK]: Latin letters for СНК
        (6900, "I008", "warning"),  # RYKOV born "13 [25] 1881": month missing
    ]
