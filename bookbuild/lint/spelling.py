"""Spelling: words in neither the dictionary nor the book's word list, and words spelt two ways."""
from __future__ import annotations

import functools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .report import Finding, at
from .source import DOCUMENT, NOTE, RU, Text, single_quotes

DICTIONARY = Path("/usr/share/dict/american-english")
# book.yaml's language chooses the dictionary (Debian's word lists): British spelling
# (colour, organise, centre) is not a misspelling in a British book.
DICTIONARIES = {"en": ("american-english", "wamerican"), "en-us": ("american-english", "wamerican"),
                "en-gb": ("british-english", "wbritish"), "en-ie": ("british-english", "wbritish"),
                "en-au": ("british-english", "wbritish"), "en-nz": ("british-english", "wbritish"),
                "en-ca": ("canadian-english", "wcanadian")}


def dictionary_for(language: str) -> tuple[Path | None, str]:
    """The word list for a language code, and the Debian package that installs it
    (None and "" for a language with no word list known here)."""
    name, package = DICTIONARIES.get(language.strip().lower(), (None, ""))
    return (Path("/usr/share/dict") / name if name else None), package
# A word: Latin letters, with apostrophes (don’t, s”ezd, Vlast’) and soft or hard signs inside
# or at the end; digits and Cyrillic end it.
WORD = re.compile(r"(?<![\w’'”])[A-Za-zÀ-ÖØ-öø-ÿĀ-ſ]+(?:['’”][A-Za-zÀ-ÖØ-öø-ÿĀ-ſ]+)*['’]?(?![\w])")
POSSESSIVE = re.compile(r"['’]s$")
# Acronyms and Russian abbreviations (OGPU, TsIK, VSNKh) are checked by nobody's dictionary.
ACRONYM = re.compile(r"^[A-Z].*[A-Z]")
ROMAN = re.compile(r"^[IVXLCDM]+$")


@dataclass(frozen=True)
class Occurrence:
    t: Text
    offset: int
    word: str


def words(texts: list[Text], skip: int) -> Iterator[Occurrence]:
    """Every word of the English prose; `skip` names the flags whose words are left out.

    A ’ after a word is kept when it may be a soft sign (Vlast’), dropped when it closes a
    quotation (‘success’) or makes a plural possessive (workers’).
    """
    for t in texts:
        flags = t.flags
        closing = single_quotes(t)[0]
        for m in WORD.finditer(t.view):
            if flags[m.start()] & skip or flags[m.end() - 1] & skip:
                continue
            word = m.group()
            if word.endswith("’") and (m.end() - 1 in closing or word.endswith("s’")):
                word = word[:-1]
            yield Occurrence(t, m.start(), word)


class Lexicon:
    """The dictionary plus the book's word list, case-insensitive, apostrophes as ’."""

    def __init__(self, dictionary: list[str], wordlist: set[str]):
        self.dictionary = {_norm(w) for w in dictionary}
        # Common words (the dictionary spells them in lowercase), as opposed to names.
        self.common = {_norm(w) for w in dictionary if w[:1].islower()}
        self.known = self.dictionary | {_norm(w) for w in wordlist}
        self._knows: dict[str, bool] = {}

    @classmethod
    def load(cls, dictionary: Path, wordlist: Path) -> Lexicon:
        return cls(read_words(dictionary), set(read_words(wordlist)) if wordlist.exists() else set())

    def knows(self, word: str) -> bool:
        if word not in self._knows:
            self._knows[word] = self._has(self.known, word)
        return self._knows[word]

    def in_dictionary(self, word: str) -> bool:
        return self._has(self.dictionary, word)

    def is_common(self, word: str) -> bool:
        return self._has(self.common, word)

    @staticmethod
    def _has(words: set[str], word: str) -> bool:
        w = _norm(word)
        if w in words:
            return True
        base = POSSESSIVE.sub("", w)
        return base in words or base.rstrip("’") in words


def read_words(path: Path) -> list[str]:
    """One word a line; `#` starts a comment."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out


def _norm(word: str) -> str:
    return unicodedata.normalize("NFC", word).replace("'", "’").casefold()


def checkable(word: str) -> bool:
    return len(word) > 1 and not ACRONYM.match(word) and not ROMAN.match(word)


def unknown(occurrences: list[Occurrence], lexicon: Lexicon) -> Iterator[Finding]:
    for o in occurrences:
        if checkable(o.word) and not lexicon.knows(o.word):
            yield at(o.t, o.offset, "L022", f"unknown word “{o.word}” (in neither the dictionary "
                     "nor wordlist.txt)", o.word)


# Russian passages and facsimiles are not English. The transliterated titles in the notes
# (*Moia zhizn’*) are checked like the rest: they add about 250 words to the word list, and
# that is where slips such as vospominaniakh (for vospominaniiakh) were found.
SPELL_SKIP = RU | DOCUMENT


@functools.lru_cache(maxsize=None)
def fold(word: str) -> str:
    """Where transliteration variants meet: ii/iy/y, ia/ya, iu/yu, e/ë, soft signs, double
    letters, and z/s (oppositsii for oppozitsii, Koslov for Kozlov)."""
    w = _norm(POSSESSIVE.sub("", word))
    w = unicodedata.normalize("NFKD", w).encode("ascii", "ignore").decode() if not w.isascii() else w
    w = re.sub(r"['’ʹ”]", "", w)
    w = w.replace("ya", "ia").replace("yu", "iu").replace("ye", "ie").replace("yo", "io")
    w = w.replace("iy", "i").replace("ii", "i").replace("y", "i").replace("z", "s")
    return re.sub(r"(.)\1+", r"\1", w)


def variants(occurrences: list[Occurrence], lexicon: Lexicon) -> Iterator[Finding]:
    """One word spelt two ways: report the rarer spelling, naming where the other one stands.

    Notes and the text are compared each with itself: by the translator's convention the
    notes keep the strict transliteration of Russian sources (Trotskii, Bol’shevik,
    Martem’ian) where the text has the familiar form (Trotsky, Bolshevik, Martemian).
    """
    by_fold: dict[tuple, dict[str, list[Occurrence]]] = defaultdict(lambda: defaultdict(list))
    for o in occurrences:
        if len(o.word) < 4 or ACRONYM.match(o.word):
            continue
        spelling = POSSESSIVE.sub("", o.word)
        register = bool(o.t.flags[o.offset] & NOTE)
        by_fold[register, fold(spelling)][_norm(spelling)].append(o)
    for spellings in by_fold.values():
        if len(spellings) < 2:
            continue
        order = sorted(spellings.items(), key=lambda kv: (-len(kv[1]), _first(kv[1])))
        main, main_occ = order[0]
        first = _first(main_occ)
        shown = POSSESSIVE.sub("", first[4])
        for spelling, occ in order[1:]:
            if _different_words(lexicon, main, spelling):
                continue
            for o in occ:
                yield at(o.t, o.offset, "L009", f"“{o.word}” is also spelt “{shown}” ({len(main_occ)}×, "
                         f"first at {first[2]}:{first[3]})", o.word)


def _different_words(lexicon: Lexicon, a: str, b: str) -> bool:
    """Two English words (dye, die), or a Russian word folding onto a common English one
    (partii, party): not one name spelt two ways."""
    both = lexicon.in_dictionary(a) and lexicon.in_dictionary(b)
    return both or lexicon.is_common(a) or lexicon.is_common(b)


def _first(occ: list[Occurrence]) -> tuple:
    o = min(occ, key=lambda o: (o.t.order, o.offset))
    line, _ = o.t.where(o.offset)
    return (o.t.order, o.offset, o.t.path, line, o.word)
