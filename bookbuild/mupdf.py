"""PyMuPDF without its page-layout analysis.

PyMuPDF 2 imports `pymupdf.layout` (an ONNX model with numpy, networkx and onnxruntime) and
`pymupdf4llm` (numpy and onnxruntime again, for its `to_markdown`) when it is itself imported,
if those packages are installed, and PyMuPDF 2 installs them: 0.6 s of every build that checks
its PDF (the printer's safe zones, the typeset report), 2 s when they are not in the disk cache,
for features that nothing here uses (pages are read by their glyphs and pixels, not by layout
analysis)."""
from __future__ import annotations

import sys


def load():
    """The `pymupdf` module, imported without `pymupdf.layout` and `pymupdf4llm` (unless
    something else in the process has imported them already)."""
    for unused in ("pymupdf.layout", "pymupdf4llm"):
        sys.modules.setdefault(unused, None)  # type: ignore[arg-type]  # None: ImportError
    import pymupdf

    return pymupdf
