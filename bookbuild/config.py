"""Typed YAML loading: book.yaml and the data files into dataclasses, wrong keys and values as Problems."""
from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from pathlib import Path

import yaml

from . import safeyaml
from .fsutil import NotUTF8, read_utf8

from .errors import Problems
from .model import DATA_ROLES, ROLES, TEXT_ROLES, Case, Config, ContentsEntry, Edition

UNITS_IN_PT = {"in": 72.0, "mm": 72 / 25.4, "cm": 72 / 2.54, "pt": 1.0}
_LENGTH = r"(\d+(?:\.\d+)?)\s*(in|mm|cm|pt)?"
TRIM = re.compile(rf"^\s*{_LENGTH}\s*[x×]\s*{_LENGTH}\s*$")
LENGTH = re.compile(rf"^\s*{_LENGTH}\s*$")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
# Trade book sizes run from about 4 × 6 in to 8.5 × 11 in; beyond these bounds a
# trim is a typo, not a format (`0x9in`, `6x90in`).
TRIM_RANGE_PT = (2 * 72.0, 14 * 72.0)
MAX_BLEED_PT = 0.5 * 72
# Book papers run from about 0.002 in (thin 45 lb) to 0.004 in (bulky 70 lb) per page;
# past 0.01 in a caliper is a slip (a whole leaf, a board, mm for in).
MAX_CALIPER_PT = 0.01 * 72
MAX_CASE_PT = 2 * 72
VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+-]*$")
DATE = re.compile(r"^\d{4}-\d{2}(?:-\d{2})?$")
BISAC = re.compile(r"^[A-Z]{3}\d{6}$")
PRICE = re.compile(r"^\d{1,2}\.\d{2} (USD|CAD)$")


