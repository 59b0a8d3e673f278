"""Typed YAML loading: book.yaml and the data files into dataclasses, wrong keys and values as Problems."""
from __future__ import annotations

import dataclasses
import functools
import os
import types
import typing
from pathlib import Path

import yaml

from . import safeyaml
from .fsutil import NotUTF8, read_utf8

from .errors import Problems
from .model import DATA_ROLES, TEXT_ROLES, Config
from .settings import Invalid, Positions, check_of, is_setting, missing_needed


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
        # Where each setting was read, kept for the checks of later stages.
        self.positions = Positions(self.path)

    def mark(self, node: yaml.Node, name: str) -> None:
        self.positions.marks.setdefault(name, (node.start_mark.line + 1, node.start_mark.column + 1))

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
        self.mark(node, name)
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
        self.mark(node, name)
        if not isinstance(node, yaml.MappingNode):
            self.error(node, "C003", f"{name or Path(self.path).name}: expected a mapping, "
                                     f"got {_shown(node)}")
            return None
        hints, fields = _declared(cls)
        values = dict(extra or {})
        seen: set[str] = set()
        ok = True
        for key_node, value_node in node.value:
            key = str(key_node.value)
            where = f"{name}.{key}" if name else key
            if key not in fields:
                self.error(key_node, "C002", f"{where}: unknown setting (known: {', '.join(fields)})")
                continue
            if key in seen:
                self.error(key_node, "C002", f"{where}: given twice")
                continue
            seen.add(key)
            value = self.setting(value_node, fields[key], hints[key], where)
            if value is _REFUSED:
                ok = False
            elif value is not _ABSENT:
                values[key] = value
        for f in fields.values():
            if f.metadata.get("required") and f.name not in values and f.name not in seen:
                where = f"{name}.{f.name}" if name else f.name
                self.error(node, "C002", f"{where}: missing ({f.metadata['doc']})")
                ok = False
        if any(f.name == "line" for f in dataclasses.fields(cls)):
            values["line"] = node.start_mark.line + 1
        if not ok:
            return None
        return cls(**values)

    def setting(self, node: yaml.Node, f: dataclasses.Field, hint, where: str):
        """One setting's value, typed and checked as declared; _ABSENT for a null the setting
        does not take (its default stands), _REFUSED after recording a problem."""
        if _is_null(node) and not _accepts_none(hint):
            self.mark(node, where)
            return _ABSENT
        check = check_of(f)
        value = self.value(node, check.reads or hint, where)
        if value is None:
            return None if _is_null(node) else _REFUSED
        try:
            return check(value)
        except Invalid as exc:
            self.error(node, "C004", f"{where}: {exc}")
            return _REFUSED


_ABSENT, _REFUSED = object(), object()


@functools.lru_cache(maxsize=None)
def _declared(cls) -> tuple[dict, dict]:
    """A settings class's type hints and its settings by name, worked out once per class:
    `typing.get_type_hints` evaluates every annotation again on each call, 0.1 s of reading
    the book's 1,300 index entries and 93 biographies."""
    return typing.get_type_hints(cls), {f.name: f for f in dataclasses.fields(cls) if is_setting(f)}


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
    config.where = loader.positions
    return None if len(problems.errors) > errors_before else config


def _child(node: yaml.MappingNode, key: str) -> yaml.Node | None:
    return next((v for k, v in node.value if k.value == key), None)


def _check_consistency(loader: Loader, root: yaml.MappingNode, config: Config) -> None:
    """Rules that involve more than one setting."""
    editions_node = _child(root, "editions")
    for key, node in editions_node.value:
        edition = config.editions[key.value]
        for name, why in missing_needed(edition, "read"):
            loader.error(node, "C002", f"editions.{edition.name}.{name}: missing ({why})")
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
