"""Name index: the people named in the main text and captions, as headings, with homonyms settled."""
from __future__ import annotations

import bisect
import dataclasses
import functools
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from ..errors import Problems
from ..mdsyntax import closing
from ..mentions import (INITIAL, LOWER, MASK, SURNAME_END, WORD, caption_ranges, form_matcher,
                        norm_form, visible)

# --- what a name looks like (the patterns shared with lint are in mentions.py) ------------

TOKEN = re.compile(rf"(?<![\w’'])(?:(?P<initial>{INITIAL})|(?P<word>{WORD})(?![\w]))")
TOKEN_GAP = re.compile(r"[^\S\n]*\n?[^\S\n]*")
BRACKETED_GAP = re.compile(rf"[^\S\n]*\[{WORD}\][^\S\n]*")
POSSESSIVE = re.compile(r"['’]s(?!\w)")
PATRONYMIC_END = re.compile(r"(?:ovich|evich|ich|ovna|evna|ichna|inichna)$")
# Words for followers and doctrines ("Trotskyists", "Stalinism") are never surnames.
DOCTRINE = re.compile(r"(?:ism|isms|ist|ists|ite|ites)$")
# "the Smirnovs", "the many Emelian Ilovaiskys": a family or a type, not one person.
PLURAL = re.compile(r"(?:skys|skiis|ovs|evs|ins)$")
DERIVED = re.compile(rf"\b({WORD}?)(?:ists?|ism|ites?)\b")

# Common given names as this translation spells them. The biographies and the text itself
# (a word before a patronymic) add more.
GIVEN_NAMES = frozenset("""
Abram Adolf Akmal Aleksandr Aleksandra Aleksei Alexander Alexei Anatoly Anatolii Andrei Angelo
Anna Ante Anton Antonina Arkadi Arkady Arkadii Arthur Artur Avel Bela Boris Clara Daniil David Dmitry
Dmitrii Eduard Efim Ekaterina Elena Elizaveta Emelian Erich Ernst Eugen Evdokiia Evgenia Evgeny
Evgenii Faina Felix Feliks Fedor Fyodor Franz Friedrich Fritz Galina Genrikh Georgi Georgii
Georgy Gleb Grigorii Grigory Heinrich Heinz Henri Hermann Igor Ilya Innokenty Iosif Isaac Isaak
Ivan Ivar Joseph Karl Kamil Klavdia Klavdiia Kliment Kolya Konstantin Lazar Leon Leonid Leopold
Lev Lidia Lidiia Liubov Louis Luigi Lyovka Lyudmila Maksim Maria Mariia Mariya Martemian Matvei Mikhail
Moisei Nadezhda Natalia Nataliia Nikita Nikolai Nina Olga Osip Otto Palmiro Pavel Pierre Polina
Pyotr Raisa Raymond Robert Rosa Ruth Semyon Semen Sergei Sofia Sofiia Stanislav Svetlana Tatiana
Timofei Vadim Vagarshak Valentin Valerian Varvara Vasily Vasilii Vera Viacheslav Victor Viktor
Vissarion Vladimir Vladislav Vsevolod Winston Yakov Yan Yemelian Yuri Yurii Zinaida
""".split())
# Men's names ending in -a: a woman's name before a man's surname ("Natalia Sedov") means the
# woman's form of that surname (Sedova), but "Nikita Khrushchev" does not.
MALE_IN_A = frozenset({"nikita", "ilya", "kolya", "lyovka", "foma", "kuzma", "luka", "savva"})
# Other spellings and the diminutives the text uses ("Lyovka Rubin" is Lev Rubin).
GIVEN_EQUIVALENTS = {"leon": "lev", "lyova": "lev", "lyovka": "lev", "alexander": "aleksandr",
                     "sasha": "aleksandr", "joseph": "iosif", "isaak": "isaac", "kolya": "nikolai"}

# Capitalized words that are never surnames: sentence openings ("However Ivanov"), titles
# ("Comrade Stalin"), months.
NOT_NAMES = frozenset("""
A About After Against Agriculture All Also Although Among An And Another Any April As At August
Before Being Between Both But By Chairman Citing Comrade Comrades Could December Deputy Despite
Doubting During Each Either Even Every February For From General Hence Her Here His How However
If In Instead It Its January July June Knowing Like Many March May Meanwhile Mentioning Mister
Moreover Mr Mrs My Neither No Nor Not November Now October Of On Once One Only Or Other Our
Professor Prosecutor Recalling Removing Saint Sending September She Since So Some Soon St Such
That The Their Then There Therefore These They This Those Though Thus To Under Unlike Until Upon
Was We What When Whether Which While Who Why With Yet You
""".split())
# Words next to a bare surname that show a person: a title or role ("Comrade", "the
# secretary"), speech ("said Molotov", "Molotov declared"), "who". Place words: "in", "near".
ROLE = (
    r"secretary|director|chairman|head|leader|member|editor|author|organizer|ideologue|theoretician|"
    r"commissar|deputy|prosecutor|investigator|writer|poet|playwright|novelist|historian|economist|"
    r"philosopher|journalist|engineer|agronomist|professor|student|worker|friend|comrade|supporter|"
    r"follower|opponent|wife|son|daughter|brother|sister|father|mother|widow|husband|man|woman")
TITLE_BEFORE = re.compile(
    rf"(?i:\b(?:comrades?|academician|marshal|general|dr\.|mr\.|mrs\.|mister|madame|citizen|chekist|"
    rf"defendant|oppositionist|{ROLE})\s+)$")
