"""`build.py lint`: editorial checks over book/, one line per finding, codes L001… (see errors.py)."""
from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from bookbuild import safeyaml
from bookbuild.errors import Problem
from bookbuild.fsutil import NotUTF8, read_utf8

from . import facts, names, notes, spelling, typography
from .ignore import apply, load, unused
from .report import Finding
from .source import Text, display, markdown_text, yaml_texts

IGNORE_FILE = "lint-ignore.yaml"
WORDLIST = "wordlist.txt"
# Each data file's fields left out (ids, dates repeated from `dates`) and its Russian fields.
DATA_FILES = {
    "glossary.yaml": (frozenset({"see_also"}), frozenset({"original"})),
    "biographies.yaml": (frozenset({"id", "surname_caps", "born", "died", "born_os", "died_os"}), frozenset()),
    "congresses.yaml": (frozenset(), frozenset()),
}


@dataclass
class Result:
    """What lint found: the findings left after the ignore file, and how many it covered."""

    findings: list[Finding]
    ignored: int = 0

    def problems(self, strict: bool = False) -> list[Problem]:
        return [f.problem(strict) for f in self.findings]


def lint_book(book: Path, dictionary: Path | None = None) -> Result:
    """Every check over the book folder `book`, in reading order, with the ignore file applied;
    spelling against `dictionary`, else the word list of book.yaml's `language`."""
    findings: list[Finding] = []
    if not (book / "book.yaml").is_file() and not (book / "text").is_dir():
        # Never "0 errors" over nothing: a folder without a book is a mistake of place.
        return Result([Finding(display(book, "book.yaml"), 0, 0, "L028",
                               f"no book here: {book.resolve().name}/ has no book.yaml and no text/ "
                               "(give --book, or run from the project)")])
    config = _settings(_read_yaml(book, "book.yaml", findings))
    texts = _read_texts(book, unit_files(book, config), findings)
    sources = {name: _read_yaml(book, name, findings) for name in [*DATA_FILES, "index.yaml"]}
    data_texts: list[Text] = []
    for name, (skip, ru) in DATA_FILES.items():
        if sources[name] is not None:
            data_texts += yaml_texts(display(book, name), sources[name], skip, ru)
    everything = texts + data_texts
    for n, t in enumerate(everything):
        t.order = n
    order = {p: n for n, p in enumerate(dict.fromkeys(t.path for t in everything))}

    findings += typography.check(everything)
    findings += notes.check(texts)
    findings += facts.figures(texts, book)
    findings += facts.dates(everything)
    if sources["index.yaml"] is not None:
        source = sources["index.yaml"]
        headings = [h for h in safeyaml.load(source) or [] if isinstance(h, dict)]
        findings += names.check(texts, headings, display(book, "index.yaml"), source)
    if sources["glossary.yaml"] is not None:
        findings += facts.glossary(everything, _entries(sources["glossary.yaml"]), display(book, "glossary.yaml"))
    dictionary, package = (dictionary, "wamerican") if dictionary else _dictionary(config)
    if dictionary is None:
        findings.append(Finding(display(book, "book.yaml"), 0, 0, "L025", "no spelling dictionary is known for "
                                f"the book's language “{_language(config)}”, so spelling was not checked"))
    elif dictionary.exists():
        lexicon = spelling.Lexicon.load(dictionary, book / WORDLIST)
        occurrences = list(spelling.words(everything, spelling.SPELL_SKIP))
        variants = list(spelling.variants(occurrences, lexicon))
        # A word spelt two ways is reported once, as a variant, which names the other spelling.
        seen = {(f.path, f.line, f.col) for f in variants}
        findings += [f for f in spelling.unknown(occurrences, lexicon) if (f.path, f.line, f.col) not in seen]
        findings += variants
    else:
        findings.append(Finding(str(dictionary), 0, 0, "L025", f"{dictionary} is missing, so spelling "
                                f"was not checked (install the Debian package {package})"))

    ignore_path = book / IGNORE_FILE
    ignored = 0
    if ignore_path.exists():
        shown = display(book, IGNORE_FILE)
        entries, malformed = load(shown, _read_utf8(book, IGNORE_FILE, findings) or "")
        findings, ignored = apply(findings, entries, book.name)
        findings += malformed + unused(entries, shown)
    order.setdefault(display(book, IGNORE_FILE), len(order))
    findings.sort(key=lambda f: (order.get(f.path, len(order)), f.path, f.line, f.col, f.code, f.message))
    return Result(findings, ignored)