def display_path(path: Path) -> str:
    """The path as an editor types it: relative to the working folder when inside it."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


class Loader:
    """Turns YAML nodes into dataclasses; every problem is recorded with the node's line."""

    def __init__(self, path: Path, problems: Problems, codes: dict[str, str] | None = None):
        self.path = display_path(path)
        self.problems = problems
        # Data files report under their own codes; the messages are the same.
        self.codes = codes or {}
        self.constructor = yaml.constructor.SafeConstructor()

    def error(self, node: yaml.Node, code: str, message: str) -> None:
        mark = node.start_mark
        self.problems.error(self.path, mark.line + 1, mark.column + 1,
                            self.codes.get(code, code), message)

    def warning(self, node: yaml.Node, code: str, message: str) -> None:
        mark = node.start_mark
        self.problems.warning(self.path, mark.line + 1, mark.column + 1,
                              self.codes.get(code, code), message)

    def compose(self, text: str) -> yaml.Node | None:
        try:
            return safeyaml.compose(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            problem = getattr(exc, "problem", None) or str(exc)
            self.problems.error(self.path, line, col, self.codes.get("C001", "C001"),
                                f"not valid YAML: {problem}")
            return None

    def value(self, node: yaml.Node, hint, name: str):
        """The node as a value of type `hint`, or `None` (after recording a problem)."""
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin in (typing.Union, types.UnionType):
            if _is_null(node):
                return None
            inner = [a for a in args if a is not type(None)]
            kind = {yaml.SequenceNode: (list,), yaml.MappingNode: (dict,)}.get(type(node), ())
            chosen = next((a for a in inner if (typing.get_origin(a) or a) in kind
                           or (kind == (dict,) and dataclasses.is_dataclass(a))),
                          next((a for a in inner if typing.get_origin(a) not in (list, dict)), inner[0]))
            return self.value(node, chosen, name)
        if dataclasses.is_dataclass(hint):
            return self.dataclass(node, hint, name)
        if origin is list:
            if not isinstance(node, yaml.SequenceNode):
                self.error(node, "C003", f"{name}: expected a list, got {_shown(node)}")
                return None
            items = [self.value(item, args[0], f"{name}[{i}]") for i, item in enumerate(node.value)]
            return [item for item in items if item is not None]
        if origin is dict or hint is dict:
            if not isinstance(node, yaml.MappingNode):
                self.error(node, "C003", f"{name}: expected a mapping, got {_shown(node)}")
                return None
            if hint is dict:
                return self.constructor.construct_object(node, deep=True)
            result = {}
            named = dataclasses.is_dataclass(args[1]) and "name" in {
                f.name for f in dataclasses.fields(args[1])}
            for key, item in node.value:
                where = f"{name}.{key.value}"
                value = (self.dataclass(item, args[1], where, {"name": str(key.value)}) if named
                         else self.value(item, args[1], where))
                if value is not None:
                    result[str(key.value)] = value
            return result
        return self.scalar(node, hint, name)

    def scalar(self, node: yaml.Node, hint, name: str):
        if not isinstance(node, yaml.ScalarNode):
            self.error(node, "C003", f"{name}: expected {_type_name(hint)}, got {_shown(node)}")
            return None
        data = self.constructor.construct_object(node, deep=True)
        if hint is str and isinstance(data, (str, int, float)) and not isinstance(data, bool):
            return str(data)
        if hint is int and isinstance(data, int) and not isinstance(data, bool):
            return data
        if hint is float and isinstance(data, (int, float)) and not isinstance(data, bool):
            return float(data)
        self.error(node, "C003", f"{name}: expected {_type_name(hint)}, got {_shown(node)}")
        return None

    def dataclass(self, node: yaml.Node, cls, name: str, extra: dict | None = None):
        """A mapping node as `cls`; unknown keys and missing required ones are problems."""
        if not isinstance(node, yaml.MappingNode):
            self.error(node, "C003", f"{name or Path(self.path).name}: expected a mapping, "
                                     f"got {_shown(node)}")
            return None
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values = dict(extra or {})
        seen: set[str] = set()
        ok = True
        for key_node, value_node in node.value:
            key = str(key_node.value)
            where = f"{name}.{key}" if name else key
            if key not in fields or key in values or key == "line":
                known = ", ".join(f for f in fields if f not in (extra or {}) and f != "line")
                self.error(key_node, "C002", f"{where}: unknown setting (known: {known})")
                continue
            if key in seen:
                self.error(key_node, "C002", f"{where}: given twice")
                continue
            seen.add(key)
            if _is_null(value_node) and not _accepts_none(hints[key]):
                continue
            hint = str if (cls, key) in PARSED else hints[key]
            value = self.value(value_node, hint, where)
            if value is None and not _is_null(value_node):
                ok = False
                continue
            check = CHECKS.get((cls, key))
            if check and value is not None:
                value = check(self, value_node, value, where)
                if value is None:
                    ok = False
                    continue
            values[key] = value
        for f in fields.values():
            if f.metadata.get("required") and f.name not in values and f.name not in seen:
                where = f"{name}.{f.name}" if name else f.name
                self.error(node, "C002", f"{where}: missing ({f.metadata['doc']})")
                ok = False
        if "line" in fields:
            values["line"] = node.start_mark.line + 1
        if not ok:
            return None
        return cls(**values)


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _accepts_none(hint) -> bool:
    return type(None) in typing.get_args(hint)


def _type_name(hint) -> str:
    return {str: "text", int: "a whole number", float: "a number"}.get(hint, str(hint))


def _shown(node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode):
        return f'"{node.value}"'
    return "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"


class Positions:
    """Line and column of every setting in book.yaml, so that a release problem points at it."""

    def __init__(self, path: Path):
        self.label = display_path(path)
        self.marks: dict[str, tuple[int, int]] = {}
        try:
            root = safeyaml.compose(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            root = None
        if root is not None:
            self._walk(root, "")

    def _walk(self, node: yaml.Node, name: str) -> None:
        self.marks[name] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self._walk(value, f"{name}.{key.value}" if name else str(key.value))

    def of(self, name: str) -> tuple[int, int]:
        """The setting's value, or the mapping that lacks it."""
        while name and name not in self.marks:
            name = name.rpartition(".")[0]
        return self.marks.get(name, (1, 1))


# --- checks of single values --------------------------------------------------------------

def parse_trim(text: str) -> tuple[float, float] | None:
    """`6x9in`, `152x229mm`, `6in x 9in` → (width, height) in points, or None."""
    m = TRIM.match(text)
    if not m:
        return None
    w, wu, h, hu = m.groups()
    if not (wu or hu):
        return None
    return float(w) * UNITS_IN_PT[wu or hu], float(h) * UNITS_IN_PT[hu]


def parse_length(text: str) -> float | None:
    m = LENGTH.match(text)
    if not m or not (m.group(2) or float(m.group(1)) == 0):
        return None
    return float(m.group(1)) * UNITS_IN_PT[m.group(2) or "pt"]


def isbn13_ok(isbn: str) -> bool:
    digits = isbn.replace("-", "")
    if not re.fullmatch(r"97[89]\d{10}", digits):
        return False
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits[:12]))
    return (10 - total % 10) % 10 == int(digits[12])


