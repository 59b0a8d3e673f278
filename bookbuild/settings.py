"""Settings declared once: each YAML setting's doc, default, check and the position it was read from."""
from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import MISSING, dataclass, field

UNITS_IN_PT = {"in": 72.0, "mm": 72 / 25.4, "cm": 72 / 2.54, "pt": 1.0}
_LENGTH = r"(\d+(?:\.\d+)?)\s*(in|mm|cm|pt)?"
TRIM = re.compile(rf"^\s*{_LENGTH}\s*[x×]\s*{_LENGTH}\s*$")
LENGTH = re.compile(rf"^\s*{_LENGTH}\s*$")
# Trade book sizes run from about 4 × 6 in to 8.5 × 11 in; beyond these bounds a
# trim is a typo, not a format (`0x9in`, `6x90in`).
TRIM_RANGE_PT = (2 * 72.0, 14 * 72.0)


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


# --- checks of single values ---------------------------------------------------------------

class Invalid(ValueError):
    """A value its setting refuses; the message is written to follow the setting's name."""


class Check:
    """What a setting accepts beyond its type (MkDocs' config_options): `__call__` returns the
    value kept or raises Invalid; `reads` is the YAML type when the value kept is another."""

    reads: type | None = None

    def __call__(self, value):
        return value

    def describe(self) -> str:
        """What the reference says the setting is written as; empty: its type says it."""
        return ""

    def show(self, value) -> str:
        """A kept value as it would be written (for the reference's defaults)."""
        return str(value)


class Choice(Check):
    def __init__(self, *allowed: str):
        self.allowed = allowed

    def __call__(self, value):
        if value not in self.allowed:
            raise Invalid(f'expected one of {", ".join(self.allowed)}, got "{value}"')
        return value

    def describe(self) -> str:
        return "one of " + ", ".join(f"`{a}`" for a in self.allowed)


class Pattern(Check):
    """Text that matches `pattern` (each item of a list, with `each`)."""

    def __init__(self, pattern: str, what: str, each: bool = False):
        self.pattern, self.what, self.each = re.compile(pattern), what, each

    def __call__(self, value):
        wrong = [v for v in (value if self.each else [value]) if not self.pattern.match(v)]
        if wrong:
            raise Invalid(f'expected {self.what}, got "{wrong[0]}"')
        return value

    def describe(self) -> str:
        return f"a list of {self.what}" if self.each else self.what


class Isbn(Check):
    def __call__(self, value):
        if value and not isbn13_ok(value):
            raise Invalid(f'"{value}" is not a valid ISBN-13 (check digit or length)')
        return value

    def describe(self) -> str:
        return "an ISBN-13 (check digit checked)"


class Trim(Check):
    reads = str

    def __call__(self, value):
        size = parse_trim(value)
        if size is None:
            raise Invalid(f'expected WIDTHxHEIGHT in in/mm/cm/pt, got "{value}"')
        low, high = TRIM_RANGE_PT
        if not all(low <= side <= high for side in size):
            raise Invalid(f'"{value}" is not a possible page size '
                          f"(each side between {low / 72:g} and {high / 72:g} in)")
        return size

    def describe(self) -> str:
        return "WIDTHxHEIGHT with in, mm, cm or pt, e.g. `6x9in`"

    def show(self, value) -> str:
        return "none" if value is None else f"{value[0] / 72:g}x{value[1] / 72:g}in"


class Length(Check):
    """A length written with its unit and kept in points, up to `up_to`."""

    reads = str

    def __init__(self, up_to: str, example: str, what: str = "a length up to", positive: bool = False):
        self.up_to, self.example, self.what, self.positive = up_to, example, what, positive
        self.most = parse_length(up_to)

    def __call__(self, value):
        length = parse_length(value)
        if length is None or length > self.most or (self.positive and length <= 0):
            raise Invalid(f'expected {self.what} {self.up_to} (e.g. {self.example}), got "{value}"')
        return length

    def describe(self) -> str:
        return f"{self.what} {self.up_to} (in, mm, cm or pt), e.g. `{self.example}`"

    def show(self, value) -> str:
        return f"{value / 72:g}in"


# --- declaring settings ----------------------------------------------------------------------

@dataclass(frozen=True)
class Needed:
    """An edition setting that editions of `format` cannot do without, from `stage` on: `read`
    (every build refuses it missing, C002) or `release` (dist refuses it, D003); `why` ends
    the message, `{profiles}` standing for the printer profiles there are."""

    format: str
    stage: str
    why: str