def _settings(config: str | None) -> dict:
    """book.yaml's text read once as a mapping for lint's own needs (contents, language); a file
    that does not read as one gives {} (its problems are the read stage's to report)."""
    try:
        data = safeyaml.load(config or "")
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def _language(config: dict) -> str:
    return str(config.get("language") or "en")


def _dictionary(config: dict) -> tuple[Path | None, str]:
    """The word list for book.yaml's language (American English when it says none)."""
    return spelling.dictionary_for(_language(config))


def unit_files(book: Path, config: dict) -> list[str]:
    """The text files in reading order (book.yaml's contents, from `_settings`), then any others in text/."""
    contents = config.get("contents")
    listed = [c["file"] for c in contents if isinstance(c, dict) and str(c.get("file", "")).endswith(".md")
              and (book / c["file"]).is_file()] if isinstance(contents, list) else []
    others = sorted(f"text/{p.name}" for p in (book / "text").glob("*.md") if f"text/{p.name}" not in listed)
    return listed + others


def _read_yaml(book: Path, name: str, findings: list[Finding]) -> str | None:
    """A data file's text, or None (with an L026) when it is not valid YAML; None if absent."""
    path = book / name
    if not path.exists():
        return None
    source = _read_utf8(book, name, findings)
    if source is None:
        return None
    try:
        safeyaml.load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        findings.append(Finding(display(book, name), mark.line + 1 if mark else 1, mark.column + 1 if mark else 1,
                                "L026", f"not valid YAML, so not linted: {getattr(exc, 'problem', None) or exc}"))
        return None
    return source


def _read_texts(book: Path, files: list[str], findings: list[Finding]) -> list[Text]:
    """The unit files, in the order given, as lint Texts (those that can be read)."""
    texts = []
    for name in files:
        source = _read_utf8(book, name, findings)
        if source is not None:
            texts.append(markdown_text(display(book, name), source))
    return texts


def _read_utf8(book: Path, name: str, findings: list[Finding]) -> str | None:
    """A file's text, or None with an L027 at the first byte that is not UTF-8."""
    try:
        return read_utf8(book / name)
    except NotUTF8 as exc:
        findings.append(Finding(display(book, name), exc.line, exc.col, "L027", f"{exc}; not linted"))
        return None


def _entries(source: str) -> list[tuple[dict, int]]:
    """A YAML list's entries with the line each starts on."""
    root = safeyaml.compose(source)
    if not isinstance(root, yaml.SequenceNode):
        return []
    data = safeyaml.load(source)
    return [(d, n.start_mark.line + 1) for d, n in zip(data, root.value) if isinstance(d, dict)]


def unknown_words(book: Path, dictionary: Path | None = None) -> Counter:
    """Words of the book the dictionary does not know, with their counts (to start a word list)."""
    config = _settings(_read_yaml(book, "book.yaml", []))
    dictionary = dictionary or _dictionary(config)[0] or spelling.DICTIONARY
    texts = _read_texts(book, unit_files(book, config), [])
    for name, (skip, ru) in DATA_FILES.items():
        source = _read_yaml(book, name, [])
        if source is not None:
            texts += yaml_texts(display(book, name), source, skip, ru)
    lexicon = spelling.Lexicon.load(dictionary, Path("/nonexistent"))
    return Counter(spelling.POSSESSIVE.sub("", o.word) for o in spelling.words(texts, spelling.SPELL_SKIP)
                   if spelling.checkable(o.word) and not lexicon.knows(o.word))


def add_arguments(parser) -> None:
    parser.add_argument("--book", default="book", help="the book folder (default: book)")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON (for tools)")
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.add_argument("--unknown-words", action="store_true",
                        help="print the words the dictionary does not know, with counts, and stop "
                             "(to review before adding them to book/wordlist.txt)")


def run(args) -> int:
    book = Path(args.book)
    if args.unknown_words:
        for word, count in sorted(unknown_words(book).items(), key=lambda kv: (kv[0].casefold(), kv[0])):
            print(f"{count}\t{word}")
        return 0
    result = lint_book(book)
    problems = result.problems(args.strict)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if args.json:
        json.dump({"problems": [p.as_dict() for p in problems], "errors": errors, "warnings": warnings,
                   "ignored": result.ignored}, sys.stdout, ensure_ascii=False, indent=1)
        print()
    else:
        for p in problems:
            print(p)
    if not args.quiet:
        by_code = ", ".join(f"{c} {n}" for c, n in sorted(Counter(p.code for p in problems).items()))
        print(f"lint: {errors} error(s), {warnings} warning(s){' (' + by_code + ')' if by_code else ''}; "
              f"{result.ignored} ignored by {display(book, IGNORE_FILE)}", file=sys.stderr)
    return 1 if errors else 0
