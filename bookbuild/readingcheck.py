"""The EPUB in a reading engine (epub.js in headless Chromium): what a reader would see wrong, and screenshots."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from .checkreport import INSTALL_HINT, ROOT, Report, ValidatorMissing
from .chromium import offline_chromium_env

SCRIPT = ROOT / "scripts" / "reading-check.mjs"
# What scripts/reading-check.mjs finds, as a reader would put it.
KINDS = {"wide": "wider than the screen", "contrast": "under 4.5:1 contrast",
         "pitch": "lines set too close", "heading": "heading broken inside a year range"}


def run_reading_check(epub: Path, out_dir: Path) -> Report:
    """epub.js at 390 × 844 (night and light) and 1024 × 768 (light); screenshots of fixed
    places (cover, title page, contents, a chapter opening, a note and its return, glossary,
    a biography, the index, a document table) go to `out_dir`, replacing the last ones."""
    if not shutil.which("node") or not (ROOT / "node_modules" / "epubjs").is_dir():
        raise ValidatorMissing(f"the reading check needs node and node_modules/epubjs: {INSTALL_HINT}")
    env = offline_chromium_env("the reading check")
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    proc = subprocess.run(["node", str(SCRIPT), str(epub), str(out_dir)], capture_output=True, text=True,
                          env=env, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"the reading engine failed (exit {proc.returncode}):\n{proc.stderr.strip()[-2000:]}")
    return parse_reading_check(json.loads(proc.stdout))


def parse_reading_check(data: dict) -> Report:
    counts = {kind: 0 for kind in KINDS}
    messages = []
    seen = set()
    for f in data.get("findings", []):
        counts[f["kind"]] = counts.get(f["kind"], 0) + 1
        key = (f["file"], f["element"], f["kind"], f["detail"])
        if key in seen:
            continue
        seen.add(key)
        messages.append(f"EPUB/{f['file']}: {f['config']}: {KINDS.get(f['kind'], f['kind'])}: "
                        f"{f['element']}: {f['detail']}")
    for url in data.get("blocked", []):
        counts["request"] = counts.get("request", 0) + 1
        messages.append(f"a request left for {url} (refused: the check runs offline)")
    report = Report("Reading check (epub.js, 390 and 1024 px, light and night)", counts, messages)
    report.screenshots = data.get("screenshots", [])
    return report