SPEECH = (
    r"said|says|wrote|writes|declared|stated|noted|notes|stressed|emphasized|asserted|argued|"
    r"believed|recalled|recalls|remembered|admitted|insisted|claimed|proposed|demanded|replied|"
    r"answered|told|asked|explained|thought|considered|feared|knew|understood|remarked|objected|"
    r"acknowledged|confessed|testified|announced|suggested|warned|added|continued|spoke|"
    r"complained|reported|responded|exclaimed|observed|maintained|characterized|described|agreed|"
    r"refused|decided|tried|hoped|wanted|learned|died|himself|herself")
AFTER_PERSON = re.compile(
    rf"^(?:['’]s\s+(?:{ROLE})\b"
    rf"|\s*,?\s*(?:{SPEECH}|who|whom|whose)\b"
    rf"|,\s+(?:the|a|an|his|her)\s+(?:[a-z-]+\s+)?(?:{ROLE})\b)")
BEFORE_PERSON = re.compile(
    rf"(?:\b(?:{SPEECH})\s+"
    r"|\b(?:[a-z]+ed|written|made|given|shown)\s+by\s+"
    r"|\b(?:letters?|telegram|note|message|report|speech|article|memoirs|diary|testimony)"
    r"\s+(?:from|to|by|of)\s+)$")
PLACE_BEFORE = re.compile(r"(?i:\b(?:in|near|into|across|throughout|outside|around|towards|via)\s+)$")
THE_BEFORE = re.compile(r"(?i:\bthe\s+)$")
THE_AFTER = re.compile(
    r"^(?:\s*[,.;:)]|\s+(?:in|of|and|was|were|had|has|is|to|on|at|for|by|who|which|that)\b)")
LIST_GAP = re.compile(r"^(?:\s*,\s*(?:and\s+)?|\s+and\s+)$")


def _paragraphs(view: str) -> list[tuple[int, int]]:
    """Paragraph ranges: runs of lines that are neither blank nor fully masked."""
    return [(m.start(), m.end())
            for m in re.finditer(rf"[^\n]*[^\s{MASK}][^\n]*(?:\n[^\n]*[^\s{MASK}][^\n]*)*", view)]


# --- spelling keys ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _fold(s: str) -> str:
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower()


@functools.lru_cache(maxsize=None)
def _key(s: str) -> str:
    """Where transliteration variants of one name meet: Bliumkin/Blumkin, Riutin/Ryutin."""
    k = re.sub(r"['’ʹ]", "", _fold(s)).replace("x", "ks").replace("y", "i").replace("j", "i")
    for a, b in (("iia", "ia"), ("ii", "i"), ("iu", "u"), ("ia", "a"), ("ie", "e"), ("io", "o")):
        k = k.replace(a, b)
    return k


@functools.lru_cache(maxsize=None)
def _spelling(s: str) -> str:
    """Closer than _key: Skrypnik is Skrypnyk, but Yeltsin is not Eltsin."""
    return _fold(s).replace("y", "i")


@functools.lru_cache(maxsize=None)
def _given_key(s: str) -> str:
    k = _fold(s)
    return _key(GIVEN_EQUIVALENTS.get(k, k)).replace("aleksander", "aleksandr")


def _initial(s: str) -> str:
    """The letter a name is abbreviated to, as a key: "Yakov" and "Ia." both give "a"."""
    k = _key(s.rstrip("."))
    return k[:2] if k[:2] in ("zh", "kh", "ch", "sh", "ts") else k[:1]


def _initial_text(name: str) -> list[str]:
    """How a name is abbreviated in print: "Yakov" → "Ya.", also "Y."."""
    two = name[:2]
    if two in ("Ya", "Yu", "Ye", "Yo", "Ia", "Iu", "Zh", "Kh", "Ch", "Sh", "Ts"):
        return [two + ".", name[0] + "."]
    return [name[0] + "."]


def _skeleton(s: str) -> str:
    return re.sub(r"[aeiouy]", "", _key(s))


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", _fold(s)).strip("-")


