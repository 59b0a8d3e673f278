"""Chromium for Ace and the reading check, started offline through scripts/chromium-offline."""
from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

from .checkreport import INSTALL_HINT, ROOT, ValidatorMissing

# Puppeteer (Ace's and the reading check's) starts Chromium through this script, which
# keeps it off the network (issue 15: it resolved accounts.google.com and others).
OFFLINE_CHROMIUM = ROOT / "scripts" / "chromium-offline"
CHROMIUM_INSTALL = "apt-get install -y --no-install-recommends chromium"


def find_chromium(explicit: str | None = None) -> str | None:
    """Debian's chromium: `explicit`, $CHROMIUM_BIN, $CHROMIUM, $PUPPETEER_EXECUTABLE_PATH or the
    one on PATH (never our own wrapper, which would start itself)."""
    for candidate in (explicit, os.environ.get("CHROMIUM_BIN"), os.environ.get("CHROMIUM"),
                      os.environ.get("PUPPETEER_EXECUTABLE_PATH"), shutil.which("chromium")):
        if candidate and Path(candidate).resolve() != OFFLINE_CHROMIUM.resolve():
            return candidate
    return None


def offline_chromium_env(tool: str, explicit: str | None = None) -> dict[str, str]:
    """The environment under which puppeteer starts Chromium offline, through OFFLINE_CHROMIUM.
    ValidatorMissing names what is missing and the command that installs it."""
    chromium = find_chromium(explicit)
    if not chromium:
        raise ValidatorMissing(f"{tool} needs Chromium, and there is no `chromium` on PATH: "
                               f"install it with `{CHROMIUM_INSTALL}` (as root), or {INSTALL_HINT}")
    problem = _chromium_problem(chromium)
    if problem:
        raise ValidatorMissing(f"{tool} needs Chromium, and {chromium} {problem}: reinstall it with "
                               f"`apt-get install -y --reinstall --no-install-recommends chromium` (as root)")
    wrapper = str(OFFLINE_CHROMIUM)
    return dict(os.environ, PUPPETEER_EXECUTABLE_PATH=wrapper, CHROMIUM=wrapper, CHROMIUM_BIN=chromium)


@functools.lru_cache(maxsize=None)
def _chromium_problem(chromium: str) -> str | None:
    """Why `chromium --version` does not work (Debian's launcher is a script that execs the
    browser in /usr/lib/chromium/, so the file on PATH can outlive a removed browser)."""
    try:
        proc = subprocess.run([chromium, "--version"], capture_output=True, text=True, timeout=60)
    except OSError as exc:
        return f"cannot be run ({exc.strerror})"
    except subprocess.TimeoutExpired:
        return "did not answer `--version` within 60 s"
    if proc.returncode != 0 or not re.search(r"\d+\.\d+", proc.stdout):
        said = (proc.stderr or proc.stdout).strip().splitlines()
        return f"does not start (`--version` exited {proc.returncode}{': ' + said[-1] if said else ''})"
    return None