def _check_trim(loader: Loader, node, value: str, where: str):
    size = parse_trim(value)
    if size is None:
        loader.error(node, "C004", f'{where}: expected WIDTHxHEIGHT in in/mm/cm/pt, got "{value}"')
        return None
    low, high = TRIM_RANGE_PT
    if not all(low <= side <= high for side in size):
        loader.error(node, "C004", f'{where}: "{value}" is not a possible page size '
                                   f"(each side between {low / 72:g} and {high / 72:g} in)")
        return None
    return size


def _check_bleed(loader: Loader, node, value: str, where: str):
    length = parse_length(value)
    if length is None or length > MAX_BLEED_PT:
        loader.error(node, "C004", f'{where}: expected a length up to 0.5in (e.g. 0.125in), got "{value}"')
        return None
    return length


def _check_caliper(loader: Loader, node, value: str, where: str):
    length = parse_length(value)
    if length is None or not 0 < length <= MAX_CALIPER_PT:
        loader.error(node, "C004", f"{where}: expected a paper thickness per page, more than 0 and at most "
                                   f'0.01in (e.g. 0.0025in), got "{value}"')
        return None
    return length


def _check_case_length(loader: Loader, node, value: str, where: str):
    length = parse_length(value)
    if length is None or length > MAX_CASE_PT:
        loader.error(node, "C004", f'{where}: expected a length up to 2in (e.g. 0.75in), got "{value}"')
        return None
    return length


def _check_bisac(loader: Loader, node, value: list[str], where: str):
    wrong = [code for code in value if not BISAC.match(code)]
    if wrong:
        loader.error(node, "C004", f'{where}: expected BISAC codes such as HIS032000, got "{wrong[0]}"')
        return None
    return value


def _choice(*allowed: str):
    def check(loader: Loader, node, value: str, where: str):
        if value not in allowed:
            loader.error(node, "C004", f'{where}: expected one of {", ".join(allowed)}, got "{value}"')
            return None
        return value
    return check


def _check_isbn(loader: Loader, node, value: str, where: str):
    if value and not isbn13_ok(value):
        loader.error(node, "C004", f'{where}: "{value}" is not a valid ISBN-13 (check digit or length)')
        return None
    return value


def _check_pattern(pattern: re.Pattern, what: str):
    def check(loader: Loader, node, value: str, where: str):
        if not pattern.match(value):
            loader.error(node, "C004", f'{where}: expected {what}, got "{value}"')
            return None
        return value
    return check


# Settings written as text and kept as numbers.
PARSED = {(Edition, "trim"), (Edition, "bleed"), (Edition, "caliper"),
          (Case, "wrap"), (Case, "hinge"), (Case, "board")}

CHECKS = {
    (Config, "slug"): _check_pattern(SLUG, "lower-case words joined by hyphens"),
    (Config, "language"): _check_pattern(LANGUAGE, "a language code such as en or en-US"),
    (Config, "version"): _check_pattern(VERSION, "a version such as 1.0.0 (letters, digits, dots, + and -)"),
    (Config, "published"): _check_pattern(DATE, "a date YYYY-MM-DD or YYYY-MM"),
    (Config, "bisac"): _check_bisac,
    (Edition, "format"): _choice("epub", "print"),
    (Edition, "notes"): _choice("endnotes", "footnotes"),
    (Edition, "isbn"): _check_isbn,
    (Edition, "trim"): _check_trim,
    (Edition, "bleed"): _check_bleed,
    (Edition, "caliper"): _check_caliper,
    (Edition, "cover"): _choice("wrap", "case", "image"),
    (Edition, "missing_art"): _choice("placeholder", "caption"),
    (Edition, "line_breaking"): _choice("paragraph", "greedy"),
    (Edition, "cover_art"): _choice("photo", "type"),
    (Edition, "price"): _check_pattern(PRICE, "a price and its currency, e.g. 24.95 USD (USD or CAD)"),
    (Case, "wrap"): _check_case_length,
    (Case, "hinge"): _check_case_length,
    (Case, "board"): _check_case_length,
    (ContentsEntry, "role"): _choice(*ROLES),
}