def _sort_key(s: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", _fold(s)).split())


def _one_edit_apart(a: str, b: str) -> bool:
    """One letter dropped or added inside a name (Tomsy, Tomskey for Tomsky); not -a or -s at the end."""
    if abs(len(a) - len(b)) != 1:
        return False
    short, long_ = sorted((a, b), key=len)
    if long_[:-1] == short and long_[-1] in "as":
        return False
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def _is_feminine(given: str) -> bool:
    g = _fold(given)
    return g.endswith("a") and g not in MALE_IN_A


def _feminine_forms(surname: str) -> list[str]:
    if re.search(r"(?:sky|skii|skiy)$", surname):
        stem = re.sub(r"(?:sky|skii|skiy)$", "", surname)
        return [stem + "skaya", stem + "skaia"]
    if re.search(r"(?:ov|ev|in|yn)$", surname):
        return [surname + "a"]
    return []


def _distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _same_patronymic(a: str, b: str) -> bool:
    """Berngardovich and Berggardovich are one patronymic misprinted."""
    ka, kb = _key(a), _key(b)
    return ka == kb or (ka[:1] == kb[:1] and _distance(ka, kb) <= 2)



# --- occurrences of names in the text --------------------------------------------------------

def _starts_sentence(before: str) -> bool:
    """Whether a word after this text opens a sentence (or a paragraph)."""
    before = before.rstrip(f" \t\n{MASK}“\"‘'(*_—–-")
    before = before.rstrip("’\"”)*_")
    return not before or before[-1] in ".!?:;"


@dataclass
class _Token:
    text: str
    start: int
    end: int
    initial: bool
    alt: str | None = None


@dataclass
class _Name:
    """One place where the text names someone, as far as the words there tell."""

    path: str
    para: int
    start: int
    end: int
    surname: str | None
    given: str | None = None
    patronymic: str | None = None
    initials: tuple[str, ...] = ()
    written_initials: tuple[str, ...] = ()
    written: str = ""
    sentence_start: bool = False
    caption: bool = False
    left: str = ""
    right: str = ""
    given_alt: str | None = None
    surname_alt: str | None = None
    inside: bool = False

    @property
    def bare(self) -> bool:
        return self.surname is not None and not self.given and not self.initials

    def detail(self) -> int:
        return (2 if self.given else 0) + (2 if self.patronymic else 0) + len(self.written_initials)


@dataclass
class _Lexicon:
    """What the scan knows about words: given names, patronymics, surnames from the biographies."""

    given: set[str]
    patronymics: set[str]
    bio_surnames: set[str]
    common: set[str]

    def is_given(self, word: str) -> bool:
        return word in self.given

    def is_patronymic(self, word: str, strict: bool) -> bool:
        if not PATRONYMIC_END.search(word) or word in self.bio_surnames:
            return False
        if not strict or _key(word) in self.patronymics:
            return True
        base = re.sub(r"(?:ovich|evich|ich|ovna|evna|ichna|inichna)$", "", word)
        return len(_skeleton(base)) > 1 and any(_skeleton(base) == _skeleton(g) for g in self.given)

    def is_surname(self, word: str) -> bool:
        if word in NOT_NAMES or PLURAL.search(word) or DOCTRINE.search(word):
            return False
        return word not in self.given or word in self.bio_surnames


def _runs(view: str, start: int, end: int) -> list[list[_Token]]:
    """Capitalized words and initials that follow each other with only spaces between."""
    runs: list[list[_Token]] = []
    last_end = -1
    for m in TOKEN.finditer(view, start, end):
        if runs and view[m.start() - 1] == "[" and view.startswith("]", m.end()) \
                and BRACKETED_GAP.fullmatch(view, last_end, m.end() + 1):
            # "Georgii [Yurii] Leonidovich", "Dzhugashvili [Stalin]": the other name of the word before.
            runs[-1][-1].alt = m.group()
            continue
        tok = _Token(m.group(), m.start(), m.end(), m.group("initial") is not None)
        gap = view[last_end:m.start()] if runs else ""
        if runs and (TOKEN_GAP.fullmatch(gap) or BRACKETED_GAP.fullmatch(gap)) and (
                gap or runs[-1][-1].initial) and not POSSESSIVE.match(view, last_end):
            runs[-1].append(tok)
        else:
            runs.append([tok])
        last_end = m.end()
    return runs


def _parse_run(run: list[_Token], lex: _Lexicon) -> list[tuple[int, int, dict]]:
    """Split a run into names: (first token, last token, fields)."""
    out = []
    i, n = 0, len(run)
    while i < n:
        t = run[i]
        nxt = run[i + 1] if i + 1 < n else None
        nxt2 = run[i + 2] if i + 2 < n else None
        if not t.initial and lex.is_given(t.text) and nxt is not None:
            given = {"given": t.text, "given_alt": t.alt}
            if (nxt2 is not None and not nxt.initial and not nxt2.initial
                    and lex.is_patronymic(nxt.text, strict=False) and lex.is_surname(nxt2.text)):
                out.append((i, i + 2, {**given, "patronymic": nxt.text, "surname": nxt2}))
                i += 3
            elif nxt2 is not None and nxt.initial and not nxt2.initial and lex.is_surname(nxt2.text):
                out.append((i, i + 2, {**given, "initials": (nxt.text,), "surname": nxt2}))
                i += 3
            elif not nxt.initial and lex.is_patronymic(nxt.text, strict=True) and (
                    nxt2 is None or nxt2.initial or not lex.is_surname(nxt2.text)):
                out.append((i, i + 1, {**given, "patronymic": nxt.text, "surname": None}))
                i += 2
            elif not nxt.initial and lex.is_surname(nxt.text):
                out.append((i, i + 1, {**given, "surname": nxt}))
                i += 2
            else:
                i += 1
            continue
        if t.initial:
            j = i
            while j < n and run[j].initial:
                j += 1
            if j < n and j - i <= 3 and lex.is_surname(run[j].text) and run[j].text.lower() not in lex.common:
                out.append((i, j, {"initials": tuple(x.text for x in run[i:j]), "surname": run[j]}))
                i = j + 1
            else:
                i = j
            continue
        if lex.is_surname(t.text) and not lex.is_given(t.text):
            # "Northern Caucasus", "Soviet Thermidor": the word ends a longer proper name.
            inside = i > 0 and not run[i - 1].initial and run[i - 1].text not in NOT_NAMES
            out.append((i, i, {"surname": t, "inside": inside}))
        i += 1
    return out


def _scan(texts: dict[str, str], lex: _Lexicon) -> tuple[list[_Name], dict[str, list[tuple[int, int]]]]:
    names: list[_Name] = []
    paras: dict[str, list[tuple[int, int]]] = {}
    para_id = 0
    for path in sorted(texts):
        view = visible(texts[path]).text
        captions = caption_ranges(texts[path])
        paras[path] = _paragraphs(view)
        for p_start, p_end in paras[path]:
            for run in _runs(view, p_start, p_end):
                for a, b, f in _parse_run(run, lex):
                    start, end = run[a].start, run[b].end
                    sur: _Token | None = f["surname"]
                    given = f.get("given")
                    written_initials = ((_initial_text(given)[0],) if given else ()) + tuple(
                        f.get("initials", ()))
                    names.append(_Name(
                        path, para_id, start, end, sur.text if sur else None, given, f.get("patronymic"),
                        tuple(_initial(x) for x in written_initials), written_initials, view[start:end],
                        _starts_sentence(view[p_start:start]),
                        any(a0 <= start < b0 for a0, b0 in captions),
                        view[max(p_start, start - 40):start], view[end:min(p_end, end + 40)],
                        f.get("given_alt"), sur.alt if sur else None, f.get("inside", False)))
            para_id += 1
    return names, paras


# --- people ----------------------------------------------------------------------------------

@dataclass
class _Person:
    key: str
    surname: str
    given: str | None = None
    patronymic: str | None = None
    initials: tuple[str, ...] = ()
    written_initials: tuple[str, ...] = ()
    given_variants: set[str] = field(default_factory=set)
    bio: str | None = None
    spellings: Counter = field(default_factory=Counter)
    attested: set[str] = field(default_factory=set)
    full_spellings: set[str] = field(default_factory=set)
    nicknames: set[str] = field(default_factory=set)
    id: str = ""

    def gkeys(self) -> set[str]:
        return {_given_key(g) for g in (self.given, *self.given_variants) if g}

    def initial_keys(self) -> tuple[str, ...]:
        first = _initial(self.given) if self.given else (self.initials[0] if self.initials else None)
        if first is None:
            return ()
        second = _initial(self.patronymic) if self.patronymic else (
            self.initials[1] if len(self.initials) > 1 else None)
        return (first,) if second is None else (first, second)

    def compatible(self, name: _Name) -> bool:
        if name.given and self.given and _given_key(name.given) not in self.gkeys() and not (
                name.given_alt and _given_key(name.given_alt) in self.gkeys()):
            return False
        if name.patronymic and self.patronymic and not _same_patronymic(name.patronymic, self.patronymic):
            return False
        mine, theirs = self.initial_keys(), name.initials
        if name.patronymic and len(theirs) < 2:
            theirs = (theirs[0] if theirs else _initial(name.given or "?"), _initial(name.patronymic))
        if name.given and self.given:
            mine, theirs = mine[1:], theirs[1:]
        return all(a == b for a, b in zip(mine, theirs))

    def knows_patronymic(self) -> bool:
        return bool(self.patronymic) or len(self.initials) > 1

    def absorb(self, name: _Name) -> None:
        if name.given:
            if not self.given:
                self.given = name.given
            elif _given_key(name.given) not in self.gkeys():
                self.given_variants.add(name.given)
            if name.given_alt and _given_key(name.given_alt) not in self.gkeys():
                self.given_variants.add(name.given_alt)
        if name.patronymic and not self.patronymic:
            if name.given and self.given and name.given != self.given:
                # The name said with the patronymic is the one the heading gives: Lev Davydovich, not Leon.
                self.given_variants.add(self.given)
                self.given_variants.discard(name.given)
                self.given = name.given
            self.patronymic = name.patronymic
        if len(name.initials) > len(self.initials):
            self.initials = name.initials
            self.written_initials = name.written_initials or self.written_initials

    def heading(self) -> str:
        parts: list[str] = []
        if self.given:
            parts.append(self.given)
            if self.patronymic:
                parts.append(self.patronymic)
            elif len(self.written_initials) > 1:
                parts.append(self.written_initials[-1])
        else:
            parts.extend(self.written_initials)
        return f"{self.surname}, {' '.join(parts)}" if parts else self.surname

    def forms(self) -> set[str]:
        out = {norm_form(a) for a in self.attested}
        spellings = sorted(set(self.spellings) | {self.surname})
        givens = sorted(g for g in (self.given, *self.given_variants) if g)
        patronymic = [self.patronymic] if self.patronymic else []
        p_initials = _initial_text(self.patronymic) if self.patronymic else list(self.written_initials[1:2])
        for s in spellings:
            out.add(s)
            for g in givens:
                out.add(f"{g} {s}")
                for p in patronymic + p_initials:
                    out.add(f"{g} {p} {s}")
                for gi in _initial_text(g):
                    out.add(f"{gi} {s}")
                    for pi in p_initials:
                        out.add(f"{gi} {pi} {s}")
            if not givens and self.written_initials:
                out.add(f"{' '.join(self.written_initials)} {s}")
        out.update(self.nicknames)
        return out


def _bio_person(entry: dict) -> tuple[_Person, list[str], list[str]]:
    """A biography as a person, with its other given names and its other names."""
    surname = entry["surname"]
    if surname.isupper():
        surname = "-".join(p.capitalize() for p in surname.split("-"))
    given = (entry.get("given_names") or "").strip() or None
    person = _Person(_key(surname), surname, given, entry.get("patronymic") or None, bio=entry["id"])
    alt_given: list[str] = []
    aliases: list[str] = []
    raw = entry.get("alias")
    for alias in ([raw] if isinstance(raw, str) else list(raw or [])):
        if entry.get("alias_after") == "given_names":
            alt_given.append(alias.strip())
            continue
        for piece in re.split(r"\.\s+|;\s*|,\s*|:\s*", alias):
            piece = re.sub(r"^(?:[Pp]seudonyms?|[Rr]eal name|[Nn]ée)\b\s*", "", piece).strip(" .")
            if piece and not re.fullmatch(r"[Pp]seudonyms?", piece):
                aliases.append(piece)
    return person, alt_given, aliases


class _Index:
    """What build_index works out, step by step."""

    def __init__(self, texts: dict[str, str], people: list[dict], problems: Problems):
        self.texts = texts
        self.problems = problems
        self.bios = [(entry, *_bio_person(entry)) for entry in sorted(people, key=lambda e: e["id"])]
        given = set(GIVEN_NAMES)
        patronymics = set()
        for _, person, alt, _ in self.bios:
            if person.given:
                given.update(person.given.split())
            given.update(a for a in alt if " " not in a)
            if person.patronymic:
                patronymics.add(_key(person.patronymic))
        self.lower_words: set[str] = set()
        for path in sorted(texts):
            view = visible(texts[path]).text
            self.lower_words.update(re.findall(rf"(?<![\w’'-])[{LOWER}]+(?![\w’'-])", view))
        self.lex = _Lexicon(given, patronymics, {p.surname for _, p, _, _ in self.bios}, self.lower_words)
        self._learn_given_names()
        self.names, self.paras = _scan(texts, self.lex)
        self.by_key: dict[str, list[_Person]] = defaultdict(list)
        # See-references: (heading, key of the person seen, the person if already known).
        self.see: list[tuple[str, str, _Person | None]] = []

    def _learn_given_names(self) -> None:
        """A word before a patronymic and a surname is a given name: "Vagarshak Arutiunovich Ter-Vaganian"."""
        for path in sorted(self.texts):
            view = visible(self.texts[path]).text
            pattern = rf"(?<![\w’'.])({WORD}) ({WORD}(?:ovich|evich|ovna|evna)) ({WORD})(?!\w)"
            for m in re.finditer(pattern, view):
                if m.group(1) not in NOT_NAMES and not SURNAME_END.search(_fold(m.group(1))):
                    self.lex.given.add(m.group(1))
                    self.lex.patronymics.add(_key(m.group(2)))

    # -- surnames: spelling variants, misprints, women's forms ------------------------------

    def _surname_keys(self) -> None:
        bio_keys = {}
        for _, p, _, _ in self.bios:
            bio_keys.setdefault(p.key, p)
        written = sorted({n.surname for n in self.names if n.surname})
        self.skeys = {w: _key(w) for w in written}
        given_with = defaultdict(set)
        for n in self.names:
            if n.surname and n.given:
                given_with[n.surname].add(_given_key(n.given))
        for w in written:
            k = self.skeys[w]
            if k in bio_keys or len(k) < 5:
                continue
            for bk, person in sorted(bio_keys.items()):
                if len(bk) < 5:
                    continue
                misprint = len(k) == len(bk) and sum(a != b for a, b in zip(k, bk)) == 1 and bool(
                    person.gkeys() & given_with[w])
                if _one_edit_apart(k, bk) or misprint:
                    self.skeys[w] = bk
                    break
        all_keys = set(self.skeys.values()) | set(bio_keys)
        self.feminine: dict[tuple[str, str], str] = {}
        for n in self.names:
            if n.surname and n.given and _is_feminine(n.given):
                for fem in _feminine_forms(n.surname):
                    if _key(fem) in all_keys:
                        self.feminine[(n.surname, n.given)] = _key(fem)

    def key_of(self, name: _Name) -> str | None:
        if name.surname is None:
            return None
        if name.given and (name.surname, name.given) in self.feminine:
            return self.feminine[(name.surname, name.given)]
        return self.skeys.get(name.surname, _key(name.surname))

    def _split_compounds(self) -> None:
        """"Stalin-Bukharin faction" and "the Ruth Fischer-Maslow group" name two people each;
        "Antonov-Ovseenko" and "Ter-Vaganian" one."""
        bio = {p.key for _, p, _, _ in self.bios}
        full = [n for n in self.names if n.surname and not n.bare]
        single = bio | {self.key_of(n) for n in full if "-" not in n.surname}
        whole = bio | {self.key_of(n) for n in full}
        out = []
        for n in self.names:
            if n.surname is None or "-" not in n.surname or self.key_of(n) in bio:
                out.append(n)
                continue
            parts = n.surname.split("-")
            if n.bare and self.key_of(n) in whole or not n.bare and not all(_key(x) in single for x in parts):
                out.append(n)
                continue
            pos = n.end - len(n.surname)
            for i, part in enumerate(parts):
                end = pos + len(part)
                if i == 0 and not n.bare:
                    out.append(dataclasses.replace(n, end=end, surname=part, right="-",
                                                   written=n.written[:end - n.start]))
                elif part[:1].isupper() and self.lex.is_surname(part) and not self.lex.is_given(part):
                    out.append(_Name(n.path, n.para, pos, end, part, written=part,
                                     sentence_start=n.sentence_start and i == 0, caption=n.caption,
                                     left=n.left if i == 0 else "-", right=n.right if end == n.end else "-"))
                pos = end + 1
        self.names = out

    # -- who is who -------------------------------------------------------------------------

    def people(self) -> None:
        self._surname_keys()
        for _, person, alt, aliases in self.bios:
            person.given_variants.update(alt)
            self.by_key[person.key].append(person)
        self._split_compounds()
        self._swap_known_as()
        self._full_names()
        self._merge_variants()
        self._nicknames()
        self._accept_bare()
        self._merge_misprints()
        self._given_and_patronymic()
        for n in self.names:
            if n.bare:
                persons = self.by_key.get(self.bare_key(n), [])
                if len(persons) == 1:
                    persons[0].spellings[n.surname] += 1
        for _, person, alt, aliases in self.bios:
            for alias in aliases:
                self._alias(person, alias)

    def _full_names(self) -> None:
        """Names with a given name or initials make people; the most detailed go first."""
        full = [n for n in self.names if n.surname and not n.bare]
        full.sort(key=lambda n: (-n.detail(), n.written, n.path, n.start))
        for n in full:
            k = self.key_of(n)
            fits = [p for p in self.by_key[k] if p.compatible(n)]
            if len(fits) > 1:
                exact = [p for p in fits
                         if n.given and p.given and _given_key(n.given) == _given_key(p.given)]
                fits = exact if len(exact) == 1 else fits
            if len(fits) > 1:
                continue
            if fits:
                person = fits[0]
            else:
                women = [f for f in _feminine_forms(n.surname) if _key(f) == k]
                person = _Person(k, women[0] if women else n.surname)
                self.by_key[k].append(person)
            person.absorb(n)
            person.attested.add(n.written)
            if _key(n.surname) == k or self.skeys.get(n.surname) == k:
                person.spellings[n.surname] += 1
                person.full_spellings.add(n.surname)
            if n.surname_alt and _key(n.surname_alt) == k:
                person.full_spellings.add(n.surname_alt)

    def _merge_variants(self) -> None:
        """"Nadezhda Mandelshtam" and "Nadezhda Mandelstam": one person spelled two ways."""
        persons = [p for p in self.persons() if p.given and len(p.key) >= 5]
        for a in persons:
            for b in persons:
                if a is b or b.bio or a.key == b.key or _given_key(a.given) not in b.gkeys():
                    continue
                if _distance(a.key, b.key) != 1 or (a.patronymic and b.patronymic and not _same_patronymic(
                        a.patronymic, b.patronymic)) or b not in self.by_key.get(b.key, []):
                    continue
                # The spelling with a biography, or used more often, or first in the alphabet stays.
                if not a.bio and (sum(a.spellings.values()), b.key) < (sum(b.spellings.values()), a.key):
                    continue
                self.by_key[b.key].remove(b)
                a.spellings.update(b.spellings)
                a.full_spellings |= b.full_spellings
                a.attested |= b.attested
                a.given_variants |= b.given_variants
                for w in b.full_spellings:
                    self.skeys[w] = a.key

    def _merge_misprints(self) -> None:
        """A surname met only bare and one letter off a longer-known one is its misprint (Manuisky)."""
        mentions = Counter(self.bare_key(n) for n in self.names if n.bare)
        persons = self.persons()
        for p in persons:
            if p.bio or p.given or p.initials or len(p.key) < 7 or p not in self.by_key.get(p.key, []):
                continue
            for q in persons:
                if q is p or not _one_edit_apart(p.key.split("|")[0], q.key.split("|")[0]):
                    continue
                # The letter was dropped more often than added: on a tie the longer spelling stays.
                if (mentions[q.key], len(q.key)) < (mentions[p.key], len(p.key)):
                    continue
                self.by_key[p.key].remove(p)
                for w in p.full_spellings:
                    self.skeys[w] = q.key
                    q.full_spellings.add(w)
                break

    def bare_key(self, name: _Name) -> str:
        """A bare surname belongs with the people of its key if it is spelled as one of them is;
        "Yeltsin" is not Viktor Borisovich Eltsin."""
        k = self.key_of(name)
        persons = self.by_key.get(k)
        spelling = _spelling(name.surname)
        if not persons or any(p.bio or spelling in map(_spelling, p.full_spellings) for p in persons):
            return k
        return f"{k}|{name.surname}"

    def _swap_known_as(self) -> None:
        """"Iosif Vissarionovich Dzhugashvili [Stalin]": of two surnames the better known one heads."""
        counts = Counter(self.key_of(n) for n in self.names if n.surname)
        for n in self.names:
            if n.surname and n.surname_alt and TOKEN.fullmatch(n.surname_alt):
                real, known = n.surname, n.surname_alt
                if counts[_key(known)] > counts[self.key_of(n)]:
                    self.skeys[real] = _key(known)
                    names = " ".join(x for x in (n.given, n.patronymic) if x)
                    self.see.append((f"{real}, {names}" if names else real, _key(known), None))

    def _nicknames(self) -> None:
        """A biography's other name said before the surname ("Sergo Ordzhonikidze") is a given name;
        if it is no common given name it names the person on its own too."""
        for _, person, alt, aliases in self.bios:
            for word in list(alt) + [a for a in aliases if " " not in a]:
                before_surname = re.compile(rf"\)?\s+{re.escape(person.surname)}\b")
                said_before = any(
                    (n.given == word and self.key_of(n) == person.key)
                    or (n.bare and n.surname == word and before_surname.match(n.right)) for n in self.names)
                if word in GIVEN_NAMES or said_before:
                    person.given_variants.add(word)
                    if word in aliases:
                        aliases.remove(word)
                    if said_before and word not in GIVEN_NAMES:
                        person.nicknames.add(word)

    def _accept_bare(self) -> None:
        """Bare surnames nobody introduced by name: people if their contexts say so."""
        nick = {_key(w) for _, p, _, _ in self.bios for w in p.nicknames}
        for _ in range(3):
            known = {k for k, ps in self.by_key.items() if ps}
            ev = self._evidence(known)
            new = [k for k, e in sorted(ev.items())
                   if k not in known and k not in nick and self._is_person(e)]
            if not new:
                break
            spellings: dict[str, Counter] = defaultdict(Counter)
            for n in self.names:
                if n.bare:
                    spellings[self.bare_key(n)][n.surname] += 1
            for k in new:
                surname = sorted(spellings[k].items(), key=lambda x: (-x[1], x[0]))[0][0]
                person = _Person(k, surname)
                person.full_spellings.add(surname)
                self.by_key[k].append(person)

    def _evidence(self, known: set[str]) -> dict[str, Counter]:
        """Per unknown surname: how its bare mentions read."""
        roots, capitalized = self._word_counts
        ev: dict[str, Counter] = defaultdict(Counter)
        for n in self.names:
            if not n.bare or self.bare_key(n) in known:
                continue
            e = ev[self.bare_key(n)]
            e["n"] += 1
            e["mid"] += not n.sentence_start
            e["ending"] = int(bool(SURNAME_END.search(_fold(n.surname))))
            e["derived"] = int(self.key_of(n) in roots)
            # A common word ("Committee"), or a group: "Bolshevik" beside "Bolsheviks",
            # "Mensheviks" beside "Menshevik".
            e["common"] = int(n.surname.lower() in self.lower_words or capitalized[f"{n.surname}s"] > 0
                              or (n.surname.endswith("s") and capitalized[n.surname[:-1]] > 1))
            possessive = bool(POSSESSIVE.match(n.right))
            if TITLE_BEFORE.search(n.left) or AFTER_PERSON.search(n.right) or BEFORE_PERSON.search(n.left):
                e["person"] += 1
            elif possessive:
                e["possessive"] += 1
            if n.inside or not possessive and PLACE_BEFORE.search(n.left):
                e["place"] += 1
            elif not possessive and THE_BEFORE.search(n.left) and THE_AFTER.search(n.right):
                e["place"] += 2
        for chain in self._lists():
            persons = [n for n in chain if (self.bare_key(n) if n.bare else self.key_of(n)) in known]
            # "(Ramzin, Larichev, Ochkin and others)": one known name among names that all look Russian.
            russian = all(n in persons or SURNAME_END.search(_fold(n.surname)) for n in chain)
            for n in chain:
                if n.bare and self.bare_key(n) not in known:
                    others = len(persons) - (n in persons)
                    if others >= 2 or (others == 1 and (len(chain) > 2 and russian or (
                            len(chain) == 2 and " and " in self._gap(*chain)))):
                        ev[self.bare_key(n)]["listed"] += 2 if n.caption else 1
        return ev

    @functools.cached_property
    def _word_counts(self) -> tuple[set[str], Counter]:
        """Roots of "-ist"/"-ism" words ("Sapronovists") and how often each capitalized word occurs."""
        roots, capitalized = set(), Counter()
        for path in sorted(self.texts):
            view = visible(self.texts[path]).text
            roots.update(_key(m.group(1)) for m in DERIVED.finditer(view) if m.group(1))
            capitalized.update(m.group() for m in TOKEN.finditer(view))
        return roots, capitalized

    def _lists(self) -> list[list[_Name]]:
        """Names in a row joined by commas and "and": "Rykov, Bukharin and Tomsky"."""
        chains: list[list[_Name]] = []
        prev = None
        for n in self.names:
            if n.surname is None:
                prev = None
                continue
            if prev is not None and prev.para == n.para and LIST_GAP.match(self._gap(prev, n)):
                chains[-1].append(n)
            else:
                chains.append([n])
            prev = n
        return [c for c in chains if len(c) > 1]

    def _gap(self, a: _Name, b: _Name) -> str:
        return visible(self.texts[a.path]).text[a.end:b.start]

    @staticmethod
    def _is_person(e: Counter) -> bool:
        if e["common"] or e["place"] > e["person"] + e["listed"]:
            return False
        if not e["listed"] and (e["mid"] == 0 or (e["n"] >= 3 and e["mid"] * 3 < e["n"])):
            return False
        direct = e["person"] + e["listed"]
        cues = direct + e["derived"] + min(e["possessive"], 1)
        if e["ending"]:
            return direct >= 1 or (cues >= 1 and e["n"] >= 2)
        return e["listed"] >= 1 or direct >= 2 or (cues >= 2 and e["n"] >= 3)

    def _given_and_patronymic(self) -> None:
        """"Lev Davydovich" alone names the one person known with that given name and patronymic."""
        persons = [p for ps in self.by_key.values() for p in ps]
        for n in self.names:
            if n.surname is not None:
                continue
            fits = [p for p in persons if p.given and p.knows_patronymic()
                    and _given_key(n.given) in p.gkeys() and p.compatible(n)]
            if len(fits) == 1:
                fits[0].absorb(n)
                fits[0].attested.add(n.written)

    def _alias(self, person: _Person, alias: str) -> None:
        words = alias.split()
        if len(words) > 1:
            if _key(words[-1]) == person.key:
                return
            self.see.append((f"{words[-1]}, {' '.join(words[:-1])}", person.key, person))
            return
        self.see.append((alias, person.key, person))

    # -- headings ---------------------------------------------------------------------------

    def persons(self) -> list[_Person]:
        return [p for k in sorted(self.by_key) for p in self.by_key[k]]

    def headings(self) -> list[dict]:
        persons = self.persons()
        for p in persons:
            if not p.bio and p.spellings:
                p.surname = sorted(p.spellings.items(), key=lambda x: (-x[1], x[0]))[0][0]
        used: set[str] = {p.bio for p in persons if p.bio}
        for p in sorted(persons, key=lambda p: (p.bio is None, _sort_key(p.heading()), p.key)):
            p.id = p.bio or _unique(_slug(p.heading()), used)
        owners: dict[str, set[str]] = defaultdict(set)
        for p in persons:
            for f in p.forms():
                owners[f].add(p.id)
        self.ambiguous = {f: tuple(sorted(ids)) for f, ids in owners.items() if len(ids) > 1}
        out = []
        by_id = {}
        for p in persons:
            forms = [f for f in p.forms() if len(owners[f]) == 1]
            by_id[p.id] = forms
            out.append({"id": p.id, "heading": p.heading(), "sort": _sort_key(p.heading()),
                        "forms": forms, "person": p.bio, "see": None, "see_also": []})
        seen_headings = {h["heading"] for h in out}
        for heading, key, person in sorted(self.see, key=lambda s: (s[0], s[1])):
            if person is None:
                candidates = self.by_key.get(key, [])
                if len(candidates) != 1:
                    continue
                person = candidates[0]
            if heading in seen_headings:
                continue
            seen_headings.add(heading)
            surname = heading.split(",")[0]
            if surname not in owners:
                by_id[person.id].append(surname)
                owners[surname].add(person.id)
            out.append({"id": _unique(_slug(heading), used), "heading": heading, "sort": _sort_key(heading),
                        "forms": [], "person": None, "see": person.id, "see_also": []})
        for h in out:
            h["forms"] = sorted(set(by_id.get(h["id"], [])), key=lambda f: (-len(f), f))
        return sorted(out, key=lambda h: (h["sort"], h["id"]))

    # -- homonyms ---------------------------------------------------------------------------

    def mark(self, headings: list[dict]) -> dict[str, str]:
        """Settle bare mentions of a shared surname the text itself settles; report the rest (I011).

        A mention is settled by the mention of that surname before it in the same paragraph, or,
        failing that, when only one of the people who bear it has been named (with a given name
        or initials) so far, reading the texts in the order given.
        """
        table = {f: (h["id"],) for h in headings for f in h["forms"]}
        table.update(self.ambiguous)
        key_of_id = {p.id: p.key for p in self.persons()}
        heading_of = {h["id"]: h["heading"] for h in headings}
        matcher = form_matcher(tuple(sorted(table.items())))
        self.settled: Counter = Counter()
        self.left: Counter = Counter()
        met: dict[str, set[str]] = defaultdict(set)
        out = {}
        for path, text in self.texts.items():
            vis = visible(text)
            starts = [s for s, _ in self.paras[path]]
            found = [(s, e, ids, " " in norm_form(vis.text[s:e])) for s, e, ids in matcher.find(vis.text)]
            found += [(s, e, (ref,), True) for s, e, ref in vis.ix]
            last: dict[tuple[int, str], str] = {}
            inserts = []
            for s, e, ids, explicit in sorted(found):
                para = bisect.bisect_right(starts, s)
                if len(ids) == 1:
                    if ids[0] in key_of_id:
                        last[(para, key_of_id[ids[0]])] = ids[0]
                        if explicit:
                            met[key_of_id[ids[0]]].add(ids[0])
                    continue
                name = text[s:e]
                key = key_of_id[ids[0]]
                known = [i for i in ids if i in met[key]]
                ref, rule = last.get((para, key)), "paragraph"
                if ref not in ids:
                    ref, rule = (known[0], "reading order") if len(known) == 1 else (None, "")
                if ref and not any(a <= s < b for a, b in vis.no_mark):
                    inserts.append((s, e, ref))
                    last[(para, key)] = ref
                    self.settled[(name, rule)] += 1
                    continue
                self.left[name] += 1
                line = text.count("\n", 0, s) + 1
                col = s - (text.rfind("\n", 0, s) + 1) + 1
                who = " or ".join(f"{heading_of[i]} ({i})" for i in ids)
                self.problems.warning(path, line, col, "I011",
                                      f"'{name}' may be {who}; mark it [{name}]{{.ix ref=…}}")
            for s, e, ref in reversed(inserts):
                text = f"{text[:s]}[{text[s:e]}]{{.ix ref={ref}}}{text[e:]}"
            out[path] = text
        return out


def _unique(slug: str, used: set[str]) -> str:
    candidate, n = slug or "name", 2
    while candidate in used:
        candidate, n = f"{slug}-{n}", n + 1
    used.add(candidate)
    return candidate


def build_index(texts: dict[str, str], people: list[dict], problems: Problems
                ) -> tuple[list[dict], dict[str, str]]:
    """Index headings for every person named in the texts, and the texts with homonyms marked.

    People come from the biographies, from full names in the text and captions ("Aleksandr V.
    Chayanov", "I. N. Smirnov", "Leon Trotsky") and from bare surnames whose contexts show a
    person. A bare mention of a surname two people share is marked `[Smirnov]{.ix ref=…}` when
    the text settles it (see `_Index.mark`; `texts` are read in the order given, the reading
    order) and reported as I011 otherwise. Headings are sorted by `sort`, then `id`.
    """
    index = _Index(texts, people, problems)
    index.people()
    headings = index.headings()
    return headings, index.mark(headings)
