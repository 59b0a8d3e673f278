"""A printer's preflight of the release's files: qpdf and Ghostscript read every PDF, and no file says it is unfinished."""
from __future__ import annotations

import io
import re
import subprocess
import tempfile
import zipfile
from pathlib import Path

# Words that only a draft says, and source paths: a released file has neither. Matched
# case-blind on the text a reader or a printer's operator sees.
UNFINISHED = re.compile(r"\b(art absent|absent art|placeholder|not available|missing from the received)\b"
                        r"|\bimages/\S+|\S+\.(?:jpe?g|png|tiff?|md|ya?ml)\b", re.I)


def pdf_problems(data: bytes) -> list[str]:
    """What qpdf's structural check and a full Ghostscript interpretation of every page report."""
    found = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "file.pdf"
        path.write_bytes(data)
        done = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
        # Exit 0 is clean, 3 is warnings; qpdf's report names each.
        if done.returncode != 0:
            found += [f"qpdf --check (exit {done.returncode}): {line}"
                      for line in (done.stdout + done.stderr).splitlines()
                      if line.strip() and not line.startswith(("checking", "PDF Version", "File is", "R = ",
                                                               "P = ", "User password", "extract", "print",
                                                               "modify", "No syntax"))][:5]
        done = subprocess.run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=nullpage", str(path)],
                              capture_output=True, text=True)
    messages = (done.stdout + done.stderr).strip()
    if done.returncode != 0 or messages:
        found.append(f"Ghostscript (exit {done.returncode}): {messages[:300] or 'no message'}")
    return found


def pdf_text(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True,
                          check=True).stdout.decode("utf-8", errors="replace")


def epub_text(data: bytes) -> str:
    """The words of every XHTML file and the package document, markup left out."""
    parts = []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            if name.endswith((".xhtml", ".opf", ".ncx")):
                text = zf.read(name).decode("utf-8", errors="replace")
                parts.append(re.sub(r"<[^>]+>", " ", text))
    return "\n".join(parts)


def unfinished(text: str) -> list[str]:
    """Each distinct draft word or source path in the text, with a few words around it."""
    seen = {}
    for m in UNFINISHED.finditer(text):
        seen.setdefault(m.group(0).lower(), " ".join(text[max(0, m.start() - 30):m.end() + 30].split()))
    return [f'"{word}" ({context})' for word, context in seen.items()]