def setting(doc: str, default=MISSING, *, factory=MISSING, check: Check | None = None,
            required: bool = False, needed: Needed | None = None):
    """A setting: its one line of documentation, its default (none: `required`), the
    check its value passes after the type check (`Check`), and when an edition needs it."""
    return field(default=default, default_factory=factory,
                 metadata={"doc": doc, "check": check, "required": required, "needed": needed})


def missing_needed(edition, stage: str) -> list[tuple[str, str]]:
    """(setting, why) for each setting the edition lacks that its format needs at `stage`."""
    out = []
    for f in dataclasses.fields(edition):
        needed = f.metadata.get("needed")
        if needed and needed.stage == stage and needed.format == edition.format and not getattr(edition, f.name):
            out.append((f.name, needed.why))
    return out


def derived(doc: str, default=MISSING, *, factory=MISSING):
    """A field of a settings class that is no setting: filled by the loader (`line`,
    `where`, an edition's `name`) or by a later stage (a biography's HTML)."""
    return field(default=default, default_factory=factory, metadata={"doc": doc, "derived": True})


def is_setting(f: dataclasses.Field) -> bool:
    return not f.metadata.get("derived") and f.name != "line"


def check_of(f: dataclasses.Field) -> Check:
    """The setting's declared check; the plain `Check` (its type alone) when it declares none."""
    return f.metadata.get("check") or Check()


@dataclass
class Positions:
    """Line and column of every setting as read (dotted names: `editions.cloth.isbn`,
    `contents[3].file`), so that a check in a later stage points at it."""

    label: str = ""
    marks: dict[str, tuple[int, int]] = field(default_factory=dict)

    def of(self, name: str) -> tuple[int, int]:
        """The setting's value, or the nearest mapping that holds it (the one that lacks it)."""
        while name and name not in self.marks:
            shorter = re.sub(r"(^|\.)[^.\[]*$|\[\d+\]$", "", name)
            name = shorter if shorter != name else ""
        return self.marks.get(name, (1, 1))

    def at(self, name: str) -> tuple[str, int, int]:
        """File, line and column, as `Problems.error` takes them."""
        return (self.label, *self.of(name))


# --- the reference -----------------------------------------------------------------------------

def declared(cls, prefix: str = ""):
    """(dotted name, field, type) of every setting of `cls` and the sections under it."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if not is_setting(f):
            continue
        name = f"{prefix}{f.name}"
        hint = hints[f.name]
        yield name, f, hint
        inner, suffix = _section(hint)
        if inner is not None:
            yield from declared(inner, f"{name}{suffix}.")


def _section(hint):
    """The settings class a setting holds (a section, a list or a mapping of them), and how its
    members are named under it."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return hint, ""
    if origin is list and dataclasses.is_dataclass(args[0]):
        return args[0], "[]"
    if origin is dict and dataclasses.is_dataclass(args[1]):
        return args[1], ".<name>"
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return _section(args[0])
    return None, ""


def written_as(f: dataclasses.Field, hint) -> str:
    described = check_of(f).describe()
    if described:
        return described
    return _type_words(hint)


def _type_words(hint) -> str:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return "a mapping (below)"
    if origin is list:
        return f"a list of {_plural(args[0])}"
    if origin is dict:
        return f"a mapping of names to {_plural(args[1])}"
    if args and len(args) < len(typing.get_args(hint)):
        return _type_words(args[0] if len(args) == 1 else typing.Union[tuple(args)])
    if args:
        return " or ".join(_type_words(a) for a in args)
    return {str: "text", int: "a whole number", float: "a number", dict: "a mapping"}.get(hint, str(hint))


def _plural(hint) -> str:
    return "mappings (below)" if dataclasses.is_dataclass(hint) else _type_words(hint).removeprefix("a ")


def default_shown(f: dataclasses.Field) -> str:
    if f.metadata.get("required"):
        return "required"
    needed = f.metadata.get("needed")
    if needed:
        return f"needed by a {needed.format} edition" + (" for a release" if needed.stage == "release" else "")
    if f.default is not MISSING:
        value = f.default
    elif f.default_factory is not MISSING:
        value = f.default_factory()
    else:
        return "required"
    if dataclasses.is_dataclass(value):
        return "(below)"
    if value in ("", None, [], {}):
        return "empty"
    return f"`{check_of(f).show(value)}`"


def reference(cls, title: str) -> str:
    """The Markdown reference of every setting of `cls`, from the declarations."""
    rows = [f"# {title}", "",
            "Made from the declarations in `bookbuild/model.py` "
            "(`python -m bookbuild.model > docs/book-yaml.md`); do not edit by hand.", "",
            "| setting | written as | default | what it is |", "|---|---|---|---|"]
    for name, f, hint in declared(cls):
        cells = [f"`{name}`", written_as(f, hint), default_shown(f), f.metadata["doc"]]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows) + "\n"