# --- book.yaml ----------------------------------------------------------------------------

def load_config(path: Path, problems: Problems) -> Config | None:
    """`book.yaml` as a Config; None when it has errors (they are in `problems`)."""
    loader = Loader(path, problems)
    try:
        text = read_utf8(path)
    except NotUTF8 as exc:
        problems.error(loader.path, exc.line, exc.col, "C001", str(exc))
        return None
    except OSError as exc:
        problems.error(loader.path, 0, 0, "C001", f"cannot read book.yaml: {exc}")
        return None
    root = loader.compose(text)
    if root is None:
        if not problems.errors:
            problems.error(loader.path, 1, 1, "C001", "book.yaml is empty")
        return None
    errors_before = len(problems.errors)
    config = loader.dataclass(root, Config, "")
    if config is None or len(problems.errors) > errors_before:
        return None
    _check_consistency(loader, root, config)
    return None if len(problems.errors) > errors_before else config


def _child(node: yaml.MappingNode, key: str) -> yaml.Node | None:
    return next((v for k, v in node.value if k.value == key), None)


def _check_consistency(loader: Loader, root: yaml.MappingNode, config: Config) -> None:
    """Rules that involve more than one setting."""
    editions_node = _child(root, "editions")
    for key, node in editions_node.value:
        edition = config.editions[key.value]
        if edition.format == "print" and edition.trim is None:
            loader.error(node, "C002", f"editions.{edition.name}.trim: missing (a print edition needs "
                                       "its trim size, e.g. 6x9in)")
        if edition.page_source:
            source = config.editions.get(edition.page_source)
            if source is None or source.format != "print":
                loader.error(_child(node, "page_source"), "C004",
                             f'editions.{edition.name}.page_source: "{edition.page_source}" is not a '
                             "print edition of this book")
    contents_node = _child(root, "contents")
    seen_files: dict[str, int] = {}
    numbers: list[tuple[int, yaml.Node]] = []
    for entry, node in zip(config.contents, contents_node.value):
        if entry.file in seen_files:
            loader.error(node, "C004", f"contents: {entry.file} is listed twice "
                                       f"(first on line {seen_files[entry.file]})")
        seen_files.setdefault(entry.file, entry.line)
        suffix = Path(entry.file).suffix
        if entry.role in DATA_ROLES and suffix not in (".yaml", ".yml"):
            loader.error(node, "C004", f"contents: the {entry.role} is a YAML file, not {entry.file}")
        elif entry.role in TEXT_ROLES and suffix != ".md":
            loader.error(node, "C004", f"contents: a {entry.role} is a Markdown file, not {entry.file}")
        if entry.role == "chapter":
            if entry.number is None:
                loader.error(node, "C002", f"contents: chapter {entry.file} has no number")
            else:
                numbers.append((entry.number, node))
    for expected, (number, node) in enumerate(numbers, start=1):
        if number != expected:
            loader.warning(node, "C004", f"contents: chapter numbered {number} where {expected} "
                                         "follows in reading order")
            break
    for role in DATA_ROLES:
        listed = [n for e, n in zip(config.contents, contents_node.value) if e.role == role]
        for node in listed[1:]:
            loader.error(node, "C004", f"contents: a second {role}")
    # The index lists pages of everything before it, so nothing may follow it.
    roles = [e.role for e in config.contents]
    if "index" in roles and roles.index("index") != len(roles) - 1:
        loader.error(contents_node.value[roles.index("index")], "C004",
                     "contents: the index must be the last entry")


DATA_CODES = {"C001": "R006", "C002": "R007", "C003": "R007", "C004": "R007"}


def load_data(path: Path, problems: Problems) -> tuple[Loader, yaml.Node | None]:
    """A data file's node tree (for `Loader.value`), or None after recording why not."""
    loader = Loader(path, problems, DATA_CODES)
    try:
        text = read_utf8(path)
    except NotUTF8 as exc:
        problems.error(loader.path, exc.line, exc.col, "R006", str(exc))
        return loader, None
    except OSError as exc:
        problems.error(loader.path, 0, 0, "R006", f"cannot read {path.name}: {exc}")
        return loader, None
    return loader, loader.compose(text)
