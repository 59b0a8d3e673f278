"""The command line: `python build.py COMMAND`; prints problems, never tracebacks."""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from .errors import BuildError, shown

PROJECT = Path(__file__).resolve().parent.parent

# Each command lives in its own module with `add_arguments(parser)` and
# `run(args) -> int`; imported lazily so that `build.py lint` does not pay for
# WeasyPrint's import.
COMMANDS = {
    "new": ("bookbuild.newbook", "a new title's book folder that builds at once"),
    "import": ("bookbuild.importer.command", "turn a received manuscript into book/"),
    "check-sources": ("bookbuild.importer.noloss", "no-loss check of book/ against the received manuscript"),
    "pdf": ("bookbuild.print", "the print interior: build/<slug>.pdf"),
    "epub": ("bookbuild.epub", "the EPUB 3 edition: build/<slug>.epub"),
    "lint": ("bookbuild.lint", "editorial checks over book/ (codes L001…)"),
    "dist": ("bookbuild.dist", "release bundle of every edition: dist/<version>/"),
    "proof": ("bookbuild.proof", "proof sheets with source markers: build/proof/"),
    "typeset-report": ("bookbuild.typesetreport", "how well the interior is set: build/typeset/report.txt"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="build.py", description=__doc__)
    parser.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    sub = parser.add_subparsers(dest="command", required=True)
    # Only the command asked for is imported (0.1–0.2 s saved on a one-chapter proof); the
    # others are listed by name for `--help`.
    words = sys.argv[1:] if argv is None else argv
    asked = next((w for w in words if not w.startswith("-")), None)
    modules = {}
    for name, (module_name, help_text) in COMMANDS.items():
        # No abbreviations: `epub --out` was taken for `--output` (a file, where `pdf --out`
        # is a folder), and an option added later would change what an abbreviation meant.
        sp = sub.add_parser(name, help=help_text, allow_abbrev=False)
        if name == asked:
            modules[name] = importlib.import_module(module_name)
            modules[name].add_arguments(sp)
    args = parser.parse_args(argv)
    _project_book(args)
    started = time.monotonic()
    try:
        code = modules[args.command].run(args)
    except BuildError as exc:
        for line in shown(exc.problems):
            print(line, file=sys.stderr)
        errors = sum(p.severity == "error" for p in exc.problems)
        print(f"{args.command}: failed with {errors} error(s); nothing was written",
              file=sys.stderr)
        return 1
    except OSError as exc:
        # A read-only checkout, a full disk, a folder we may not write: one line naming the file.
        where = exc.filename or "build"
        print(f"{where}: error B002: cannot write or read: {exc.strerror or exc}", file=sys.stderr)
        print(f"{args.command}: failed; previous outputs left in place", file=sys.stderr)
        return 1
    except RecursionError:
        print(f"book: error B003: the sources nest deeper than the pipeline can follow "
              f"(lists or quotations inside each other; see R012)", file=sys.stderr)
        print(f"{args.command}: failed; previous outputs left in place", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{args.command}: interrupted; previous outputs left in place", file=sys.stderr)
        return 130
    if not args.quiet:
        print(f"{args.command}: done in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return code


def _project_book(args: argparse.Namespace) -> None:
    """`--book` left at its default means this project's book/ when the current folder has
    none, so that `python /path/to/build.py lint` run elsewhere checks the book, not nothing."""
    if str(getattr(args, "book", "")) == "book" and not Path("book").is_dir():
        args.book = type(args.book)(PROJECT / "book")


if __name__ == "__main__":
    sys.exit(main())
